"""The demo's coaching sessions: the demo client's last session (held a week ago, notes, a shared
summary and two action items, one done) and today's, still to come, with a drafted agenda."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crossroads.plugin import DEMO_CLIENT_EMAIL, Client, Practice, User, utcnow

from .models import ActionItem, Assignee, CoachingSession, SessionStatus


def load_demo(session: Session, practice: Practice) -> None:
    """Add the demo client's sessions and action items (flushed, not committed)."""
    client = session.scalar(
        select(Client)
        .join(User, Client.user_id == User.id)
        .where(Client.practice_id == practice.id, User.email == DEMO_CLIENT_EMAIL)
    )
    if client is None or client.coach_id is None:
        return
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    last = CoachingSession(
        practice_id=practice.id,
        client_id=client.id,
        coach_id=client.coach_id,
        starts_at=now - timedelta(days=7),
        minutes=50,
        timezone=client.coach.timezone or "UTC",
        location="Video call",
        status=SessionStatus.HELD,
        held_at=now - timedelta(days=7),
        private_notes="Energy is higher when she talks about editing than about policy work. "
        "Watch for over-preparing before requests.",
        summary="We looked at your first replies and agreed to keep the momentum: two more requests "
        "this week, and a short reflection after each conversation.",
        shared_at=now - timedelta(days=7) + timedelta(hours=1),
        uid=f"coaching-demo-{client.id}-1@crossroads",
    )
    today = CoachingSession(
        practice_id=practice.id,
        client_id=client.id,
        coach_id=client.coach_id,
        starts_at=now + timedelta(hours=2),
        minutes=50,
        timezone=client.coach.timezone or "UTC",
        location="Video call",
        status=SessionStatus.SCHEDULED,
        uid=f"coaching-demo-{client.id}-2@crossroads",
    )
    session.add_all([last, today])
    session.flush()
    local_today = now.date()
    session.add_all(
        [
            ActionItem(
                practice_id=practice.id,
                client_id=client.id,
                session_id=last.id,
                assignee=Assignee.CLIENT,
                text="Send two requests to people in magazine editing",
                due_on=local_today - timedelta(days=3),
                done_at=now - timedelta(days=4),
                theme_id=client.themes[0].id if client.themes else None,
            ),
            ActionItem(
                practice_id=practice.id,
                client_id=client.id,
                session_id=last.id,
                assignee=Assignee.CLIENT,
                text="Write a short reflection after each conversation",
                due_on=local_today + timedelta(days=2),
            ),
            ActionItem(
                practice_id=practice.id,
                client_id=client.id,
                session_id=last.id,
                assignee=Assignee.COACH,
                text="Suggest a contact at a publishing house",
                due_on=local_today - timedelta(days=1),
            ),
        ]
    )
    session.flush()
