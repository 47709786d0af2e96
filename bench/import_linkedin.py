"""Benchmark: importing a 30,000-row LinkedIn export, against the bare minimum.

The baseline parses the same file with the csv module and inserts the rows with
one DB-API ``executemany`` into the same table of the same database. Crossroads
must stay within three times that, under 150 MB peak memory.

    python bench/import_linkedin.py                      # SQLite in a temp folder
    python bench/import_linkedin.py --database-url postgresql+psycopg://postgres@127.0.0.1/crossroads_bench
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, select, text  # noqa: E402

from crossroads.core import migrate  # noqa: E402
from crossroads.core.db import make_engine, make_sessionmaker  # noqa: E402
from crossroads.core.models import Client, Contact, Practice, Role, User  # noqa: E402
from crossroads.core.scoping import Scope  # noqa: E402
from crossroads.core.services.imports import import_linkedin  # noqa: E402
from tests.exports import connection_rows, make_export  # noqa: E402

ROWS = 30_000


def setup(url: str):
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            tables = conn.scalar(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            )
        if tables:  # never wipe a database this script did not make: ask for an empty one
            sys.exit(f"{engine.url.database} is not empty: give an empty database (createdb NAME)")
    migrate.upgrade(engine)
    session = make_sessionmaker(engine)()
    practice = Practice(name="Bench")
    coach = User(practice=practice, email="coach@bench.example", name="Coach", role=Role.COACH)
    user = User(practice=practice, email="client@bench.example", name="Client", role=Role.CLIENT)
    client = Client(practice=practice, user=user, coach=coach)
    session.add_all([practice, coach, user, client])
    session.commit()
    return engine, session, client


def clear(session, client) -> None:
    session.execute(delete(Contact).where(Contact.client_id == client.id))
    session.commit()


def baseline(engine, data: bytes, client) -> float:
    """csv module + one executemany of the same columns, nothing else."""
    started = time.perf_counter()
    text_data = data.decode("utf-8-sig")
    lines = text_data.splitlines(keepends=True)
    reader = csv.reader(io.StringIO("".join(lines[4:])))
    now = datetime.now(UTC).replace(tzinfo=None) if engine.dialect.name == "sqlite" else datetime.now(UTC)
    params = [
        (client.practice_id, client.id, f"{r[0]} {r[1]}", r[2], r[3], r[4], r[5], now, now, now)
        for r in reader
        if r
    ]
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    sql = (
        "INSERT INTO contact (practice_id, client_id, name, linkedin_url, email, organisation, position, "
        "stage_changed_at, created_at, updated_at, sort_name, source, stage, research_notes, tags, "
        "search_text, work_text, tag_text, follow_ups_sent) VALUES "
        f"({', '.join([mark] * 10)}, '', 'linkedin_import', 'identified', '', '[]', '', '', '', 0)"
    )
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.executemany(sql, params)
        raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - started


def crossroads_import(session, client, data: bytes, trace: bool = False) -> tuple[float, float, int]:
    """Time one import; with ``trace``, measure its peak memory instead (tracing slows it down)."""
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    result = import_linkedin(Scope(session, client.user), client.id, data)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else 0.0
    if trace:
        tracemalloc.stop()
    return elapsed, peak, result.added


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--small", action="store_true", help="3,000 rows, once (checks that it runs)")
    args = parser.parse_args()
    if args.small:
        args.rows, args.repeat = 3_000, 1
    folder = tempfile.mkdtemp()
    url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
    engine, session, client = setup(url)
    data = make_export(connection_rows(args.rows))
    print(f"database: {engine.dialect.name}; file: {args.rows} rows, {len(data) / 2**20:.1f} MB")

    bare_times, our_times, peaks = [], [], []
    for _ in range(args.repeat):
        clear(session, client)
        bare_times.append(baseline(engine, data, client))
        clear(session, client)
        elapsed, _, added = crossroads_import(session, client, data)
        assert added == args.rows, added
        our_times.append(elapsed)
    clear(session, client)
    peaks.append(crossroads_import(session, client, data, trace=True)[1])
    count = session.scalar(select(Contact.id).where(Contact.client_id == client.id).limit(1))
    assert count is not None
    bare, ours = min(bare_times), min(our_times)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"baseline (csv + executemany): {bare:.2f} s (best of {args.repeat})")
    print(f"crossroads import:            {ours:.2f} s (best of {args.repeat})")
    print(f"ratio:                        {ours / bare:.2f}x  (limit 3x)")
    print(f"peak Python memory in import: {max(peaks):.0f} MB (tracemalloc; limit 150 MB)")
    print(f"process peak RSS:             {rss:.0f} MB (includes the generated file and the baseline)")
    # Whole processes, as issue 18 measures them: the CLI (start-up included) against a process
    # that reads the file with csv and inserts it with one executemany. Peak RSS from wait4.
    clear(session, client)
    export = Path(folder) / "Connections.csv"
    export.write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSROADS_")}
    env.update(CROSSROADS_DATABASE_URL=url, CROSSROADS_SECRET_KEY="bench", CROSSROADS_INSTANCE=folder)
    cli = [str(Path(sys.executable).parent / "crossroads"), "import-linkedin", "--client", client.user.email]
    ours_s, ours_mb = whole_process([*cli, str(export)], env)
    clear(session, client)
    bare_s, bare_mb = whole_process(
        [sys.executable, "-c", BASELINE_PROCESS, url, str(client.id), str(client.practice_id), str(export)],
        env,
    )
    limit = 3 if engine.dialect.name == "sqlite" else 2
    ratio = ours_s / bare_s
    print(
        f"RESULT LinkedIn import, {args.rows:,} rows, whole CLI process: {ours_s:.2f} s; baseline csv + "
        f"executemany process {bare_s:.2f} s; ratio {ratio:.2f}; goal <= {limit}x; "
        f"{'PASS' if ratio <= limit else 'FAIL'}; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"RESULT LinkedIn import, peak RSS of the CLI process: {ours_mb:.0f} MB; baseline process "
        f"{bare_mb:.0f} MB; ratio {ours_mb / bare_mb:.2f}; goal <= 100 MB; "
        f"{'PASS' if ours_mb <= 100 else 'FAIL'}"
    )
    session.close()
    engine.dispose()


def whole_process(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of a child process, which must succeed."""
    # GNU time reports the peak RSS of the program it runs. (A child's own ru_maxrss would count
    # the pages it shared with this process between fork and exec.)
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[:3]} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - started, int(done.stderr.strip().splitlines()[-1]) / 1024


#: The baseline process: the driver, csv and one executemany of the same columns, nothing else.
BASELINE_PROCESS = """
import csv, io, sys
from datetime import datetime, timezone
url, client_id, practice_id, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lines = open(path, encoding="utf-8-sig").read().splitlines(keepends=True)
now = datetime.now(timezone.utc)
rows = [(practice_id, client_id, f"{r[0]} {r[1]}", r[2], r[3], r[4], r[5], now, now, now)
        for r in csv.reader(io.StringIO("".join(lines[4:]))) if r]
if url.startswith("sqlite"):
    import sqlite3
    connection, mark = sqlite3.connect(url.split("///", 1)[1]), "?"
    rows = [r[:7] + (now.isoformat(),) * 3 for r in rows]
else:
    import psycopg
    connection, mark = psycopg.connect(url.replace("postgresql+psycopg", "postgresql")), "%s"
connection.cursor().executemany(
    "INSERT INTO contact (practice_id, client_id, name, linkedin_url, email, organisation, position, "
    "stage_changed_at, created_at, updated_at, sort_name, source, stage, research_notes, tags, "
    "search_text, work_text, tag_text, follow_ups_sent) VALUES "
    f"({', '.join([mark] * 10)}, '', 'linkedin_import', 'identified', '', '[]', '', '', '', 0)", rows)
connection.commit()
"""


if __name__ == "__main__":
    main()
