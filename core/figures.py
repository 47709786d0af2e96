"""How Crossroads counts a client's steps: the one definition every page, report and email uses.

A *step* is one thing a client did that moves the method along (docs/user-guide.md, "How figures
are counted", says the same in a coach's words):

- a **request sent**: a person asked for a conversation, counted once per contact, at the first
  moment they were asked: the first request message going out on any channel, or the contact
  moved past "to contact" (to "requested") by hand, whichever came first. Each introduction
  request sent to an alumni office counts as a request too (an office, not yet a person);
- a **reply**: a request whose contact answered (moved on from "requested" to replied, scheduled,
  talked, thanked or declined, or whose message was marked replied), whenever the answer came;
  the request is *answered at* the first of those moments (:func:`_answers` is the one rule for
  both). Counted two ways, never mixed up: :attr:`Figures.replied` counts the requests *made* in
  a period that were answered (the reply rate's numerator), :func:`replies_received` the requests
  *answered* in a period, whenever made (what came in: the caseload's recent replies);
- a **follow-up**: a follow-up recorded on a contact still waiting for a reply (by message or by
  hand), on time when sent within the practice's follow-up days (business days, the client's
  calendar) of the request or the follow-up before it;
- a **thank-you**: a contact moved from "talked" to "thanked" (by message or by hand), on time
  when sent by the day after the conversation in the client's calendar;
- a **conversation held**: a conversation marked held, at the time it was held.

A step's channel is the channel of the message that made it, or ``BY_HAND``. A client's *own
activity* is :attr:`Client.last_activity_at`: the last step of any kind the client took in their
workspace (signing in does not count); before the first one, the moment they joined.

:func:`steps` reads the steps of many clients at once in a fixed number of statements (whatever
the number of clients or steps); :func:`tally` counts them over a period; :func:`replies_received`
counts the replies that came in over a period for many clients in one statement.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from .models import (
    Client,
    ClientStatus,
    Conversation,
    ConversationStatus,
    MessageKind,
    MessageStatus,
    OutreachMessage,
    PracticePlugin,
    Stage,
    StageChange,
)
from .outreach.followups import add_business_days
from .scoping import Scope

#: The channel of a step recorded on a contact without a message written here.
BY_HAND = "by_hand"
#: A contact who moved on from "requested" to one of these has answered.
ANSWERED = (Stage.REPLIED, Stage.SCHEDULED, Stage.TALKED, Stage.THANKED, Stage.DECLINED)
#: Messages in these states have gone, or are on their way (a failed or unsent one has not).
GONE = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.UNKNOWN)
#: A message and the pipeline move it made are recorded within this much of each other.
SAME_STEP = timedelta(minutes=1)

#: Days without the client's own activity after which a client shows as stalled, by default.
DEFAULT_STALLED_DAYS = 14
#: The plugin whose settings keep the practice's own number of days (``stalled_days``).
STALLED_SETTING_PLUGIN = "progress_report"
#: Clients in these states are not flagged as stalled, however long since their last step.
QUIET_ON_PURPOSE = (ClientStatus.PAUSED, ClientStatus.DECIDED)


class StepKind(enum.StrEnum):
    REQUEST = "request"
    FOLLOW_UP = "follow_up"
    THANK_YOU = "thank_you"
    CONVERSATION = "conversation"


@dataclass(frozen=True)
class Step:
    """One counted step of a client's, at a moment (UTC)."""

    client_id: int
    kind: StepKind
    at: datetime
    channel: str = BY_HAND
    #: Requests: whether it was answered. Follow-ups and thank-yous: whether on time.
    replied: bool = False
    on_time: bool = False


@dataclass
class ChannelFigures:
    channel: str
    requests: int = 0
    replied: int = 0
    follow_ups: int = 0


@dataclass
class Figures:
    """A client's steps counted over one period."""

    requests: int = 0
    replied: int = 0
    follow_ups: int = 0
    follow_ups_on_time: int = 0
    thank_yous: int = 0
    thank_yous_on_time: int = 0
    conversations: int = 0
    channels: dict[str, ChannelFigures] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        """Requests, follow-ups, thank-yous and conversations: everything that moved."""
        return self.requests + self.follow_ups + self.thank_yous + self.conversations

    def add(self, step: Step) -> None:
        if step.kind == StepKind.REQUEST:
            self.requests += 1
            self.replied += step.replied
            channel = self.channels.setdefault(step.channel, ChannelFigures(step.channel))
            channel.requests += 1
            channel.replied += step.replied
        elif step.kind == StepKind.FOLLOW_UP:
            self.follow_ups += 1
            self.follow_ups_on_time += step.on_time
            channel = self.channels.setdefault(step.channel, ChannelFigures(step.channel))
            channel.follow_ups += 1
        elif step.kind == StepKind.THANK_YOU:
            self.thank_yous += 1
            self.thank_yous_on_time += step.on_time
        else:
            self.conversations += 1


def _utc(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes for expressions (min, case) that lose the column's type.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _gone_at() -> ColumnElement[datetime]:
    """When a message went: queued ones when written, handed-off ones when the client marked them sent."""
    return case(
        (OutreachMessage.outbox_id.is_not(None), OutreachMessage.created_at), else_=OutreachMessage.sent_at
    )


def _requests(scope: Scope, ids: list[int], since: datetime, until: datetime) -> Select:
    """SQL: (client id, key, moment) of each request made in ``[since, until)``.

    The key is the contact's id: a contact counts once, at the first of its moves to "requested"
    and its first request messages. An introduction request to an office (no contact) counts
    on its own, keyed by minus its message's id.
    """
    key = func.coalesce(OutreachMessage.contact_id, -OutreachMessage.id)
    firsts = union_all(
        select(StageChange.client_id, StageChange.contact_id.label("key"), StageChange.at.label("at")).where(
            StageChange.practice_id == scope.practice_id,
            StageChange.client_id.in_(ids),
            StageChange.to_stage == Stage.REQUESTED,
            StageChange.note == "",
        ),
        select(OutreachMessage.client_id, key.label("key"), _gone_at().label("at")).where(
            OutreachMessage.practice_id == scope.practice_id,
            OutreachMessage.client_id.in_(ids),
            OutreachMessage.status.in_(GONE),
            or_(
                and_(
                    OutreachMessage.kind == MessageKind.FIRST_REQUEST, OutreachMessage.contact_id.is_not(None)
                ),
                OutreachMessage.kind == MessageKind.INTRODUCTION_REQUEST,
            ),
        ),
    ).subquery()
    first_at = func.min(firsts.c.at)
    return (
        select(firsts.c.client_id, firsts.c.key, first_at)
        .group_by(firsts.c.client_id, firsts.c.key)
        .having(first_at >= since, first_at < until)
    )


def _answers(scope: Scope, ids: Sequence[int] | None) -> Select:
    """SQL: (client id, key, moment) of every answer to a request, keyed as :func:`_requests` keys
    requests (the contact's id, or minus an introduction request's message id).

    An answer is the contact moving on from "requested" to one of :data:`ANSWERED`, or a request,
    follow-up or introduction request that went and was marked replied (by hand or by a reply by
    email). A request may have several; it was answered at the first. ``ids`` narrows to those
    clients (None: every client of the practice, for a query that joins the clients itself).
    """
    moved = select(
        StageChange.client_id, StageChange.contact_id.label("key"), StageChange.at.label("at")
    ).where(
        StageChange.practice_id == scope.practice_id,
        StageChange.from_stage == Stage.REQUESTED,
        StageChange.to_stage.in_(ANSWERED),
    )
    marked = select(
        OutreachMessage.client_id,
        func.coalesce(OutreachMessage.contact_id, -OutreachMessage.id).label("key"),
        OutreachMessage.replied_at.label("at"),
    ).where(
        OutreachMessage.practice_id == scope.practice_id,
        OutreachMessage.replied_at.is_not(None),
        OutreachMessage.status.in_(GONE),
        OutreachMessage.kind.in_(
            [MessageKind.FIRST_REQUEST, MessageKind.FOLLOW_UP, MessageKind.INTRODUCTION_REQUEST]
        ),
    )
    if ids is not None:
        moved = moved.where(StageChange.client_id.in_(ids))
        marked = marked.where(OutreachMessage.client_id.in_(ids))
    return union_all(moved, marked)


def replies_select(
    scope: Scope, since: datetime, until: datetime, client_ids: Sequence[int] | None = None
) -> Select:
    """SQL: (client_id, replies, last_reply_at) per client with a request answered in
    ``[since, until)`` (at its first answer, however old the request); a client with none has no
    row. ``client_ids`` narrows to those clients; None leaves the caller's query to (a join on
    ``client_id``, for sorting and filtering a page of clients by it)."""
    answers = _answers(scope, client_ids).subquery()
    first_at = func.min(answers.c.at)
    answered = (
        select(answers.c.client_id, first_at.label("at"))
        .group_by(answers.c.client_id, answers.c.key)
        .having(first_at >= since, first_at < until)
        .subquery()
    )
    return select(
        answered.c.client_id,
        func.count().label("replies"),
        func.max(answered.c.at).label("last_reply_at"),
    ).group_by(answered.c.client_id)


@dataclass(frozen=True)
class Replies:
    """The replies that came in over a period: how many requests were answered, and the latest."""

    count: int = 0
    last_at: datetime | None = None


def replies_received(
    scope: Scope, client_ids: Sequence[int], since: datetime, until: datetime
) -> dict[int, Replies]:
    """Client id → the replies that came in during ``[since, until)``, in one statement: each
    request counted once, at its first answer, whenever it was made (see :func:`_answers`)."""
    rows = scope.session.execute(replies_select(scope, since, until, list(client_ids))).all()
    found = {client_id: Replies(count, _utc(last)) for client_id, count, last in rows}
    return {i: found.get(i, Replies()) for i in client_ids}


def _held(scope: Scope, ids: list[int], since: datetime, until: datetime) -> list[ColumnElement[bool]]:
    """SQL: the conditions of a conversation held in ``[since, until)``."""
    return [
        Conversation.practice_id == scope.practice_id,
        Conversation.client_id.in_(ids),
        Conversation.status == ConversationStatus.HELD,
        Conversation.held_at >= since,
        Conversation.held_at < until,
    ]


@dataclass(frozen=True)
class Headline:
    requests: int = 0
    conversations: int = 0


def headlines(scope: Scope, client_ids: list[int], since: datetime, until: datetime) -> dict[int, Headline]:
    """Client id → requests sent and conversations held in ``[since, until)``, in one statement
    (counted as :func:`steps` counts them), for a page of many clients."""
    requests = _requests(scope, client_ids, since, until).subquery()
    rows = scope.session.execute(
        union_all(
            select(literal("request"), requests.c.client_id, func.count()).group_by(requests.c.client_id),
            select(literal("conversation"), Conversation.client_id, func.count())
            .where(*_held(scope, client_ids, since, until))
            .group_by(Conversation.client_id),
        )
    ).all()
    counted = {(kind, client_id): count for kind, client_id, count in rows}
    return {
        i: Headline(counted.get(("request", i), 0), counted.get(("conversation", i), 0)) for i in client_ids
    }


def steps(scope: Scope, clients: Sequence[Client], since: datetime, until: datetime) -> list[Step]:
    """Every counted step of ``clients`` in ``[since, until)`` (UTC), oldest first, in five statements."""
    session = scope.session
    ids = [c.id for c in clients]
    zones = {c.id: ZoneInfo(c.timezone) for c in clients}
    practice = scope.user.practice
    found: list[Step] = []

    gone_at = _gone_at()
    requested = session.execute(_requests(scope, ids, since, until)).all()

    # The messages of the period (and a minute after, for a queued email's move): the channels of
    # its steps, and the alumni offices' introduction requests.
    messages = session.execute(
        select(
            OutreachMessage.id,
            OutreachMessage.client_id,
            OutreachMessage.contact_id,
            OutreachMessage.channel,
            OutreachMessage.kind,
            gone_at,
        )
        .where(
            OutreachMessage.practice_id == scope.practice_id,
            OutreachMessage.client_id.in_(ids),
            OutreachMessage.status.in_(GONE),
            OutreachMessage.kind.in_(
                [MessageKind.FIRST_REQUEST, MessageKind.FOLLOW_UP, MessageKind.INTRODUCTION_REQUEST]
            ),
            gone_at >= since - SAME_STEP,
            gone_at < until + SAME_STEP,
        )
        .order_by(gone_at, OutreachMessage.id)
    ).all()
    sent: dict[tuple[MessageKind, int], list[tuple[datetime, str]]] = defaultdict(list)
    introductions: dict[int, str] = {}  # message id → channel
    for message_id, _, contact_id, channel, kind, at in messages:
        if kind == MessageKind.INTRODUCTION_REQUEST:
            introductions[message_id] = channel
            continue
        sent[(kind, contact_id)].append((_utc(at), channel))

    # Which of the period's requests were answered, whenever: by the one rule of an answer.
    answers = _answers(scope, ids).subquery()
    answered = set(
        session.scalars(
            select(answers.c.key).where(answers.c.key.in_([key for _, key, _ in requested])).distinct()
        )
    )

    def channel_of(kind: MessageKind, contact_id: int, at: datetime) -> str:
        """The channel of the message that made this step; each message makes one step."""
        for index, (message_at, channel) in enumerate(sent[(kind, contact_id)]):
            if abs(message_at - at) <= SAME_STEP:
                del sent[(kind, contact_id)][index]
                return channel
        return BY_HAND

    for client_id, key, at in requested:
        at, contact_id = _utc(at), key
        if key < 0:  # an introduction request to an office: the key is minus its message's id
            channel = introductions.get(-key, BY_HAND)
            found.append(Step(client_id, StepKind.REQUEST, at, channel, replied=key in answered))
            continue
        found.append(
            Step(
                client_id,
                StepKind.REQUEST,
                at,
                channel_of(MessageKind.FIRST_REQUEST, contact_id, at),
                replied=contact_id in answered,
            )
        )

    # Follow-ups and thank-yous in the period, with the history of their contacts for "on time".
    in_period = select(StageChange.contact_id).where(
        StageChange.practice_id == scope.practice_id,
        StageChange.client_id.in_(ids),
        StageChange.at >= since,
        StageChange.at < until,
        or_(
            StageChange.note == "follow_up",
            and_(StageChange.to_stage == Stage.THANKED, StageChange.note == ""),
        ),
    )
    history = session.execute(
        select(
            StageChange.client_id,
            StageChange.contact_id,
            StageChange.to_stage,
            StageChange.note,
            StageChange.at,
        )
        .where(
            StageChange.practice_id == scope.practice_id,
            StageChange.contact_id.in_(in_period),
            StageChange.at < until,
            StageChange.to_stage.in_([Stage.REQUESTED, Stage.TALKED, Stage.THANKED]),
        )
        .order_by(StageChange.at, StageChange.id)
    ).all()
    asked: dict[int, datetime] = {}
    talked: dict[int, datetime] = {}
    for client_id, contact_id, to_stage, note, at in history:
        at = _utc(at)
        zone = zones[client_id]
        counts = since <= at < until
        if to_stage == Stage.REQUESTED:
            previous = asked.get(contact_id)
            asked[contact_id] = at
            if note == "follow_up" and counts:
                due = previous and add_business_days(
                    previous.astimezone(zone).date(), practice.follow_up_after_days
                )
                found.append(
                    Step(
                        client_id,
                        StepKind.FOLLOW_UP,
                        at,
                        channel_of(MessageKind.FOLLOW_UP, contact_id, at),
                        on_time=bool(due and at.astimezone(zone).date() <= due),
                    )
                )
        elif to_stage == Stage.TALKED:
            talked[contact_id] = at
        elif note == "" and counts:
            after = talked.get(contact_id)
            on_time = after is not None and at.astimezone(zone).date() <= after.astimezone(
                zone
            ).date() + timedelta(days=1)
            found.append(Step(client_id, StepKind.THANK_YOU, at, on_time=on_time))

    for client_id, held_at in session.execute(
        select(Conversation.client_id, Conversation.held_at).where(*_held(scope, ids, since, until))
    ):
        found.append(Step(client_id, StepKind.CONVERSATION, _utc(held_at)))
    return sorted(found, key=lambda s: s.at)


def tally(found: Iterable[Step], since: datetime, until: datetime) -> dict[int, Figures]:
    """The steps in ``[since, until)`` counted per client (a client without any has no entry)."""
    figures: dict[int, Figures] = defaultdict(Figures)
    for step in found:
        if since <= step.at < until:
            figures[step.client_id].add(step)
    return figures


def figures_for(
    scope: Scope, clients: Sequence[Client], since: datetime, until: datetime
) -> dict[int, Figures]:
    """Client id → :class:`Figures` for ``[since, until)``, for every client in ``clients``."""
    counted = tally(steps(scope, clients, since, until), since, until)
    return {c.id: counted.get(c.id) or Figures() for c in clients}


# -- the client's own activity, and who is stalled ------------------------------------------


def stalled_days(session: Session, practice_id: int) -> int:
    """The practice's setting: days without the client's own activity before they count as stalled."""
    settings = session.scalar(
        select(PracticePlugin.settings).where(
            PracticePlugin.practice_id == practice_id, PracticePlugin.plugin_name == STALLED_SETTING_PLUGIN
        )
    )
    value = (settings or {}).get("stalled_days")
    return value if isinstance(value, int) and value > 0 else DEFAULT_STALLED_DAYS


def last_activity_column() -> ColumnElement[datetime]:
    """SQL: the client's last own activity, or when they joined (for sorting and filtering)."""
    return func.coalesce(Client.last_activity_at, Client.created_at)


def stalled_clause(now: datetime, threshold: int) -> ColumnElement[bool]:
    """SQL: the client is stalled at ``now`` (the same rule as :func:`activity`)."""
    return and_(
        last_activity_column() <= now - timedelta(days=threshold),
        Client.status.not_in(QUIET_ON_PURPOSE),
    )


def stalled_order(now: datetime, threshold: int) -> ColumnElement[int]:
    """SQL: 1 for a stalled client, 0 otherwise."""
    return case((stalled_clause(now, threshold), literal(1)), else_=literal(0))


@dataclass(frozen=True)
class Activity:
    """A client's own last step, the whole days since it (or since joining), and whether stalled."""

    last: datetime | None
    idle_days: int
    stalled: bool


def activity(client: Client, now: datetime, threshold: int) -> Activity:
    """The rule behind "last activity" and "stalled", wherever they are shown."""
    last = client.last_activity_at
    idle = max(0, (now - _utc(last or client.created_at)).days)
    return Activity(last, idle, idle >= threshold and client.status not in QUIET_ON_PURPOSE)
