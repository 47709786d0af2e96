"""Database plumbing: the declarative base, a UTC datetime type, and engine/session factories."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import DateTime, Enum, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every Crossroads model, core and plugin alike."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns them aware.

    SQLite has no time zone type; without this, values read back naive and
    comparisons with aware datetimes fail.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Crossroads stores aware UTC datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_column(cls: type[enum.Enum], name: str) -> Enum:
    """The column type for a Python enum: stores the members' lowercase values (not their names) as
    text of at most 20 characters, with a CHECK constraint on SQLite; ``name`` is the type's name
    (PostgreSQL creates an enum type of that name: make it unique, e.g. prefixed by your plugin)."""
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e], length=20)


#: How long a new PostgreSQL connection may take, unless the URL says ``?connect_timeout=N``.
CONNECT_TIMEOUT_SECONDS = 10


def make_engine(url: str) -> Engine:
    """Create an engine; on SQLite, turn on foreign keys and WAL for concurrent readers."""
    connect_args: dict[str, object] = {}
    if url.startswith("postgresql") and "connect_timeout" not in url:
        # Without it psycopg waits minutes (the OS's TCP timeout) for a database host that is gone.
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    engine = create_engine(
        url, future=True, pool_pre_ping=not url.startswith("sqlite"), connect_args=connect_args
    )
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit (views render after saving)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


#: ``session.info`` key of the values :func:`per_transaction` remembers.
_MEMO_KEY = "crossroads.per_transaction"


def per_transaction(session: Session, key: object, load: Callable[[], T]) -> T:
    """``load()``, called once per transaction of ``session`` for ``key`` and remembered until it ends.

    For settings read again and again by one unit of work (a batch of incoming mail reads the
    practice's email settings for every message): the value is what the transaction first saw,
    and a commit or rollback forgets it.
    """
    memo = session.info.setdefault(_MEMO_KEY, {})
    if key not in memo:
        memo[key] = load()
    return memo[key]


def forget_per_transaction(session: Session, key: object | None = None) -> None:
    """Forget one remembered value (after changing what it was read from), or all of them."""
    memo = session.info.get(_MEMO_KEY)
    if memo:
        if key is None:
            memo.clear()
        else:
            memo.pop(key, None)


#: ``session.info`` key: something was flushed in the session's current transaction.
_FLUSHED_KEY = "crossroads.flushed"


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _context) -> None:
    session.info[_FLUSHED_KEY] = True


def wrote_anything(session: Session) -> bool:
    """Whether the session's transaction holds uncommitted writes: flushed, or pending a flush.
    (Statements run with ``session.execute`` outside the unit of work are not seen.)"""
    return bool(session.info.get(_FLUSHED_KEY) or session.new or session.dirty or session.deleted)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction, not a savepoint
        forget_per_transaction(session)
        session.info.pop(_FLUSHED_KEY, None)
