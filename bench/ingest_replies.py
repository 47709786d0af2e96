"""Benchmark: reading 5,000 replies from an IMAP mailbox, the real poller against a bare fetch loop.

A throw-away Dovecot (tests/imapserver.py, started as root) gets 5,000 reply
messages in its Maildir. In the same run, over the same mailbox:

- **baseline**: a bare ``imaplib`` loop: log in, EXAMINE, ``UID FETCH`` of
  ``BODY.PEEK[]`` in batches of 100, bytes kept in memory, nothing else;
- **Crossroads**: :func:`crossroads.core.inbox.imap.poll`, which fetches the same
  batches and, per message, records it through ``receive()`` (parse, dedupe by
  Message-ID in a savepoint, insert, process), moves ``last_uid`` under its lease
  and commits.

Both read the mailbox once untimed first, so Dovecot's index is warm for both.
Goal: Crossroads' throughput at least 0.5 of the baseline's.

    python bench/ingest_replies.py                  # SQLite file in a new temporary folder
    python bench/ingest_replies.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
        # PostgreSQL: a throw-away database crossroads_ingest_<pid> on that server, dropped at the end
"""

from __future__ import annotations

import argparse
import imaplib
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_SECRET, throwaway_database  # noqa: E402  (puts the repository on sys.path)
from sqlalchemy import func, select  # noqa: E402

from crossroads.core import migrate  # noqa: E402
from crossroads.core.db import make_engine, make_sessionmaker  # noqa: E402
from crossroads.core.inbox.imap import BATCH, poll  # noqa: E402
from crossroads.core.models import InboundMail, Practice  # noqa: E402
from tests.imapserver import Dovecot, configure_mailbox  # noqa: E402

MESSAGES = 5_000
GOAL = 0.5


def reply_message(n: int) -> bytes:
    """A realistic reply: a short answer above the quoted request, about 2 KB."""
    quoted = "\r\n".join(
        f"> {line}"
        for line in (
            "Dear Ms Ng,",
            "",
            "I am exploring a move into magazine editing and your path from newspapers",
            "to Acme Monthly caught my eye. Would you have twenty minutes in the next few",
            "weeks for a short conversation about what the work is like day to day?",
            "",
            "With thanks,",
            "Clara Client",
        )
        * 6
    )
    return (
        f"From: Zoe Ng <zoe.ng{n}@acme.example>\r\n"
        f"To: Clara Client <replies+c{n}@northbridge.example>\r\n"
        f"Subject: Re: A question about magazine editing ({n})\r\n"
        f"Message-ID: <bench-reply-{n}@acme.example>\r\n"
        f"In-Reply-To: <request-{n}@northbridge.example>\r\n"
        "Date: Tue, 01 Dec 2026 09:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Happy to talk. Tuesday or Thursday afternoon works for me.\r\n\r\nZoe\r\n\r\n"
        f"On Mon, 30 Nov 2026, Clara Client wrote:\r\n{quoted}\r\n"
    ).encode()


def bare_fetch(port: int, user: str, password: str, batch: int) -> int:
    """imaplib alone: every message's bytes, in UID batches. Returns how many were fetched."""
    conn = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    conn.login(user, password)
    conn.select("INBOX", readonly=True)
    _, data = conn.uid("SEARCH", "UID", "1:*")
    uids = [int(u) for u in data[0].split()]
    fetched = 0
    for start in range(0, len(uids), batch):
        chunk = uids[start : start + batch]
        _, parts = conn.uid("FETCH", f"{chunk[0]}:{chunk[-1]}", "(BODY.PEEK[])")
        fetched += sum(1 for part in parts if isinstance(part, tuple) and part[1])
    conn.logout()
    return fetched


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="a PostgreSQL server URL: a throw-away database is made on it")
    parser.add_argument("--messages", type=int, default=MESSAGES)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="crossroads-ingest-"))
    work.chmod(0o755)  # Dovecot's processes run as its own users
    server = Dovecot(work / "dovecot").start()
    try:
        user = server.add_user("bench", "bench-password")
        started = time.perf_counter()
        user.write_maildir([reply_message(n) for n in range(args.messages)])
        size = sum(p.stat().st_size for p in (user.home / "Maildir" / "cur").iterdir())
        print(
            f"mailbox: {args.messages} replies, {size / 2**20:.1f} MB, written in "
            f"{time.perf_counter() - started:.1f} s"
        )
        bare_fetch(server.port, user.name, user.password, BATCH)  # warm Dovecot's index, untimed

        if args.database_url:
            with throwaway_database(args.database_url, "crossroads_ingest") as url:
                run(url, server, user, args.messages)
        else:
            run(f"sqlite:///{work / 'ingest.sqlite3'}", server, user, args.messages)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def run(url: str, server: Dovecot, user, count: int) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        practice = Practice(name="Bench")
        session.add(practice)
        session.commit()
        mailbox = configure_mailbox(session, practice.id, user, BENCH_SECRET)
        conn = user.imap()
        conn.select("INBOX", readonly=True)
        uidvalidity = int(conn.response("UIDVALIDITY")[1][0])
        conn.logout()
        # As if connected before the replies arrived: the poller reads them all.
        mailbox.uidvalidity, mailbox.last_uid = uidvalidity, 0
        session.commit()
        practice_id = practice.id
    print(f"database: {engine.dialect.name}")

    started = time.perf_counter()
    fetched = bare_fetch(server.port, user.name, user.password, BATCH)
    bare = time.perf_counter() - started
    assert fetched == count, fetched

    with sessions() as session:
        started = time.perf_counter()
        result = poll(session, practice_id, BENCH_SECRET, allow_private=True)
        ours = time.perf_counter() - started
        recorded = session.scalar(select(func.count()).select_from(InboundMail))
    assert not result.error, result.error
    assert result.received == count == recorded, (result, recorded)
    engine.dispose()

    bare_rate, our_rate = count / bare, count / ours
    print(f"baseline (bare imaplib fetch loop): {bare:6.2f} s  {bare_rate:8.0f} messages/s")
    print(f"crossroads poll + receive + commit: {ours:6.2f} s  {our_rate:8.0f} messages/s")
    verdict = "met" if our_rate / bare_rate >= GOAL else "NOT met"
    print(f"ratio: {our_rate / bare_rate:.2f} of the baseline's throughput (goal >= {GOAL}: {verdict})")


if __name__ == "__main__":
    main()
