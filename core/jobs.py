"""Scheduled jobs: work a plugin wants done on a timetable (a weekly digest, a nightly clean-up).

A plugin returns :class:`ScheduledJob` objects from the ``scheduled_jobs`` hook;
:mod:`crossroads.core.scheduling` puts them on the timetable beside the core's own
jobs, and the worker runs each as a Huey periodic task, in a fresh database session
that it commits afterwards.
A job runs for every practice at once: it must itself skip practices that have
its plugin switched off (:func:`crossroads.core.services.practices.plugin_states`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class ScheduledJob:
    """``run(session, now)`` on the schedule ``cron``: Huey ``crontab`` arguments, in UTC.

    ``{"minute": "5"}`` runs at five past every hour; the default is every hour
    on the hour. Write jobs so that running twice, or late, does no harm: a
    worker that was down catches up on its next run, not on the missed ones.
    """

    name: str
    run: Callable[[Session, datetime], None]
    cron: dict[str, str] = field(default_factory=lambda: {"minute": "0"})
