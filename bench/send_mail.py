"""Benchmark: 1,000 emails through the outbox and two `crossroads worker` processes, against bare smtplib.

Both send to the same local SMTP server (aiosmtpd, in this process). The
outbox run queues the emails in one transaction (its commit wakes the
workers through the Huey queue) and stops the clock when the database shows
every one of them sent. The server counts Message-IDs: the run fails if any
arrives twice.

python bench/send_mail.py
python bench/send_mail.py --postgres postgresql+psycopg://postgres@127.0.0.1/postgres

With --postgres, a throwaway database is created on that server (the URL's
user needs CREATEDB) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import collections
import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from crossroads.core import migrate  # noqa: E402
from crossroads.core.config import Settings  # noqa: E402
from crossroads.core.db import make_engine, make_sessionmaker  # noqa: E402
from crossroads.core.mail.compose import new_message_id  # noqa: E402
from crossroads.core.mail.outbox import queue_email  # noqa: E402
from crossroads.core.mail.queue import make_queue  # noqa: E402
from crossroads.core.models import (  # noqa: E402
    Client,
    MailSecurity,
    MessageStatus,
    OutboxEmail,
    Practice,
    PracticeMail,
    Role,
    User,
)

SECRET = "bench-secret-key"
FROM = "hello@bench.example"
BODY = "Dear Zoë,\n\nWould you have 20 minutes next week to tell me about your work?\n\nPriya\n" * 3


class Counter:
    """An aiosmtpd handler that counts each Message-ID it accepts."""

    def __init__(self) -> None:
        self.ids: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        headers = BytesHeaderParser().parsebytes(envelope.original_content)
        with self.lock:
            self.ids[str(headers["Message-ID"])] += 1
        return "250 OK"

    @property
    def total(self) -> int:
        return sum(self.ids.values())

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.ids.values() if n > 1)


@dataclass
class Result:
    label: str
    messages: int
    seconds: float
    duplicates: int

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bare_smtplib(port: int, count: int, counter: Counter, reuse: bool = False) -> Result:
    """The floor: one thread, nothing written anywhere; a new connection per message, or (``reuse``)
    one connection for all of them (the baseline of issue 18's goal)."""
    messages = []
    for n in range(count):
        message = EmailMessage()
        message["From"] = f'"Priya Shah via Bench" <{FROM}>'
        message["To"] = f"contact{n}@acme.example"
        message["Subject"] = f"Question {n}"
        message["Message-ID"] = new_message_id(FROM)
        message.set_content(BODY)
        messages.append(message)
    before = counter.total
    started = time.perf_counter()
    if reuse:
        with smtplib.SMTP("127.0.0.1", port, local_hostname="bench.example", timeout=30) as conn:
            for message in messages:
                conn.send_message(message)
    else:
        for message in messages:
            with smtplib.SMTP("127.0.0.1", port, local_hostname="bench.example", timeout=30) as conn:
                conn.send_message(message)
    seconds = time.perf_counter() - started
    assert counter.total - before == count
    label = "bare smtplib loop, one connection reused" if reuse else "bare smtplib loop, 1 connection each"
    return Result(label, count, seconds, counter.duplicates)


def setup_database(url: str, smtp_port: int) -> tuple[int, int]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as session:
        practice = Practice(name="Bench Coaching", timezone="UTC")
        session.add(practice)
        session.flush()
        coach = User(
            practice=practice, email="coach@bench.example", name="Coach", role=Role.OWNER, timezone="UTC"
        )
        user = User(
            practice=practice, email="priya@bench.example", name="Priya", role=Role.CLIENT, timezone="UTC"
        )
        session.add_all([coach, user])
        session.flush()
        client = Client(practice_id=practice.id, user=user, coach=coach)
        session.add(client)
        session.add(
            PracticeMail(
                practice_id=practice.id,
                host="127.0.0.1",
                port=smtp_port,
                security=MailSecurity.NONE,
                username="",
                password_encrypted="",
                from_address=FROM,
            )
        )
        session.commit()
        practice_id, client_id = practice.id, client.id
    engine.dispose()
    return practice_id, client_id


def outbox_run(
    label: str,
    url: str,
    smtp_port: int,
    count: int,
    workers: int,
    threads: int,
    counter: Counter,
    redis_url: str = "",
) -> Result:
    practice_id, client_id = setup_database(url, smtp_port)
    instance = Path(tempfile.mkdtemp(prefix="crossroads-bench-instance-"))
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CROSSROADS_") or k == "CROSSROADS_PLUGINS"
    }
    env.update(
        CROSSROADS_DATABASE_URL=url,
        CROSSROADS_INSTANCE=str(instance),
        CROSSROADS_SECRET_KEY=SECRET,
        CROSSROADS_SMTP_ALLOW_PRIVATE="1",  # the SMTP server listens on 127.0.0.1
    )
    if redis_url:
        env["CROSSROADS_REDIS_URL"] = redis_url
    logs = [instance / f"worker-{n}.log" for n in range(workers)]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from crossroads.web.cli import main; main()",
                "worker",
                "--workers",
                str(threads),
            ],
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        for log in logs
    ]
    try:
        deadline = time.monotonic() + 60
        while not all("consumer started" in log.read_text() for log in logs):
            assert time.monotonic() < deadline, "the workers did not start"
            assert all(p.poll() is None for p in processes), "a worker stopped: see " + str(instance)
            time.sleep(0.05)

        settings = Settings(
            instance_path=instance,
            database_url=url,
            secret_key=SECRET,
            redis_url=redis_url,
            smtp_allow_private=True,
        )
        queue = make_queue(settings)
        engine = make_engine(url)
        before = counter.total
        with make_sessionmaker(engine)() as session:
            queue.attach(session)
            started = time.perf_counter()
            for n in range(count):
                queue_email(
                    session,
                    practice_id=practice_id,
                    client_id=client_id,
                    sender_name="Priya Shah via Bench Coaching",
                    reply_to="priya@bench.example",
                    to_address=f"contact{n}@acme.example",
                    to_name=f"Contact {n}",
                    subject=f"Question {n}",
                    body=BODY,
                )
            session.commit()  # wakes the workers: one Huey task per email
            queued = time.perf_counter() - started
            deadline = time.monotonic() + 600
            sent = 0
            while sent < count:
                assert time.monotonic() < deadline, f"only {sent} of {count} sent"
                time.sleep(0.02)
                sent = session.scalar(select(func.count()).where(OutboxEmail.status == MessageStatus.SENT))
                session.rollback()
            seconds = time.perf_counter() - started
            statuses = dict(
                session.execute(select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)).all()
            )
        engine.dispose()
        if redis_url:
            queue.huey.storage.flush_all()
        queue.close()
    finally:
        for process in processes:
            process.send_signal(2)  # Ctrl-C: a clean stop
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    assert statuses == {MessageStatus.SENT: count}, statuses
    assert counter.total - before == count, f"the server got {counter.total - before} messages for {count}"
    print(f"  ({label}: queueing {count} in one transaction took {queued:.2f} s)")
    return Result(label, count, seconds, counter.duplicates)


def postgres_database(server_url: str):
    """A context manager: a fresh database on the server of ``server_url``, dropped afterwards."""
    from contextlib import contextmanager

    @contextmanager
    def made():
        name = f"crossroads_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    return made()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--small", action="store_true", help="100 messages (checks that it runs)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker, as `crossroads worker`")
    parser.add_argument("--postgres", metavar="URL", help="also run on a throwaway database on this server")
    parser.add_argument("--redis", metavar="URL", help="also run with the queue on this Redis")
    args = parser.parse_args()
    if args.small:
        args.messages = 100

    counter = Counter()
    port = free_port()
    controller = Controller(counter, hostname="127.0.0.1", port=port, server_hostname="mail.bench")
    controller.start()
    results = []
    shape = f"{args.workers} workers x {args.threads} threads"
    queues = [("SQLite queue", "")] + ([("Redis queue", args.redis)] if args.redis else [])

    try:
        results.append(bare_smtplib(port, args.messages, counter))
        results.append(bare_smtplib(port, args.messages, counter, reuse=True))
        for queue_label, redis_url in queues:
            with tempfile.TemporaryDirectory(prefix="crossroads-bench-") as folder:
                url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
                label = f"outbox, {shape}, SQLite db + {queue_label}"
                run = (label, url, port, args.messages, args.workers, args.threads, counter, redis_url)
                results.append(outbox_run(*run))
        if args.postgres:
            for queue_label, redis_url in queues:
                with postgres_database(args.postgres) as url:
                    label = f"outbox, {shape}, PostgreSQL + {queue_label}"
                    run = (label, url, port, args.messages, args.workers, args.threads, counter, redis_url)
                    results.append(outbox_run(*run))
    finally:
        controller.stop()

    width = max(len(r.label) for r in results)
    print()
    print(f"{'run':<{width}}  {'messages':>8}  {'seconds':>8}  {'msg/s':>7}  {'duplicates':>10}")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 8}  {'-' * 7}  {'-' * 10}")
    for r in results:
        print(f"{r.label:<{width}}  {r.messages:>8}  {r.seconds:>8.2f}  {r.rate:>7.0f}  {r.duplicates:>10}")
    print()
    print(
        f"Message-IDs received: {len(counter.ids)} distinct, {counter.total} in all, "
        f"{counter.duplicates} duplicates."
    )
    assert counter.duplicates == 0, "a message was delivered twice"
    reusing = results[1]
    for r in results[2:]:
        ratio = r.rate / reusing.rate
        print(
            f"RESULT {r.label}: {r.rate:.0f} msg/s; baseline {reusing.label} {reusing.rate:.0f} msg/s "
            f"(1 connection each: {results[0].rate:.0f} msg/s); ratio {ratio:.2f}; goal >= 0.50; "
            f"{'PASS' if ratio >= 0.5 else 'FAIL'}; load average {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
