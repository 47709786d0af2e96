"""The outbox: messages are written to the database first, then delivered by a background worker.

Every email is an :class:`~crossroads.core.models.OutboxEmail` row, so nothing
is lost when the worker or the queue is down: the database is the source of
truth, and the queue (:mod:`.queue`) only wakes a worker up. A row goes by its
``transport``: ``"email"`` is :class:`SmtpTransport`, any other name a plugin's
:class:`~crossroads.core.outreach.transports.Transport` (queued with :func:`queue_outbox`);
everything below is the same for all of them.

A row goes ``queued`` → ``sending`` → ``sent`` / ``failed`` / ``unknown``:

- :func:`deliver` claims a row with one conditional UPDATE (only one of two
  racing workers wins), commits, and only then hands it to its transport;
- a temporary failure puts it back to ``queued`` with a growing delay; a
  permanent one marks it ``failed`` with the server's reason;
- a row left ``sending`` by a worker that died (:func:`mark_stale`) becomes
  ``unknown``: the server may have it, so it is never resent without a person
  deciding to (:func:`send_again`).

Each change is mirrored onto the :class:`~crossroads.core.models.OutreachMessage`
linked to the row, which is what the client sees.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from .. import events
from ..db import per_transaction, utcnow
from ..errors import InvalidInput, NotFound
from ..models import MessageStatus, OutboxEmail, OutreachMessage, PracticeMail
from ..outreach.transports import EMAIL, Envelope, Outcome, Transport, payload_problem
from . import smtp
from .compose import build_email, new_message_id
from .secrets import SecretKeyMismatch, decrypt

log = logging.getLogger(__name__)

#: ``session.info`` key listing rows queued in the session's transaction, to wake a worker after commit.
NEW_ROWS_KEY = "crossroads.outbox.new"

#: How long a row may stay ``sending`` before its worker is taken for dead.
LEASE = timedelta(minutes=10)
#: Minutes to wait after the 1st, 2nd, ... temporary failure.
BACKOFF_MINUTES = (1, 2, 4, 8, 16, 32, 60)
MAX_ATTEMPTS = 10

NO_SERVER = "Your practice has not set up an email server yet"
STALE = "The sender stopped while sending this message; check your sent mail before sending it again."
#: The same for a message sent another way than by email (a plugin's transport).
STALE_ELSEWHERE = (
    "The sender stopped while sending this message; check with its recipient whether it arrived "
    "before sending it again."
)
RETRYING = "retrying: "
NO_TRANSPORT = (
    "Nothing here can send this message: its transport ({name}) is not installed where the outbox "
    "is sent from. Ask your administrator; once it is back, send it again."
)


def practice_mail(session: Session, practice_id: int) -> PracticeMail | None:
    """The practice's email settings, read once per transaction (incoming mail asks per message)."""
    return per_transaction(
        session,
        (PracticeMail, practice_id),
        lambda: session.scalar(select(PracticeMail).where(PracticeMail.practice_id == practice_id)),
    )


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th attempt failed temporarily: 1, 2, 4 … 32, then 60 minutes."""
    return timedelta(minutes=BACKOFF_MINUTES[min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1])


def queue_email(
    session: Session,
    *,
    practice_id: int,
    client_id: int | None,
    sender_name: str,
    reply_to: str,
    to_address: str,
    to_name: str = "",
    subject: str,
    body: str,
    in_reply_to: str = "",
    references: str = "",
    ics: str | None = None,
    ics_method: str | None = None,
    from_address: str | None = None,
) -> OutboxEmail:
    """Add a ``queued`` email to the outbox and flush; the caller commits.

    After the commit a session with a :class:`~.queue.MailQueue` attached wakes a
    worker; otherwise the worker's sweep finds the row within a minute.
    """
    if from_address is None:
        from_address = session.scalar(
            select(PracticeMail.from_address).where(PracticeMail.practice_id == practice_id)
        )
    now = utcnow()
    row = OutboxEmail(
        practice_id=practice_id,
        client_id=client_id,
        status=MessageStatus.QUEUED,
        sender_name=sender_name,
        reply_to=reply_to,
        to_address=to_address,
        to_name=to_name,
        subject=subject,
        body=body,
        ics=ics,
        ics_method=ics_method,
        message_id=new_message_id(from_address or "crossroads.invalid"),
        in_reply_to=in_reply_to,
        references=references,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    session.info.setdefault(NEW_ROWS_KEY, []).append(row)
    return row


def queue_outbox(
    session: Session,
    transport: str,
    *,
    practice_id: int,
    client_id: int | None,
    to_address: str = "",
    to_name: str = "",
    subject: str = "",
    body: str = "",
    payload: dict[str, Any] | None = None,
) -> OutboxEmail:
    """Add a ``queued`` row for a plugin's ``transport`` (its name) to the outbox and flush; no commit.

    ``payload`` is what the transport needs beyond the addressee, subject and body: a JSON
    object of at most :data:`~crossroads.core.outreach.transports.PAYLOAD_LIMIT` characters (``ValueError``
    otherwise). The row is claimed, retried, marked unknown and sent again exactly as an email is.
    """
    if not transport or transport == EMAIL:
        raise ValueError(
            f"queue_outbox is for a plugin's transport; queue email with queue_email ({transport!r})"
        )
    payload = {} if payload is None else payload
    problem = payload_problem(payload)
    if problem:
        raise ValueError(problem)
    now = utcnow()
    row = OutboxEmail(
        practice_id=practice_id,
        client_id=client_id,
        status=MessageStatus.QUEUED,
        transport=transport,
        payload=payload,
        to_address=to_address,
        to_name=to_name,
        subject=subject,
        body=body,
        message_id=new_message_id("crossroads.invalid"),
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    session.info.setdefault(NEW_ROWS_KEY, []).append(row)
    return row


def _mirror(session: Session, outbox_id: int | list[int], sync: str | bool = False, **values: Any) -> None:
    """Copy a change of the outbox row(s) onto the linked outreach message(s).

    ``sync="evaluate"`` also updates messages loaded in a caller's session.
    """
    ids = outbox_id if isinstance(outbox_id, list) else [outbox_id]
    if ids:
        session.execute(
            update(OutreachMessage)
            .where(OutreachMessage.outbox_id.in_(ids))
            .values(**values)
            .execution_options(synchronize_session=sync)
        )


def _status(session: Session, outbox_id: int) -> MessageStatus | None:
    return session.scalar(select(OutboxEmail.status).where(OutboxEmail.id == outbox_id))


def deliver(
    sessionmaker: sessionmaker[Session],
    outbox_id: int,
    secret_key: str,
    ca_file: str = "",
    now: datetime | None = None,
    lease: timedelta = LEASE,
    allow_private: bool = False,
    transports: Mapping[str, Transport] | None = None,
) -> MessageStatus | None:
    """Send one outbox row if it is queued and due; return its status afterwards.

    A row that is not claimable (already sending or sent, not yet due, or
    claimed a moment ago by another worker) is left alone and its current status
    returned; ``None`` when there is no such row. ``lease`` bounds how long the
    network may take, so that a live send never looks like a dead worker's.
    ``allow_private`` lets the server be on a private address (``CROSSROADS_SMTP_ALLOW_PRIVATE``).
    ``transports`` are the plugins' transports by name
    (:func:`~crossroads.core.outreach.transports.plugin_transports`); email goes by :class:`SmtpTransport`.
    A row whose transport is not there fails for good, saying so.
    """
    claimed_at = now or utcnow()
    with sessionmaker() as session:
        row = session.scalars(
            update(OutboxEmail)
            .where(
                OutboxEmail.id == outbox_id,
                OutboxEmail.status == MessageStatus.QUEUED,
                OutboxEmail.next_attempt_at <= claimed_at,
            )
            .values(status=MessageStatus.SENDING, claimed_at=claimed_at, attempts=OutboxEmail.attempts + 1)
            .returning(OutboxEmail)
            .execution_options(synchronize_session=False, populate_existing=True)
        ).one_or_none()
        if row is None:
            session.rollback()
            return _status(session, outbox_id)
        _mirror(session, outbox_id, status=MessageStatus.SENDING, error="")
        name = row.transport or EMAIL
        if name == EMAIL:
            transport: Transport | None = SmtpTransport(secret_key, ca_file, lease, allow_private)
        else:
            transport = (transports or {}).get(name)
        envelope = _envelope(row, lease)
        outcome: Outcome | None = None
        if transport is None:
            outcome = Outcome.failed(NO_TRANSPORT.format(name=name))
        else:
            try:
                if name == EMAIL:
                    envelope = replace(envelope, prepared=transport.prepare(session, envelope))
                else:  # a plugin's failed SQL must not take the claim with it
                    with session.begin_nested():
                        envelope = replace(envelope, prepared=transport.prepare(session, envelope))
            except Exception as exc:
                log.exception("outbox %s: transport %s could not prepare the message", outbox_id, name)
                outcome = Outcome.failed(f"This message could not be prepared for sending ({exc}).")
        # Keep what was read as it is; hold no transaction open while talking to the other side.
        session.expunge_all()
        session.commit()

        if outcome is None:
            try:
                outcome = transport.send(envelope)
            except Exception as exc:  # a transport classifies everything; this is a safety net
                log.exception("outbox %s: unexpected error while sending by %s", outbox_id, name)
                outcome = Outcome.unknown(f"Something went wrong while sending ({exc!r}).")
            if not isinstance(outcome, Outcome):
                log.error("outbox %s: transport %s answered %r, not an Outcome", outbox_id, name, outcome)
                outcome = Outcome.unknown("The sender gave no clear answer about this message.")
        return _record(session, outbox_id, row.practice_id, row.attempts, outcome, now)


def _envelope(row: OutboxEmail, lease: timedelta) -> Envelope:
    return Envelope(
        id=row.id,
        transport=row.transport or EMAIL,
        practice_id=row.practice_id,
        client_id=row.client_id,
        attempt=row.attempts,
        key=row.message_id,
        to_address=row.to_address,
        to_name=row.to_name,
        subject=row.subject,
        body=row.body,
        payload=dict(row.payload or {}),
        # Well inside the lease, so that a live send never looks like a dead worker's.
        timeout=min(30.0, lease.total_seconds() / 4),
    )


class SmtpTransport(Transport):
    """The core's transport: an outbox row as an email, through the practice's server."""

    name = EMAIL
    label = "email"

    def __init__(
        self, secret_key: str, ca_file: str = "", lease: timedelta = LEASE, allow_private: bool = False
    ):
        self.secret_key = secret_key
        self.ca_file = ca_file
        self.lease = lease
        self.allow_private = allow_private

    def prepare(self, session: Session, envelope: Envelope) -> tuple[OutboxEmail, PracticeMail | None]:
        """The claimed row (for its headers) and the practice's email server."""
        row = session.get(OutboxEmail, envelope.id)
        settings = session.scalar(
            select(PracticeMail).where(PracticeMail.practice_id == envelope.practice_id)
        )
        return row, settings

    def send(self, envelope: Envelope) -> Outcome:
        """Write the email and hand it to the practice's server; every failure classified."""
        row, settings = envelope.prepared
        attempt = _Attempt(row, settings, self.secret_key, self.ca_file, self.lease, self.allow_private)
        failure = attempt.failure
        if failure is None:
            try:
                smtp.send(attempt.server, attempt.message)
            except smtp.DeliveryError as exc:
                failure = exc
            except Exception as exc:  # send() classifies everything; this is a safety net
                log.exception("outbox %s: unexpected error while sending", envelope.id)
                failure = smtp.UnknownOutcome(f"Something went wrong while sending ({exc!r}).")
        return outcome_of(failure)


def outcome_of(failure: smtp.DeliveryError | None) -> Outcome:
    """An SMTP delivery's result as a transport's :class:`~crossroads.core.outreach.transports.Outcome`."""
    if failure is None:
        return Outcome.sent()
    if isinstance(failure, smtp.UnknownOutcome):
        return Outcome(MessageStatus.UNKNOWN, failure.reason)
    return Outcome(MessageStatus.FAILED, failure.reason, isinstance(failure, smtp.TemporaryFailure))


class _Attempt:
    """The email and the server for one attempt, or why there cannot be one."""

    def __init__(
        self,
        row: OutboxEmail,
        settings: PracticeMail | None,
        secret_key: str,
        ca_file: str,
        lease: timedelta,
        allow_private: bool,
    ):
        self.failure: smtp.DeliveryError | None = None
        self.message = None
        self.server: smtp.SmtpServer | None = None
        if settings is None:
            self.failure = smtp.PermanentFailure(NO_SERVER)
            return
        try:
            self.message = build_email(row, settings.from_address)
            password = decrypt(secret_key, settings.password_encrypted) if settings.password_encrypted else ""
        except SecretKeyMismatch as exc:
            self.failure = smtp.PermanentFailure(str(exc))
            return
        except Exception as exc:
            log.exception("outbox %s: cannot write the email", row.id)
            self.failure = smtp.PermanentFailure(f"This message could not be written as an email ({exc}).")
            return
        seconds = lease.total_seconds()
        self.server = smtp.SmtpServer(
            host=settings.host,
            port=settings.port,
            security=settings.security,
            username=settings.username,
            password=password,
            ca_file=ca_file,
            timeout=min(30.0, seconds / 20),
            final_reply_timeout=min(120.0, seconds / 4),
            allow_private=allow_private,
        )


def _record(
    session: Session,
    outbox_id: int,
    practice_id: int,
    attempt: int,
    outcome: Outcome,
    now: datetime | None,
) -> MessageStatus | None:
    """Write the outcome of attempt number ``attempt`` on the row and its outreach message, in one commit."""
    finished = now or utcnow()
    values: dict[str, Any]
    if outcome.status == MessageStatus.SENT:
        values = {"status": MessageStatus.SENT, "sent_at": finished, "last_error": ""}
        mirrored = {"status": MessageStatus.SENT, "sent_at": finished, "error": ""}
    elif outcome.status == MessageStatus.UNKNOWN:
        values = {"status": MessageStatus.UNKNOWN, "last_error": outcome.reason}
        mirrored = {"status": MessageStatus.UNKNOWN, "error": outcome.reason}
    elif outcome.temporary and attempt < MAX_ATTEMPTS:
        error = RETRYING + outcome.reason
        values = {
            "status": MessageStatus.QUEUED,
            "next_attempt_at": finished + backoff(attempt),
            "last_error": error,
        }
        mirrored = {"status": MessageStatus.QUEUED, "error": error}
    elif outcome.temporary:
        error = f"Gave up after {attempt} attempts: {outcome.reason}"
        values = {"status": MessageStatus.FAILED, "last_error": error}
        mirrored = {"status": MessageStatus.FAILED, "error": error}
    else:
        values = {"status": MessageStatus.FAILED, "last_error": outcome.reason}
        mirrored = {"status": MessageStatus.FAILED, "error": outcome.reason}
    if outcome.status != MessageStatus.SENT:
        log.warning("outbox %s attempt %s: %s", outbox_id, attempt, values["last_error"])

    # Only while the row still belongs to this attempt: a later claim (after a person chose to
    # send it again) counts attempts on, and its own worker records its own outcome.
    done = session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id == outbox_id, OutboxEmail.attempts == attempt)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        session.rollback()
        log.warning("outbox %s: attempt %s finished after the row moved on; not recorded", outbox_id, attempt)
        return _status(session, outbox_id)
    _mirror(session, outbox_id, **mirrored)
    if values["status"] == MessageStatus.FAILED:
        failed = session.scalar(
            select(OutreachMessage)
            .where(OutreachMessage.outbox_id == outbox_id)
            .execution_options(populate_existing=True)
        )
        if failed is not None:
            from ..services.webhooks import record_row

            record_row(session, practice_id, "message.failed", failed)
    if outcome.status == MessageStatus.SENT and events.BUS_KEY in session.info:
        message = session.scalar(select(OutreachMessage).where(OutreachMessage.outbox_id == outbox_id))
        if message is not None:
            events.fire(session, "message_sent", practice_id, message=message)
    session.commit()
    return values["status"]


def mark_stale(session: Session, now: datetime | None = None, lease: timedelta = LEASE) -> int:
    """Rows left ``sending`` longer than ``lease`` become ``unknown`` (never requeued); flushes, no commit.

    Their worker died mid-send: the server may or may not have the message.
    Returns how many rows changed.
    """
    cutoff = (now or utcnow()) - lease
    changed: list[int] = []
    for by_email, error in ((True, STALE), (False, STALE_ELSEWHERE)):
        transport = OutboxEmail.transport == EMAIL if by_email else OutboxEmail.transport != EMAIL
        ids = list(
            session.scalars(
                update(OutboxEmail)
                .where(
                    OutboxEmail.status == MessageStatus.SENDING, OutboxEmail.claimed_at < cutoff, transport
                )
                .values(status=MessageStatus.UNKNOWN, last_error=error)
                .returning(OutboxEmail.id)
                .execution_options(synchronize_session=False)
            )
        )
        if ids:
            _mirror(session, ids, "evaluate", status=MessageStatus.UNKNOWN, error=error)
            changed += ids
    if changed:
        log.warning("outbox: %s message(s) left sending by a stopped worker are now unknown", len(changed))
        for row in session.identity_map.values():
            if isinstance(row, OutboxEmail) and row.id in changed:
                session.expire(row)
    return len(changed)


def due_ids(session: Session, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Ids of queued rows whose next attempt is due, oldest first."""
    due = OutboxEmail.next_attempt_at <= (now or utcnow())
    return list(
        session.scalars(
            select(OutboxEmail.id)
            .where(OutboxEmail.status == MessageStatus.QUEUED, due)
            .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
            .limit(limit)
        )
    )


def send_again(session: Session, outbox_id: int, now: datetime | None = None) -> OutboxEmail:
    """A person decided to send a ``failed`` or ``unknown`` message again: queue it now; no commit.

    Attempts are kept. Any other status is refused with :class:`InvalidInput`.
    """
    # One conditional UPDATE decides, so two people (or two clicks) sending again at once queue it
    # once, on SQLite (which ignores FOR UPDATE) as on PostgreSQL.
    claimed = session.execute(
        update(OutboxEmail)
        .where(
            OutboxEmail.id == outbox_id,
            OutboxEmail.status.in_((MessageStatus.FAILED, MessageStatus.UNKNOWN)),
        )
        .values(status=MessageStatus.QUEUED, next_attempt_at=now or utcnow(), last_error="")
        .execution_options(synchronize_session=False)
    ).rowcount
    row = session.get(OutboxEmail, outbox_id, populate_existing=True)
    if row is None:
        raise NotFound(f"OutboxEmail {outbox_id}")
    if not claimed:
        raise InvalidInput(
            {"status": ["Only a message that failed, or whose fate is unknown, can be sent again."]}
        )
    _mirror(session, outbox_id, "evaluate", status=MessageStatus.QUEUED, error="")
    session.info.setdefault(NEW_ROWS_KEY, []).append(row)
    return row


#: What an erased client's name and address become in the emails that named them.
ERASED_CLIENT = "a former client"


def forget_client(session: Session, practice_id: int, name: str, email: str) -> tuple[int, int]:
    """An erased client's traces in the practice's emails not tied to them by ``client_id``; flushes.

    The client's own rows (``client_id`` set) go with the erasure's other rows. What is left
    are emails to their address (an account invitation, a reminder: deleted, whatever their
    status, so a queued one is never sent) and emails that name them, such as a coach's digest
    (their name and address rewritten to :data:`ERASED_CLIENT`, so the rest still goes). The
    queue holds only ids: a deleted row is skipped and a rewritten one sent as it now reads.
    Returns ``(deleted, rewritten)``.
    """
    mine = (OutboxEmail.practice_id == practice_id, OutboxEmail.client_id.is_(None))
    deleted = session.execute(
        delete(OutboxEmail)
        .where(*mine, func.lower(OutboxEmail.to_address) == email.lower())
        .execution_options(synchronize_session="fetch")
    ).rowcount
    mentions = [
        column.contains(text, autoescape=True)
        for column in (OutboxEmail.subject, OutboxEmail.body, OutboxEmail.to_name)
        for text in (name, email)
        if text
    ]
    # Whole words only: erasing "Al" leaves "Alumni" alone.
    pattern = re.compile("|".join(rf"(?<!\w){re.escape(t)}(?!\w)" for t in (name, email) if t))
    rewritten = 0
    for row in session.scalars(select(OutboxEmail).where(*mine, or_(*mentions))):
        for column in ("subject", "body", "to_name"):
            setattr(row, column, pattern.sub(ERASED_CLIENT, getattr(row, column)))
        rewritten += 1
    session.flush()
    return deleted, rewritten
