"""A client's coaching sessions and action items, for their data export and their erasure.

The private notes are the coach's: they are in the archive the coach or the owner makes for the
client (staff's scope), never in the client's own. A summary not shared is the coach's draft, and
left out of the client's own archive too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from crossroads.plugin import Client, Scope

from .models import ActionItem, CoachingSession


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_rows(scope: Scope, client: Client) -> dict[str, list[dict[str, Any]]]:
    """``sessions`` and ``action_items`` as plain JSON rows, read through the exporter's ``scope``."""
    staff = scope.user.is_staff
    sessions = scope.session.scalars(
        scope.select(CoachingSession)
        .where(CoachingSession.client_id == client.id)
        .order_by(CoachingSession.id)
    )
    actions = scope.session.scalars(
        scope.select(ActionItem).where(ActionItem.client_id == client.id).order_by(ActionItem.id)
    )
    session_rows = []
    for row in sessions:
        item = {
            "id": row.id,
            "coach": row.coach.name if row.coach else None,
            "starts_at": _when(row.starts_at),
            "minutes": row.minutes,
            "timezone": row.timezone,
            "location": row.location,
            "status": row.status.value,
            "held_at": _when(row.held_at),
            "summary": row.summary if (staff or row.is_shared) else "",
            "shared_at": _when(row.shared_at),
        }
        if staff:
            item["private_notes"] = row.private_notes
        session_rows.append(item)
    return {
        "sessions": session_rows,
        "action_items": [
            {
                "id": a.id,
                "session_id": a.session_id,
                "assignee": a.assignee.value,
                "text": a.text,
                "due_on": a.due_on.isoformat(),
                "theme_id": a.theme_id,
                "contact_id": a.contact_id,
                "bank_id": a.bank_id,
                "done_at": _when(a.done_at),
                "created_at": _when(a.created_at),
            }
            for a in actions
        ],
    }


def erase_rows(session: Session, client: Client) -> None:
    """Delete the client's action items, then their sessions."""
    for model in (ActionItem, CoachingSession):
        session.execute(delete(model).where(model.client_id == client.id))
