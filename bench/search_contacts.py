"""Benchmark: searching and filtering one client's 30,000 contacts, and the board view.

python bench/search_contacts.py
python bench/search_contacts.py --database-url postgresql+psycopg://postgres@127.0.0.1/crossroads_bench
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from import_linkedin import setup  # noqa: E402

from crossroads.core.schemas import ContactQuerySchema, load  # noqa: E402
from crossroads.core.scoping import Scope  # noqa: E402
from crossroads.core.services import contacts  # noqa: E402
from crossroads.core.services.imports import import_linkedin  # noqa: E402
from tests.exports import connection_rows, make_export  # noqa: E402

QUERIES = [
    {},
    {"q": "zoe"},
    {"q": "managing editor"},
    {"q": "conde nast", "sort": "-updated"},
    {"stage": "identified", "sort": "organisation"},
    {"q": "nobody-matches-this"},
    {"page": "300"},
]


def timed(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url")
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    engine, session, client = setup(url)
    scope = Scope(session, client.user)
    import_linkedin(scope, client.id, make_export(connection_rows(args.rows)))
    print(f"database: {engine.dialect.name}; {args.rows} contacts for one client; median of {args.repeat}")
    for query in QUERIES:
        params = load(ContactQuerySchema(), query)
        page = contacts.search(scope, client.id, params)
        ms = timed(lambda params=params: contacts.search(scope, client.id, params), args.repeat)
        print(f"  search {query!s:48} {page.total:6} hits  {ms:7.1f} ms")
    ms = timed(lambda: contacts.board(scope, client.id, load(ContactQuerySchema(), {})), args.repeat)
    print(f"  board view (all stages){'':33} {ms:7.1f} ms")
    session.close()
    engine.dispose()


if __name__ == "__main__":
    main()
