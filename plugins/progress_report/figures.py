"""The figures of the progress and caseload reports, computed without HTTP and in a fixed number of queries.

Every query is built from the viewer's :class:`~crossroads.core.scoping.Scope`. The number of
SQL statements does not grow with the amount of activity: rows are fetched per kind of event
in one statement each and counted here, in the period's time zone (the viewer's), so that a
week runs from Monday 00:00 to Sunday 24:00 where the viewer is, whatever the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crossroads.core.errors import NotFound
from crossroads.core.followups import DueKind, add_business_days, due_items
from crossroads.core.models import (
    SOURCE_LABELS,
    CareerTheme,
    Client,
    ClientStatus,
    Contact,
    ContactSource,
    Conversation,
    ConversationStatus,
    Goal,
    GoalMetric,
    GoalPeriod,
    MessageKind,
    OutreachMessage,
    PracticePlugin,
    Reflection,
    Stage,
    StageChange,
    Suggestion,
    ThemeDecision,
    User,
)
from crossroads.core.reports import Period
from crossroads.core.scoping import Scope
from crossroads.core.services.goals import METRIC_LABELS

PLUGIN = "progress_report"
#: Days without activity after which a client shows as stalled, unless the practice sets its own.
DEFAULT_STALLED_DAYS = 14
#: Weekly charts show at least this many weeks, going back before a short period.
CHART_WEEKS = 6
#: Days in a quarter, for scaling a quarterly goal to a period.
QUARTER_DAYS = 91

#: Clients in these states are not flagged as stalled, however long since their last step.
QUIET_ON_PURPOSE = (ClientStatus.PAUSED, ClientStatus.DECIDED)

#: A contact who moved from "requested" to one of these has answered.
ANSWERED = (Stage.REPLIED, Stage.SCHEDULED, Stage.TALKED, Stage.THANKED, Stage.DECLINED)

CHANNEL_LABELS = {"email": "Email", "linkedin": "LinkedIn", "alumni_offices": "Alumni office"}
BY_HAND = "by_hand"


def channel_label(name: str) -> str:
    if name == BY_HAND:
        return "Recorded by hand"
    return CHANNEL_LABELS.get(name, name.replace("_", " ").capitalize())


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` as a percentage with one decimal, or None when there is nothing to divide."""
    return round(100 * part / whole, 1) if whole else None


def stalled_days(session, practice_id: int) -> int:
    """The practice's setting: days without activity before a client counts as stalled."""
    settings = session.scalar(
        select(PracticePlugin.settings).where(
            PracticePlugin.practice_id == practice_id, PracticePlugin.plugin_name == PLUGIN
        )
    )
    value = (settings or {}).get("stalled_days")
    return value if isinstance(value, int) and value > 0 else DEFAULT_STALLED_DAYS


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

    @property
    def label(self) -> str:
        return channel_label(self.channel)

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
    new_contacts: dict[ContactSource, int] = field(default_factory=dict)
    referrals: list[tuple[str, str]] = field(default_factory=list)  # (new contact, referred by)
    themes: list[ThemeFigures] = field(default_factory=list)
    weeks: list[WeekRow] = field(default_factory=list)

    @property
    def reply_rate(self) -> float | None:
        return rate(self.replied, self.requests)

    @property
    def new_contacts_total(self) -> int:
        return sum(self.new_contacts.values())


def client_figures(scope: Scope, client_id: int, period: Period) -> ClientFigures:
    """Everything the client progress report shows for ``period``, for the viewer ``scope``.

    Key insights, energy and fit come from reflections the client shared, whoever looks.
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
    client_zone = ZoneInfo(client.timezone)

    def week_of(moment: datetime) -> WeekRow | None:
        day = period.local_date(moment)
        return week_rows.get(day - timedelta(days=day.weekday()))

    # The contact pipeline's history up to the period's end: requests, follow-ups, answers, thanks.
    changes = session.execute(
        scope.select(StageChange)
        .with_only_columns(
            StageChange.contact_id,
            StageChange.from_stage,
            StageChange.to_stage,
            StageChange.note,
            StageChange.at,
        )
        .where(
            StageChange.client_id == client.id,
            StageChange.to_stage.in_([Stage.REQUESTED, Stage.TALKED, Stage.THANKED, *ANSWERED]),
            StageChange.at < period.until,
        )
        .order_by(StageChange.at, StageChange.id)
    ).all()
    requested_at: dict[int, list[datetime]] = defaultdict(list)  # contact → request and follow-up times
    talked_at: dict[int, datetime] = {}
    answered_at: dict[int, list[datetime]] = defaultdict(list)
    requests_in_period: list[tuple[int, datetime]] = []
    practice = client.practice
    for contact_id, from_stage, to_stage, note, at in changes:
        in_period = period.contains(at)
        week = week_of(at) if at >= chart_since else None
        if to_stage == Stage.REQUESTED and note == "":
            requested_at[contact_id].append(at)
            if in_period:
                figures.requests += 1
                requests_in_period.append((contact_id, at))
            if week:
                week.requests += 1
        elif to_stage == Stage.REQUESTED and note == "follow_up":
            previous = requested_at[contact_id][-1] if requested_at[contact_id] else None
            requested_at[contact_id].append(at)
            if in_period:
                figures.follow_ups += 1
                if previous is not None:
                    due = add_business_days(
                        previous.astimezone(client_zone).date(), practice.follow_up_after_days
                    )
                    figures.follow_ups_on_time += at.astimezone(client_zone).date() <= due
            if week:
                week.follow_ups += 1
        elif to_stage == Stage.TALKED:
            talked_at[contact_id] = at
        elif to_stage == Stage.THANKED and note == "":
            if in_period:
                figures.thank_yous += 1
                talked = talked_at.get(contact_id)
                if talked is not None:
                    due = talked.astimezone(client_zone).date() + timedelta(days=1)
                    figures.thank_yous_on_time += at.astimezone(client_zone).date() <= due
            if week:
                week.thank_yous += 1
        if from_stage == Stage.REQUESTED and to_stage in ANSWERED:
            answered_at[contact_id].append(at)
    # Answers that came after the period still count for requests made in it.
    later_answers = session.execute(
        scope.select(StageChange)
        .with_only_columns(StageChange.contact_id, StageChange.at)
        .where(
            StageChange.client_id == client.id,
            StageChange.from_stage == Stage.REQUESTED,
            StageChange.to_stage.in_(ANSWERED),
            StageChange.at >= period.until,
            StageChange.contact_id.in_([c for c, _ in requests_in_period] or [0]),
        )
    ).all()
    for contact_id, at in later_answers:
        answered_at[contact_id].append(at)
    replied_contacts = {
        contact_id for contact_id, at in requests_in_period if any(a >= at for a in answered_at[contact_id])
    }

    # Requests by channel: the outreach messages sent in the period.
    channels: dict[str, ChannelRow] = {}
    messages = session.execute(
        scope.select(OutreachMessage)
        .with_only_columns(
            OutreachMessage.channel,
            OutreachMessage.kind,
            OutreachMessage.contact_id,
            OutreachMessage.replied_at,
        )
        .where(
            OutreachMessage.client_id == client.id,
            OutreachMessage.sent_at >= period.since,
            OutreachMessage.sent_at < period.until,
            OutreachMessage.kind.in_([MessageKind.FIRST_REQUEST, MessageKind.FOLLOW_UP]),
        )
    ).all()
    for channel, kind, contact_id, replied_at in messages:
        row = channels.setdefault(channel, ChannelRow(channel))
        if kind == MessageKind.FIRST_REQUEST:
            row.requests += 1
            row.replied += replied_at is not None or contact_id in replied_contacts
        else:
            row.follow_ups += 1
    # A reply is a contact who answered after the request: moved on from "requested", or whose
    # request was marked replied.
    replied_contacts |= {
        contact_id
        for _, kind, contact_id, replied_at in messages
        if kind == MessageKind.FIRST_REQUEST and replied_at is not None and contact_id is not None
    }
    figures.replied = min(len(replied_contacts), figures.requests)
    by_channel = sum(r.requests for r in channels.values())
    if figures.requests > by_channel:
        # Requests the client recorded on a contact without writing the message here.
        hand = ChannelRow(BY_HAND, figures.requests - by_channel)
        hand.replied = max(0, figures.replied - sum(r.replied for r in channels.values()))
        channels[BY_HAND] = hand
    figures.channels = sorted(channels.values(), key=lambda r: (r.channel == BY_HAND, -r.requests, r.channel))

    # Conversations held: in the chart's weeks, and to date per theme.
    held = session.execute(
        scope.select(Conversation)
        .with_only_columns(Conversation.id, Conversation.theme_id, Conversation.held_at)
        .where(
            Conversation.client_id == client.id,
            Conversation.status == ConversationStatus.HELD,
            Conversation.held_at < period.until,
        )
    ).all()
    themes = {
        t.id: ThemeFigures(t)
        for t in sorted(client.themes, key=lambda t: (t.status == "dropped", t.position, t.id))
    }
    held_in_period: set[int] = set()
    for conversation_id, theme_id, held_at in held:
        figures_theme = themes.get(theme_id)
        if figures_theme:
            figures_theme.held_to_date += 1
        if period.contains(held_at):
            figures.conversations += 1
            held_in_period.add(conversation_id)
            if figures_theme:
                figures_theme.held_in_period += 1
        if held_at >= chart_since and (week := week_of(held_at)):
            week.conversations += 1

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


def source_label(source: ContactSource) -> str:
    return SOURCE_LABELS[source]


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


CASELOAD_SORT_KEYS = ("name", "momentum", "idle", "overdue", "conversations", "coach")
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
    for client_id, to_stage, note, count in session.execute(
        select(StageChange.client_id, StageChange.to_stage, StageChange.note, func.count())
        .where(
            StageChange.practice_id == scope.practice_id,
            StageChange.client_id.in_(ids),
            StageChange.at >= period.since,
            StageChange.at < period.until,
            StageChange.to_stage.in_([Stage.REQUESTED, Stage.THANKED]),
        )
        .group_by(StageChange.client_id, StageChange.to_stage, StageChange.note)
    ):
        row = rows[client_id]
        row.activity += count
        if to_stage == Stage.REQUESTED and note == "":
            row.requests += count
        elif to_stage == Stage.THANKED and note == "":
            row.thank_yous += count
    for client_id, count in session.execute(
        select(Conversation.client_id, func.count())
        .where(
            Conversation.practice_id == scope.practice_id,
            Conversation.client_id.in_(ids),
            Conversation.status == ConversationStatus.HELD,
            Conversation.held_at >= period.since,
            Conversation.held_at < period.until,
        )
        .group_by(Conversation.client_id)
    ):
        rows[client_id].conversations += count
        rows[client_id].activity += count

    # Last activity: the latest move of a contact, conversation held, or message sent.
    latest: dict[int, datetime] = {}
    for column, client_column, extra in (
        (StageChange.at, StageChange.client_id, StageChange.practice_id == scope.practice_id),
        (Conversation.held_at, Conversation.client_id, Conversation.practice_id == scope.practice_id),
        (
            OutreachMessage.sent_at,
            OutreachMessage.client_id,
            OutreachMessage.practice_id == scope.practice_id,
        ),
    ):
        for client_id, at in session.execute(
            select(client_column, func.max(column))
            .where(extra, client_column.in_(ids), column <= now)
            .group_by(client_column)
        ):
            if at is not None and (client_id not in latest or at > latest[client_id]):
                latest[client_id] = at
    threshold = stalled_days(session, scope.practice_id)
    for row in rows.values():
        row.last_activity = latest.get(row.client.id)
        since = row.last_activity or row.client.created_at
        row.idle_days = max(0, (now - since).days)
        # A paused client, or one who has decided, is quiet on purpose.
        row.stalled = row.idle_days >= threshold and row.client.status not in QUIET_ON_PURPOSE

    # Overdue follow-ups and thank-yous, by the 3B7 rhythm in each client's time zone.
    open_contacts: dict[int, list[Contact]] = defaultdict(list)
    for contact in session.scalars(
        scope.select(Contact).where(
            Contact.client_id.in_(ids), Contact.stage.in_([Stage.REQUESTED, Stage.TALKED])
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
        "conversations": sum(r.conversations for r in rows),
    }


def coaches(scope: Scope) -> list[User]:
    return list(scope.session.scalars(scope.coaches().order_by(User.name)))
