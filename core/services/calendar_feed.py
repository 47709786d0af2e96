"""Each user's private calendar feed: an iCalendar address their calendar app subscribes to.

The address carries a random secret; the database keeps only its SHA-256 hash (as for
invitations), so Crossroads can show the address once, when it is made or renewed. Renewing
replaces the hash (the old address stops working at once); revoking deletes the row.

What a feed holds is read through the owner's :class:`Scope`, as if they were signed in:

- a client: their conversations (scheduled, held, and cancelled ones as STATUS:CANCELLED, so a
  calendar removes them) and, if they choose, their follow-ups and thank-yous due, as all-day items;
- a coach, and an owner: the conversations of the clients they coach themselves (an owner's feed
  does not hold the whole practice), with the client's and the contact's names. Never reflections.

Each conversation's VEVENT is built by ``conversations.conversation_event``, the one way to build
it, so the feed and the calendar file of one conversation describe it alike.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vDuration
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..db import utcnow
from ..errors import NotFound
from ..models import CalendarFeed, Client, Contact, Conversation, Role, User
from ..outreach.followups import DueItem, DueKind
from ..scoping import Scope
from ..security import digest, new_link_secret
from . import contacts as contact_service
from .conversations import PRODID, conversation_event

#: Conversations older than this are left out of a feed (those to come are all in).
HISTORY = timedelta(days=365)
#: How often calendar apps are asked to fetch the feed again (most take it as a hint).
REFRESH = timedelta(hours=1)
#: ``last_fetched_at`` is written at most this often, so polling calendars do not write on every fetch.
FETCH_NOTE_EVERY = timedelta(minutes=10)

DUE_SUMMARIES = {
    DueKind.SECOND_PERSON: "Write to a second person at {organisation}",
    DueKind.FOLLOW_UP: "Follow up with {name}",
    DueKind.LAST_NUDGE: "Last nudge to {name}",
    DueKind.CLOSE: "Mark {name} as no response",
    DueKind.THANK_YOU: "Thank {name}",
}


@dataclass(frozen=True)
class FeedLinks:
    """How the web layer links a feed's items back to Crossroads (absolute addresses)."""

    conversation: Callable[[Conversation], str]
    contact: Callable[[Contact], str]


def feed_of(session: Session, user: User) -> CalendarFeed | None:
    """The user's feed, if they made one."""
    return session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user.id))


def create(session: Session, user: User, data: dict[str, Any]) -> str:
    """Make the user's feed address (data from ``CalendarFeedSchema``); returns its secret.

    A user who already has one gets a new secret: the same as :func:`renew`.
    """
    raw, hashed = new_link_secret()
    feed = feed_of(session, user)
    if feed is None:
        feed = CalendarFeed(practice_id=user.practice_id, user_id=user.id, token_hash=hashed)
        session.add(feed)
    else:
        feed.token_hash = hashed
    feed.include_follow_ups = bool(data.get("follow_ups")) and user.role == Role.CLIENT
    feed.created_at = utcnow()
    feed.last_fetched_at = None
    session.commit()
    return raw


def renew(session: Session, user: User) -> str:
    """A new secret for the user's feed; the old address answers 404 from now on."""
    feed = _own(session, user)
    raw, feed.token_hash = new_link_secret()
    feed.created_at = utcnow()
    feed.last_fetched_at = None
    session.commit()
    return raw


def revoke(session: Session, user: User) -> None:
    """Delete the user's feed: its address answers 404 from now on."""
    session.delete(_own(session, user))
    session.commit()


def update(session: Session, user: User, data: dict[str, Any]) -> CalendarFeed:
    """Change what the feed holds (data from ``CalendarFeedSchema``); the address stays the same."""
    feed = _own(session, user)
    feed.include_follow_ups = bool(data.get("follow_ups")) and user.role == Role.CLIENT
    session.commit()
    return feed


def _own(session: Session, user: User) -> CalendarFeed:
    feed = feed_of(session, user)
    if feed is None:
        raise NotFound("calendar feed")
    return feed


def find(session: Session, token: str) -> CalendarFeed:
    """The live feed whose secret is ``token``, or :class:`NotFound`.

    The database is asked for the secret's hash, never the secret, so the time a lookup takes says
    nothing about how close a guess was; the hashes are compared once more in constant time.
    A feed whose user was deactivated is not found either.
    """
    wanted = digest(token)
    feed = session.scalar(
        select(CalendarFeed)
        .where(CalendarFeed.token_hash == wanted)
        .options(joinedload(CalendarFeed.user).joinedload(User.practice))
    )
    if feed is None or not hmac.compare_digest(feed.token_hash, wanted) or not feed.user.is_active:
        raise NotFound("calendar feed")
    return feed


def note_fetched(session: Session, feed: CalendarFeed, now: datetime | None = None) -> None:
    """Record that a calendar fetched the feed (at most every ``FETCH_NOTE_EVERY``)."""
    now = now or utcnow()
    if feed.last_fetched_at is None or now - feed.last_fetched_at >= FETCH_NOTE_EVERY:
        feed.last_fetched_at = now
        session.commit()


def conversations_in(scope: Scope, now: datetime | None = None) -> list[Conversation]:
    """The conversations a feed holds: a client's own; a coach's or owner's own caseload's.

    Read through ``scope`` (the feed owner's), from ``HISTORY`` ago on, soonest first.
    """
    since = (now or utcnow()) - HISTORY
    query = (
        scope.select(Conversation)
        .where(Conversation.starts_at >= since)
        .options(
            joinedload(Conversation.contact),
            joinedload(Conversation.theme),
            joinedload(Conversation.client).joinedload(Client.user),
        )
        .order_by(Conversation.starts_at, Conversation.id)
    )
    if scope.user.is_staff:
        # An owner's scope is the whole practice; their feed is only the clients they coach.
        query = query.join(Client, Client.id == Conversation.client_id).where(
            Client.coach_id == scope.user.id
        )
    return list(scope.session.scalars(query).unique())


def due_in(scope: Scope, feed: CalendarFeed, today: date | None = None) -> list[DueItem]:
    """The follow-ups and thank-yous due in a client's feed (none unless they chose them)."""
    client_id = scope.own_client_id
    if not feed.include_follow_ups or client_id is None:
        return []
    return contact_service.due_for_client(scope, client_id, today)


def calendar_name(user: User) -> str:
    """The feed's name in a calendar app's list."""
    if user.is_staff:
        return f"Crossroads: {user.name}'s clients"
    return f"Crossroads: {user.name}"


def _conversation_summary(conversation: Conversation, staff: bool) -> str:
    if staff:
        return f"{conversation.client.name} with {conversation.contact.name}"
    return f"Conversation with {conversation.contact.name}"


def _conversation_description(conversation: Conversation, staff: bool) -> str:
    contact = conversation.contact
    role = ", ".join(part for part in (contact.position, contact.organisation) if part)
    parts = [
        f"{conversation.minutes} minutes, {conversation.medium.value.replace('_', ' ')}.",
        f"Informational conversation with {contact.name}" + (f" ({role})." if role else "."),
    ]
    if staff:
        parts.insert(0, f"Client: {conversation.client.name}.")
    if conversation.theme is not None:
        parts.append(f"Theme: {conversation.theme.title}.")
    return "\n".join(parts)


def _due_event(item: DueItem, links: FeedLinks) -> Event:
    contact = item.contact
    event = Event()
    event.add("uid", f"due-{contact.id}-{item.kind.value}-{item.due_on:%Y%m%d}@crossroads")
    event.add("dtstamp", contact.updated_at)
    event.add("last-modified", contact.updated_at)
    event.add("dtstart", item.due_on)  # a date: DTSTART;VALUE=DATE, an all-day item
    event.add("dtend", item.due_on + timedelta(days=1))
    summary = DUE_SUMMARIES[item.kind].format(
        name=contact.name, organisation=contact.organisation or "the same organisation"
    )
    event.add("summary", summary)
    event.add("description", item.label + ".")
    event.add("url", links.contact(contact))
    event.add("transp", "TRANSPARENT")  # a reminder, not a busy day
    return event


def build(session: Session, feed: CalendarFeed, links: FeedLinks, now: datetime | None = None) -> bytes:
    """The feed's iCalendar text, as its owner may see it now.

    The same data gives the same bytes (DTSTAMP is each item's last change, as RFC 5545 has it for
    a calendar without METHOD), so an unchanged feed keeps its ETag.
    """
    user = feed.user
    scope = Scope(session, user)
    staff = user.is_staff
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", calendar_name(user))
    calendar.add("x-wr-caldesc", "Informational conversations from Crossroads. This address is private.")
    calendar.add("x-wr-timezone", user.timezone)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))  # an X- property: the type must be named
    for conversation in conversations_in(scope, now):
        changed = max(conversation.updated_at, conversation.contact.updated_at)
        event = conversation_event(
            conversation,
            summary=_conversation_summary(conversation, staff),
            description=_conversation_description(conversation, staff),
            url=links.conversation(conversation),
            stamp=changed,
        )
        event.add("last-modified", changed)
        calendar.add_component(event)
    today = (now or utcnow()).astimezone(ZoneInfo(user.timezone)).date()
    for item in due_in(scope, feed, today):
        calendar.add_component(_due_event(item, links))
    return calendar.to_ical()


def etag(body: bytes) -> str:
    """A strong validator for the feed's bytes."""
    return hashlib.sha256(body).hexdigest()[:32]
