"""The plugin's emails to the client, through the practice's outbox: an invitation to a session,
and a summary shared after one (for a client who asked for summaries by email).

Nothing is sent without the practice's email server (``can_send_email``); the caller commits.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import has_request_context, url_for

from crossroads.plugin import Scope, can_send_email, queue_email

from .calendar import session_ics
from .models import CoachingSession


def home_url() -> str:
    """Where the client reads their summaries and ticks items off: their home page."""
    return url_for("client.home", _external=True) if has_request_context() else "/me/"


def _when(row: CoachingSession) -> str:
    local = row.starts_at.astimezone(ZoneInfo(row.client.timezone))
    return f"{local:%A} {local.day} {local:%B} at {local:%H:%M} ({row.client.timezone})"


def _sender(row: CoachingSession) -> tuple[str, str]:
    coach = row.coach
    return (coach.name, coach.email) if coach is not None else (row.client.practice.name, "")


def send_invitation(scope: Scope, row: CoachingSession) -> bool:
    """Queue the client's invitation with the calendar file (``REQUEST``); False without email."""
    if not can_send_email(scope):
        return False
    name = _sender(row)[0]
    lines = [
        f"Hello {row.client.name},",
        "",
        f"{name} has set up a coaching session with you on {_when(row)}, for {row.minutes} minutes.",
    ]
    if row.location:
        lines.append(f"Where: {row.location}")
    lines += ["", "The calendar file attached adds it to your calendar.", ""]
    _queue(
        scope,
        row,
        subject="A coaching session with your coach",
        body="\n".join(lines),
        ics=session_ics(row, "REQUEST").decode(),
        ics_method="REQUEST",
    )
    return True


def send_summary(scope: Scope, row: CoachingSession) -> bool:
    """Queue the shared summary to the client; False without email."""
    if not can_send_email(scope):
        return False
    name = _sender(row)[0]
    body = "\n".join(
        [
            f"Hello {row.client.name},",
            "",
            f"{name} shared the summary of your session of {_when(row)}:",
            "",
            row.summary,
            "",
            f"Your action items are in your workspace's due list: {home_url()}",
            "",
        ]
    )
    _queue(scope, row, subject="The summary of your coaching session", body=body)
    return True


def _queue(scope: Scope, row: CoachingSession, **message: Any) -> None:
    """Queue an email from the session's coach (replies go to them) to its client."""
    name, reply_to = _sender(row)
    queue_email(
        scope.session,
        practice_id=row.practice_id,
        client_id=row.client_id,
        sender_name=name,
        reply_to=reply_to,
        to_address=row.client.email,
        to_name=row.client.name,
        **message,
    )
