"""Scheduling a conversation, its prep sheet, the notes taken during it, and its calendar file."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from .. import events
from ..db import utcnow
from ..errors import Forbidden, InvalidInput
from ..locking import refuse_stale
from ..models import (
    CareerTheme,
    Client,
    Contact,
    Conversation,
    ConversationStatus,
    PrepQuestion,
    Role,
    Stage,
)
from ..scoping import Scope
from . import contacts as contact_service
from .activity import touch
from .banks import readable_question, starter_bank

QUESTIONS_MIN, QUESTIONS_MAX = 3, 5
# Scheduling moves a contact forward to "scheduled" from these stages only.
BEFORE_SCHEDULED = {Stage.IDENTIFIED, Stage.RESEARCHED, Stage.REQUESTED, Stage.REPLIED}
PAST_QUESTION = "That time has passed — record a conversation that already happened?"
TO_RECORD = "to record"
PRODID = "-//Crossroads//Informational interviews//EN"


def to_utc(local: datetime, zone_name: str) -> datetime:
    """A wall-clock time in ``zone_name`` as an aware UTC datetime."""
    return local.replace(tzinfo=ZoneInfo(zone_name)).astimezone(ZoneInfo("UTC"))


def _theme(scope: Scope, contact: Contact, theme_id: int | None) -> CareerTheme | None:
    if not theme_id:
        return None
    theme = scope.get(CareerTheme, theme_id)
    if theme.client_id != contact.client_id:
        raise InvalidInput({"theme_id": ["Choose one of this client's themes."]})
    return theme


def _has_passed(moment: datetime) -> bool:
    """True when ``moment`` is before the current minute (a form gives minutes, so "now" still counts)."""
    return moment < utcnow().replace(second=0, microsecond=0)


def schedule(scope: Scope, contact_id: int, data: dict[str, Any]) -> Conversation:
    """Schedule a conversation with a contact (data from ``ScheduleSchema``).

    The time is read in the scheduling user's own time zone and stored in UTC.
    The contact moves to "scheduled" unless they are already further along.
    A time that has passed is refused with a question on ``starts_at`` unless
    ``already_happened`` confirms it: then the conversation is recorded as held at that time.
    """
    contact = scope.get(Contact, contact_id)
    theme = _theme(scope, contact, data.get("theme_id"))
    starts_at = to_utc(data["starts_at"], scope.user.timezone)
    in_the_past = _has_passed(starts_at)
    if in_the_past and scope.user.role != Role.CLIENT:
        raise InvalidInput({"starts_at": ["That time has passed: choose a time to come."]})
    if in_the_past and not data.get("already_happened"):
        raise InvalidInput({"starts_at": [PAST_QUESTION]})
    conversation = Conversation(
        practice_id=contact.practice_id,
        client_id=contact.client_id,
        contact=contact,
        theme=theme,
        starts_at=starts_at,
        minutes=data["minutes"],
        medium=data["medium"],
        location=data["location"],
        uid=f"{uuid.uuid4()}@crossroads",
        pitch=_default_pitch(contact, theme),
    )
    scope.session.add(conversation)
    if contact.stage in BEFORE_SCHEDULED and not in_the_past:
        contact_service.stage_move(scope, contact, Stage.SCHEDULED)
    scope.session.flush()
    if in_the_past:
        _record_held(scope, conversation, starts_at)
    else:
        events.fire(
            scope.session, "conversation_scheduled", conversation.practice_id, conversation=conversation
        )
    scope.session.commit()
    return conversation


def _default_pitch(contact: Contact, theme: CareerTheme | None) -> str:
    interest = f"I'm exploring {theme.title.lower()}" if theme else "I'm exploring a change of career"
    return (
        f"{interest}, and I'd love to hear how you see the work from the inside. "
        "I'm not looking for a job: I'm trying to learn what it is really like before I decide."
    )


def reschedule(scope: Scope, conversation_id: int, data: dict[str, Any]) -> Conversation:
    """Move a conversation; its calendar file keeps the same UID with a higher SEQUENCE."""
    conversation = scope.get(Conversation, conversation_id)
    starts_at = to_utc(data["starts_at"], scope.user.timezone)
    if starts_at != conversation.starts_at and _has_passed(starts_at):
        raise InvalidInput(
            {"starts_at": ["That time has passed. If the conversation took place, mark it held instead."]}
        )
    conversation.starts_at = starts_at
    conversation.minutes = data["minutes"]
    conversation.medium = data["medium"]
    conversation.location = data["location"]
    conversation.theme = _theme(scope, conversation.contact, data.get("theme_id"))
    if conversation.status == ConversationStatus.CANCELLED:
        conversation.status = ConversationStatus.SCHEDULED  # a new time revives a cancelled conversation
    conversation.sequence += 1
    events.fire(
        scope.session, "conversation_rescheduled", conversation.practice_id, conversation=conversation
    )
    scope.session.commit()
    return conversation


def parse_likely(text: str) -> list[dict[str, str]]:
    """Blocks of "Q: …" / "A: …" lines, or one question per paragraph."""
    items: list[dict[str, str]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        question = lines[0].removeprefix("Q:").strip()
        answer = " ".join(line.removeprefix("A:").strip() for line in lines[1:])
        items.append({"question": question, "answer": answer})
    return items


def format_likely(items: list[dict[str, str]]) -> str:
    return "\n\n".join(f"Q: {i['question']}\nA: {i['answer']}" for i in items)


def update_prep(scope: Scope, conversation_id: int, data: dict[str, Any]) -> Conversation:
    """Save the prep sheet's goals, pitch and likely questions (data from ``PrepSchema``).

    An edit of an older version than the one saved now raises :class:`EditConflict` with the three
    texts as saved.
    """
    conversation = scope.get(Conversation, conversation_id)
    refuse_stale(
        scope.session,
        conversation,
        data.get("version"),
        ["goals", "pitch", "likely_questions"],
        "this prep sheet",
        shown={"likely_questions": format_likely},
    )
    conversation.goals = data["goals"]
    conversation.pitch = data["pitch"]
    conversation.likely_questions = parse_likely(data["likely_questions"])
    _client_activity(scope, conversation)
    scope.session.commit()
    return conversation


def _client_activity(scope: Scope, conversation: Conversation) -> None:
    if scope.user.role == Role.CLIENT:
        touch(conversation.client)


def _bank_question(scope: Scope, key: str):
    """A question the user may read, by its key: ``s12`` (starter bank) or a question id."""
    if key.startswith("s"):
        match = [q for q in starter_bank().questions if q.id == key]
        if not match:
            raise InvalidInput({"bank_question": ["That question is not in the starter bank."]})
        return match[0]
    if not key.isdigit():
        raise InvalidInput({"bank_question": ["Choose a question from the list."]})
    return readable_question(scope, int(key))


def add_prep_question(scope: Scope, conversation_id: int, data: dict[str, Any]) -> PrepQuestion:
    """Add a question to the prep sheet: a copy of a bank question's text, or a fresh one."""
    conversation = scope.get(Conversation, conversation_id)
    if data.get("bank_question"):
        source = _bank_question(scope, data["bank_question"])
        text, category = source.text, source.category
    else:
        text, category = data["text"], None
    last = scope.session.scalar(
        select(func.max(PrepQuestion.position)).where(PrepQuestion.conversation_id == conversation.id)
    )
    question = PrepQuestion(
        practice_id=conversation.practice_id,
        client_id=conversation.client_id,
        conversation=conversation,
        text=text,
        category=category,
        position=(last or 0) + 1,
    )
    scope.session.add(question)
    _client_activity(scope, conversation)
    scope.session.commit()
    return question


def remove_prep_question(scope: Scope, question_id: int) -> PrepQuestion:
    question = scope.get(PrepQuestion, question_id)
    scope.session.delete(question)
    scope.session.commit()
    return question


def question_count_warning(conversation: Conversation) -> str | None:
    """A gentle word when a prep sheet has fewer than three or more than five questions."""
    count = len(conversation.questions)
    if count < QUESTIONS_MIN:
        return (
            f"{count} question{'s' * (count != 1)} so far: three to five fit "
            f"a {conversation.minutes}-minute conversation."
        )
    if count > QUESTIONS_MAX:
        return (
            f"{count} questions: more than five rarely fit. Mark the ones you would drop if time runs short."
        )
    return None


def save_note(scope: Scope, question_id: int, notes: str) -> PrepQuestion:
    """Save the notes under one question during the conversation (called as the client types)."""
    question = scope.get(PrepQuestion, question_id)
    if scope.user.role != Role.CLIENT:
        raise Forbidden("notes are the client's")
    question.notes = notes
    question.notes_saved_at = utcnow()
    scope.session.commit()
    return question


def mark_held(scope: Scope, conversation_id: int) -> Conversation:
    """The client says the conversation happened: the contact moves to "talked", a thank-you comes due.

    Not before it has started: the held time (which the goals count) is never before the start.
    """
    conversation = _clients_own(scope, conversation_id)
    if conversation.status == ConversationStatus.HELD:
        return conversation
    if conversation.status == ConversationStatus.CANCELLED:
        raise InvalidInput({"_schema": ["This conversation was cancelled. Reschedule it first."]})
    now = utcnow()
    if now < conversation.starts_at:
        raise InvalidInput(
            {"held_at": ["This conversation has not started yet: mark it held once it has taken place."]}
        )
    _record_held(scope, conversation, now)
    scope.session.commit()
    return conversation


def _record_held(scope: Scope, conversation: Conversation, at: datetime) -> None:
    conversation.status = ConversationStatus.HELD
    conversation.held_at = at
    _client_activity(scope, conversation)
    if conversation.contact.stage not in (Stage.TALKED, Stage.THANKED):
        contact_service.stage_move(scope, conversation.contact, Stage.TALKED)
    events.fire(scope.session, "conversation_held", conversation.practice_id, conversation=conversation)


def shown_status(conversation: Conversation, now: datetime | None = None) -> str:
    """The status to show: a scheduled conversation whose end has passed is "to record" (did it happen?)."""
    end = conversation.starts_at + timedelta(minutes=conversation.minutes)
    if conversation.status == ConversationStatus.SCHEDULED and end <= (now or utcnow()):
        return TO_RECORD
    return conversation.status.value


def _clients_own(scope: Scope, conversation_id: int) -> Conversation:
    """A conversation whose outcome only its client may record."""
    conversation = scope.get(Conversation, conversation_id)
    if scope.user.role != Role.CLIENT:
        raise Forbidden("only the client records whether a conversation happened")
    return conversation


def cancel(scope: Scope, conversation_id: int) -> Conversation:
    """The client cancels a conversation that has not happened; its calendar file says so."""
    conversation = _clients_own(scope, conversation_id)
    if conversation.status == ConversationStatus.HELD:
        raise InvalidInput({"_schema": ["This conversation already happened."]})
    conversation.status = ConversationStatus.CANCELLED
    conversation.sequence += 1
    events.fire(scope.session, "conversation_cancelled", conversation.practice_id, conversation=conversation)
    scope.session.commit()
    return conversation


def for_client(scope: Scope, client_id: int) -> list[Conversation]:
    """A client's conversations, soonest first, with contact, theme and reflection loaded."""
    return list(
        scope.session.scalars(
            scope.select(Conversation)
            .where(Conversation.client_id == client_id)
            .options(
                selectinload(Conversation.contact),
                selectinload(Conversation.theme),
                selectinload(Conversation.reflection),
            )
            .order_by(Conversation.starts_at.desc())
        )
    )


def upcoming(scope: Scope, client_id: int, limit: int = 5) -> list[Conversation]:
    """The next scheduled conversations, from an hour ago on (one may be under way)."""
    return list(
        scope.session.scalars(
            scope.select(Conversation)
            .where(
                Conversation.client_id == client_id,
                Conversation.status == ConversationStatus.SCHEDULED,
                Conversation.starts_at >= utcnow() - timedelta(hours=1),
            )
            .options(selectinload(Conversation.contact))
            .order_by(Conversation.starts_at)
            .limit(limit)
        )
    )


def conversation_event(
    conversation: Conversation,
    *,
    summary: str | None = None,
    description: str = "",
    url: str = "",
    stamp: datetime | None = None,
    cancelled: bool = False,
) -> Event:
    """The one VEVENT for a conversation: its stable UID and SEQUENCE, start and end in UTC, and
    STATUS:CANCELLED when it is cancelled (or ``cancelled``), so a calendar removes it.

    Every text is a property value escaped by the icalendar library, never markup of the file.
    ``stamp`` is the DTSTAMP (now unless given); empty properties are left out.
    """
    event = Event()
    event.add("uid", conversation.uid)
    event.add("sequence", conversation.sequence)
    event.add("dtstamp", stamp or utcnow())
    event.add("dtstart", conversation.starts_at)
    event.add("dtend", conversation.starts_at + timedelta(minutes=conversation.minutes))
    event.add("summary", summary or f"Conversation with {conversation.contact.name}")
    if conversation.location:
        event.add("location", conversation.location)
    if description:
        event.add("description", description)
    if url:
        event.add("url", url)
    if conversation.status == ConversationStatus.CANCELLED or cancelled:
        event.add("status", "CANCELLED")
    return event


def tomorrow_by_client(
    session: Session, clients: list[Client], now: datetime
) -> dict[int, list[Conversation]]:
    """Each client's scheduled conversations on their tomorrow, in their own zone (the daily reminders).

    One query for all ``clients`` (with their user loaded); not through a ``Scope``, since the
    reminder run is nobody's request.
    """
    found: dict[int, list[Conversation]] = {c.id: [] for c in clients}
    ids = list(found)
    # Tomorrow ends at most 50 hours from now in any zone (UTC+14 just after midnight).
    for start in range(0, len(ids), 1000):
        for conversation in session.scalars(
            select(Conversation)
            .where(
                Conversation.client_id.in_(ids[start : start + 1000]),
                Conversation.status == ConversationStatus.SCHEDULED,
                Conversation.starts_at >= now,
                Conversation.starts_at < now + timedelta(hours=50),
            )
            .options(selectinload(Conversation.contact))
            .order_by(Conversation.starts_at)
        ):
            found[conversation.client_id].append(conversation)
    for client in clients:
        zone = ZoneInfo(client.timezone)
        tomorrow = now.astimezone(zone).date() + timedelta(days=1)
        found[client.id] = [c for c in found[client.id] if c.starts_at.astimezone(zone).date() == tomorrow]
    return found


def ics(
    conversation: Conversation,
    organiser_name: str,
    method: str = "PUBLISH",
    organiser_email: str = "",
    attendee: tuple[str, str] | None = None,
) -> bytes:
    """An RFC 5545 calendar file for the conversation, with a stable UID and its SEQUENCE.

    ``PUBLISH`` (the default) is a file for the client's own calendar. For an
    invitation sent to the contact, ``REQUEST`` names the ``attendee`` (name, email);
    ``CANCEL`` withdraws it. Every method names the organiser (RFC 5546): the client,
    unless ``organiser_email`` says otherwise. Empty properties are left out.
    """
    organiser_email = organiser_email or conversation.client.email
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = conversation_event(
        conversation,
        description=(
            f"{conversation.minutes} minutes, {conversation.medium.value.replace('_', ' ')}. "
            f"An informational conversation arranged by {organiser_name}."
        ),
        cancelled=method == "CANCEL",
    )
    if organiser_email:
        organiser = vCalAddress(f"mailto:{organiser_email}")
        organiser.params["cn"] = vText(organiser_name)
        event.add("organizer", organiser)
    if attendee is not None:
        name, email = attendee
        guest = vCalAddress(f"mailto:{email}")
        guest.params.update({"cn": vText(name), "role": vText("REQ-PARTICIPANT"), "rsvp": vText("TRUE")})
        event.add("attendee", guest)
    calendar.add_component(event)
    return calendar.to_ical()
