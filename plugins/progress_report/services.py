"""The plugin's writes: a coach's note on a period, the digest opt-in, and the practice's setting."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete

from crossroads.plugin import Client, Forbidden, Period, PracticePlugin, Role, Scope, refuse_stale

from .figures import PLUGIN
from .models import DigestSubscription, ReportNote


def save_note(
    scope: Scope, client_id: int, period: Period, body: str, seen: datetime | None = None
) -> ReportNote | None:
    """The coach's note on ``client_id``'s ``period``; an empty body removes it. Staff only.

    ``seen`` is the note's version the form was shown with: a save over a note saved since raises
    ``EditConflict`` with the note as saved.
    """
    client = scope.get(Client, client_id)
    if not scope.user.is_staff:
        raise Forbidden("only the coach writes the period's note")
    note = scope.session.scalar(
        scope.select(ReportNote).where(
            ReportNote.client_id == client.id,
            ReportNote.period_start == period.start,
            ReportNote.period_end == period.last_day,
        )
    )
    if note is not None:
        refuse_stale(scope.session, note, seen, ["body"], "this note")
    if not body:
        if note is not None:
            scope.session.delete(note)
        scope.session.commit()
        return None
    if note is None:
        note = ReportNote(
            practice_id=client.practice_id,
            client_id=client.id,
            period_start=period.start,
            period_end=period.last_day,
        )
        scope.session.add(note)
    note.body = body
    note.author_id = scope.user.id
    scope.session.commit()
    return note


def is_subscribed(scope: Scope) -> bool:
    return (
        scope.session.scalar(
            scope.select(DigestSubscription).where(DigestSubscription.user_id == scope.user.id)
        )
        is not None
    )


def set_digest(scope: Scope, subscribe: bool) -> bool:
    """Opt the signed-in staff member in to (or out of) the weekly digest email."""
    if not scope.user.is_staff:
        raise Forbidden("the digest is for coaches")
    if subscribe and not is_subscribed(scope):
        scope.session.add(DigestSubscription(practice_id=scope.practice_id, user_id=scope.user.id))
    elif not subscribe:
        scope.session.execute(
            delete(DigestSubscription).where(
                DigestSubscription.practice_id == scope.practice_id,
                DigestSubscription.user_id == scope.user.id,
            )
        )
    scope.session.commit()
    return subscribe


def save_settings(scope: Scope, data: dict[str, Any]) -> None:
    """The owner sets how many days without activity make a client stalled."""
    if scope.user.role != Role.OWNER:
        raise Forbidden("only the owner changes the practice's settings")
    row = scope.session.scalar(scope.select(PracticePlugin).where(PracticePlugin.plugin_name == PLUGIN))
    if row is None:
        row = PracticePlugin(practice_id=scope.practice_id, plugin_name=PLUGIN, enabled=True, settings={})
        scope.session.add(row)
    row.settings = {**(row.settings or {}), "stalled_days": data["stalled_days"]}
    scope.session.commit()
