"""Benchmark: the API's contact list for a client with 30,000 contacts, against a bare Flask JSON
route on the same gunicorn in the same run, and the SQL statements per request at two data sizes.

python bench/api_contacts.py
python bench/api_contacts.py --database-url postgresql+psycopg://postgres@127.0.0.1/crossroads_bench

1. builds a database with one client and --rows contacts (bench/import_linkedin.py's setup);
2. counts the statements one page of 50 contacts takes at 100 contacts and at --rows (the same);
3. starts gunicorn (bench/wsgi.py) on that database and, for --seconds each, sends --threads
   concurrent requests with no pause to /api/v1/clients/<id>/contacts?limit=50 (with a token) and to
   /bench/bare.json, and prints requests a second for both.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from import_linkedin import setup  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from crossroads.core.config import Settings  # noqa: E402
from crossroads.core.scoping import Scope  # noqa: E402
from crossroads.core.services.api_tokens import issue_for  # noqa: E402
from crossroads.core.services.imports import import_linkedin  # noqa: E402
from crossroads.web import create_app  # noqa: E402
from tests.exports import connection_rows, make_export  # noqa: E402


@contextmanager
def counted():
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def statements_per_page(url: str, instance: str, token: str, client_id: int) -> int:
    app = create_app(Settings(instance_path=Path(instance), database_url=url, secret_key="bench"))
    browser = app.test_client()
    path = f"/api/v1/clients/{client_id}/contacts?limit=50"
    headers = {"Authorization": f"Bearer {token}"}
    browser.get(path, headers=headers)
    with counted() as statements:
        assert browser.get(path, headers=headers).status_code == 200
    return len(statements)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hammer(url: str, headers: dict[str, str], threads: int, seconds: float) -> float:
    done = [0] * threads
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        while time.monotonic() < stop:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as answer:
                answer.read()
            done[i] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(done) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url")
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    instance = tempfile.mkdtemp()
    url = args.database_url or f"sqlite:///{instance}/bench.sqlite3"
    engine, session, client = setup(url)
    scope = Scope(session, client.user)
    token = issue_for(session, client.user)
    import_linkedin(scope, client.id, make_export(connection_rows(100)))
    small = statements_per_page(url, instance, token, client.id)
    import_linkedin(scope, client.id, make_export(connection_rows(args.rows)))
    large = statements_per_page(url, instance, token, client.id)
    print(f"database: {engine.dialect.name}; {args.rows} contacts for one client")
    print(f"  statements for a page of 50: {small} at 100 contacts, {large} at {args.rows}")
    port = free_port()
    env = {
        **os.environ,
        "CROSSROADS_DATABASE_URL": url,
        "CROSSROADS_INSTANCE": instance,
        "CROSSROADS_SECRET_KEY": "bench",
        "CROSSROADS_API_RATE_LIMIT": "100000000",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--chdir", str(Path(__file__).parent), "-w", str(args.workers),
         "-b", f"127.0.0.1:{port}", "wsgi:app"],
        env=env,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/bench/bare.json").read()
                break
            except OSError:
                time.sleep(0.2)
        api = hammer(
            f"{base}/api/v1/clients/{client.id}/contacts?limit=50",
            {"Authorization": f"Bearer {token}"},
            args.threads,
            args.seconds,
        )
        bare = hammer(f"{base}/bench/bare.json", {}, args.threads, args.seconds)
        print(f"  gunicorn -w {args.workers}, {args.threads} concurrent requests, {args.seconds:.0f} s each:")
        print(f"  contact list (50 of {args.rows}): {api:8.1f} requests/s")
        print(f"  bare Flask JSON route:          {bare:8.1f} requests/s  ({api / bare:.0%} of it)")
    finally:
        server.terminate()
        server.wait()
    session.close()
    engine.dispose()


if __name__ == "__main__":
    main()
