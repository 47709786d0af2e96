"""The id parameters of the plugin's routes, for the isolation sweeps: a session and an action item,
both the client's own rows (made on first use)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from crossroads.plugin import Client, RouteId

from .models import ActionItem, Assignee, CoachingSession, SessionStatus


def _session(session: Session, client: Client) -> CoachingSession:
    return CoachingSession(
        practice_id=client.practice_id,
        client_id=client.id,
        coach_id=client.coach_id,
        starts_at=datetime(2031, 5, 6, 9, 0, tzinfo=UTC),
        minutes=50,
        timezone="Europe/London",
        status=SessionStatus.SCHEDULED,
        uid=f"coaching-sweep-{client.id}@crossroads.test",
    )


SESSION = RouteId("session_id", CoachingSession, make=_session)


def _action(session: Session, client: Client) -> ActionItem:
    return ActionItem(
        practice_id=client.practice_id,
        client_id=client.id,
        session_id=SESSION.resolve(session, client),
        assignee=Assignee.CLIENT,
        text="Write to three people in policy analysis",
        due_on=date(2031, 5, 13),
    )


crossroads_route_ids = [SESSION, RouteId("action_id", ActionItem, make=_action)]
