"""The background worker that sends the outbox (email, and plugins' transports), on Huey.

Huey only wakes a worker up; the outbox table is the source of truth. After
a request commits, :meth:`MailQueue.attach`'s listener enqueues a task per
new row; a worker thread runs :func:`~.outbox.deliver` for it. Every minute,
and once when a worker starts, a sweep marks rows left ``sending`` by a dead
worker as ``unknown`` and delivers every row that is due (retries, and rows
whose wake-up was lost because the queue was unreachable). Every minute, too,
each practice's reply mailbox is read (:mod:`crossroads.core.inbox.imap`),
one task per mailbox. Incoming mail is only recorded there (and by the inbound
endpoint); each commit that records some enqueues a task that processes it
(:func:`~crossroads.core.inbox.pending.process_pending`), and a sweep every
minute processes whatever was left pending (a dead worker's, a lost wake-up).
When these and the scheduled jobs run is :mod:`crossroads.core.scheduling`'s timetable,
which the queue registers as Huey periodic tasks.

The queue lives in a SQLite file in the instance folder by default, or on
Redis when ``CROSSROADS_REDIS_URL`` is set (then web and worker processes may
run on different hosts).
"""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .. import events
from ..config import Settings
from ..db import make_engine, make_sessionmaker
from ..inbox.imap import PollResult, mailbox_practices, poll
from ..inbox.pending import ProcessResult, process_pending
from ..inbox.receive import NEW_MAIL_KEY
from ..outreach import due_dates
from ..outreach.transports import Transport, plugin_transports
from ..scheduling import INBOX, PROCESS_INBOX, SWEEP, timetable
from .outbox import NEW_ROWS_KEY, deliver, due_ids, mark_stale

if TYPE_CHECKING:
    from huey.api import Huey
    from huey.consumer import Consumer

    from ..plugins import PluginManager

log = logging.getLogger(__name__)

ATTACHED_KEY = "crossroads.mail.queue"
#: A sweep delivers at most this many rows per round, and goes round until none are due.
SWEEP_BATCH = 500
#: A due row handed to the queue is handed out again only after this long (it may still be waiting).
REHAND_AFTER_SECONDS = 300


def queue_name(settings: Settings) -> str:
    """The queue's name: one per database, so deployments sharing a Redis never take each other's work."""
    digest = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
    return f"crossroads-mail-{digest}"


def _consumer_class() -> type[Consumer]:
    """The consumer class, made on first use: Huey (and with it the Redis client) is imported only by
    a process that runs a queue, not by every command (``crossroads --help``)."""
    from huey.consumer import Consumer

    class _Consumer(Consumer):
        """A Huey consumer that sweeps once on start, and leaves signals alone when run in the background."""

        def __init__(self, queue: MailQueue, background: bool, **options):
            self._queue = queue
            self._background = background
            super().__init__(queue.huey, **options)
            # Ctrl-C and SIGTERM (systemd, docker stop) both let messages being sent finish;
            # a second signal stops at once.
            self._signal_actions[signal.SIGINT] = (False, True)
            self._signal_actions[signal.SIGTERM] = (False, True)

        def start(self) -> None:
            self._queue.enqueue_sweep()  # send what was queued while no worker ran, without waiting a minute
            self._queue.enqueue_processing(None)  # and process the mail left pending
            super().start()

        def _set_signal_handlers(self) -> None:
            if not self._background:  # in `crossroads serve` the web server owns Ctrl-C
                super()._set_signal_handlers()

    return _Consumer


class MailQueue:
    """Huey for the outbox: a task that delivers one row, and a sweep every minute."""

    def __init__(self, settings: Settings, plugins: PluginManager | None = None, name: str | None = None):
        self.settings = settings
        self.plugins = plugins
        self.name = name or queue_name(settings)
        self.huey = self._make_huey()
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._sessionmaker: Callable[[], Session] | None = None
        self._transports: dict[str, Transport] | None = None
        self.deliver_task = self.huey.task(name="deliver")(self._deliver)
        self._handed_out: dict[int, float] = {}  # outbox id -> when this process last enqueued it
        self.poll_task = self.huey.task(name="poll-mailbox")(self.poll_mailbox)
        # What runs when is :mod:`crossroads.core.scheduling`'s; the queue only runs it.
        from huey import crontab

        lines = timetable(settings, plugins, self)
        #: Each periodic task by name (``sweep``, ``inbox``, ``job:core:<name>``, ``job:<plugin>:<name>``).
        self.periodic = {
            line.name: self.huey.periodic_task(crontab(**line.cron), name=line.name)(line.run)
            for line in lines
        }
        self.sweep_task, self.inbox_task = self.periodic[SWEEP], self.periodic[INBOX]
        self.process_sweep_task = self.periodic[PROCESS_INBOX]
        self.process_task = self.huey.task(name="process-inbox")(self.process_inbox)
        self.due_dates_task = self.huey.task(name="due-dates")(self.refresh_due_dates)
        #: The scheduled jobs as plain callables, by task name: calling one runs it here and now.
        self.jobs: dict[str, Callable[[], None]] = {line.name: line.run for line in lines if line.job}

    def _make_huey(self) -> Huey:
        from huey import RedisHuey, SqliteHuey

        if self.settings.redis_url:
            from redis import ConnectionPool

            # Fail fast when Redis is down: a web request enqueues after its commit.
            pool = ConnectionPool.from_url(
                self.settings.redis_url, socket_connect_timeout=2, socket_timeout=10
            )
            return RedisHuey(self.name, results=False, connection_pool=pool)
        path = self.settings.queue_path
        path.parent.mkdir(parents=True, exist_ok=True)
        # No fsync: the outbox table is the record; a wake-up lost in a power cut is found by the sweep.
        return SqliteHuey(self.name, results=False, filename=str(path), fsync=False)

    @property
    def backend(self) -> str:
        """Where the queue lives, for people: ``Redis at …`` or the SQLite file's path."""
        if self.settings.redis_url:
            parts = urlsplit(self.settings.redis_url)
            return f"Redis at {parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path}"
        return f"SQLite file {self.settings.queue_path}"

    # -- the database, made lazily in the process that needs it -------------------------

    @property
    def sessionmaker(self) -> Callable[[], Session]:
        """Sessions on the settings' database, with the plugins' event bus attached."""
        with self._lock:
            if self._sessionmaker is None:
                self._engine = make_engine(self.settings.database_url)
                factory = make_sessionmaker(self._engine)
                plugins = self.plugins

                def session() -> Session:
                    made = factory()
                    if plugins is not None:
                        events.attach(made, plugins)
                    return made

                self._sessionmaker = session
            return self._sessionmaker

    def close(self) -> None:
        """Release the database connections this queue opened."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
            self._engine = self._sessionmaker = None

    # -- work ---------------------------------------------------------------------------

    @property
    def transports(self) -> dict[str, Transport]:
        """The plugins' transports by name (their channels' ``transport``), found once."""
        with self._lock:
            if self._transports is None:
                self._transports = plugin_transports(self.plugins)
            return self._transports

    def _deliver(self, outbox_id: int) -> None:
        deliver(
            self.sessionmaker,
            outbox_id,
            self.settings.secret_key,
            self.settings.smtp_ca_file,
            allow_private=self.settings.smtp_allow_private,
            transports=self.transports,
        )

    def sweep_to_workers(self) -> int:
        """The minute's sweep: mark stale rows unknown, then hand each due row to the queue.

        Every thread of every worker then sends part of a backlog (after an
        outage, say) instead of this one thread sending it all in turn. A row
        handed out in the last few minutes is not handed out again; the
        delivery's claim makes a duplicate wake-up harmless anyway. If the queue
        cannot take a row, it is sent here. Returns how many rows were handed out.
        """
        sessions = self.sessionmaker
        with sessions() as session:
            mark_stale(session)
            session.commit()
            ids = due_ids(session, limit=SWEEP_BATCH)
        now = time.monotonic()
        self._handed_out = {i: t for i, t in self._handed_out.items() if now - t < REHAND_AFTER_SECONDS}
        handed = 0
        for outbox_id in ids:
            if outbox_id in self._handed_out:
                continue
            if self.enqueue(outbox_id):
                self._handed_out[outbox_id] = now
                handed += 1
            else:
                try:
                    self._deliver(outbox_id)
                except Exception:
                    log.exception("outbox %s: delivery failed unexpectedly", outbox_id)
        return handed

    def sweep_now(self) -> int:
        """Mark stale rows unknown, then deliver every due row, here and now. Returns how many were tried."""
        sessions = self.sessionmaker
        with sessions() as session:
            mark_stale(session)
            session.commit()
        tried: set[int] = set()
        while True:
            with sessions() as session:
                ids = [i for i in due_ids(session, limit=SWEEP_BATCH) if i not in tried]
            if not ids:
                return len(tried)
            for outbox_id in ids:
                tried.add(outbox_id)
                try:
                    self._deliver(outbox_id)
                except Exception:
                    log.exception("outbox %s: delivery failed unexpectedly", outbox_id)

    # -- the reply mailboxes (IMAP) -----------------------------------------------------

    def poll_mailbox(self, practice_id: int) -> PollResult:
        """Read one practice's reply mailbox (:func:`~crossroads.core.inbox.imap.poll`)."""
        with self.sessionmaker() as session:
            self.attach(session)
            return poll(
                session,
                practice_id,
                self.settings.secret_key,
                ca_file=self.settings.smtp_ca_file,
                allow_private=self.settings.smtp_allow_private,
            )

    def process_inbox(self, practice_id: int | None = None) -> ProcessResult:
        """Process the recorded mail (of one practice, or all) until none is left to claim
        (:func:`~crossroads.core.inbox.pending.process_pending`); the emails it queues are sent at once."""
        return process_pending(self.session, practice_id)

    def refresh_due_dates(self, practice_id: int) -> int:
        """Recompute the due dates of a practice's contacts after its rhythm changed (a task)."""
        with self.sessionmaker() as session:
            return due_dates.refresh_practice(session, practice_id)

    def enqueue_due_dates(self, practice_id: int) -> bool:
        """Ask a worker to recompute a practice's due dates; if the queue cannot take it, do it here."""
        try:
            self.due_dates_task(practice_id)
        except Exception:
            log.warning(
                "could not hand the due dates of practice %s to the queue", practice_id, exc_info=True
            )
            self.refresh_due_dates(practice_id)
            return False
        return True

    def enqueue_processing(self, practice_id: int | None) -> bool:
        """Ask a worker to process the recorded mail of ``practice_id`` (None: all). Never raises:
        if the queue is unreachable the mail waits for the minute's sweep."""
        try:
            self.process_task(practice_id)
        except Exception:
            log.warning(
                "could not wake the worker for incoming mail (%s); the next sweep processes it",
                self.backend,
                exc_info=True,
            )
            return False
        return True

    def poll_mailboxes(self) -> int:
        """The minute's task: hand each practice's mailbox to the queue, so worker threads share them.

        A mailbox still being read from the minute before is claimed by that poll,
        so the new one returns at once. A mailbox the queue cannot take is read here.
        Returns how many were handed out.
        """
        with self.sessionmaker() as session:
            practice_ids = mailbox_practices(session)
        handed = 0
        for practice_id in practice_ids:
            try:
                self.poll_task(practice_id)
                handed += 1
            except Exception:
                log.warning(
                    "could not hand the mailbox of practice %s to the queue", practice_id, exc_info=True
                )
                try:
                    self.poll_mailbox(practice_id)
                except Exception:
                    log.exception("mailbox of practice %s: poll failed unexpectedly", practice_id)
        return handed

    # -- waking a worker ----------------------------------------------------------------

    def enqueue(self, outbox_id: int) -> bool:
        """Ask a worker to deliver ``outbox_id`` now. Never raises: if the queue is unreachable the
        row waits in the database for the next sweep. Returns whether the wake-up was enqueued."""
        try:
            self.deliver_task(outbox_id)
        except Exception:
            log.warning(
                "could not wake the mail worker for outbox %s (%s); the next sweep will send it",
                outbox_id,
                self.backend,
                exc_info=True,
            )
            return False
        return True

    def enqueue_sweep(self) -> bool:
        """Ask a worker to sweep now; never raises."""
        try:
            self.sweep_task()
        except Exception:
            log.warning("could not enqueue a sweep (%s)", self.backend, exc_info=True)
            return False
        return True

    def session(self) -> Session:
        """A session as the worker's own: the plugins' event bus on, and its committed emails sent
        at once (:meth:`attach`)."""
        made = self.sessionmaker()
        self.attach(made)
        return made

    def attach(self, session: Session) -> None:
        """Enqueue the rows queued on ``session`` once its transaction commits; forget them on rollback."""
        if session.info.get(ATTACHED_KEY) is self:
            return
        session.info[ATTACHED_KEY] = self
        event.listen(session, "after_commit", self._after_commit)
        event.listen(session, "after_soft_rollback", self._after_rollback)

    def _after_commit(self, session: Session) -> None:
        for practice_id in sorted(session.info.pop(due_dates.RHYTHM_CHANGED_KEY, ())):
            self.enqueue_due_dates(practice_id)
        for practice_id in sorted(session.info.pop(NEW_MAIL_KEY, ())):
            self.enqueue_processing(practice_id)
        rows = session.info.pop(NEW_ROWS_KEY, [])
        for row in rows:
            # A row added in a savepoint that was rolled back has no identity any more.
            identity = sa_inspect(row).identity
            if identity:
                self.enqueue(identity[0])

    @staticmethod
    def _after_rollback(session: Session, previous_transaction) -> None:
        if previous_transaction.parent is None:  # the whole transaction, not a savepoint
            session.info.pop(NEW_ROWS_KEY, None)
            session.info.pop(NEW_MAIL_KEY, None)
            session.info.pop(due_dates.RHYTHM_CHANGED_KEY, None)

    # -- consumers ----------------------------------------------------------------------

    def _consumer(self, workers: int, background: bool) -> Consumer:
        return _consumer_class()(
            self,
            background,
            workers=workers,
            worker_type="thread",
            periodic=True,
            initial_delay=0.05,
            backoff=1.5,
            max_delay=1.0,
            shutdown_timeout=180.0,
        )

    def consumer(self, workers: int = 2) -> Consumer:
        """A consumer for ``crossroads worker``: ``run()`` it in the main thread (Ctrl-C stops it)."""
        return self._consumer(workers, background=False)

    def start_background(self, workers: int = 2) -> Consumer:
        """Start a consumer in background threads (``crossroads serve``); ``stop(graceful=True)`` it."""
        consumer = self._consumer(workers, background=True)
        consumer.start()
        return consumer


def make_queue(
    settings: Settings, plugins: PluginManager | None = None, name: str | None = None
) -> MailQueue:
    """The outbox's queue for these settings: on Redis when ``settings.redis_url`` is set, else SQLite."""
    return MailQueue(settings, plugins, name)
