"""Processing recorded mail: claimed under a lease, each message in its own transaction, exactly once.

Transports only record (:func:`.receive.record`); the worker then processes what is pending
(:func:`process_pending`): woken right after the commit that recorded new mail
(:class:`~crossroads.core.mail.queue.MailQueue`), and by a sweep every minute that picks up
whatever was left (a worker that died, a wake-up that was lost).

1. **Claim** a few pending messages with one conditional UPDATE, as the outbox claims its rows:
   ``attempts`` + 1 and ``claimed_at`` = now, only where no live claim holds (none, or one
   older than :data:`LEASE`). On PostgreSQL the rows are chosen ``FOR UPDATE SKIP LOCKED``, so
   two workers claiming at once take different messages; on SQLite writes take turns.
2. **Process** each claimed message in its own transaction, which starts by taking the row again
   with a conditional UPDATE on the claim (the same ``attempts``, still pending): a worker whose
   claim was taken over after its lease ran out finds nothing to do, and while it holds the row
   no other worker can claim it. :func:`.process.process` then does what it always did, and the
   commit marks the message processed (its ``kind``) with everything it caused, at once. A worker
   killed midway commits nothing: the message is claimed again after the lease, and processed once.
3. **Failure**: a message whose processing raises is rolled back and its error kept; it is tried
   again after the lease, and after :data:`MAX_ATTEMPTS` claims it is left alone, shown as failed
   on the practice's email page and by ``crossroads check``.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import InboundKind, InboundMail
from .process import process
from .receive import parse

log = logging.getLogger(__name__)
T = TypeVar("T")

#: How long a claim holds: after it, a message not yet processed is a dead worker's, claimed again.
LEASE = timedelta(minutes=5)
#: Claims per message before it is given up as failed (a killed worker's claim counts).
MAX_ATTEMPTS = 5
#: Messages claimed at a time (small, so that several workers share a backlog).
CLAIM = 10
#: Tries of a claim or of taking a claimed row when the database is busy (SQLite: "database is locked").
BUSY_TRIES = 5


class Outcome(enum.StrEnum):
    PROCESSED = "processed"
    FAILED = "failed"
    LOST = "lost"  # the claim was taken over (or the message processed) meanwhile


@dataclass
class ProcessResult:
    """What one :func:`process_pending` run did."""

    processed: int = 0
    failed: int = 0
    lost: int = 0


def _claimable(now: datetime, lease: timedelta) -> ColumnElement[bool]:
    return (
        (InboundMail.kind == InboundKind.PENDING)
        & (InboundMail.attempts < MAX_ATTEMPTS)
        & or_(InboundMail.claimed_at.is_(None), InboundMail.claimed_at < now - lease)
    )


def _busy_retried(session: Session, work: Callable[[], T]) -> T:
    """``work()``, tried again after a short pause when the database is busy (SQLite's writers take
    turns, and one that just committed may win the lock again before a waiting one wakes)."""
    for attempt in range(1, BUSY_TRIES + 1):
        try:
            return work()
        except OperationalError:
            session.rollback()
            if attempt == BUSY_TRIES:
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def claim(
    session: Session,
    *,
    practice_id: int | None = None,
    ids: list[int] | None = None,
    limit: int = CLAIM,
    lease: timedelta = LEASE,
    now: datetime | None = None,
) -> list[tuple[int, int]]:
    """Claim up to ``limit`` pending messages (of one practice, or these ids): ``(id, attempt)`` of
    each, oldest first. Commits."""
    now = now or utcnow()
    chosen = select(InboundMail.id).where(_claimable(now, lease)).order_by(InboundMail.id).limit(limit)
    if practice_id is not None:
        chosen = chosen.where(InboundMail.practice_id == practice_id)
    if ids is not None:
        chosen = chosen.where(InboundMail.id.in_(ids))
    if session.get_bind().dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    statement = (
        update(InboundMail)
        .where(InboundMail.id.in_(chosen.scalar_subquery()), _claimable(now, lease))
        .values(claimed_at=now, attempts=InboundMail.attempts + 1)
        .returning(InboundMail.id, InboundMail.attempts)
        .execution_options(synchronize_session=False)
    )

    def claim_now() -> list[tuple[int, int]]:
        claimed = session.execute(statement).all()
        session.commit()
        return sorted((row.id, row.attempts) for row in claimed)

    return _busy_retried(session, claim_now)


def _held(mail_id: int, attempt: int) -> ColumnElement[bool]:
    return (
        (InboundMail.id == mail_id)
        & (InboundMail.attempts == attempt)
        & (InboundMail.kind == InboundKind.PENDING)
    )


def process_claimed(
    session: Session, mail_id: int, attempt: int, after_process: Callable[[int], None] | None = None
) -> Outcome:
    """Process one claimed message in its own transaction and commit; never raises for the message.

    ``after_process(mail_id)`` runs after processing, before the commit (tests pause there).
    """
    session.expire_all()  # another worker may have changed what this session read before
    take = (
        update(InboundMail)
        .where(_held(mail_id, attempt))
        .values(error="")
        .returning(InboundMail)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    try:
        mail = _busy_retried(session, lambda: session.scalars(take).one_or_none())
    except OperationalError:
        log.warning("incoming mail %s: the database stayed busy; left to the next claim", mail_id)
        return Outcome.LOST
    if mail is None:
        session.rollback()
        return Outcome.LOST
    try:
        process(session, mail, parse(mail.raw))
        if after_process is not None:
            after_process(mail_id)
        session.commit()
    except Exception as exc:
        session.rollback()
        log.exception("incoming mail %s: processing failed (attempt %s)", mail_id, attempt)
        reason = f"{type(exc).__name__}: {exc}"[:2000]
        session.execute(
            update(InboundMail)
            .where(_held(mail_id, attempt))
            .values(error=reason)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return Outcome.FAILED
    return Outcome.PROCESSED


def process_pending(
    sessions: Callable[[], Session],
    practice_id: int | None = None,
    *,
    lease: timedelta = LEASE,
    now: datetime | None = None,
    claim_size: int = CLAIM,
    after_process: Callable[[int], None] | None = None,
) -> ProcessResult:
    """Claim and process pending mail (of one practice, or all) until none is left to claim."""
    result = ProcessResult()
    with sessions() as session:
        while claimed := claim(session, practice_id=practice_id, limit=claim_size, lease=lease, now=now):
            for mail_id, attempt in claimed:
                outcome = process_claimed(session, mail_id, attempt, after_process)
                setattr(result, outcome.value, getattr(result, outcome.value) + 1)
                # This loop owns the session: forget the message's rows, so that each message's
                # cost (expiring what the session holds) does not grow with those before it.
                session.expunge_all()
    return result


def process_mail(session: Session, mail_id: int) -> Outcome:
    """Claim and process one recorded message now, in ``session`` (commits); LOST if it is not pending."""
    claimed = claim(session, ids=[mail_id], limit=1)
    if not claimed:
        return Outcome.LOST
    [(claimed_id, attempt)] = claimed
    return process_claimed(session, claimed_id, attempt)


# -- what is left --------------------------------------------------------------------------


def _failed(now: datetime, lease: timedelta) -> ColumnElement[bool]:
    """Given up: every attempt made, and the last one failed or died."""
    return (
        (InboundMail.kind == InboundKind.PENDING)
        & (InboundMail.attempts >= MAX_ATTEMPTS)
        & or_(InboundMail.error != "", InboundMail.claimed_at < now - lease)
    )


def failed_mail(session: Session, practice_id: int, limit: int = 20) -> list[InboundMail]:
    """The practice's messages given up as failed, latest first."""
    return list(
        session.scalars(
            select(InboundMail)
            .where(InboundMail.practice_id == practice_id, _failed(utcnow(), LEASE))
            .order_by(InboundMail.id.desc())
            .limit(limit)
        )
    )


#: How far back the email page counts what came in, by kind.
COUNTED_DAYS = 30


@dataclass
class InboxState:
    """How processing goes, for one practice or all: what waits, since when, and what failed."""

    pending: int = 0
    oldest_pending: datetime | None = None
    failed: int = 0
    #: What the mail read in the last :data:`COUNTED_DAYS` days turned out to be: kind → how many.
    by_kind: dict[InboundKind, int] = field(default_factory=dict)


def inbox_state(session: Session, practice_id: int | None = None) -> InboxState:
    """Count the mail waiting to be processed (with the oldest's arrival) and the mail given up."""
    now = utcnow()
    waiting = select(func.count(), func.min(InboundMail.received_at)).where(
        InboundMail.kind == InboundKind.PENDING, InboundMail.attempts < MAX_ATTEMPTS
    )
    failed = select(func.count()).select_from(InboundMail).where(_failed(now, LEASE))
    if practice_id is not None:
        waiting = waiting.where(InboundMail.practice_id == practice_id)
        failed = failed.where(InboundMail.practice_id == practice_id)
    count, oldest = session.execute(waiting).one()
    read = (
        select(InboundMail.kind, func.count())
        .where(InboundMail.received_at >= now - timedelta(days=COUNTED_DAYS))
        .where(InboundMail.kind != InboundKind.PENDING)
        .group_by(InboundMail.kind)
    )
    if practice_id is not None:
        read = read.where(InboundMail.practice_id == practice_id)
    by_kind = {InboundKind(kind): n for kind, n in session.execute(read)}
    return InboxState(
        pending=count, oldest_pending=oldest, failed=session.scalar(failed) or 0, by_kind=by_kind
    )
