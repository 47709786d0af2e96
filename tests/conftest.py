"""The core suite's own fixtures: its options, the mail and IMAP servers, helper factories, and a
world of two practices with owners, coaches and clients.

The database (SQLite, or PostgreSQL when CROSSROADS_TEST_DATABASE_URL is set), the app, sessions and
signed-in test clients are the kit's (crossroads.testing), which plugin authors use too; ``db``,
``app``, ``as_user``... are aliases of ``crossroads_db``, ``crossroads_app``, ``crossroads_as_user``...
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crossroads.core.config import Settings
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
from crossroads.core.plugins import PluginManager
from crossroads.core.security import hash_password
from crossroads.core.services.contacts import refresh_search_columns
from crossroads.testing import OtherPractice, World
from crossroads.testing.browser import Browser

pytest_plugins = ["tests.mailserver", "tests.imapserver"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-screenshots",
        action="store_true",
        help="browser tests write their screenshots into docs/images/ (the user guide's pictures)",
    )
    parser.addoption(
        "--only-database-tests",
        action="store_true",
        help="run only the tests that use the test database (for a second run on another database)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--only-database-tests``, leave out tests that never touch the database: they cannot
    answer differently on PostgreSQL than on SQLite, so a second run would only repeat them."""
    if not config.getoption("--only-database-tests"):
        return
    kept = [item for item in items if "crossroads_database_url" in getattr(item, "fixturenames", ())]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


PASSWORD = "correct horse battery"
_PASSWORD_HASH = hash_password(PASSWORD)  # Argon2 is slow on purpose: hash once for all fixtures


# -- the kit's fixtures, under the names this suite has always used ----------------------------
# One implementation of each lives in crossroads.testing (the kit plugin authors use); these are
# aliases, so hundreds of tests need not be renamed. Override the kit's (``crossroads_app``...),
# not these, to change what the others build on.


@pytest.fixture
def database_url(crossroads_database_url: str) -> str:
    """The test's migrated database (:func:`crossroads.testing.crossroads_database_url`)."""
    return crossroads_database_url


@pytest.fixture
def engine(crossroads_engine: Engine) -> Engine:
    """An engine on the test's database (:func:`crossroads.testing.crossroads_engine`)."""
    return crossroads_engine


@pytest.fixture
def db(crossroads_db: Session) -> Session:
    """A session on the test's database; it fires plugin events (:func:`crossroads.testing.crossroads_db`)."""
    return crossroads_db


@pytest.fixture
def settings(crossroads_settings: Settings) -> Settings:
    """The test's settings (:func:`crossroads.testing.crossroads_settings`)."""
    return crossroads_settings


@pytest.fixture
def plugins(crossroads_plugin_manager: PluginManager) -> PluginManager:
    """The plugin manager as installed: built-in plugins found through their entry points."""
    return crossroads_plugin_manager


@pytest.fixture
def app(crossroads_app: Flask) -> Flask:
    """The app, CSRF off (tests/test_security.py covers CSRF with it on), on ``https://localhost``."""
    return crossroads_app


@pytest.fixture
def as_user(crossroads_as_user: Callable[[User | None], Browser]) -> Callable[[User | None], Browser]:
    """``as_user(user)``: a fresh test client signed in as ``user``."""
    return crossroads_as_user


@pytest.fixture
def http(crossroads_as_user: Callable[[User | None], Browser]) -> Browser:
    """An HTTPS test client (secure cookies travel only over HTTPS), signed out."""
    return crossroads_as_user(None)


# -- the world: two practices -------------------------------------------------------------


def make_practice(db: Session, name: str, timezone: str = "Europe/London") -> Practice:
    practice = Practice(name=name, timezone=timezone)
    db.add(practice)
    db.flush()
    return practice


def make_user(db: Session, practice: Practice, email: str, role: Role, name: str | None = None) -> User:
    user = User(
        practice=practice,
        email=email,
        name=name or email.split("@")[0].title(),
        role=role,
        timezone=practice.timezone,
        password_hash=_PASSWORD_HASH,
    )
    db.add(user)
    db.flush()
    return user


def make_client(
    db: Session,
    coach: User,
    email: str,
    name: str | None = None,
    status: ClientStatus = ClientStatus.EXPLORING,
    themes: tuple[str, ...] = (),
) -> Client:
    user = make_user(db, coach.practice, email, Role.CLIENT, name)
    client = Client(practice_id=coach.practice_id, user=user, coach=coach, status=status)
    db.add(client)
    db.flush()
    for position, title in enumerate(themes, start=1):
        db.add(
            CareerTheme(
                practice_id=client.practice_id,
                client=client,
                title=title,
                position=position,
                status=ThemeStatus.EXPLORING,
            )
        )
    db.flush()
    return client


def make_contact(
    db: Session,
    client: Client,
    name: str,
    organisation: str = "",
    position: str = "",
    stage: Stage = Stage.IDENTIFIED,
    source: ContactSource = ContactSource.MANUAL,
    **values,
) -> Contact:
    """A contact with its first history entry, as the contacts service would make it."""
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
    db.add(contact)
    db.flush()
    db.add(
        StageChange(
            practice_id=client.practice_id,
            client_id=client.id,
            contact_id=contact.id,
            from_stage=None,
            to_stage=stage,
            at=contact.stage_changed_at,
        )
    )
    db.flush()
    return contact


def make_bank(
    db: Session, owner: User, name: str, reach: Reach = Reach.PRACTICE, clients: list[Client] | None = None
) -> QuestionBank:
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
    db.add(bank)
    db.flush()
    return bank


def make_conversation(
    db: Session, contact: Contact, starts_at: datetime | None = None, shared_reflection: bool | None = None
) -> Conversation:
    """A held conversation with one prep question, and a reflection unless ``shared_reflection`` is None."""
    conversation = Conversation(
        practice_id=contact.practice_id,
        client_id=contact.client_id,
        contact=contact,
        starts_at=starts_at or datetime(2026, 11, 20, 14, 0, tzinfo=UTC),
        uid=f"{uuid.uuid4()}@test",
        status=ConversationStatus.HELD,
        held_at=starts_at or datetime(2026, 11, 20, 14, 20, tzinfo=UTC),
    )
    conversation.questions.append(
        PrepQuestion(
            practice_id=contact.practice_id, client_id=contact.client_id, text="What is hard about it?"
        )
    )
    db.add(conversation)
    if shared_reflection is not None:
        db.add(
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
    db.flush()
    return conversation


def make_message(
    db: Session,
    contact: Contact,
    status: MessageStatus = MessageStatus.HANDED_OFF,
    kind: MessageKind = MessageKind.FIRST_REQUEST,
    channel: str = "email",
) -> OutreachMessage:
    """An outreach message to ``contact`` (handed off to the client by default)."""
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
    db.add(message)
    db.flush()
    return message


@pytest.fixture
def world(db: Session) -> World:
    """The kit's :class:`~crossroads.testing.World`, with this suite's own people and rows.

    Practice A: an owner, a coach, the coach's client and second client (``other_client``), and
    the owner's own client (``owners_client``). Practice B (``other_practice``, also called the
    stranger's): its owner, who coaches its client. Every client has one theme; one contact with
    a held conversation, a prep question, a shared reflection and a handed-off outreach message;
    and a question bank of their coach's chosen for them alone.
    """
    practice = make_practice(db, "Northbridge")
    owner = make_user(db, practice, "owner@a.example", Role.OWNER, "Olivia Owner")
    coach = make_user(db, practice, "coach@a.example", Role.COACH, "Colin Coach")
    stranger_practice = make_practice(db, "Elsewhere Coaching", "America/New_York")
    stranger_owner = make_user(db, stranger_practice, "owner@b.example", Role.OWNER, "Sam Stranger")
    client = make_client(db, coach, "client@a.example", "Clara Client", themes=("Magazine editing",))
    world = World(
        practice=practice,
        owner=owner,
        coach=coach,
        client=client,
        theme=client.themes[0],
        other_client=make_client(db, coach, "other@a.example", "Otto Other", themes=("Urban planning",)),
        owners_client=make_client(db, owner, "owned@a.example", "Ola Owned", themes=("Data journalism",)),
        other_practice=OtherPractice(
            stranger_practice,
            stranger_owner,
            stranger_owner,
            make_client(db, stranger_owner, "client@b.example", "Bea Beyond", themes=("Systems analysis",)),
        ),
    )
    for each in (world.client, world.other_client, world.owners_client, world.stranger_client):
        contact = make_contact(db, each, f"Contact of {each.name}", "Acme", "Editor")
        if each is world.client:
            world.contacts.append(contact)
        make_conversation(db, contact, shared_reflection=True)
        make_message(db, contact)
        make_bank(db, each.coach, f"Questions for {each.name}", Reach.CLIENTS, clients=[each])
    db.commit()
    return world
