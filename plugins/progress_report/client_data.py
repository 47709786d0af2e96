"""A client's progress-report rows (their coach's notes on a period), for export and erasure.

The weekly digest opt-in is a coach's, not a client's: it is neither exported nor erased here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from crossroads.plugin import Client, Scope

from .models import ReportNote


def export_rows(scope: Scope, client: Client) -> dict[str, list[dict[str, Any]]]:
    """``notes``: what the coach wrote about each of the client's periods (through ``scope``)."""
    notes = scope.session.scalars(
        scope.select(ReportNote).where(ReportNote.client_id == client.id).order_by(ReportNote.period_start)
    )
    return {
        "notes": [
            {
                "id": n.id,
                "period_start": n.period_start.isoformat(),
                "period_end": n.period_end.isoformat(),
                "body": n.body,
                "author": n.author.name if n.author else None,
                "updated_at": n.updated_at.isoformat(),
            }
            for n in notes
        ]
    }


def erase_rows(session: Session, client: Client) -> None:
    """Delete the notes about the client."""
    session.execute(delete(ReportNote).where(ReportNote.client_id == client.id))
