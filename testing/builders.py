"""Builders: rows for a test, added straight to the database (no service, no event, no request).

Each takes the test's session (``crossroads_db``) first, adds one thing (and the rows it cannot
be without), flushes so it has its id, and returns it; commit when the test is ready to make
requests. They are the quick way to a state the app would take many clicks to reach. For rows
whose making should fire plugin events (a contact a plugin hears of), use the core's services
instead, as :func:`crossroads.testing.crossroads_world` does.

Everyone they create signs in with :data:`PASSWORD` (its Argon2 hash is computed once per test
session). :func:`add_history` gives a client what a few weeks of work leave behind.

Import them from ``crossroads.testing`` (or ``crossroads.plugin``)::

    from crossroads.testing import make_contact, make_conversation

    def test_a_held_conversation_is_counted(crossroads_db, crossroads_client):
        contact = make_contact(crossroads_db, crossroads_client, "Ada Editor", "The Review")
        make_conversation(crossroads_db, contact)
        crossroads_db.commit()
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crossroads.core.db import utcnow
from crossroads.core.models import (
    CareerTheme,
    Category,
    Client,
    ClientStatus,
    Contact,
    ContactSource,
    Conversation,
    ConversationStatus,
    MessageKind,
    MessageStatus,
    OutreachMessage,
    Practice,
    PrepQuestion,
    Question,
    QuestionBank,
    Reach,
    Reflection,
    Role,
    Stage,
    StageChange,
    ThemeStatus,
    User,
)
from crossroads.core.security import hash_password
from crossroads.core.services.contacts import refresh_search_columns

__all__ = [
    "PASSWORD",
    "password_hash",
    "make_practice",
    "make_user",
    "make_client",
    "make_contact",
    "make_bank",
    "make_conversation",
    "make_message",
    "History",
    "add_history",
]

#: The password of everyone the kit creates (the world's cast and the builders' users).
PASSWORD = "correct horse battery"

#: When :func:`make_conversation` holds a conversation unless told otherwise (UTC).
HELD_AT = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


@cache
def password_hash() -> str:
    """The Argon2 hash of :data:`PASSWORD`, computed once per test session (Argon2 is slow on purpose)."""
    return hash_password(PASSWORD)


def make_practice(session: Session, name: str, timezone: str = "Europe/London") -> Practice:
    """A practice called ``name`` in ``timezone`` (an IANA name), with no one in it yet."""
    practice = Practice(name=name, timezone=timezone)
    session.add(practice)
    session.flush()
    return practice


def make_user(session: Session, practice: Practice, email: str, role: Role, name: str | None = None) -> User:
    """A user of ``practice`` with ``role``, signing in as ``email`` with :data:`PASSWORD`.

    ``name`` defaults to the address's local part, titled ("coach@x.example" is "Coach"); the time
    zone is the practice's. For a client, use :func:`make_client`, which adds the client row too.
    """
    user = User(
        practice=practice,
        email=email,
        name=name or email.split("@")[0].title(),
        role=role,
        timezone=practice.timezone,
        password_hash=password_hash(),
    )
    session.add(user)
    session.flush()
    return user


def make_client(
    session: Session,
    coach: User,
    email: str,
    name: str | None = None,
    status: ClientStatus = ClientStatus.EXPLORING,
    themes: tuple[str, ...] = (),
) -> Client:
    """A client of ``coach`` (an owner or a coach) in the coach's practice, signing in as ``email``,
    exploring each of ``themes`` (titles, in order)."""
    user = make_user(session, coach.practice, email, Role.CLIENT, name)
    client = Client(practice_id=coach.practice_id, user=user, coach=coach, status=status)
    session.add(client)
    session.flush()
    for position, title in enumerate(themes, start=1):
        session.add(
            CareerTheme(
                practice_id=client.practice_id,
                client=client,
                title=title,
                position=position,
                status=ThemeStatus.EXPLORING,
            )
        )
    session.flush()
    return client


def make_contact(
    session: Session,
    client: Client,
    name: str,
    organisation: str = "",
    position: str = "",
    stage: Stage = Stage.IDENTIFIED,
    source: ContactSource | str = ContactSource.MANUAL,
    **values: Any,
) -> Contact:
    """A contact of ``client`` at ``stage``, with its first stage history entry, as the contacts
    service would make it (but firing no event). ``values`` sets other columns (``email``...)."""
    contact = Contact(
        practice_id=client.practice_id,
        client=client,
        name=name,
        organisation=organisation,
        position=position,
        stage=stage,
        source=source,
        **values,
    )
    refresh_search_columns(contact)
    session.add(contact)
    session.flush()
    session.add(
        StageChange(
            practice_id=client.practice_id,
            client_id=client.id,
            contact_id=contact.id,
            from_stage=None,
            to_stage=stage,
            at=contact.stage_changed_at,
        )
    )
    session.flush()
    return contact


def make_bank(
    session: Session,
    owner: User,
    name: str,
    reach: Reach = Reach.PRACTICE,
    clients: list[Client] | None = None,
) -> QuestionBank:
    """A question bank of ``owner``'s (a coach or an owner) with one question ("What surprised you
    most, <name>?"), shared as ``reach`` says: with the practice, or with ``clients`` alone."""
    bank = QuestionBank(
        practice_id=owner.practice_id, owner=owner, name=name, reach=reach, clients=clients or []
    )
    bank.questions.append(
        Question(
            practice_id=owner.practice_id,
            text=f"What surprised you most, {name}?",
            category=Category.BACKGROUND,
        )
    )
    session.add(bank)
    session.flush()
    return bank


def make_conversation(
    session: Session,
    contact: Contact,
    starts_at: datetime | None = None,
    shared_reflection: bool | None = None,
) -> Conversation:
    """A conversation with ``contact``, held at ``starts_at`` (default 20 November 2026, 14:00 UTC),
    with one prep question ("What is hard about it?").

    With ``shared_reflection`` True or False the client has written a reflection on it ("Insight
    from <contact>"), shared with the coach or not; with None (the default), no reflection.
    """
    conversation = Conversation(
        practice_id=contact.practice_id,
        client_id=contact.client_id,
        contact=contact,
        starts_at=starts_at or HELD_AT,
        uid=f"{uuid.uuid4()}@test",
        status=ConversationStatus.HELD,
        held_at=starts_at or HELD_AT.replace(minute=20),
    )
    conversation.questions.append(
        PrepQuestion(
            practice_id=contact.practice_id, client_id=contact.client_id, text="What is hard about it?"
        )
    )
    session.add(conversation)
    if shared_reflection is not None:
        session.add(
            Reflection(
                practice_id=contact.practice_id,
                client_id=contact.client_id,
                conversation=conversation,
                energy=1,
                fit=4,
                insights=f"Insight from {contact.name}",
                shared_at=utcnow() if shared_reflection else None,
            )
        )
    session.flush()
    return conversation


def make_message(
    session: Session,
    contact: Contact,
    status: MessageStatus = MessageStatus.HANDED_OFF,
    kind: MessageKind = MessageKind.FIRST_REQUEST,
    channel: str = "email",
) -> OutreachMessage:
    """An outreach message of ``kind`` to ``contact`` on ``channel`` ("A question for <contact>"),
    in ``status``: handed off to the client to send by default."""
    message = OutreachMessage(
        practice_id=contact.practice_id,
        client_id=contact.client_id,
        contact=contact,
        channel=channel,
        kind=kind,
        subject=f"A question for {contact.name}",
        body="Would you have 20 minutes next week?",
        to_name=contact.name,
        to_address=contact.email,
        status=status,
    )
    session.add(message)
    session.flush()
    return message


@dataclass
class History:
    """What :func:`add_history` added for one client."""

    contact: Contact
    conversation: Conversation
    message: OutreachMessage
    bank: QuestionBank


def add_history(session: Session, client: Client, contact: Contact | None = None) -> History:
    """A few weeks of a client's work, on ``contact`` (default: the client's first contact).

    A held conversation with a prep question and a reflection shared with the coach, a handed-off
    first request, and a question bank of the coach's ("Questions for <client>") for this client
    alone. The contact stays at its stage. Flushed, not committed.
    """
    if contact is None:
        first = select(Contact).where(Contact.client_id == client.id).order_by(Contact.id).limit(1)
        contact = session.scalars(first).one()
    return History(
        contact=contact,
        conversation=make_conversation(session, contact, shared_reflection=True),
        message=make_message(session, contact),
        bank=make_bank(
            session, client.coach, f"Questions for {client.name}", Reach.CLIENTS, clients=[client]
        ),
    )
