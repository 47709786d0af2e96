"""The weekly caseload digest: an email to each coach who opted in, every Monday from 07:00 their time.

Built from the caseload report's rows for last week and written to the email outbox, which the
mail worker delivers. The job runs every hour (a ``scheduled_jobs`` hook) and sends each coach
at most one digest per week: ``last_sent_week`` remembers the Monday, so a worker that was down
on Monday morning catches up later that week and a job run twice sends nothing twice.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, joinedload

from crossroads.plugin import (
    Notification,
    Period,
    PeriodChoice,
    PracticeMail,
    ScheduledJob,
    Scope,
    User,
    plugin_states,
    queue_email,
    take_for_digest,
)

from .figures import PLUGIN, CaseloadRow, caseload_counts, caseload_rows, stalled_days
from .models import DigestSubscription

log = logging.getLogger(__name__)

#: The local hour on Monday from which the digest goes.
SEND_FROM_HOUR = 7


def digest_text(
    user: User,
    period: Period,
    rows: list[CaseloadRow],
    threshold: int,
    news: list[Notification] | None = None,
    more: int = 0,
) -> tuple[str, str]:
    """The digest's subject and plain-text body; ``news`` are the coach's notifications chosen for
    the digest (and ``more`` how many were left out)."""
    counts = caseload_counts(rows)
    subject = f"Your caseload, {period.range_text}: {counts['stalled']} stalled, {counts['overdue']} overdue"
    lines = [
        f"Hello {user.name},",
        "",
        f"Last week ({period.range_text}) across your {counts['clients']} clients: "
        f"{counts['requests']} requests sent, {counts['conversations']} conversations held, "
        f"{counts['overdue']} follow-ups and thank-yous overdue.",
        "",
    ]
    if news:
        lines.append("Since last week:")
        lines += [f"- {n.text}" for n in news]
        if more:
            lines.append(f"- and {more} more, listed under Notifications in Crossroads")
        lines.append("")
    stalled = [r for r in rows if r.stalled]
    if stalled:
        lines.append(f"Stalled (no activity of their own in {threshold} days or more):")
        lines += [f"- {r.name}: {r.idle_days} days since the last activity" for r in stalled]
        lines.append("")
    overdue = [r for r in rows if r.overdue]
    if overdue:
        lines.append("Overdue follow-ups and thank-yous:")
        lines += [
            f"- {r.name}: {r.overdue_follow_ups} follow-ups, {r.overdue_thank_yous} thank-yous"
            for r in overdue
        ]
        lines.append("")
    moving = sorted((r for r in rows if r.activity), key=lambda r: -r.momentum)[:5]
    if moving:
        lines.append("Most momentum:")
        lines += [
            f"- {r.name}: {r.activity} steps, "
            f"{r.requests} requests sent, {r.conversations} conversations held"
            for r in moving
        ]
        lines.append("")
    lines.append("The caseload report in Crossroads has the details. You can stop this email there.")
    return subject, "\n".join(lines)


def _claim_week(session: Session, subscription: DigestSubscription, monday: date) -> bool:
    """Mark the week sent in one conditional UPDATE; only one of several workers' jobs wins it.

    Every ``crossroads worker`` runs the schedule, so two may run this job at
    once; the row lock of the UPDATE makes the second one see the week taken.
    """
    claimed = session.execute(
        update(DigestSubscription)
        .where(
            DigestSubscription.id == subscription.id,
            or_(DigestSubscription.last_sent_week.is_(None), DigestSubscription.last_sent_week < monday),
        )
        .values(last_sent_week=monday)
        .execution_options(synchronize_session="fetch")
    )
    return claimed.rowcount == 1


def send_digests(session: Session, now: datetime) -> int:
    """Queue this week's digest for every opted-in coach whose Monday 07:00 has come. Returns how many."""
    sent = 0
    subscriptions = session.scalars(
        select(DigestSubscription)
        .join(User, DigestSubscription.user_id == User.id)
        .where(User.is_active)
        .options(joinedload(DigestSubscription.user).joinedload(User.practice))
        .order_by(DigestSubscription.id)
    ).all()
    mail_from = dict(session.execute(select(PracticeMail.practice_id, PracticeMail.from_address)).all())
    switched: dict[int, bool] = {}
    for subscription in subscriptions:
        user = subscription.user
        if not user.is_staff:
            continue
        practice_id = user.practice_id
        if practice_id not in switched:
            switched[practice_id] = plugin_states(session, practice_id).get(PLUGIN, True)
        if not switched[practice_id]:
            continue
        if practice_id not in mail_from:
            log.info("digest for user %s waits: practice %s has no email server", user.id, practice_id)
            continue
        local = now.astimezone(ZoneInfo(user.timezone or "UTC"))
        monday = local.date() - timedelta(days=local.weekday())
        if subscription.last_sent_week is not None and subscription.last_sent_week >= monday:
            continue
        if local.date() == monday and local.hour < SEND_FROM_HOUR:
            continue
        if not _claim_week(session, subscription, monday):
            continue  # another worker's scheduler got there first
        period = Period.of(PeriodChoice.LAST_WEEK, user.timezone or "UTC", today=local.date())
        scope = Scope(session, user)
        rows = caseload_rows(scope, period, now, coach_id=user.id if user.role == "coach" else None)
        news, more = take_for_digest(session, user, now)
        subject, body = digest_text(user, period, rows, stalled_days(session, practice_id), news, more)
        queue_email(
            session,
            practice_id=practice_id,
            client_id=None,
            sender_name=f"Crossroads for {user.practice.name}",
            reply_to="",
            to_address=user.email,
            to_name=user.name,
            subject=subject,
            body=body,
            from_address=mail_from[practice_id],
        )
        sent += 1
    session.flush()
    return sent


JOB = ScheduledJob(name="weekly_digest", run=send_digests, cron={"minute": "5"})
