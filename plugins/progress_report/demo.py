"""The progress report's demo rows: the demo coach's note on their first client's month, and the
coach opted in to the weekly digest."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crossroads.plugin import DEMO_CLIENT_EMAIL, DEMO_COACH_EMAIL, Period, PeriodChoice, Practice, User

from .models import DigestSubscription, ReportNote

NOTE = (
    "A good month: requests are going out steadily and the magazine conversations energised you. "
    "Before our next session, book two more in editing, then we will compare the themes side by side."
)


def load_demo(session: Session, practice: Practice) -> None:
    coach = session.scalar(
        select(User).where(User.email == DEMO_COACH_EMAIL, User.practice_id == practice.id)
    )
    person = session.scalar(
        select(User).where(User.email == DEMO_CLIENT_EMAIL, User.practice_id == practice.id)
    )
    if coach is None or person is None or person.client is None:
        return
    month = Period.of(PeriodChoice.THIS_MONTH, coach.timezone or "UTC")
    session.add(
        ReportNote(
            practice_id=practice.id,
            client_id=person.client.id,
            period_start=month.start,
            period_end=month.last_day,
            body=NOTE,
            author_id=coach.id,
        )
    )
    session.add(DigestSubscription(practice_id=practice.id, user_id=coach.id))
    session.flush()
