"""What runs when: the one timetable of Crossroads' periodic work, the core's and the plugins'.

The worker (:class:`~crossroads.core.mail.queue.MailQueue`, on Huey) only runs it: it registers
each :class:`Periodic` of :func:`timetable` as a Huey periodic task under its name. Every
``crossroads worker`` (and the one inside ``crossroads serve``) runs the whole timetable, so each
piece of work must be safe to run twice, or late.

==============================  ======================  ============================================
name                            when (UTC)              what
==============================  ======================  ============================================
``sweep``                       every minute            the outbox's sweep: stale rows, due rows
``inbox``                       every minute            each practice's reply mailbox (IMAP)
``process-inbox-sweep``         every minute            incoming mail recorded but still pending
``job:core:daily_reminders``    :02 every hour          the clients' daily reminder emails
``job:core:stalled_clients``    :10 every hour          tell a coach once when a client stalls
``job:<plugin>:<name>``         the job's ``cron``      each plugin's ``scheduled_jobs()``
==============================  ======================  ============================================

A scheduled job (:class:`~crossroads.core.jobs.ScheduledJob`) runs in a fresh session of the
worker's, committed when it returns and rolled back when it raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from .config import Settings
from .db import utcnow
from .jobs import ScheduledJob

if TYPE_CHECKING:
    from .plugins import PluginManager

log = logging.getLogger(__name__)

EVERY_MINUTE = {"minute": "*"}
#: The outbox's sweep and the reply mailboxes' poll, by their task names.
SWEEP, INBOX = "sweep", "inbox"
#: The sweep that processes incoming mail left pending (a dead worker's, a lost wake-up).
PROCESS_INBOX = "process-inbox-sweep"


class Worker(Protocol):
    """What the timetable needs from the worker that runs it."""

    def session(self) -> Session:
        """A session of the worker's own (the plugins' event bus on, its emails sent at commit)."""

    def sweep_to_workers(self) -> int:
        """The outbox's sweep."""

    def poll_mailboxes(self) -> int:
        """Hand each practice's reply mailbox to a worker thread."""

    def process_inbox(self, practice_id: int | None = None) -> Any:
        """Process the incoming mail recorded and still pending."""


@dataclass(frozen=True)
class Periodic:
    """One line of the timetable: a task name, when it runs (Huey ``crontab`` arguments, UTC), what."""

    name: str
    run: Callable[[], Any]
    cron: dict[str, str] = field(default_factory=lambda: dict(EVERY_MINUTE))
    #: The scheduled job behind it, for ``job:…`` lines.
    job: ScheduledJob | None = None


def job_name(plugin: str | None, job: ScheduledJob) -> str:
    """A job's task name: ``job:core:<name>`` for the core's, ``job:<plugin>:<name>`` for a plugin's."""
    return f"job:{plugin or 'core'}:{job.name}"


def core_jobs(settings: Settings) -> list[ScheduledJob]:
    """The core's own scheduled jobs, run by the worker exactly as plugins' jobs are."""
    from .services.notifications import STALLED_JOB
    from .services.reminders import send_reminders

    def reminders(session: Session, now: datetime) -> None:
        send_reminders(session, now, settings.secret_key, settings.base_url)

    def webhooks(session: Session, now: datetime) -> None:
        from .webhook_sender import deliver_due

        deliver_due(session, allow_private=settings.webhooks_allow_private)

    # Every hour, a few minutes past: each client's hour in their own zone (and zones at :30 or :45
    # send at the next run after it). Webhook deliveries: every minute.
    return [
        ScheduledJob(name="daily_reminders", run=reminders, cron={"minute": "2"}),
        STALLED_JOB,
        ScheduledJob(name="webhook_deliveries", run=webhooks, cron={"minute": "*"}),
    ]


def scheduled_jobs(settings: Settings, plugins: PluginManager | None) -> dict[str, ScheduledJob]:
    """Every scheduled job by task name: the core's, then each installed plugin's ``scheduled_jobs``.

    A plugin whose hook fails has none (the plugin manager logs it). A job is registered for
    every practice at once: it skips practices that have its plugin switched off itself.
    """
    jobs = {job_name(None, job): job for job in core_jobs(settings)}
    if plugins is not None:
        for result in plugins.call("scheduled_jobs", None, expect=ScheduledJob):
            for job in result.items:
                jobs[job_name(result.plugin, job)] = job
    return jobs


def job_runner(job: ScheduledJob, name: str, sessions: Callable[[], Session]) -> Callable[[], None]:
    """``job`` as a task: run in a fresh session from ``sessions``, committed, or rolled back and logged."""

    def run() -> None:
        with sessions() as session:
            try:
                job.run(session, utcnow())
                session.commit()
            except Exception:
                session.rollback()
                log.exception("scheduled job %s failed", name)
                raise

    return run


def timetable(settings: Settings, plugins: PluginManager | None, worker: Worker) -> list[Periodic]:
    """Everything that runs on a schedule, in the order the table in this module lists it."""
    lines = [
        Periodic(SWEEP, worker.sweep_to_workers),
        Periodic(INBOX, worker.poll_mailboxes),
        Periodic(PROCESS_INBOX, worker.process_inbox),
    ]
    for name, job in scheduled_jobs(settings, plugins).items():
        lines.append(Periodic(name, job_runner(job, name, worker.session), dict(job.cron), job))
    return lines
