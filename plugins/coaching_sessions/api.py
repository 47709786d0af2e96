"""The plugin's JSON API resources (the ``api_blueprints`` hook): a client's coaching sessions and
action items, and ticking an item off. Private notes are in the staff's answers only, exactly as on
the pages; a client reads their sessions' shared summaries."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from crossroads.plugin import ApiBlueprint, Client, api_scope

from . import services
from .models import Assignee, CoachingSession

bp = ApiBlueprint(
    "coaching_sessions_api",
    __name__,
    description="Coaching sessions (plugin coaching_sessions): sessions, summaries and action items.",
)


class ActionItemShape(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    session_id = fields.Integer()
    assignee = fields.String()
    text = fields.String()
    due_on = fields.Date()
    done_at = fields.DateTime(allow_none=True)
    theme_id = fields.Integer(allow_none=True)
    contact_id = fields.Integer(allow_none=True)
    bank_id = fields.Integer(allow_none=True)


class SessionShape(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    starts_at = fields.DateTime()
    minutes = fields.Integer()
    timezone = fields.String()
    status = fields.String()
    summary = fields.String(metadata={"description": "Empty until the coach shares it."})
    shared_at = fields.DateTime(allow_none=True)
    private_notes = fields.String(metadata={"description": "The coach's own notes: staff only."})
    actions = fields.List(fields.Nested(ActionItemShape))


def _for_client(row: CoachingSession) -> dict[str, Any]:
    """A session as its client may read it: no private notes, the summary once shared."""
    shared = row.shared_at is not None
    return {
        "id": row.id,
        "client_id": row.client_id,
        "starts_at": row.starts_at,
        "minutes": row.minutes,
        "timezone": row.timezone,
        "status": row.status,
        "summary": row.summary if shared else "",
        "shared_at": row.shared_at,
        "actions": [item for item in row.actions if item.assignee == Assignee.CLIENT],
    }


@bp.route("/clients/<int:client_id>/sessions", methods=["GET"])
@bp.response(200, SessionShape(many=True))
def list_sessions(client_id: int):
    """The client's sessions, newest first, with their action items (staff: with private notes)."""
    scope = api_scope()
    if scope.user.is_staff:
        return services.history(scope, client_id)
    client = scope.get(Client, client_id)  # a client reaches only themselves: 404 for the others
    return [_for_client(row) for row in services.shared_summaries(scope, client.id, limit=100)]


@bp.route("/clients/<int:client_id>/action-items", methods=["GET"])
@bp.response(200, ActionItemShape(many=True))
def list_action_items(client_id: int):
    """The client's open action items by due date (a client sees the ones assigned to them)."""
    scope = api_scope()
    client = scope.get(Client, client_id)
    return services.open_actions(scope, client.id)


@bp.route("/action-items/<int:action_id>/done", methods=["POST"])
@bp.response(200, ActionItemShape)
def complete_action_item(action_id: int):
    """Tick an action item off, as the Done button of the due list does."""
    item, _changed = services.complete_action(api_scope(), action_id)
    return item
