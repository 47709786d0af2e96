"""A client's contacts: their details, their stage in the pipeline and its history."""

from __future__ import annotations

from typing import Any

from flask import url_for

from crossroads.core.models import Client, Contact
from crossroads.core.schemas import ContactSchema, NewContactSchema
from crossroads.core.schemas.api import (
    ContactDetailShape,
    ContactListQuerySchema,
    ContactShape,
    StageMoveSchema,
)
from crossroads.core.services import contacts as contact_service

from .conventions import api_scope, cursor_page, idempotent, page_shape, require_fresh
from .strict import ApiBlueprint as Blueprint

bp = Blueprint("api_contacts", __name__, description="A client's contacts and their pipeline.")

EDITABLE = ("name", "email", "linkedin_url", "organisation", "position", "research_notes", "tags")


def _detail(contact: Contact) -> Contact:
    contact.history = contact_service.stage_history(api_scope(), contact)
    return contact


@bp.route("/clients/<int:client_id>/contacts", methods=["GET"])
@bp.arguments(ContactListQuerySchema, location="query")
@bp.response(200, page_shape(ContactShape))
def list_contacts(params: dict[str, Any], client_id: int):
    """A client's contacts, filtered as on the contact list.

    Filters: ``q``, ``stage``, ``source``, ``theme_id``, ``tag``.
    """
    query = contact_service.listing(api_scope(), client_id, params)
    return cursor_page(query, Contact, params)


@bp.route("/clients/<int:client_id>/contacts", methods=["POST"])
@idempotent
@bp.arguments(NewContactSchema)
@bp.response(201, ContactDetailShape)
def create_contact(data: dict[str, Any], client_id: int):
    """Add a contact; one added by the coach is a suggestion the client accepts or dismisses."""
    api_scope().get(Client, client_id)
    contact = contact_service.create_contact(api_scope(), client_id, data)
    return _detail(contact), 201, {"Location": url_for("api_contacts.show_contact", contact_id=contact.id)}


@bp.route("/contacts/<int:contact_id>", methods=["GET"])
@bp.response(200, ContactDetailShape)
def show_contact(contact_id: int):
    """A contact with the history of its stages, newest first."""
    return _detail(api_scope().get(Contact, contact_id))


@bp.route("/contacts/<int:contact_id>", methods=["PATCH"])
@bp.arguments(ContactSchema(partial=True))
@bp.response(200, ContactDetailShape)
def update_contact(data: dict[str, Any], contact_id: int):
    """Change a contact's details, tags and themes (``theme_ids``)."""
    scope = api_scope()
    contact = _detail(scope.get(Contact, contact_id))
    require_fresh(ContactDetailShape(), contact)
    current = {name: getattr(contact, name) for name in EDITABLE}
    current["theme_ids"] = [theme.id for theme in contact.themes]
    data.pop("version", None)
    return _detail(contact_service.update_contact(scope, contact_id, {**current, **data}))


@bp.route("/contacts/<int:contact_id>/stage", methods=["POST"])
@bp.arguments(StageMoveSchema)
@bp.response(200, ContactDetailShape)
def move_contact(data: dict[str, Any], contact_id: int):
    """Move a contact to another stage; the move joins its history."""
    contact, _change = contact_service.move_to_stage(api_scope(), contact_id, data["stage"])
    return _detail(contact)


@bp.route("/contacts/<int:contact_id>", methods=["DELETE"])
@bp.response(204)
def remove_contact(contact_id: int):
    """Remove a contact added by mistake (its conversations go with it)."""
    contact_service.remove_contact(api_scope(), contact_id)
    return None
