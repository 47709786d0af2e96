"""Benchmark: the hourly reminder run for 500 clients, against a bare loop that only reads what is due.

500 clients of one practice (with an email server), in three time zones, each with 20 contacts:
requests old enough for a follow-up, requests too young for one, a conversation held three days
ago (a thank-you due), replied ones and one snoozed; every fifth client has a conversation
tomorrow. Every client's hour has come (00:00), so the run reaches all 500.

- **baseline**: the same rows read with plain SQLAlchemy Core (clients, open contacts, tomorrow's
  conversations) and ``followups.due_for`` on each contact: what is due, and nothing else.
- **the run**: ``services.reminders.send_reminders``: the same reads (contacts as rows), then
  the emails with their signed links written, and per 100 clients one conditional UPDATE that
  claims the day, the emails queued in the outbox, and a commit. Between repeats the claims and
  the outbox are cleared.

Goal: the run stays within 10 times the baseline and under 10 s for 500 clients (it has an hour).

    python bench/reminders.py                                   # SQLite in a temporary folder
    python bench/reminders.py --postgres postgresql+psycopg://postgres@127.0.0.1/postgres

With --postgres a throwaway database is created on that server and dropped afterwards (never one
the script did not create).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import throwaway_database  # noqa: E402
from sqlalchemy import delete, func, select, update  # noqa: E402

from crossroads.core import migrate  # noqa: E402
from crossroads.core.db import make_engine, make_sessionmaker, utcnow  # noqa: E402
from crossroads.core.models import (  # noqa: E402
    Client,
    ClientStatus,
    Contact,
    ContactSource,
    Conversation,
    ConversationStatus,
    OutboxEmail,
    Practice,
    PracticeMail,
    Role,
    Stage,
    User,
)
from crossroads.core.outreach.followups import due_for  # noqa: E402
from crossroads.core.services.reminders import send_reminders  # noqa: E402

SECRET = "bench-secret-key-not-for-production"
BASE = "https://crossroads.bench.example"
ZONES = ("Europe/London", "America/New_York", "Asia/Tokyo")
RATIO_GOAL, SECONDS_GOAL = 10.0, 10.0


def populate(session, clients: int, per_client: int, now: datetime) -> None:
    practice = Practice(name="Bench Coaching")
    coach = User(practice=practice, email="coach@bench.example", name="Coach", role=Role.COACH)
    session.add_all([practice, coach])
    session.flush()
    session.add(
        PracticeMail(practice_id=practice.id, host="mail.bench.example", from_address="hi@bench.example")
    )
    session.flush()
    for n in range(clients):
        user = User(
            practice=practice,
            email=f"client{n:03d}@bench.example",
            name=f"Client {n:03d}",
            role=Role.CLIENT,
            timezone=ZONES[n % len(ZONES)],
            password_hash="x",
        )
        client = Client(
            practice=practice, user=user, coach=coach, status=ClientStatus.EXPLORING, reminder_hour=0
        )
        session.add(client)
        session.flush()
        rows = []
        for k in range(per_client):
            kind = k % 5
            stage = {
                0: Stage.REQUESTED,
                1: Stage.REQUESTED,
                2: Stage.TALKED,
                3: Stage.REPLIED,
                4: Stage.REQUESTED,
            }[kind]
            days_ago = {0: 15, 1: 2, 2: 3, 3: 10, 4: 20}[kind]
            rows.append(
                Contact(
                    practice_id=practice.id,
                    client_id=client.id,
                    name=f"Contact {n}-{k}",
                    organisation=f"Organisation {k}",
                    source=ContactSource.MANUAL,
                    stage=stage,
                    stage_changed_at=now - timedelta(days=days_ago),
                    quiet_until=(now + timedelta(days=2)).date() if kind == 4 and k < 10 else None,
                )
            )
        session.add_all(rows)
        if n % 5 == 0:
            zone = ZoneInfo(user.timezone)
            tomorrow = now.astimezone(zone).date() + timedelta(days=1)
            session.add(
                Conversation(
                    practice_id=practice.id,
                    client_id=client.id,
                    contact=rows[1],
                    starts_at=datetime(
                        tomorrow.year, tomorrow.month, tomorrow.day, 14, tzinfo=zone
                    ).astimezone(UTC),
                    uid=f"{uuid.uuid4()}@bench",
                    status=ConversationStatus.SCHEDULED,
                )
            )
    session.commit()


def baseline(session, now: datetime) -> int:
    """Read the same due data with Core and compute it with ``due_for``; no claim, no email."""
    practice = session.scalar(select(Practice))
    clients = session.execute(
        select(Client.id, User.timezone).join(User, Client.user_id == User.id).where(Client.reminders_on)
    ).all()
    zones = {c.id: ZoneInfo(c.timezone) for c in clients}
    contacts = session.execute(
        select(
            Contact.client_id,
            Contact.stage,
            Contact.stage_changed_at,
            Contact.follow_ups_sent,
            Contact.last_follow_up_at,
            Contact.quiet_until,
            Contact.organisation,
            Contact.name,
        ).where(Contact.stage.in_([Stage.REQUESTED, Stage.TALKED]))
    ).all()
    due = 0
    for row in contacts:
        zone = zones[row.client_id]
        if due_for(row, practice, zone, now.astimezone(zone).date()) is not None:
            due += 1
    tomorrow = session.execute(
        select(Conversation.client_id, Conversation.starts_at).where(
            Conversation.status == ConversationStatus.SCHEDULED,
            Conversation.starts_at >= now,
            Conversation.starts_at < now + timedelta(hours=50),
        )
    ).all()
    for row in tomorrow:
        zone = zones[row.client_id]
        if row.starts_at.astimezone(zone).date() == now.astimezone(zone).date() + timedelta(days=1):
            due += 1
    session.rollback()
    return due


def reset(session) -> None:
    session.execute(update(Client).values(last_reminded_on=None))
    session.execute(delete(OutboxEmail))
    session.commit()


def run(url: str, clients: int, per_client: int, repeat: int) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    session = make_sessionmaker(engine)()
    now = utcnow()
    started = time.perf_counter()
    populate(session, clients, per_client, now)
    print(
        f"database: {engine.dialect.name}; {clients} clients x {per_client} contacts "
        f"(set up in {time.perf_counter() - started:.1f} s); best of {repeat}"
    )
    bare_times, run_times = [], []
    due = sent = 0
    for _ in range(repeat):
        started = time.perf_counter()
        due = baseline(session, now)
        bare_times.append(time.perf_counter() - started)
        reset(session)
        session.expunge_all()
        started = time.perf_counter()
        sent = send_reminders(session, now, SECRET, BASE)
        run_times.append(time.perf_counter() - started)
        assert sent == clients, sent
        assert session.scalar(select(func.count(OutboxEmail.id))) == clients
        # Run again at once: every day is claimed, nothing more is queued.
        again_started = time.perf_counter()
        assert send_reminders(session, now, SECRET, BASE) == 0
        again = time.perf_counter() - again_started
        reset(session)
    bare, ours = min(bare_times), min(run_times)
    print(f"baseline (read what is due, Core + due_for): {bare * 1000:7.0f} ms  ({due} items)")
    print(f"reminder run (claim, email, commit per 100):{ours * 1000:7.0f} ms  ({sent} emails)")
    print(f"run again the same hour (nothing to send):   {again * 1000:7.0f} ms")
    print(f"ratio:                                       {ours / bare:7.1f}x  (goal {RATIO_GOAL:.0f}x)")
    print(
        f"per client:                                  {ours / clients * 1000:7.1f} ms  "
        f"(goal: 500 clients under {SECONDS_GOAL:.0f} s)"
    )
    ok = ours / bare <= RATIO_GOAL and ours * 500 / clients <= SECONDS_GOAL
    print("PASS" if ok else "FAIL")
    session.close()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a throwaway database is made on it")
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--contacts", type=int, default=20, help="contacts per client")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.postgres:
        with throwaway_database(args.postgres, "crossroads_bench_reminders") as url:
            run(url, args.clients, args.contacts, args.repeat)
    else:
        run(f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3", args.clients, args.contacts, args.repeat)


if __name__ == "__main__":
    main()
