"""The figures of the progress and caseload reports, computed without HTTP and in a fixed number of queries.

Every query is built from the viewer's :class:`~crossroads.plugin.Scope`. The number of
SQL statements does not grow with the amount of activity: rows are fetched per kind of event
in one statement each and counted here, in the period's time zone (the viewer's), so that a
week runs from Monday 00:00 to Sunday 24:00 where the viewer is, whatever the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crossroads.plugin import (
    BY_HAND,
    METRIC_LABELS,
    CareerTheme,
    Client,
    Contact,
    ContactSource,
    Conversation,
    ConversationStatus,
    DueKind,
    Figures,
    Goal,
    GoalMetric,
    GoalPeriod,
    NotFound,
    Period,
    Reflection,
    Scope,
    Stage,
    StepKind,
    Suggestion,
    ThemeDecision,
    User,
    activity,
    due_items,
    figures_for,
    stalled_days,
    steps,
    tally,
)

PLUGIN = "progress_report"
#: Weekly charts show at least this many weeks, going back before a short period.
CHART_WEEKS = 6
#: Days in a quarter, for scaling a quarterly goal to a period.
QUARTER_DAYS = 91

#: Which week-row counter each kind of step adds to.
WEEK_FIELDS = {
    StepKind.REQUEST: "requests",
    StepKind.FOLLOW_UP: "follow_ups",
    StepKind.THANK_YOU: "thank_yous",
    StepKind.CONVERSATION: "conversations",
}


def channel_label(name: str, labels: Mapping[str, str] | None = None) -> str:
    """How a report names a channel: its own ``label`` (``labels``, by name), else its name."""
    if name == BY_HAND:
        return "Recorded by hand"
    return (labels or {}).get(name) or name


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` as a percentage with one decimal, or None when there is nothing to divide."""
    return round(100 * part / whole, 1) if whole else None


# -- goals against a period -----------------------------------------------------------------


@dataclass(frozen=True)
class GoalFigure:
    metric: GoalMetric
    done: int
    expected: int | None
    basis: str = ""

    @property
    def label(self) -> str:
        return METRIC_LABELS[self.metric]

    @property
    def percent(self) -> int | None:
        if not self.expected:
            return None
        return min(100, round(100 * self.done / self.expected))


def expected_for(goals: dict[tuple[GoalPeriod, GoalMetric], int], metric: GoalMetric, period: Period):
    """A goal scaled to the period: a weekly target times the weeks, else a quarterly one by days."""
    weekly = goals.get((GoalPeriod.WEEK, metric))
    if weekly:
        expected = max(1, round(weekly * period.days / 7))
        return expected, f"{weekly} a week"
    quarterly = goals.get((GoalPeriod.QUARTER, metric))
    if quarterly:
        expected = max(1, round(quarterly * period.days / QUARTER_DAYS))
        return expected, f"{quarterly} a quarter"
    return None, ""


# -- the client progress report -------------------------------------------------------------


@dataclass
class ChannelRow:
    channel: str
    requests: int = 0
    follow_ups: int = 0
    replied: int = 0
    #: The channel's ``label`` (see :func:`channel_label`).
    label: str = ""

    @property
    def reply_rate(self) -> float | None:
        return rate(self.replied, self.requests)


@dataclass
class WeekRow:
    start: date
    requests: int = 0
    follow_ups: int = 0
    conversations: int = 0
    thank_yous: int = 0

    @property
    def total(self) -> int:
        return self.requests + self.follow_ups + self.conversations + self.thank_yous


@dataclass
class ThemeFigures:
    theme: CareerTheme
    held_in_period: int = 0
    held_to_date: int = 0
    energies: list[int] = field(default_factory=list)
    fits: list[int] = field(default_factory=list)
    #: (contact name, insight) from reflections the client shared, of conversations held in the period.
    insights: list[tuple[str, str]] = field(default_factory=list)
    decisions: list[ThemeDecision] = field(default_factory=list)

    @property
    def target(self) -> int:
        return self.theme.target_conversations

    @property
    def average_energy(self) -> float | None:
        return round(sum(self.energies) / len(self.energies), 1) if self.energies else None

    @property
    def average_fit(self) -> float | None:
        return round(sum(self.fits) / len(self.fits), 1) if self.fits else None


@dataclass
class ClientFigures:
    client: Client
    period: Period
    requests: int = 0
    replied: int = 0
    channels: list[ChannelRow] = field(default_factory=list)
    follow_ups: int = 0
    follow_ups_on_time: int = 0
    thank_yous: int = 0
    thank_yous_on_time: int = 0
    conversations: int = 0
    goals: list[GoalFigure] = field(default_factory=list)
    new_contacts: dict[str, int] = field(default_factory=dict)
    referrals: list[tuple[str, str]] = field(default_factory=list)  # (new contact, referred by)
    themes: list[ThemeFigures] = field(default_factory=list)
    weeks: list[WeekRow] = field(default_factory=list)

    @property
    def reply_rate(self) -> float | None:
        return rate(self.replied, self.requests)

    @property
    def new_contacts_total(self) -> int:
        return sum(self.new_contacts.values())


def client_figures(
    scope: Scope, client_id: int, period: Period, channel_labels: Mapping[str, str] | None = None
) -> ClientFigures:
    """Everything the client progress report shows for ``period``, for the viewer ``scope``.

    Key insights, energy and fit come from reflections the client shared, whoever looks.
    ``channel_labels`` (``ReportRequest.channel_labels``) names each channel as the channel does.
    """
    session = scope.session
    client = session.scalars(
        scope.select(Client).where(Client.id == client_id).options(joinedload(Client.user))
    ).first()
    if client is None:
        raise NotFound(f"Client {client_id}")
    figures = ClientFigures(client, period)
    weeks = period.week_starts(at_least=CHART_WEEKS)
    chart_since = period.utc(weeks[0])
    week_rows = {start: WeekRow(start) for start in weeks}

    def week_of(moment: datetime) -> WeekRow | None:
        day = period.local_date(moment)
        return week_rows.get(day - timedelta(days=day.weekday()))

    # Requests, replies, follow-ups, thank-yous and conversations, as the core counts them
    # everywhere: over the period, and week by week for the chart.
    found = steps(scope, [client], min(chart_since, period.since), period.until)
    counted = tally(found, period.since, period.until).get(client.id) or Figures()
    figures.requests, figures.replied = counted.requests, counted.replied
    figures.follow_ups, figures.follow_ups_on_time = counted.follow_ups, counted.follow_ups_on_time
    figures.thank_yous, figures.thank_yous_on_time = counted.thank_yous, counted.thank_yous_on_time
    figures.conversations = counted.conversations
    figures.channels = sorted(
        (
            ChannelRow(
                c.channel, c.requests, c.follow_ups, c.replied, channel_label(c.channel, channel_labels)
            )
            for c in counted.channels.values()
        ),
        key=lambda r: (r.channel == BY_HAND, -r.requests, r.channel),
    )
    for step in found:
        if step.at >= chart_since and (week := week_of(step.at)):
            setattr(week, WEEK_FIELDS[step.kind], getattr(week, WEEK_FIELDS[step.kind]) + 1)

    # Conversations held: in the chart's weeks, and to date per theme.
    held = session.execute(
        scope.select(Conversation)
        .with_only_columns(Conversation.theme_id, Conversation.held_at)
        .where(
            Conversation.client_id == client.id,
            Conversation.theme_id.is_not(None),
            Conversation.status == ConversationStatus.HELD,
            Conversation.held_at < period.until,
        )
    ).all()
    themes = {
        t.id: ThemeFigures(t)
        for t in sorted(client.themes, key=lambda t: (t.status == "dropped", t.position, t.id))
    }
    for theme_id, held_at in held:
        figures_theme = themes.get(theme_id)
        if figures_theme:
            figures_theme.held_to_date += 1
            figures_theme.held_in_period += period.contains(held_at)

    # Shared reflections on the conversations held in the period.
    reflections = session.execute(
        scope.select(Reflection)
        .join(Conversation, Reflection.conversation_id == Conversation.id)
        .join(Contact, Conversation.contact_id == Contact.id)
        .with_only_columns(
            Conversation.theme_id, Reflection.energy, Reflection.fit, Reflection.insights, Contact.name
        )
        .where(
            Reflection.client_id == client.id,
            Reflection.shared_at.is_not(None),
            Conversation.held_at >= period.since,
            Conversation.held_at < period.until,
        )
        .order_by(Conversation.held_at, Conversation.id)
    ).all()
    for theme_id, energy, fit, insights, contact_name in reflections:
        figures_theme = themes.get(theme_id)
        if figures_theme is None:
            continue
        figures_theme.energies.append(energy)
        figures_theme.fits.append(fit)
        if insights:
            figures_theme.insights.append((contact_name, insights))

    for decision in session.scalars(
        scope.select(ThemeDecision)
        .where(
            ThemeDecision.client_id == client.id,
            ThemeDecision.at >= period.since,
            ThemeDecision.at < period.until,
        )
        .options(joinedload(ThemeDecision.by_user))
        .order_by(ThemeDecision.at)
    ):
        if decision.theme_id in themes:
            themes[decision.theme_id].decisions.append(decision)
    figures.themes = list(themes.values())

    # New contacts by source; referrals named with who referred them.
    referrer = select(Contact.id, Contact.name).subquery()
    for source, name, referred_by in session.execute(
        scope.select(Contact)
        .outerjoin(referrer, Contact.referred_by_id == referrer.c.id)
        .with_only_columns(Contact.source, Contact.name, referrer.c.name)
        .where(
            Contact.client_id == client.id,
            Contact.created_at >= period.since,
            Contact.created_at < period.until,
            (Contact.suggestion.is_(None)) | (Contact.suggestion != Suggestion.PENDING),
        )
        .order_by(Contact.created_at, Contact.id)
    ):
        figures.new_contacts[source] = figures.new_contacts.get(source, 0) + 1
        if source == ContactSource.REFERRAL:
            figures.referrals.append((name, referred_by or ""))

    goals = {
        (g.period, g.metric): g.target
        for g in session.scalars(scope.select(Goal).where(Goal.client_id == client.id))
    }
    done = {
        GoalMetric.REQUESTS: figures.requests,
        GoalMetric.CONVERSATIONS: figures.conversations,
        GoalMetric.THANK_YOUS: figures.thank_yous,
    }
    for metric in GoalMetric:
        expected, basis = expected_for(goals, metric, period)
        figures.goals.append(GoalFigure(metric, done[metric], expected, basis))
    figures.weeks = list(week_rows.values())
    return figures


# -- the caseload report --------------------------------------------------------------------


@dataclass
class CaseloadRow:
    client: Client
    activity: int = 0
    requests: int = 0
    conversations: int = 0
    thank_yous: int = 0
    last_activity: datetime | None = None
    idle_days: int = 0
    stalled: bool = False
    overdue_follow_ups: int = 0
    overdue_thank_yous: int = 0
    conversations_expected: int | None = None
    weeks: float = 1.0

    @property
    def momentum(self) -> float:
        """Activity (requests, follow-ups, conversations, thank-yous) per week of the period."""
        return round(self.activity / max(self.weeks, 1), 1)

    @property
    def overdue(self) -> int:
        return self.overdue_follow_ups + self.overdue_thank_yous

    @property
    def name(self) -> str:
        return self.client.name


CASELOAD_SORT_KEYS = ("name", "momentum", "requests", "idle", "overdue", "conversations", "coach")
CASELOAD_SORTS = tuple(f"{sign}{key}" for key in CASELOAD_SORT_KEYS for sign in ("", "-"))


def caseload_rows(
    scope: Scope,
    period: Period,
    now: datetime,
    coach_id: int | None = None,
    sort: str = "-idle",
) -> list[CaseloadRow]:
    """One row per client the viewer may see (a coach: their caseload; the owner: the practice,
    or one coach's clients with ``coach_id``), sorted by ``sort`` (a key of ``CASELOAD_SORTS``)."""
    session = scope.session
    query = scope.select(Client).options(joinedload(Client.user), joinedload(Client.coach))
    if coach_id is not None:
        query = query.where(Client.coach_id == coach_id)
    clients = session.scalars(query).unique().all()
    rows = {c.id: CaseloadRow(c, weeks=period.weeks) for c in clients}
    if not rows:
        return []
    ids = list(rows)
    counted = figures_for(scope, clients, period.since, period.until)
    threshold = stalled_days(session, scope.practice_id)
    for row in rows.values():
        done = counted[row.client.id]
        row.activity = done.steps
        row.requests, row.conversations, row.thank_yous = done.requests, done.conversations, done.thank_yous
        # Last activity is the client's own, by the one rule the caseload uses too.
        own = activity(row.client, now, threshold)
        row.last_activity, row.idle_days, row.stalled = own.last, own.idle_days, own.stalled

    # Overdue follow-ups and thank-yous, by the 3B7 rhythm in each client's time zone.
    # Only contacts already overdue somewhere (their kept ``overdue_from``) can count.
    open_contacts: dict[int, list[Contact]] = defaultdict(list)
    latest = max((now.astimezone(ZoneInfo(r.client.timezone)).date() for r in rows.values()), default=None)
    for contact in session.scalars(
        scope.select(Contact).where(
            Contact.client_id.in_(ids),
            Contact.stage.in_([Stage.REQUESTED, Stage.TALKED]),
            Contact.overdue_from <= latest,
        )
    ):
        open_contacts[contact.client_id].append(contact)
    practice = scope.user.practice
    for row in rows.values():
        zone = ZoneInfo(row.client.timezone)
        for item in due_items(
            open_contacts.get(row.client.id, []), practice, zone, now.astimezone(zone).date()
        ):
            if not item.overdue:
                continue
            if item.kind == DueKind.THANK_YOU:
                row.overdue_thank_yous += 1
            elif item.kind != DueKind.SECOND_PERSON:
                row.overdue_follow_ups += 1

    goals: dict[int, dict[tuple[GoalPeriod, GoalMetric], int]] = defaultdict(dict)
    for goal in session.scalars(scope.select(Goal).where(Goal.client_id.in_(ids))):
        goals[goal.client_id][(goal.period, goal.metric)] = goal.target
    for row in rows.values():
        row.conversations_expected, _ = expected_for(goals[row.client.id], GoalMetric.CONVERSATIONS, period)
    return sort_rows(list(rows.values()), sort)


def sort_rows(rows: list[CaseloadRow], sort: str) -> list[CaseloadRow]:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    value = {
        "name": lambda r: r.name.lower(),
        "momentum": lambda r: r.momentum,
        "requests": lambda r: r.requests,
        "idle": lambda r: r.idle_days,
        "overdue": lambda r: r.overdue,
        "conversations": lambda r: r.conversations,
        "coach": lambda r: r.client.coach.name.lower(),
    }[key]
    rows = sorted(rows, key=lambda r: (r.name.lower(), r.client.id))
    return sorted(rows, key=value, reverse=descending)


def caseload_counts(rows: list[CaseloadRow]) -> dict[str, Any]:
    return {
        "clients": len(rows),
        "stalled": sum(r.stalled for r in rows),
        "overdue": sum(r.overdue for r in rows),
        "requests": sum(r.requests for r in rows),
        "conversations": sum(r.conversations for r in rows),
    }


def coaches(scope: Scope) -> list[User]:
    return list(scope.session.scalars(scope.coaches().order_by(User.name)))
