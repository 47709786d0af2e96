"""Clients (a caseload) and their career themes."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy.orm import selectinload

from crossroads.core.models import CareerTheme, Client
from crossroads.core.schemas import ClientUpdateSchema, InviteClientSchema, ThemeSchema
from crossroads.core.schemas.api import ClientShape, InvitationShape, PageQuerySchema, ThemeShape
from crossroads.core.services import clients as client_service
from crossroads.core.services import invitations
from crossroads.core.services import themes as theme_service

from ..context import crossroads
from .conventions import api_scope, cursor_page, idempotent, page_shape, require_fresh
from .strict import ApiBlueprint as Blueprint

bp = Blueprint(
    "api_clients",
    __name__,
    description="Clients: a coach's caseload, the whole practice's for the owner, one's own for a client.",
)


@bp.route("/clients", methods=["GET"])
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, page_shape(ClientShape))
def list_clients(page: dict[str, Any]):
    """The clients the token's user may see, in a stable order."""
    query = api_scope().select(Client).options(selectinload(Client.user))
    return cursor_page(query, Client, page)


@bp.route("/invitations", methods=["POST"])
@idempotent
@bp.arguments(InviteClientSchema)
@bp.response(202, InvitationShape)
def invite_client(data: dict[str, Any]):
    """Invite a client (coaches and the owner), as the caseload's invitation page does: the answer
    holds the link to send them, which works once, for 7 days."""
    from ..coach import invitation_url

    invited = invitations.invite_client(api_scope(), crossroads().signer, data)
    return {
        "name": invited.name,
        "email": invited.email,
        "invitation_url": invitation_url(invited.token),
    }, 202


@bp.route("/clients/<int:client_id>", methods=["GET"])
@bp.response(200, ClientShape)
def show_client(client_id: int):
    return api_scope().get(Client, client_id)


@bp.route("/clients/<int:client_id>", methods=["PATCH"])
@bp.arguments(ClientUpdateSchema(partial=True))
@bp.response(200, ClientShape)
def update_client(data: dict[str, Any], client_id: int):
    """Change a client's status or coach (staff). ``If-Match`` with the ETag refuses a stale edit (409)."""
    scope = api_scope()
    client = scope.get(Client, client_id)
    require_fresh(ClientShape(), client)
    return client_service.update_client(
        scope, client_id, {"status": client.status, "coach_id": client.coach_id, **data}
    )


@bp.route("/clients/<int:client_id>/themes", methods=["GET"])
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, page_shape(ThemeShape))
def list_themes(page: dict[str, Any], client_id: int):
    """A client's career themes (at most three active at once)."""
    scope = api_scope()
    scope.get(Client, client_id)
    query = scope.select(CareerTheme).where(CareerTheme.client_id == client_id)
    return cursor_page(query, CareerTheme, page)


@bp.route("/clients/<int:client_id>/themes", methods=["POST"])
@idempotent
@bp.arguments(ThemeSchema)
@bp.response(201, ThemeShape)
def create_theme(data: dict[str, Any], client_id: int):
    """Add a theme, as the workspace does: a fourth active theme is refused (422, ``status``)."""
    theme = theme_service.add_theme(api_scope(), client_id, data)
    return theme, 201, {"Location": url_for("api_clients.show_theme", theme_id=theme.id)}


@bp.route("/themes/<int:theme_id>", methods=["GET"])
@bp.response(200, ThemeShape)
def show_theme(theme_id: int):
    return api_scope().get(CareerTheme, theme_id)


@bp.route("/themes/<int:theme_id>", methods=["PATCH"])
@bp.arguments(ThemeSchema(partial=True))
@bp.response(200, ThemeShape)
def update_theme(data: dict[str, Any], theme_id: int):
    """Change a theme's title, description, target or status; the same rules as the page."""
    scope = api_scope()
    theme = scope.get(CareerTheme, theme_id)
    require_fresh(ThemeShape(), theme)
    current = {
        name: getattr(theme, name) for name in ("title", "description", "target_conversations", "status")
    }
    return theme_service.update_theme(scope, theme_id, {**current, **data})
