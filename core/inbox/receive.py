"""Record an incoming email once per practice and Message-ID, then process it."""

from __future__ import annotations

import hashlib
from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import InboundMail
from .headers import header
from .process import process

MAX_RAW_BYTES = 10 * 1024 * 1024


def parse(raw: bytes) -> EmailMessage:
    """The message as the standard library's modern email API reads it."""
    return message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def message_id_of(message: EmailMessage, raw: bytes) -> str:
    """The message's own ``Message-ID``, or a stable stand-in derived from its bytes."""
    value = header(message, "Message-ID").strip()
    if value:
        return value[:250]
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@crossroads.invalid>"


def _recorded(session: Session, practice_id: int, message_id: str) -> InboundMail | None:
    return session.scalar(
        select(InboundMail).where(
            InboundMail.practice_id == practice_id, InboundMail.message_id == message_id
        )
    )


def _open_transaction(session: Session) -> None:
    """On SQLite, begin the transaction before the savepoint: Python's driver begins one only at the
    first write, and a SAVEPOINT outside a transaction commits on its RELEASE (the whole batch of
    an IMAP poll must commit together, with its read position)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not connection.connection.driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def receive(
    session: Session, practice_id: int, raw: bytes, *, source: str, source_ref: str = ""
) -> tuple[InboundMail, bool]:
    """Record ``raw`` for the practice and process it; ``(mail, False)`` if it was seen before.

    Runs in a savepoint, so a duplicate (the same Message-ID, already recorded
    by this or another worker) leaves the caller's transaction usable. Does not
    commit: the caller commits with its own progress.
    """
    raw = raw[:MAX_RAW_BYTES]
    message = parse(raw)
    message_id = message_id_of(message, raw)
    existing = _recorded(session, practice_id, message_id)
    if existing is not None:
        return existing, False
    mail = InboundMail(
        practice_id=practice_id,
        message_id=message_id,
        source=source,
        source_ref=source_ref[:60],
        from_address=header(message, "From")[:254],
        subject=header(message, "Subject")[:300],
        raw=raw,
    )
    _open_transaction(session)
    try:
        with session.begin_nested():
            session.add(mail)
    except IntegrityError:
        # Another worker recorded it between our look and our insert.
        existing = _recorded(session, practice_id, message_id)
        assert existing is not None
        return existing, False
    process(session, mail, message)
    return mail, True
