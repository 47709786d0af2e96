"""Fault scenarios, each with a PASS/FAIL line and its figures.

a. PostgreSQL restarted under load: signed-in users keep browsing through gunicorn
   while `pg_ctlcluster 15 main restart` runs. Requests during the restart must fail
   cleanly (an error page or a refused connection, within the client's timeout: no
   hang), and afterwards succeed again with the same gunicorn processes.
b. Redis down: emails are queued (one transaction each, as a web request does) while
   Redis is stopped; then Redis is started again exactly as it was, a `crossroads
   worker` starts, and every email must reach the SMTP server once. Redis is started
   again in a `finally`, whatever happens.
c. A worker killed mid-send: the SMTP server holds each message for a while before
   answering, so sends are in flight when the worker gets SIGKILL. No message may
   arrive twice; the rows that were in flight become ``unknown`` (the client sees
   "Unknown: check your sent mail") and are not resent; the others are sent by the
   next worker.

Everything runs on a throwaway PostgreSQL database (a small generated data set),
dropped at the end. The SMTP server is aiosmtpd, in this process.

python bench/faults.py                 # all three
python bench/faults.py --only redis    # one of: postgres, redis, worker
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import os
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from email.parser import BytesHeaderParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402
import generate_data  # noqa: E402
import load  # noqa: E402
from _common import BENCH_SECRET, PG_SERVER, crossroads_env, free_port  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from crossroads.core import migrate  # noqa: E402
from crossroads.core.config import Settings  # noqa: E402
from crossroads.core.db import make_engine, make_sessionmaker  # noqa: E402
from crossroads.core.mail.outbox import mark_stale, queue_email  # noqa: E402
from crossroads.core.mail.queue import make_queue  # noqa: E402
from crossroads.core.models import (  # noqa: E402
    MESSAGE_STATUS_LABELS,
    Client,
    Contact,
    MailSecurity,
    MessageKind,
    MessageStatus,
    OutboxEmail,
    OutreachMessage,
    PracticeMail,
    User,
)

FROM = "hello@harbourline.example"
REDIS_URL = "redis://127.0.0.1:6379/0"


# -- an SMTP server that counts, and can hold each message before answering --------------------------


class Recorder:
    """Counts each Message-ID whose DATA arrived, and each one answered 250; can delay the answer."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.arrived: collections.Counter[str] = collections.Counter()
        self.answered: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message_id = str(BytesHeaderParser().parsebytes(envelope.original_content)["Message-ID"])
        with self.lock:
            self.arrived[message_id] += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.answered[message_id] += 1
        return "250 OK"

    @property
    def duplicates(self) -> int:
        with self.lock:
            return sum(n - 1 for n in self.arrived.values() if n > 1)


@dataclass
class SmtpServer:
    recorder: Recorder
    port: int = field(default_factory=free_port)
    controller: Controller | None = None

    def __enter__(self) -> SmtpServer:
        self.controller = Controller(
            self.recorder, hostname="127.0.0.1", port=self.port, server_hostname="mail.bench"
        )
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.controller is not None:
            self.controller.stop()


# -- the database ----------------------------------------------------------------------------------


def small_data_set(url: str) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    generate_data.generate(
        engine, coaches=4, clients=40, contacts=4000, conversations=1000, messages=2400, seed=3
    )
    engine.dispose()


def point_mail_at(url: str, port: int) -> tuple[int, int, str]:
    """Point the practice's email settings at the local server; return (practice id, client id, email)."""
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        client = session.scalars(select(Client).order_by(Client.id).limit(1)).one()
        mail = session.scalar(select(PracticeMail).where(PracticeMail.practice_id == client.practice_id))
        if mail is None:
            mail = PracticeMail(practice_id=client.practice_id)
            session.add(mail)
        mail.host, mail.port, mail.security = "127.0.0.1", port, MailSecurity.NONE
        mail.username, mail.password_encrypted, mail.from_address = "", "", FROM
        session.commit()
        result = client.practice_id, client.id, session.get(User, client.user_id).email
    engine.dispose()
    return result


def status_counts(session, ids: list[int]) -> dict[str, int]:
    rows = session.execute(
        select(OutboxEmail.status, func.count()).where(OutboxEmail.id.in_(ids)).group_by(OutboxEmail.status)
    ).all()
    session.rollback()
    return {status.value: n for status, n in rows}


def start_worker(url: str, instance: Path, log: Path, threads: int, **env: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from crossroads.web.cli import main; main()",
            "worker",
            "--workers",
            str(threads),
        ],
        env=crossroads_env(url, instance, **env),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )

    def started() -> bool:
        assert process.poll() is None, "the worker stopped:\n" + log.read_text()[-3000:]
        return "consumer started" in log.read_text()

    _common.wait_for(started, 60, "the worker did not start")
    return process


def stop_worker(process: subprocess.Popen) -> int | None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # Ctrl-C: finish what is being sent, then stop
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


# -- a. PostgreSQL restarted under load ----------------------------------------------------------------------


def restart_postgres() -> tuple[float, str]:
    """Restart the cluster; return the seconds it took and the command used."""
    for command in (
        ["pg_ctlcluster", "15", "main", "restart"],
        ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"],
    ):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode == 0:
            return time.perf_counter() - started, shlex.join(command)
        print(f"  ({shlex.join(command)} failed: {done.stderr.strip() or done.stdout.strip()})")
    raise RuntimeError("could not restart PostgreSQL")


def postgres_is_up() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0


async def postgres_scenario(url: str, users: int, before: float, after: float) -> bool:
    print("\na. PostgreSQL restarted during load")
    server = load.Gunicorn(url, workers=2, threads=4).start()
    timeout = load.TIMEOUT  # the load client's own timeout: a request that takes this long counts as a hang
    try:
        pids_before = sorted(server.pids())
        people = load.accounts(url, users, seed=5)
        sessions, _ = await load.sign_in_all(server.base, people, 8)
        events: list[tuple[float, float, bool, str]] = []  # (end, latency, ok, what)
        stop_at = time.perf_counter() + before + after + 30
        restart: dict[str, float] = {}
        stats = load.Stats()

        async def user(n: int, session, account) -> None:
            rng = random.Random(n)
            while time.perf_counter() < stop_at and not restart.get("done_after"):
                kind, path = load.next_page(account, rng)
                started = time.perf_counter()
                status = await load.fetch(session, server.base + path, kind, stats)
                ended = time.perf_counter()
                what = f"HTTP {status}" if status is not None else "connection error or timeout"
                events.append((ended, ended - started, status == 200, what))
                await asyncio.sleep(rng.uniform(0.1, 0.5))

        async def restarter() -> None:
            await asyncio.sleep(before)
            restart["start"] = time.perf_counter()
            seconds, command = await asyncio.to_thread(restart_postgres)
            restart["end"] = time.perf_counter()
            restart["command"] = command  # type: ignore[assignment]
            await asyncio.sleep(after)
            restart["done_after"] = 1.0

        await asyncio.gather(
            restarter(), *(user(n, s, a) for n, (s, a) in enumerate(zip(sessions, people, strict=True)))
        )
        await asyncio.gather(*(s.close() for s in sessions))
        pids_after = sorted(server.pids())
    finally:
        server.stop()

    t0, t1 = restart["start"], restart["end"]
    window_end = t1 + 0.0
    before_ev = [e for e in events if e[0] < t0]
    failures = [e for e in events if not e[2]]
    during = [e for e in events if t0 <= e[0]]
    last_failure = max((e[0] for e in failures), default=t0)
    recovered = [e for e in events if e[0] > last_failure]
    first_ok_after = min((e[0] for e in events if e[2] and e[0] > t1), default=float("nan"))
    slowest = max(e[1] for e in events)
    kinds = collections.Counter(e[3] for e in failures)
    print(f"  {users} signed-in users, gunicorn 2 workers x 4 threads, client timeout {timeout:.0f} s")
    print(f"  `{restart['command']}` took {t1 - t0:.1f} s")
    print(f"  before: {len(before_ev)} requests, {sum(not e[2] for e in before_ev)} errors")
    print(
        f"  from the restart on: {len(during)} requests, {len(failures)} errors "
        f"({', '.join(f'{n} x {k}' for k, n in kinds.most_common(4)) or 'none'})"
    )
    for sample in stats.samples[:5]:
        print(f"    sample: {sample}")
    print(
        f"  last error {last_failure - t0:.1f} s after the restart began "
        f"({last_failure - window_end:+.1f} s after it "
        f"finished); first success after it {first_ok_after - t1:.1f} s after it finished"
    )
    print(
        f"  after the last error: {len(recovered)} requests, all 200; slowest request overall {slowest:.1f} s"
    )
    print(
        f"  gunicorn processes: {'the same' if pids_before == pids_after else 'CHANGED'} "
        f"({len(pids_after)} pids)"
    )
    ok = (
        len(recovered) >= users
        and all(e[2] for e in recovered)
        and slowest < timeout
        and pids_before == pids_after
        and not [e for e in before_ev if not e[2]]
        and last_failure - t1 < 10
    )
    print(
        f"{'PASS' if ok else 'FAIL'} a. PostgreSQL restart: {len(failures)} failed cleanly during it, "
        f"recovered {max(0.0, last_failure - t1):.1f} s after it finished without restarting gunicorn, "
        f"{len(recovered)} requests OK afterwards"
    )
    return ok


# -- b. Redis down -------------------------------------------------------------------------------------------

REDIS_KEYS = (
    "port",
    "bind",
    "dir",
    "save",
    "appendonly",
    "dbfilename",
    "logfile",
    "pidfile",
    "protected-mode",
    "loglevel",
    "databases",
)


def redis_config() -> list[str]:
    """The running Redis's settings as redis-server arguments, to start it again as it was."""
    args = []
    for key in REDIS_KEYS:
        out = subprocess.run(["redis-cli", "config", "get", key], capture_output=True, text=True, check=True)
        lines = out.stdout.splitlines()
        value = lines[1] if len(lines) > 1 else ""
        args += [f"--{key}", *(value.split() if key == "bind" else [value])]
    return args


def redis_up() -> bool:
    done = subprocess.run(["redis-cli", "ping"], capture_output=True, text=True)
    return done.stdout.strip() == "PONG"


def start_redis(args: list[str], folder: str) -> None:
    subprocess.run(["redis-server", *args, "--daemonize", "yes"], cwd=folder, check=True, capture_output=True)
    _common.wait_for(redis_up, 20, "Redis did not come back")


def redis_scenario(url: str, count: int) -> bool:
    print("\nb. Redis down while emails are queued")
    if not redis_up():
        print("FAIL b. Redis is not running here to begin with")
        return False
    args = redis_config()
    folder = args[args.index("--dir") + 1]
    print(f"  Redis runs with: redis-server {shlex.join(args)} --daemonize yes (from {folder})")
    recorder = Recorder()
    instance = Path(tempfile.mkdtemp(prefix="crossroads-bench-faults-"))
    settings = Settings(
        instance_path=instance,
        database_url=url,
        secret_key=BENCH_SECRET,
        redis_url=REDIS_URL,
        smtp_allow_private=True,
    )
    engine = make_engine(url)
    worker = None
    ids: list[int] = []
    try:
        with SmtpServer(recorder) as smtp:
            practice_id, client_id, reply_to = point_mail_at(url, smtp.port)
            queue = make_queue(settings)
            warnings = []

            class Catch(logging.Handler):
                def emit(self, record):
                    warnings.append(record.getMessage())

            catcher = Catch(logging.WARNING)
            logging.getLogger("crossroads.core.mail.queue").addHandler(catcher)
            try:
                subprocess.run(["redis-cli", "shutdown", "nosave"], capture_output=True)
                _common.wait_for(lambda: not redis_up(), 10, "Redis did not stop")
                print("  Redis stopped (redis-cli shutdown nosave)")
                slowest = 0.0
                with make_sessionmaker(engine)() as session:
                    queue.attach(session)
                    for n in range(count):
                        started = time.perf_counter()
                        row = queue_email(
                            session,
                            practice_id=practice_id,
                            client_id=client_id,
                            sender_name="Bench Client via Harbourline",
                            reply_to=reply_to,
                            to_address=f"contact{n}@acme.example",
                            to_name=f"Contact {n}",
                            subject=f"A question about your work ({n})",
                            body="Would you have 20 minutes next week?\n",
                        )
                        session.commit()  # as a web request does; waking the worker fails
                        ids.append(row.id)
                        slowest = max(slowest, time.perf_counter() - started)
                    lost_wakeups = sum("could not wake" in w for w in warnings)
                    print(
                        f"  {count} emails queued while Redis was down, one commit each "
                        f"(slowest {slowest * 1000:.0f} ms); {lost_wakeups} wake-ups could not be enqueued"
                    )
                    print(f"  outbox now: {status_counts(session, ids)}")
            finally:
                logging.getLogger("crossroads.core.mail.queue").removeHandler(catcher)
                if not redis_up():
                    start_redis(args, folder)
                    print("  Redis started again as it was")
            queue.huey.storage.flush_all()  # an empty queue: the worker must find the rows itself
            queue.close()
            started = time.perf_counter()
            worker = start_worker(url, instance, instance / "worker.log", 2, CROSSROADS_REDIS_URL=REDIS_URL)
            print("  `crossroads worker` started (Redis queue)")
            with make_sessionmaker(engine)() as session:
                deadline = time.monotonic() + 120
                while status_counts(session, ids).get("sent", 0) < count and time.monotonic() < deadline:
                    time.sleep(0.1)
                seconds = time.perf_counter() - started
                final = status_counts(session, ids)
            stop_worker(worker)
            worker = None
            with make_sessionmaker(engine)() as session:
                wanted = set(session.scalars(select(OutboxEmail.message_id).where(OutboxEmail.id.in_(ids))))
            delivered = len(wanted & set(recorder.arrived))
    finally:
        if worker is not None:
            worker.kill()
        if not redis_up():
            start_redis(args, folder)
            print("  Redis started again as it was (cleanup)")
        engine.dispose()
    print(f"  {seconds:.1f} s after the worker started: outbox {final}")
    print(f"  SMTP server: {delivered} of {count} delivered, {recorder.duplicates} duplicates")
    ok = delivered == count and final == {"sent": count} and recorder.duplicates == 0 and redis_up()
    print(
        f"{'PASS' if ok else 'FAIL'} b. Redis down: {count} emails queued while it was down, "
        f"{delivered} delivered once each after it came back, {count - delivered} lost; "
        f"Redis running: {redis_up()}"
    )
    return ok


# -- c. a worker killed mid-send ----------------------------------------------------------------------------


def worker_scenario(url: str, count: int, threads: int, delay: float) -> bool:
    print("\nc. A worker killed mid-send (kill -9)")
    recorder = Recorder(delay=delay)
    instance = Path(tempfile.mkdtemp(prefix="crossroads-bench-faults-"))
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    worker = second = None
    try:
        with SmtpServer(recorder) as smtp:
            practice_id, client_id, reply_to = point_mail_at(url, smtp.port)
            ids: list[int] = []
            # The SQLite queue in the worker's instance folder: each commit wakes it with one task per row,
            # so that all its threads send at once.
            queue = make_queue(
                Settings(
                    instance_path=instance, database_url=url, secret_key=BENCH_SECRET, smtp_allow_private=True
                )
            )
            with sessions() as session:
                queue.attach(session)
                contact_ids = list(
                    session.scalars(select(Contact.id).where(Contact.client_id == client_id).limit(count))
                )
                for n in range(count):
                    row = queue_email(
                        session,
                        practice_id=practice_id,
                        client_id=client_id,
                        sender_name="Bench Client via Harbourline",
                        reply_to=reply_to,
                        to_address=f"person{n}@acme.example",
                        to_name=f"Person {n}",
                        subject=f"Could we talk? ({n})",
                        body="Would you have 20 minutes next week?\n",
                    )
                    session.add(
                        OutreachMessage(
                            practice_id=practice_id,
                            client_id=client_id,
                            contact_id=contact_ids[n % len(contact_ids)],
                            channel="email",
                            kind=MessageKind.FIRST_REQUEST,
                            subject=row.subject,
                            body=row.body,
                            to_name=row.to_name,
                            to_address=row.to_address,
                            status=MessageStatus.QUEUED,
                            outbox=row,
                        )
                    )
                    ids.append(row.id)
                session.commit()  # enqueues one task per row
            queue.close()
            print(f"  {count} emails queued; the SMTP server holds each for {delay:.0f} s before answering")
            worker = start_worker(url, instance, instance / "worker-1.log", threads)

            def unanswered() -> int:
                with recorder.lock:
                    return sum(recorder.arrived.values()) - sum(recorder.answered.values())

            _common.wait_for(lambda: unanswered() >= threads, 60, "the sends never overlapped")
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
            with sessions() as session:
                at_kill = status_counts(session, ids)
            in_flight = sum(recorder.arrived.values()) - sum(recorder.answered.values())
            print(
                f"  worker ({threads} threads) killed with SIGKILL; "
                f"{sum(recorder.arrived.values())} messages had "
                f"reached the server, {in_flight} of them unanswered; outbox {at_kill}"
            )
            # The lease (10 minutes) is what tells a dead worker's rows from a slow send; here it is
            # taken as over, which is what the sweep does once the lease has passed.
            with sessions() as session:
                stale = mark_stale(session, lease=timedelta(0))
                session.commit()
            print(f"  lease over: {stale} row(s) left 'sending' marked unknown")
            second = start_worker(url, instance, instance / "worker-2.log", threads)
            with sessions() as session:
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline:
                    counts = status_counts(session, ids)
                    if not counts.get("queued") and not counts.get("sending"):
                        break
                    time.sleep(0.2)
            stop_worker(second)
            second = None
            time.sleep(delay + 0.5)  # let the server finish answering what it holds
            with sessions() as session:
                final = status_counts(session, ids)
                by_status = dict(
                    session.execute(
                        select(OutboxEmail.message_id, OutboxEmail.status).where(OutboxEmail.id.in_(ids))
                    ).all()
                )
                shown = collections.Counter(
                    session.scalars(select(OutreachMessage.status).where(OutreachMessage.outbox_id.in_(ids)))
                )
    finally:
        for process in (worker, second):
            if process is not None and process.poll() is None:
                process.kill()
        engine.dispose()
    sent = {m for m, s in by_status.items() if s == MessageStatus.SENT}
    unknown = {m for m, s in by_status.items() if s == MessageStatus.UNKNOWN}
    sent_ok = all(recorder.arrived[m] == 1 for m in sent)
    unknown_reached = sum(1 for m in unknown if recorder.arrived[m])
    print(
        f"  second worker done: outbox {final}; messages as the client sees them: "
        + ", ".join(f"{n} '{MESSAGE_STATUS_LABELS[s]}'" for s, n in shown.items())
    )
    print(
        f"  SMTP server: {len(recorder.arrived)} distinct messages, {recorder.duplicates} duplicates; "
        f"every 'sent' one arrived exactly once: {sent_ok}; {unknown_reached} of {len(unknown)} 'unknown' "
        "ones did reach the server (their sender died before the answer), none was resent"
    )
    ok = (
        recorder.duplicates == 0
        and sent_ok
        and len(unknown) == stale > 0
        and len(sent) + len(unknown) == count
        and shown.get(MessageStatus.UNKNOWN, 0) == len(unknown)
    )
    print(
        f"{'PASS' if ok else 'FAIL'} c. worker killed mid-send: {len(sent)} sent once, "
        f"{len(unknown)} shown as "
        f"unknown and not resent, {recorder.duplicates} duplicates"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["postgres", "redis", "worker"])
    parser.add_argument(
        "--users", type=int, default=40, help="signed-in users during the restart (default 40)"
    )
    parser.add_argument("--emails", type=int, default=50)
    args = parser.parse_args()

    results = {}
    with _common.throwaway_database(PG_SERVER, "crossroads_faults") as url:
        small_data_set(url)
        if args.only in (None, "postgres"):
            results["a. PostgreSQL restart"] = asyncio.run(postgres_scenario(url, args.users, 10, 20))
            _common.wait_for(postgres_is_up, 30, "PostgreSQL is not back")
        if args.only in (None, "redis"):
            results["b. Redis down"] = redis_scenario(url, args.emails)
        if args.only in (None, "worker"):
            results["c. worker killed mid-send"] = worker_scenario(url, args.emails, threads=4, delay=3.0)
    print()
    for name, ok in results.items():
        print(f"{'PASS' if ok else 'FAIL'} {name}")
    sys.exit(0 if all(results.values()) else 1)


if __name__ == "__main__":
    main()
