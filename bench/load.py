"""Load test: 200 signed-in users on gunicorn + PostgreSQL for five minutes, and caseload vs. a bare route.

One command:

1. fills a fresh PostgreSQL database ``crossroads_bench`` with bench/generate_data.py's
   data set (or, with --reuse, upgrades and reuses the one already there);
2. starts gunicorn (bench/wsgi.py: Crossroads plus a bare route, same app) on a free
   loopback port;
3. signs in --users simulated people (a quarter coaches, the rest clients, each on
   their own account) through the real /login form with its CSRF token, a few at a
   time so that the login throttle (30 attempts in flight per address) never trips;
4. has them browse the common pages for --duration seconds (each user: a page,
   then a pause of --think seconds, then another);
5. then, on the same gunicorn, --users concurrent requests with no pause at only the
   caseload page for --hammer seconds, then only ``/bench/bare`` for as long, and
   prints the ratio of their throughputs.

Every response must be a 200; anything else (status, exception, timeout) is an error,
and samples are printed. CPU time of this load generator, of gunicorn and of
PostgreSQL is measured from /proc and shown as a share of the machine.

python bench/load.py                        # full run: generate, 300 s of browsing, 2 x 30 s hammer
python bench/load.py --reuse --duration 60  # reuse the data set, one minute
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402
import aiohttp  # noqa: E402
from _common import BENCH_DB, BENCH_PASSWORD, PG_SERVER, crossroads_env, free_port, percentile  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from crossroads.core import migrate  # noqa: E402
from crossroads.core.db import make_engine  # noqa: E402
from crossroads.core.models import Client, Contact, Conversation, Role, User  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SEARCHES = ["editor", "data", "stripe", "research", "lead", "mar", "product", "guardian"]
TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
#: A request not answered within this many seconds counts as an error (gunicorn's own worker timeout).
TIMEOUT = 120


# -- who signs in, and what they open ---------------------------------------------------------


@dataclass
class Account:
    email: str
    role: str  # "coach" or "client"
    client_ids: list[int]  # a coach's caseload, or the client's own id
    contact_ids: list[int] = field(default_factory=list)
    conversation_ids: list[int] = field(default_factory=list)


def accounts(url: str, users: int, seed: int = 1) -> list[Account]:
    """``users`` accounts of the generated practice: a quarter coaches (at most all), the rest clients."""
    rng = random.Random(seed)
    engine = make_engine(url)
    with engine.connect() as connection:
        practice_id = connection.scalar(select(func.max(User.practice_id)).where(User.role == Role.OWNER))
        coaches = connection.execute(
            select(User.id, User.email)
            .where(User.practice_id == practice_id, User.role == Role.COACH)
            .order_by(User.id)
        ).all()
        caseloads: dict[int, list[int]] = defaultdict(list)
        own: dict[int, int] = {}
        for client_id, coach_id, user_id in connection.execute(
            select(Client.id, Client.coach_id, Client.user_id).where(Client.practice_id == practice_id)
        ):
            caseloads[coach_id].append(client_id)
            own[user_id] = client_id
        clients = connection.execute(
            select(User.id, User.email)
            .where(User.practice_id == practice_id, User.role == Role.CLIENT)
            .order_by(User.id)
        ).all()
        n_coaches = min(len(coaches), users // 4)
        chosen = [Account(email, "coach", caseloads[uid]) for uid, email in coaches[:n_coaches]]
        chosen += [
            Account(email, "client", [own[uid]]) for uid, email in rng.sample(clients, users - n_coaches)
        ]
        for account in chosen:
            ids = (
                account.client_ids
                if account.role == "client"
                else rng.sample(account.client_ids, min(5, len(account.client_ids)))
            )
            account.contact_ids = list(
                connection.scalars(
                    select(Contact.id).where(Contact.client_id.in_(ids)).order_by(Contact.id).limit(20)
                )
            )
            account.conversation_ids = list(
                connection.scalars(
                    select(Conversation.id)
                    .where(Conversation.client_id.in_(ids))
                    .order_by(Conversation.id)
                    .limit(10)
                )
            )
    engine.dispose()
    return chosen


def next_page(account: Account, rng: random.Random) -> tuple[str, str]:
    """(page kind, path) of the next page this user opens."""
    cid = rng.choice(account.client_ids)
    q = rng.choice(SEARCHES)
    if account.role == "coach":
        pages = [
            (30, "caseload", "/coach/"),
            (5, "caseload search", f"/coach/?q={q}"),
            (20, "coach: client page", f"/coach/clients/{cid}"),
            (15, "contacts", f"/clients/{cid}/contacts"),
            (8, "contacts search", f"/clients/{cid}/contacts?q={q}"),
            (10, "messages", f"/clients/{cid}/messages"),
            (12, "conversations", f"/clients/{cid}/conversations"),
        ]
    else:
        pages = [
            (30, "client: home", "/me/"),
            (18, "contacts", f"/clients/{cid}/contacts"),
            (8, "contacts search", f"/clients/{cid}/contacts?q={q}"),
            (12, "conversations", f"/clients/{cid}/conversations"),
            (12, "messages", f"/clients/{cid}/messages"),
        ]
        if account.contact_ids:
            pages.append((12, "contact page", f"/contacts/{rng.choice(account.contact_ids)}"))
        if account.conversation_ids:
            pages.append((8, "conversation prep", f"/conversations/{rng.choice(account.conversation_ids)}"))
    weight, kind, path = rng.choices(pages, [p[0] for p in pages])[0]
    return kind, path


# -- measuring ----------------------------------------------------------------------------------


@dataclass
class Stats:
    """Latencies (seconds) per page kind, and errors with samples."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)
    started: float = 0.0
    seconds: float = 0.0
    #: When each request finished, and the span over which throughput is counted (None: all of it).
    done: list[float] = field(default_factory=list)
    window: tuple[float, float] | None = None

    def ok(self, kind: str, seconds: float) -> None:
        self.latencies[kind].append(seconds)
        self.done.append(time.perf_counter())

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        self.done.append(time.perf_counter())
        if len(self.samples) < 20:
            self.samples.append(f"{kind}: {what}")

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.latencies.values()) + self.error_count

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def rate(self) -> float:
        """Requests finished per second: within the window when there is one (a steady state)."""
        if self.window:
            start, end = self.window
            return sum(1 for t in self.done if start <= t <= end) / (end - start)
        return self.total / self.seconds if self.seconds else 0.0

    def print(self, title: str) -> None:
        everything = sorted(x for v in self.latencies.values() for x in v)
        counted = ""
        if self.window:
            counted = f"; throughput counts what finished between +{self.window[0] - self.started:.0f} s and "
            counted += f"+{self.window[1] - self.started:.0f} s"
        print(f"\n{title}: {self.seconds:.0f} s{counted}")
        print(
            f"  requests {self.total:,}, errors {self.error_count}, throughput {self.rate():.1f} req/s, "
            f"p50 {percentile(everything, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(everything, 0.99) * 1000:.0f} ms"
        )
        kinds = sorted(set(self.latencies) | set(self.errors), key=lambda k: -len(self.latencies.get(k, [])))
        width = max([len(k) for k in kinds] + [9])
        print(
            f"  {'page kind':<{width}}  {'requests':>8}  {'errors':>6}  {'req/s':>6}  "
            f"{'p50 ms':>7}  {'p99 ms':>7}"
        )
        for kind in kinds:
            values = sorted(self.latencies.get(kind, []))
            n = len(values) + self.errors.get(kind, 0)
            print(
                f"  {kind:<{width}}  {n:>8,}  {self.errors.get(kind, 0):>6}  {n / self.seconds:>6.1f}  "
                f"{percentile(values, 0.5) * 1000:>7.0f}  {percentile(values, 0.99) * 1000:>7.0f}"
            )
        for sample in self.samples:
            print(f"  error sample: {sample}")


def proc_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by these processes (those still alive)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (not idle or waiting for I/O) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / TICKS


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return pids


class CpuMeter:
    """CPU used between start() and stop(): this process, the gunicorn processes, PostgreSQL's."""

    def __init__(self, gunicorn: Gunicorn):
        self.gunicorn = gunicorn

    def _now(self) -> tuple[float, float, float, float, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        g = self.gunicorn.pids()
        return (
            time.perf_counter(),
            usage.ru_utime + usage.ru_stime,
            proc_cpu(g),
            proc_cpu(postgres_pids()),
            machine_busy(),
        )

    def start(self) -> None:
        self.before = self._now()
        self.pg_before = {pid: proc_cpu([pid]) for pid in postgres_pids()}

    def stop(self) -> str:
        after = self._now()
        wall = after[0] - self.before[0]
        # PostgreSQL backends come and go: count new ones from zero.
        pg = sum(proc_cpu([pid]) - self.pg_before.get(pid, 0.0) for pid in postgres_pids())
        shares = [
            ("load generator (this process)", after[1] - self.before[1]),
            ("gunicorn", after[2] - self.before[2]),
            ("PostgreSQL", pg),
        ]
        busy = after[4] - self.before[4]
        shares.append(("everything else on the machine", max(0.0, busy - sum(cpu for _, cpu in shares))))
        parts = [f"{label} {cpu / wall:.2f} cores ({cpu / wall / CORES:.0%})" for label, cpu in shares]
        load = Path("/proc/loadavg").read_text().split()[0]
        return f"  CPU of {CORES} cores: " + ", ".join(parts) + f"; load average {load}"


# -- gunicorn -------------------------------------------------------------------------------------


class Gunicorn:
    """bench/wsgi.py under gunicorn on a free loopback port."""

    def __init__(self, database_url: str, workers: int, threads: int, env: dict[str, str] | None = None):
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="crossroads-bench-gunicorn-"))
        self.log = self.folder / "gunicorn.log"
        self.env = crossroads_env(
            database_url, self.folder / "instance", CROSSROADS_SECURE_COOKIES="0", **(env or {})
        )
        self.args = [
            sys.executable,
            "-m",
            "gunicorn",
            "--chdir",
            str(BENCH_DIR),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread" if threads > 1 else "sync",
            "--threads",
            str(threads),
            "--backlog",
            "2048",
            "--keep-alive",
            "5",
            "--timeout",
            str(TIMEOUT),
            "--error-logfile",
            str(self.log),
            "wsgi:app",
        ]
        self.shape = f"{workers} workers x {threads} threads ({'gthread' if threads > 1 else 'sync'})"
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gunicorn:
        self.process = subprocess.Popen(
            self.args, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        import urllib.request

        def up() -> bool:
            assert self.process.poll() is None, "gunicorn stopped:\n" + self.log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(self.base + "/bench/bare", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        _common.wait_for(up, 180, "gunicorn did not answer")  # a busy machine starts it slowly
        return self

    def pids(self) -> list[int]:
        if self.process is None or self.process.poll() is not None:
            return []
        return [self.process.pid, *children(self.process.pid)]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def logged_errors(self) -> list[str]:
        """Lines of the error log that show a failure (tracebacks, worker timeouts, errors)."""
        if not self.log.exists():
            return []
        lines = self.log.read_text(errors="replace").splitlines()
        return [line for line in lines if re.search(r"Traceback|\[ERROR\]|WORKER TIMEOUT|Exception", line)]


# -- simulated users -----------------------------------------------------------------------------------


def new_session(limit: int = 0) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, force_close=False),
        cookie_jar=aiohttp.CookieJar(unsafe=True),  # keep cookies for 127.0.0.1
        timeout=aiohttp.ClientTimeout(total=TIMEOUT),
    )


async def sign_in(session: aiohttp.ClientSession, base: str, email: str, stats: Stats) -> bool:
    started = time.perf_counter()
    try:
        async with session.get(base + "/login") as response:
            page = await response.text()
        token = CSRF.search(page)
        if response.status != 200 or token is None:
            stats.error("sign-in", f"GET /login -> {response.status}")
            return False
        form = {"csrf_token": token.group(1), "email": email, "password": BENCH_PASSWORD, "next": ""}
        async with session.post(base + "/login", data=form, allow_redirects=False) as response:
            await response.read()
            if response.status != 302:
                stats.error("sign-in", f"POST /login {email} -> {response.status}")
                return False
    except (aiohttp.ClientError, TimeoutError) as exc:
        stats.error("sign-in", f"{email}: {exc!r}")
        return False
    stats.ok("sign-in", time.perf_counter() - started)
    return True


async def fetch(session: aiohttp.ClientSession, url: str, kind: str, stats: Stats) -> int | None:
    """GET ``url``; record its latency, or an error. Returns the status (None on an exception)."""
    started = time.perf_counter()
    try:
        async with session.get(url, allow_redirects=False) as response:
            await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        stats.error(kind, f"{url}: {type(exc).__name__} {exc}")
        return None
    if status == 200:
        stats.ok(kind, time.perf_counter() - started)
    else:
        stats.error(kind, f"{url} -> {status}")
    return status


async def sign_in_all(
    base: str, people: list[Account], at_once: int
) -> tuple[list[aiohttp.ClientSession], Stats]:
    stats = Stats()
    sessions = [new_session() for _ in people]
    gate = asyncio.Semaphore(at_once)

    async def one(session, account):
        async with gate:
            return await sign_in(session, base, account.email, stats)

    stats.started = time.perf_counter()
    results = await asyncio.gather(*(one(s, a) for s, a in zip(sessions, people, strict=True)))
    stats.seconds = time.perf_counter() - stats.started
    if not all(results):
        stats.print("Sign-in")
        raise SystemExit(f"{results.count(False)} of {len(people)} sign-ins failed")
    return sessions, stats


async def browse(
    base: str,
    sessions: list[aiohttp.ClientSession],
    people: list[Account],
    seconds: float,
    think: tuple[float, float],
    seed: int = 2,
) -> Stats:
    stats = Stats()
    stop_at = time.perf_counter() + seconds

    async def user(n: int, session: aiohttp.ClientSession, account: Account) -> None:
        rng = random.Random(seed * 1000 + n)
        await asyncio.sleep(rng.uniform(0, max(think)))  # do not all start in the same instant
        while time.perf_counter() < stop_at:
            kind, path = next_page(account, rng)
            await fetch(session, base + path, kind, stats)
            if think[1] > 0:
                await asyncio.sleep(rng.uniform(*think))

    stats.started = time.perf_counter()
    stats.window = (stats.started, stop_at)
    await asyncio.gather(*(user(n, s, a) for n, (s, a) in enumerate(zip(sessions, people, strict=True))))
    stats.seconds = time.perf_counter() - stats.started
    return stats


async def hammer(
    base: str, sessions: list[aiohttp.ClientSession], path: str, kind: str, concurrency: int, seconds: float
) -> Stats:
    """``concurrency`` loops requesting only ``path``, no pause, spread over ``sessions``."""
    stats = Stats()
    stop_at = time.perf_counter() + seconds

    async def loop(session):
        while time.perf_counter() < stop_at:
            await fetch(session, base + path, kind, stats)

    stats.started = time.perf_counter()
    # Steady state only: not the first seconds (connections opening, queues filling), nor the tail
    # after the end, while the requests still queued drain.
    stats.window = (stats.started + min(5.0, seconds / 4), stop_at)
    await asyncio.gather(*(loop(sessions[n % len(sessions)]) for n in range(concurrency)))
    stats.seconds = time.perf_counter() - stats.started
    return stats


# -- the run -----------------------------------------------------------------------------------------


def prepare_database(url: str, reuse: bool) -> None:
    import generate_data

    if reuse:
        engine = make_engine(url)
        migrate.upgrade(engine)  # the code may have moved on since the data set was made
        engine.dispose()
        print(f"Reusing {make_url(url).database} (migrated to the current schema)")
        return
    # Only a database this run creates is filled; an existing one is never dropped (--reuse it).
    parsed = make_url(url)
    server = parsed.set(database="postgres").render_as_string(hide_password=False)
    if _common.database_exists(server, parsed.database):
        sys.exit(f"database {parsed.database} exists: pass --reuse, or another --database-url")
    _common.create_database(server, parsed.database)
    engine = make_engine(url)
    started = time.perf_counter()
    migrate.upgrade(engine)
    counts = generate_data.generate(engine)
    engine.dispose()
    print(
        f"Generated {sum(counts.values()):,} rows ({counts['contact']:,} contacts, "
        f"{counts['conversation']:,} conversations, {counts['outreach_message']:,} messages) "
        f"in {time.perf_counter() - started:.0f} s"
    )


async def run(args: argparse.Namespace, server: Gunicorn, people: list[Account]) -> list[Stats]:
    meter = CpuMeter(server)
    think = tuple(float(x) for x in args.think.split("-")) if "-" in args.think else (float(args.think),) * 2
    results = []

    sessions, signed = await sign_in_all(server.base, people, args.sign_in_at_once)
    coaches = [s for s, a in zip(sessions, people, strict=True) if a.role == "coach"]
    signed.print(f"Sign-in of {len(people)} users ({len(coaches)} coaches), {args.sign_in_at_once} at a time")
    results.append(signed)
    try:
        if args.duration > 0:
            meter.start()
            stats = await browse(server.base, sessions, people, args.duration, think)
            stats.print(f"Browsing: {len(people)} users, pause {args.think} s between pages, {server.shape}")
            print(meter.stop())
            results.append(stats)
        if args.hammer > 0:
            pairs = []
            for path, kind, pool in (
                ("/coach/", "caseload only", coaches),
                ("/bench/bare", "bare route only", sessions),
            ):
                meter.start()
                stats = await hammer(server.base, pool, path, kind, args.concurrency, args.hammer)
                stats.print(
                    f"{kind.capitalize()}: {args.concurrency} concurrent requests, no pause, {server.shape}"
                )
                print(meter.stop())
                results.append(stats)
                pairs.append(stats)
            caseload, bare = pairs
            print(
                f"\nCaseload / bare route throughput: {caseload.rate():.1f} / {bare.rate():.1f} req/s "
                f"= {caseload.rate() / bare.rate():.3f}"
            )
    finally:
        await asyncio.gather(*(s.close() for s in sessions))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=_common.database_url(PG_SERVER, BENCH_DB))
    parser.add_argument("--reuse", action="store_true", help="reuse the data set already in the database")
    parser.add_argument("--users", type=int, default=200, help="simulated users (default 200)")
    parser.add_argument("--duration", type=float, default=300, help="seconds of browsing (default 300)")
    parser.add_argument(
        "--think", default="5-15", help="pause between a user's pages, seconds (default 5-15)"
    )
    parser.add_argument(
        "--hammer", type=float, default=30, help="seconds each of caseload only and bare only"
    )
    parser.add_argument(
        "--concurrency", type=int, help="requests in flight when hammering (default: --users)"
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per worker; 1 = sync workers (default 4)"
    )
    parser.add_argument("--sign-in-at-once", type=int, default=8, help="concurrent sign-ins (default 8)")
    args = parser.parse_args()
    args.concurrency = args.concurrency or args.users

    prepare_database(args.database_url, args.reuse)
    people = accounts(args.database_url, args.users)
    server = Gunicorn(args.database_url, args.workers, args.threads).start()
    print(f"gunicorn {server.shape} at {server.base}; log {server.log}")
    try:
        results = asyncio.run(run(args, server, people))
    finally:
        server.stop()
    logged = server.logged_errors()
    print(f"\ngunicorn error log: {len(logged)} error line(s)")
    for line in logged[:10]:
        print(f"  {line}")
    failed = sum(s.error_count for s in results)
    print(f"\n{'PASS' if failed == 0 and not logged else 'FAIL'}: {failed} failed request(s) in all")
    sys.exit(0 if failed == 0 else 1)


if __name__ == "__main__":
    main()
