"""Pages under load: the caseload, a client's contacts page, its search and the year's report, each
against a bare route of the same app, measured with ``wrk`` on gunicorn + PostgreSQL.

python bench/pages.py                 # full data set (40 coaches, 500 clients, 100,000 contacts
                                      # + 30,000 for one client), 15 s per phase, 2 rounds
python bench/pages.py --small         # 4 coaches, 40 clients, 4,000 + 3,000 contacts, 3 s per phase
python bench/pages.py --reuse         # reuse the bench database left by --keep

1. Creates the PostgreSQL database ``--database`` (default ``crossroads_bench_pages``) and fills it
   with bench/generate_data.py's data set, plus ``--big`` contacts for one client (the contacts
   page's client). A database that already exists is refused unless ``--reuse`` is given; the
   script drops only a database it created (and keeps it with ``--keep``).
2. Starts gunicorn (bench/wsgi.py: Crossroads plus ``/bench/bare``) with ``--workers`` sync
   workers on a free loopback port, signs a coach and that client in through the real form.
3. Runs ``wrk`` (Debian's package; it is not the bottleneck, and its CPU share is printed) against
   the bare route and each page in turn, bare before and after each page, ``--rounds`` times. A
   page's ratio is its throughput over the mean of the bare phases around it: the same run, the
   same machine load. The report's figure is its mean latency with one connection.

Every page is checked to answer 200 with its own content first, and wrk's non-2xx/3xx count must be
0. Each measure ends with a ``RESULT`` line: figure, baseline, ratio, goal, PASS or FAIL.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402
import psutil  # noqa: E402
import requests  # noqa: E402
from _common import BENCH_PASSWORD, PG_SERVER  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from crossroads.core import migrate  # noqa: E402
from crossroads.core.db import make_engine, utcnow  # noqa: E402
from crossroads.core.models import Client, Contact, ContactSource, Role, Stage, User  # noqa: E402
from crossroads.core.services.contacts import search_columns  # noqa: E402

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CORES = os.cpu_count() or 1


@dataclass
class Wrk:
    """What one wrk run measured."""

    url: str
    seconds: float
    requests: int
    rate: float
    latency_ms: float
    bad: int
    cpu: float  # wrk's own CPU seconds

    @property
    def cpu_share(self) -> float:
        """wrk's CPU as a share of the machine during its run."""
        return self.cpu / (self.seconds * CORES)


def run_wrk(url: str, cookie: str, seconds: float, connections: int) -> Wrk:
    """Run wrk on ``url`` and read its summary; its CPU comes from the kernel's accounting of the child."""
    args = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "60s",
        "-H",
        f"Cookie: {cookie}",
    ]
    process = subprocess.Popen([*args, url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed on {url}:\n{out}")
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)
    if not (done and rate and latency):
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    if errors:
        print(f"    wrk: {errors.group(0)}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[latency.group(2)]
    return Wrk(
        url,
        seconds,
        int(done.group(1)),
        float(rate.group(1)),
        float(latency.group(1)) * scale,
        int(bad.group(1)) if bad else 0,
        usage.ru_utime + usage.ru_stime,
    )


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def postgres_pids() -> list[int]:
    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] in ("postgres", "postmaster")]


# -- the data set ---------------------------------------------------------------------------------


def fill(url: str, small: bool, big: int) -> None:
    """The generated data set, and ``big`` more contacts for the busiest client."""
    from generate_data import generate

    engine = make_engine(url)
    migrate.upgrade(engine)
    sizes = (
        dict(coaches=4, clients=40, contacts=4_000, conversations=1_000, messages=2_400)
        if small
        else dict(coaches=40, clients=500, contacts=100_000, conversations=25_000, messages=60_000)
    )
    started = time.perf_counter()
    generate(engine, **sizes)
    with engine.begin() as connection:
        client_id, practice_id = connection.execute(
            select(Client.id, Client.practice_id).order_by(Client.id).limit(1)
        ).one()
        first = (connection.scalar(select(func.max(Contact.id))) or 0) + 1
        now = utcnow()
        stages = [Stage.IDENTIFIED] * 6 + [Stage.RESEARCHED] * 2 + [Stage.REQUESTED, Stage.DECLINED]
        rows = []
        for n in range(big):
            name, organisation, position = f"Zoë Person{n:05d}", f"Organisation {n % 997}", "Managing editor"
            rows.append(
                {
                    "id": first + n,
                    "practice_id": practice_id,
                    "client_id": client_id,
                    "name": name,
                    "email": f"person{n}@org{n % 997}.example",
                    "linkedin_url": f"https://www.linkedin.com/in/bench-person-{n}",
                    "organisation": organisation,
                    "position": position,
                    "source": ContactSource.LINKEDIN.value,
                    "research_notes": "",
                    "tags": [],
                    "stage": stages[n % len(stages)],
                    "stage_changed_at": now - timedelta(days=400 - n % 400),
                    "follow_ups_sent": 0,
                    "email_problem": "",
                    "created_at": now - timedelta(days=400 - n % 400),
                    "updated_at": now,
                    **search_columns(name, organisation, position, f"person{n}@org{n % 997}.example", []),
                }
            )
        for start in range(0, len(rows), 5000):
            connection.execute(insert(Contact.__table__), rows[start : start + 5000])
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT setval('contact_id_seq', (SELECT max(id) FROM contact))"))
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    engine.dispose()
    print(f"data set generated in {time.perf_counter() - started:.0f} s")


def who(url: str) -> tuple[str, str, int]:
    """(a coach's email, the big client's email, the big client's id): the coach of that client."""
    engine = make_engine(url)
    with engine.connect() as connection:
        client_id, client_email, coach_id = connection.execute(
            select(Client.id, User.email, Client.coach_id)
            .join(User, User.id == Client.user_id)
            .order_by(Client.id)
            .limit(1)
        ).one()
        coach_email = connection.scalar(
            select(User.email).where(User.id == coach_id, User.role == Role.COACH)
        )
    engine.dispose()
    return coach_email, client_email, client_id


def sign_in(base: str, email: str) -> str:
    """Sign in through the form; the Cookie header of the signed-in session."""
    session = requests.Session()
    page = session.get(base + "/login")
    token = CSRF.search(page.text).group(1)
    answer = session.post(
        base + "/login",
        data={"email": email, "password": BENCH_PASSWORD, "csrf_token": token, "next": ""},
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in of {email} answered {answer.status_code}")
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def check(url: str, cookie: str, marker: str) -> None:
    answer = requests.get(url, headers={"Cookie": cookie}, allow_redirects=False, timeout=120)
    if answer.status_code != 200 or marker not in answer.text:
        raise RuntimeError(f"{url} answered {answer.status_code} without {marker!r}")


def result(name: str, figure: str, baseline: str, ratio: float, goal: str, ok: bool, note: str = "") -> None:
    print(
        f"RESULT {name}: {figure}; baseline {baseline}; ratio {ratio:.3f}; goal {goal}; "
        f"{'PASS' if ok else 'FAIL'}{'; ' + note if note else ''}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server-url", default=PG_SERVER, help="a PostgreSQL server URL (any database)")
    parser.add_argument("--database", default="crossroads_bench_pages", help="the bench database's name")
    parser.add_argument("--reuse", action="store_true", help="use the database if it exists (never dropped)")
    parser.add_argument("--keep", action="store_true", help="keep the database this run creates")
    parser.add_argument("--small", action="store_true", help="a small data set and short phases")
    parser.add_argument(
        "--big", type=int, help="contacts of the contacts page's client (30,000; small 3,000)"
    )
    parser.add_argument("--seconds", type=float, help="seconds per wrk phase (15; small 3)")
    parser.add_argument("--rounds", type=int, help="rounds of every page (2; small 1)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (4)")
    args = parser.parse_args()
    big = args.big if args.big is not None else (3_000 if args.small else 30_000)
    seconds = args.seconds or (3 if args.small else 15)
    rounds = args.rounds or (1 if args.small else 2)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")

    created = False
    if _common.database_exists(args.server_url, args.database):
        if not args.reuse:
            sys.exit(f"database {args.database} exists: pass --reuse, or another --database")
        url = _common.database_url(args.server_url, args.database)
        migrate.upgrade(make_engine(url))
    else:
        url = _common.create_database(args.server_url, args.database)
        created = True

    from load import Gunicorn

    server = Gunicorn(url, args.workers, 1)
    try:
        if created:
            fill(url, args.small, big)
        server.start()
        base = server.base
        coach_email, client_email, client_id = who(url)
        coach, client = sign_in(base, coach_email), sign_in(base, client_email)
        bare = base + "/bench/bare"
        today = utcnow().date()
        year = f"period=custom&start={today - timedelta(days=364)}&end={today}"
        pages = [
            ("caseload", base + "/coach/", coach, "caseload", 0.30),
            ("contacts page", f"{base}/clients/{client_id}/contacts", client, "contacts", 0.30),
            ("contact search", f"{base}/clients/{client_id}/contacts?q=zoe+person0", client, "Person0", 0.30),
        ]
        report_url = f"{base}/plugins/progress_report/clients/{client_id}/report?{year}"
        for _, page_url, cookie, marker, _ in pages:
            check(page_url, cookie, marker)
        check(report_url, coach, "report")
        print(
            f"gunicorn {server.shape}, wrk -t1 -c{args.connections}, {seconds:g} s a phase, "
            f"{rounds} round(s); "
            f"{CORES} cores; load average {os.getloadavg()[0]:.1f} at the start"
        )
        run_wrk(bare, coach, 1, args.connections)  # warm every worker
        for _, page_url, cookie, _, _ in pages:
            run_wrk(page_url, cookie, 1, args.connections)
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in pages}
        shares: list[float] = []
        gunicorn_pids = server.pids()
        before = run_wrk(bare, coach, seconds, args.connections)
        shares.append(before.cpu_share)
        print(f"  bare      {before.rate:8.1f} req/s  wrk CPU {before.cpu_share:.0%} of the machine")
        for _ in range(rounds):
            for name, page_url, cookie, _, _ in pages:
                cpu = cpu_of(gunicorn_pids), cpu_of(postgres_pids())
                measured = run_wrk(page_url, cookie, seconds, args.connections)
                used = cpu_of(gunicorn_pids) - cpu[0], cpu_of(postgres_pids()) - cpu[1]
                after = run_wrk(bare, coach, seconds, args.connections)
                shares += [measured.cpu_share, after.cpu_share]
                if measured.bad or after.bad:
                    raise RuntimeError(f"{name}: {measured.bad} bad answers, bare {after.bad}")
                per = max(measured.requests, 1)
                print(
                    f"  {name:<15} {measured.rate:8.1f} req/s (gunicorn {used[0] / per * 1000:.0f} ms CPU, "
                    f"PostgreSQL {used[1] / per * 1000:.0f} ms CPU a page; wrk {measured.cpu_share:.0%}); "
                    f"bare after {after.rate:.1f} req/s; load {os.getloadavg()[0]:.1f}"
                )
                figures[name].append((measured.rate, (before.rate + after.rate) / 2))
                before = after
        for name, _, _, _, goal in pages:
            rate = sum(r for r, _ in figures[name]) / len(figures[name])
            bare_rate = sum(b for _, b in figures[name]) / len(figures[name])
            ratio = rate / bare_rate
            result(
                f"{name} throughput vs bare route",
                f"{rate:.1f} req/s",
                f"bare route {bare_rate:.1f} req/s",
                ratio,
                f">= {goal:.2f}",
                ratio >= goal,
            )
        latency = run_wrk(report_url, coach, seconds, 1)
        bare_latency = run_wrk(bare, coach, seconds, 1)
        result(
            "year's client report, HTML, mean latency (1 connection)",
            f"{latency.latency_ms:.1f} ms",
            f"bare route {bare_latency.latency_ms:.2f} ms",
            latency.latency_ms / max(bare_latency.latency_ms, 0.001),
            "<= 50 ms",
            latency.latency_ms <= 50,
        )
        print(
            f"wrk's CPU share of the machine: at most {max(shares):.0%} "
            f"(mean {sum(shares) / len(shares):.0%}); "
            f"load average at the end {os.getloadavg()[0]:.1f}"
        )
        for line in server.logged_errors()[:5]:
            print("  gunicorn:", line)
    finally:
        server.stop()
        if created and not args.keep:
            _common.drop_database(args.server_url, args.database)
        elif created:
            print(f"kept database {args.database} (run again with --reuse)")


if __name__ == "__main__":
    main()
