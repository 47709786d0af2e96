"""The drafted agenda of a session: what changed for the client since their last session held.

Every figure comes from the core's one definition (``figures_for``, ``replies_received``,
``due_items``, ``steps`` and ``tally``, through ``crossroads.plugin``), read through the coach's
scope, so a reflection the client has not shared is never in it. Without an earlier session it
covers the last :data:`FIRST_WINDOW_DAYS` days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import selectinload

from crossroads.plugin import (
    METRIC_LABELS,
    CareerTheme,
    Contact,
    Conversation,
    ConversationStatus,
    DueItem,
    Figures,
    Goal,
    GoalMetric,
    GoalPeriod,
    Reflection,
    Scope,
    due_items,
    figures_for,
    month_start,
    quarter_start,
    replies_received,
    steps,
    tally,
    utcnow,
)

from . import services
from .models import ActionItem, CoachingSession

FIRST_WINDOW_DAYS = 30
#: At most this many finished weeks are checked for missed weekly goals.
MAX_WEEKS = 6


@dataclass(frozen=True)
class MissedGoal:
    """A goal whose period ended since the last session with less done than the target."""

    period: GoalPeriod
    metric: GoalMetric
    start: date
    target: int
    done: int

    @property
    def label(self) -> str:
        return METRIC_LABELS[self.metric]


@dataclass
class Agenda:
    """What to talk about: each part is a list (or figures) the page shows, empty parts included."""

    session: CoachingSession
    previous: CoachingSession | None
    since: datetime
    until: datetime
    figures: Figures
    #: The replies that came in (``count``, ``last_at``), as the caseload counts them.
    replies: Any
    conversations: list[Conversation] = field(default_factory=list)
    reflections: list[Reflection] = field(default_factory=list)
    overdue_follow_ups: list[DueItem] = field(default_factory=list)
    overdue_actions: list[ActionItem] = field(default_factory=list)
    open_actions: list[ActionItem] = field(default_factory=list)
    themes_without_contacts: list[CareerTheme] = field(default_factory=list)
    goals_missed: list[MissedGoal] = field(default_factory=list)


def draft(scope: Scope, row: CoachingSession, now: datetime | None = None) -> Agenda:
    """The agenda of ``row``: what changed between the client's last session held and now (or the
    session's start, when it is over). A fixed number of queries, whatever the client did."""
    now = now or utcnow()
    client = row.client
    zone = ZoneInfo(client.timezone)
    previous = services.previous_session(scope, row)
    since = (previous.held_at or previous.starts_at) if previous else now - timedelta(days=FIRST_WINDOW_DAYS)
    until = max(now, since + timedelta(seconds=1))
    today = now.astimezone(zone).date()
    figures = figures_for(scope, [client], since, until)[client.id]
    replies = replies_received(scope, [client.id], since, until)[client.id]
    conversations = scope.session.scalars(
        scope.select(Conversation)
        .where(
            Conversation.client_id == client.id,
            Conversation.status == ConversationStatus.HELD,
            Conversation.held_at >= since,
            Conversation.held_at < until,
        )
        .options(selectinload(Conversation.contact))
        .order_by(Conversation.held_at)
    ).all()
    # The coach's scope holds only the reflections the client shared.
    reflections = scope.session.scalars(
        scope.select(Reflection)
        .where(Reflection.client_id == client.id, Reflection.shared_at >= since, Reflection.shared_at < until)
        .options(selectinload(Reflection.conversation).selectinload(Conversation.contact))
        .order_by(Reflection.shared_at)
    ).all()
    contacts = scope.session.scalars(
        scope.select(Contact).where(Contact.client_id == client.id).options(selectinload(Contact.themes))
    ).all()
    overdue = [item for item in due_items(contacts, client.practice, zone, today) if item.overdue]
    covered = {theme.id for contact in contacts for theme in contact.themes}
    themes = [t for t in client.active_themes if t.id not in covered]
    actions = services.open_actions(scope, client.id)
    return Agenda(
        session=row,
        previous=previous,
        since=since,
        until=until,
        figures=figures,
        replies=replies,
        conversations=list(conversations),
        reflections=list(reflections),
        overdue_follow_ups=overdue,
        overdue_actions=[a for a in actions if services.is_overdue(a, today)],
        open_actions=[a for a in actions if not services.is_overdue(a, today)],
        themes_without_contacts=themes,
        goals_missed=goals_missed(scope, row, since.astimezone(zone).date(), today),
    )


def _utc(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(ZoneInfo("UTC"))


def _done(figures: Figures, metric: GoalMetric) -> int:
    """What a goal's metric counts, as the client's goals do."""
    return {
        GoalMetric.REQUESTS: figures.requests,
        GoalMetric.CONVERSATIONS: figures.conversations,
        GoalMetric.THANK_YOUS: figures.thank_yous,
    }[metric]


def goals_missed(scope: Scope, row: CoachingSession, since: date, today: date) -> list[MissedGoal]:
    """Weeks (Monday to Sunday) and quarters that ended between ``since`` and ``today`` in the client's
    calendar with less done than the client's goal for them."""
    client = row.client
    zone = ZoneInfo(client.timezone)
    goals = scope.session.scalars(scope.select(Goal).where(Goal.client_id == client.id)).all()
    if not goals:
        return []
    periods: list[tuple[GoalPeriod, date, date]] = []
    this_monday = today - timedelta(days=today.weekday())
    for weeks_back in range(MAX_WEEKS, 0, -1):
        start = this_monday - timedelta(days=7 * weeks_back)
        if start + timedelta(days=7) > since:
            periods.append((GoalPeriod.WEEK, start, start + timedelta(days=7)))
    this_quarter = quarter_start(today)
    last_quarter = month_start(this_quarter, -3)
    if this_quarter > since:
        periods.append((GoalPeriod.QUARTER, last_quarter, this_quarter))
    wanted = [(g, p) for g in goals for p in periods if p[0] == g.period]
    if not wanted:
        return []
    first = min(_utc(start, zone) for _, (_, start, _) in wanted)
    last = max(_utc(end, zone) for _, (_, _, end) in wanted)
    found = steps(scope, [client], first, last)
    missed = []
    for goal, (period, start, end) in wanted:
        counted = tally(found, _utc(start, zone), _utc(end, zone)).get(client.id) or Figures()
        done = _done(counted, goal.metric)
        if done < goal.target:
            missed.append(MissedGoal(period, goal.metric, start, goal.target, done))
    return missed
