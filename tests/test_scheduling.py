"""The timetable (core/scheduling.py) says what runs when; the mail queue only registers and runs it."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crossroads.core import scheduling
from crossroads.core.db import make_sessionmaker
from crossroads.core.hookspecs import hookimpl
from crossroads.core.jobs import ScheduledJob
from crossroads.core.mail.queue import make_queue
from crossroads.core.models import Practice

CORE = Path(scheduling.__file__).parent


class Tidy:
    """A third-party plugin with a nightly job."""

    @hookimpl
    def scheduled_jobs(self):
        return ScheduledJob(name="nightly", run=lambda session, now: None, cron={"hour": "3", "minute": "30"})


class Broken:
    @hookimpl
    def scheduled_jobs(self):
        raise RuntimeError("no jobs today")


class IdleWorker:
    """Stands in for the queue where only the timetable's shape is looked at."""

    def session(self):
        raise AssertionError("not run here")

    def sweep_to_workers(self) -> int:
        return 0

    def poll_mailboxes(self) -> int:
        return 0

    def process_inbox(self, practice_id=None) -> None:
        return None


def test_the_timetable_lists_the_sweep_the_inbox_the_core_jobs_then_each_plugins_jobs(settings, plugins):
    plugins.register(Tidy(), "tidy")
    plugins.register(Broken(), "broken")
    lines = {line.name: line for line in scheduling.timetable(settings, plugins, IdleWorker())}
    assert list(lines)[:6] == [
        "sweep",
        "inbox",
        "process-inbox-sweep",
        "job:core:daily_reminders",
        "job:core:stalled_clients",
        "job:core:webhook_deliveries",
    ]
    assert lines["sweep"].cron == lines["inbox"].cron == lines["process-inbox-sweep"].cron == {"minute": "*"}
    assert lines["job:core:daily_reminders"].cron == {"minute": "2"}
    assert lines["job:core:stalled_clients"].cron == {"minute": "10"}
    assert lines["job:core:webhook_deliveries"].cron == {"minute": "*"}
    assert lines["job:tidy:nightly"].cron == {"hour": "3", "minute": "30"}
    assert "job:progress_report:weekly_digest" in lines  # a built-in plugin's, named the same way
    assert not any(name.startswith("job:broken:") for name in lines)  # a failing hook adds nothing


def test_without_plugins_only_the_cores_work_is_on_the_timetable(settings):
    names = [line.name for line in scheduling.timetable(settings, None, IdleWorker())]
    assert names == [
        "sweep",
        "inbox",
        "process-inbox-sweep",
        "job:core:daily_reminders",
        "job:core:stalled_clients",
        "job:core:webhook_deliveries",
    ]


def test_the_queue_registers_exactly_the_timetable_as_huey_periodic_tasks(settings, plugins):
    plugins.register(Tidy(), "tidy")
    queue = make_queue(settings, plugins, name="test-timetable")
    try:
        expected = [line.name for line in scheduling.timetable(settings, plugins, queue)]
        assert list(queue.periodic) == expected
        assert set(queue.jobs) == {name for name in expected if name.startswith("job:")}
        due = {
            minute: {task.name for task in queue.huey.read_periodic(datetime(2026, 12, 1, 3, minute))}
            for minute in (2, 10, 30, 31)
        }
    finally:
        queue.close()
    every_minute = {"sweep", "inbox", "process-inbox-sweep", "job:core:webhook_deliveries"}
    assert due[2] == every_minute | {"job:core:daily_reminders"}
    assert due[10] == every_minute | {"job:core:stalled_clients"}
    assert due[30] == every_minute | {"job:tidy:nightly"}
    assert due[31] == every_minute


def test_a_job_runs_in_its_own_session_committed_or_rolled_back_logged_and_raised(engine, world, db, caplog):
    sessions = make_sessionmaker(engine)

    def rename(session, now):
        session.get(Practice, world.practice.id).name = "Renamed by the job"

    def rename_then_fail(session, now):
        session.get(Practice, world.practice.id).name = "Half done"
        raise RuntimeError("the job broke")

    scheduling.job_runner(ScheduledJob("rename", rename), "job:core:rename", sessions)()
    with (
        caplog.at_level(logging.ERROR, logger="crossroads.core.scheduling"),
        pytest.raises(RuntimeError, match="the job broke"),
    ):
        scheduling.job_runner(ScheduledJob("fail", rename_then_fail), "job:core:fail", sessions)()
    assert "scheduled job job:core:fail failed" in caplog.text
    db.expire_all()
    assert db.scalar(select(Practice.name).where(Practice.id == world.practice.id)) == "Renamed by the job"
    assert db.scalar(select(func.count()).select_from(Practice).where(Practice.name == "Half done")) == 0


def test_the_mail_queue_decides_no_schedule_of_its_own():
    source = (CORE / "mail" / "queue.py").read_text(encoding="utf-8")
    assert "crontab(minute" not in source and "scheduled_jobs" not in source and "core_jobs" not in source
    assert "timetable(" in source
