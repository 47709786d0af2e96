"""A client's contacts: the contact form, imports and the contact list's query."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates

from ..models import SOURCE_NAME, Stage
from .base import Id, IdList, InputSchema, Name, OptionalEmail, ProfileUrl, Tags, Text, Version


class ContactSchema(InputSchema):
    """A contact as the client (or coach) types it in."""

    name = Name(required=True)
    email = OptionalEmail(load_default="", validate=validate.Length(max=254))
    linkedin_url = ProfileUrl(load_default=None, allow_none=True)
    organisation = Text(load_default="", validate=validate.Length(max=200))
    position = Text(load_default="", validate=validate.Length(max=200))
    research_notes = Text(load_default="", validate=validate.Length(max=10000))
    tags = Tags(load_default=list)
    theme_ids = IdList(load_default=list)
    version = Version()


class NewContactSchema(ContactSchema):
    """Adding a contact by hand: where the client found this person."""

    source = fields.String(
        load_default="manual",
        validate=validate.OneOf(
            ["manual", "alumni_office", "association"], error="Choose where you found them."
        ),
    )


class ImportSchema(InputSchema):
    """The import page's format: an importer's name, or ``auto`` (the one that recognises the file)."""

    format = fields.String(
        load_default="auto", validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$", error="Choose a format.")
    )


CONTACT_SORT_KEYS = ("name", "organisation", "stage", "updated", "connected")


CONTACT_SORTS = tuple(f"{sign}{key}" for key in CONTACT_SORT_KEYS for sign in ("", "-"))


class ContactQuerySchema(InputSchema):
    """Search, filters, sort and page of a client's contact list, from the query string."""

    q = Text(load_default="", validate=validate.Length(max=200))
    stage = fields.String(load_default=None)
    source = fields.String(load_default=None)
    theme_id = Id(load_default=None)
    tag = Text(load_default="", validate=validate.Length(max=40))
    sort = fields.String(load_default="name", validate=validate.OneOf(CONTACT_SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=10, max=200))

    @validates("stage")
    def known_stage(self, value: str | None, **kwargs) -> None:
        if value and value not in {s.value for s in Stage}:
            raise ValidationError("Unknown stage.")

    @validates("source")
    def known_source(self, value: str | None, **kwargs) -> None:
        if value and SOURCE_NAME.fullmatch(value) is None:
            raise ValidationError("Unknown source.")
