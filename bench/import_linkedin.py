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
import resource
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
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
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
    args = parser.parse_args()
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
    session.close()
    engine.dispose()


if __name__ == "__main__":
    main()
