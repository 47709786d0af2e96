"""Record incoming email once per practice and Message-ID; processing comes after (:mod:`.pending`).

:func:`record` is what the transports do (the IMAP poller per batch, the inbound endpoint per
message): read the few headers it keeps with a header-only parse, and insert the batch with one
multi-row ``INSERT … ON CONFLICT (practice_id, message_id) DO NOTHING``. A message already
recorded (by this or another worker, or by another transport) is skipped by the database's
unique key, so exactly once holds however many workers fetch it. The caller commits, with its
own progress (an IMAP mailbox's last UID), so a crash between the two repeats nothing.

:func:`receive` is the single-message convenience "record, commit and process now".
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import InboundKind, InboundMail
from .headers import header

MAX_RAW_BYTES = 10 * 1024 * 1024
#: ``session.info`` key: the practices with mail recorded in the session's transaction, whose
#: processing a session with the queue attached wakes after the commit.
NEW_MAIL_KEY = "crossroads.inbox.new"
_HEADERS = BytesHeaderParser(policy=policy.compat32)


@dataclass(frozen=True)
class Incoming:
    """One fetched message, as a transport hands it over."""

    raw: bytes
    source: str
    source_ref: str = ""


def parse(raw: bytes) -> EmailMessage:
    """The message as the standard library's modern email API reads it."""
    return message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def message_id_of(message: Message, raw: bytes) -> str:
    """The message's own ``Message-ID``, or a stable stand-in derived from its bytes."""
    value = header(message, "Message-ID").strip()
    if value:
        return value[:250]
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@crossroads.invalid>"


def _headers(raw: bytes) -> Message:
    """The header block alone, parsed (the parser would read the body line by line otherwise)."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return _HEADERS.parsebytes(raw[: min(ends)] if ends else raw)


def recorded_id(raw: bytes) -> str:
    """The Message-ID ``raw`` is (or would be) recorded under."""
    raw = raw[:MAX_RAW_BYTES]
    return message_id_of(_headers(raw), raw)


def _row(practice_id: int, item: Incoming, now) -> dict:
    raw = item.raw[:MAX_RAW_BYTES]
    headers = _headers(raw)  # the body is read when the message is processed
    return {
        "practice_id": practice_id,
        "message_id": message_id_of(headers, raw),
        "source": item.source,
        "source_ref": item.source_ref[:60],
        "from_address": header(headers, "From")[:254],
        "subject": header(headers, "Subject")[:300],
        "raw": raw,
        "kind": InboundKind.PENDING,
        "received_at": now,
        "text": "",
        "reason": "",
        "attempts": 0,
        "error": "",
    }


def record(session: Session, practice_id: int, items: Sequence[Incoming]) -> list[tuple[int, str]]:
    """Record ``items`` as pending mail of the practice in one statement; ``(id, Message-ID)`` of
    each one newly recorded (a message recorded before, or twice in ``items``, is skipped).

    Does not commit: the caller commits with its own progress.
    """
    now = utcnow()
    rows: dict[str, dict] = {}
    for item in items:
        row = _row(practice_id, item, now)
        rows.setdefault(row["message_id"], row)
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = InboundMail.__table__
    # A Core statement compiled once and cached; SQLAlchemy sends the rows as one multi-row
    # INSERT ("insertmanyvalues"), RETURNING only the rows inserted.
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["practice_id", "message_id"])
        .returning(table.c.id, table.c.message_id)
    )
    created = [(row.id, row.message_id) for row in session.execute(statement, list(rows.values()))]
    if created:
        session.info.setdefault(NEW_MAIL_KEY, set()).add(practice_id)
    return created


def recorded(session: Session, practice_id: int, message_id: str) -> InboundMail | None:
    """The practice's mail with this Message-ID, if recorded."""
    return session.scalar(
        select(InboundMail).where(
            InboundMail.practice_id == practice_id, InboundMail.message_id == message_id
        )
    )


def receive(
    session: Session, practice_id: int, raw: bytes, *, source: str, source_ref: str = ""
) -> tuple[InboundMail, bool]:
    """Record ``raw`` for the practice, commit, and process it now; ``(mail, False)`` if it was
    recorded before (then it is left to whoever recorded it).

    For callers that want the effect at once (the demo's answering contact, tests). Commits
    (the record, then the processing in its own transaction, as the worker would).
    """
    from .pending import process_mail

    created = record(session, practice_id, [Incoming(raw, source, source_ref)])
    session.commit()
    if created:
        [(mail_id, message_id)] = created
        process_mail(session, mail_id)
    else:
        message_id = recorded_id(raw)
    mail = recorded(session, practice_id, message_id)
    assert mail is not None
    return mail, bool(created)
