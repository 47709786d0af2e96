"""Benchmark: ingesting 5,000 replies from an IMAP mailbox, the real poller against a bare fetch loop.

A throw-away Dovecot (tests/imapserver.py, started as root) gets 5,000 messages in its
Maildir: answers to 5,000 emails a practice's clients sent (a practice of 50 clients,
20,000 contacts and 20,000 sent outreach emails, so look-ups run against tables of a
realistic size). The mix follows tests/data/inbox/, whose messages are modelled on real
ones: 55 % replies to the plus address with ``In-Reply-To`` (multipart, quoted-printable,
a quoted history and a signature to trim), 20 % plain-text replies to the bare reply
address matched by ``In-Reply-To``, 15 % HTML replies without ``In-Reply-To`` matched by
the sender's address, 7 % Outlook out-of-office replies, 3 % Gmail delivery failure
reports (RFC 3464). Every reply takes full effect: contact moved to "replied",
``message_replied`` fired, client and coach notified, the client's copy queued.

In the same run, over the same mailbox (both read it once untimed first, so Dovecot's
index is warm):

- **baseline**: a bare ``imaplib`` loop as a simple reader writes it: log in, EXAMINE,
  ``UID SEARCH``, then one ``UID FETCH <uid> (BODY.PEEK[])`` per message, bytes kept in
  memory, nothing else. This is the baseline the goal is measured against. It is what
  "a bare imaplib fetch loop" means read plainly, and it is the cost any program that
  reads these messages pays at least: the goal then says ingesting through Crossroads
  costs at most twice what merely reading the mail costs.
- **batched (for context)**: the same loop with ``UID FETCH`` of 100 UIDs at a time,
  the poller's own batch size. It is the lower bound on the transport alone: its ratio
  isolates Crossroads' own processing from the IMAP round trips, and is printed too,
  so the headline ratio cannot hide that processing cost.
- **Crossroads, ingest** (the issue's figure): :func:`crossroads.core.inbox.imap.poll`:
  fetch in batches of 100; per batch one multi-row ``INSERT … ON CONFLICT DO NOTHING``
  of the raw messages (Message-ID, From and Subject read with a header-only parse), and
  ``last_uid`` and the lease renewed in the same commit. The mail is then durably taken
  in, exactly once; nothing of it is processed yet.

Then, separately, **processing**: :func:`crossroads.core.inbox.pending.process_pending`
(what the worker runs right after each such commit) in 1, then 2 worker processes, each
claiming 10 messages at a time and processing each in its own transaction (parse,
classify, match, move the contact, notify, queue the client's copy). Each worker count
gets its own fresh database, mailbox poll and all; the time reported is from the poll's
last commit until every message is processed (the backlog arrives at once, the worst
case). It is printed against the same baseline, with no goal: the issue's goal is on
taking mail in, and processing is off that path.

Goal: ingest throughput at least 0.5 of the baseline's.

    python bench/ingest_replies.py                  # SQLite file in a new temporary folder
    python bench/ingest_replies.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
        # PostgreSQL: a throw-away database crossroads_ingest_<pid> on that server, dropped at the end
    python bench/ingest_replies.py --profile out.prof   # cProfile of the poll and of processing (1 worker)
"""

from __future__ import annotations

import argparse
import cProfile
import imaplib
import multiprocessing
import os
import queue
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_SECRET, throwaway_database  # noqa: E402  (puts the repository on sys.path)
from sqlalchemy import func, insert, select  # noqa: E402

from crossroads.core import migrate  # noqa: E402
from crossroads.core.db import make_engine, make_sessionmaker, utcnow  # noqa: E402
from crossroads.core.inbox.imap import BATCH, poll  # noqa: E402
from crossroads.core.inbox.pending import process_pending  # noqa: E402
from crossroads.core.models import (  # noqa: E402
    Client,
    ClientStatus,
    Contact,
    ContactSource,
    InboundKind,
    InboundMail,
    MailSecurity,
    MessageKind,
    MessageStatus,
    OutboxEmail,
    OutreachMessage,
    Practice,
    PracticeMail,
    Role,
    Stage,
    User,
)
from tests.imapserver import Dovecot, configure_mailbox  # noqa: E402

MESSAGES = 5_000
CLIENTS = 50
#: Contacts (and sent emails) per reply: most requests are never answered.
SENT_PER_REPLY = 4
GOAL = 0.5
DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "inbox"
SUBJECT = "A question about magazine editing"
REPLY_DOMAIN = "northbridge.example"

#: (share in 100, kind): which template answers message n (n % 100).
MIX = [(55, "token"), (20, "thread"), (15, "sender"), (7, "auto"), (3, "bounce")]


def _kind(n: int) -> str:
    slot = n % 100
    for share, kind in MIX:
        if slot < share:
            return kind
        slot -= share
    raise AssertionError(n)


def token(n: int) -> str:
    return f"{n:020x}"


def original_id(n: int) -> str:
    return f"<request-{n}@{REPLY_DOMAIN}>"


def address(n: int) -> str:
    return f"person{n}@org{n % 997}.example"


def _template(name: str) -> bytes:
    return (DATA / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


TEMPLATES = {
    "token": _template("reply_in_reply_to.eml"),
    "sender": _template("reply_without_in_reply_to.eml"),
    "auto": _template("auto_reply_outlook.eml"),
    "bounce": _template("bounce_gmail.eml"),
}
OWN_IDS = {
    "token": b"<CAzoe-reply-0001@mail.acme.example>",
    "sender": b"<fresh-note-0002@mail.acme.example>",
    "auto": b"<AM9PR01MB7777AUTO01@AM9PR01MB7777.eurprd01.prod.outlook.com>",
    "bounce": b"<5fcf2a1b.1c69fb81.bounce.0001@mx.google.com>",
}


def plain_reply(n: int) -> bytes:
    """A plain-text reply to the bare reply address: a short answer above the quoted request."""
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
        * 3
    )
    return (
        f"From: Person {n} <{address(n)}>\r\n"
        f"To: Clara Client via Northbridge <replies@{REPLY_DOMAIN}>\r\n"
        f"Subject: Re: {SUBJECT} ({n})\r\n"
        f"Message-ID: <bench-reply-{n}@acme.example>\r\n"
        f"In-Reply-To: {original_id(n)}\r\n"
        f"References: {original_id(n)}\r\n"
        "Date: Tue, 01 Dec 2026 09:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Happy to talk. Tuesday or Thursday afternoon works for me.\r\n\r\nZoe\r\n\r\n"
        f"On Mon, 30 Nov 2026, Clara Client wrote:\r\n{quoted}\r\n"
    ).encode()


def incoming(n: int, back: str) -> bytes:
    """The n-th message of the mailbox: an answer to sent email n, of the kind :data:`MIX` gives."""
    kind = _kind(n)
    if kind == "thread":
        return plain_reply(n)
    raw = TEMPLATES[kind].replace(OWN_IDS[kind], f"<bench-{kind}-{n}@acme.example>".encode())
    for key, value in {
        "TOKEN": token(n),
        "ORIGINAL_ID": original_id(n),
        "RECIPIENT": address(n),
        "SUBJECT": f"{SUBJECT} ({n})",
        "BACK": back,
    }.items():
        raw = raw.replace(("{" + key + "}").encode(), value.encode())
    return raw


def expected_kinds(count: int) -> Counter:
    wanted = Counter()
    for n in range(count):
        kind = _kind(n)
        wanted["bounce" if kind == "bounce" else "auto_reply" if kind == "auto" else "reply"] += 1
    return wanted


def fetch_loop(port: int, user: str, password: str, batch: int) -> int:
    """imaplib alone: every message's bytes, ``batch`` UIDs per ``UID FETCH``. Returns how many."""
    conn = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    conn.login(user, password)
    conn.select("INBOX", readonly=True)
    _, data = conn.uid("SEARCH", "UID", "1:*")
    uids = data[0].split()
    kept: list[bytes] = []
    if batch == 1:
        for uid in uids:
            _, parts = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            kept += [part[1] for part in parts if isinstance(part, tuple) and part[1]]
    else:
        for start in range(0, len(uids), batch):
            chunk = uids[start : start + batch]
            _, parts = conn.uid("FETCH", b"%s:%s" % (chunk[0], chunk[-1]), "(BODY.PEEK[])")
            kept += [part[1] for part in parts if isinstance(part, tuple) and part[1]]
    conn.logout()
    return len(kept)


def populate(session, practice_id: int, count: int) -> None:
    """50 clients with a coach; ``SENT_PER_REPLY`` x ``count`` contacts, each sent one email."""
    now = utcnow()
    coach = User(
        practice_id=practice_id, email="coach@northbridge.example", name="Cora Coach", role=Role.COACH
    )
    session.add(coach)
    session.flush()
    clients = []
    for c in range(CLIENTS):
        user = User(
            practice_id=practice_id,
            email=f"client{c}@clients.example",
            name=f"Clara Client {c}",
            role=Role.CLIENT,
            timezone="Europe/London",
        )
        session.add(user)
        session.flush()
        client = Client(
            practice_id=practice_id, user_id=user.id, coach_id=coach.id, status=ClientStatus.EXPLORING
        )
        session.add(client)
        session.flush()
        clients.append(client.id)
    total = count * SENT_PER_REPLY
    sent_at = now - timedelta(days=2)
    contacts, outbox, messages = [], [], []
    for n in range(total):
        client_id = clients[n % CLIENTS]
        name = f"Person {n}"
        contacts.append(
            dict(
                id=n + 1,
                practice_id=practice_id,
                client_id=client_id,
                name=name,
                sort_name=name.lower(),
                email=address(n),
                source=ContactSource.MANUAL,
                stage=Stage.REQUESTED,
                stage_changed_at=sent_at,
            )
        )
        subject = f"{SUBJECT} ({n})"
        outbox.append(
            dict(
                id=n + 1,
                practice_id=practice_id,
                client_id=client_id,
                status=MessageStatus.SENT,
                to_address=address(n),
                to_name=name,
                subject=subject,
                body="Dear ...",
                message_id=original_id(n),
                sent_at=sent_at,
                created_at=sent_at,
            )
        )
        messages.append(
            dict(
                id=n + 1,
                practice_id=practice_id,
                client_id=client_id,
                contact_id=n + 1,
                channel="email",
                kind=MessageKind.FIRST_REQUEST,
                subject=subject,
                body="Dear ...",
                to_name=name,
                to_address=address(n),
                status=MessageStatus.SENT,
                outbox_id=n + 1,
                created_at=sent_at,
                sent_at=sent_at,
                reply_token=token(n),
            )
        )
    for model, rows in ((Contact, contacts), (OutboxEmail, outbox), (OutreachMessage, messages)):
        for start in range(0, len(rows), 5_000):
            session.execute(insert(model), rows[start : start + 5_000])
    session.add(
        PracticeMail(
            practice_id=practice_id,
            host="127.0.0.1",
            port=2525,
            security=MailSecurity.NONE,
            from_address=f"hello@{REPLY_DOMAIN}",
            reply_address=f"replies@{REPLY_DOMAIN}",
            plus_addressing=True,
        )
    )
    session.commit()
    if session.bind.dialect.name == "postgresql":
        for table in ("contact", "outbox_email", "outreach_message"):
            session.execute(select(func.setval(func.pg_get_serial_sequence(table, "id"), total + 1)))
        session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="a PostgreSQL server URL: a throw-away database is made on it")
    parser.add_argument("--messages", type=int, default=MESSAGES)
    parser.add_argument("--workers", default="1,2", help="worker processes to process with, one run each")
    parser.add_argument("--profile", help="write cProfiles of the poll and of processing (1 worker) here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="crossroads-ingest-"))
    work.chmod(0o755)  # Dovecot's processes run as its own users
    server = Dovecot(work / "dovecot").start()
    try:
        user = server.add_user("bench", "bench-password")
        started = time.perf_counter()
        back = (utcnow() + timedelta(days=10)).strftime("%d %B %Y")
        user.write_maildir([incoming(n, back) for n in range(args.messages)])
        size = sum(p.stat().st_size for p in (user.home / "Maildir" / "cur").iterdir())
        print(
            f"mailbox: {args.messages} messages, {size / 2**20:.1f} MB, written in "
            f"{time.perf_counter() - started:.1f} s"
        )
        fetch_loop(server.port, user.name, user.password, BATCH)  # warm Dovecot's index, untimed
        fetch_loop(server.port, user.name, user.password, 1)

        for workers in [int(w) for w in args.workers.split(",")]:
            print(f"\n== run with {workers} worker process(es) processing ==")
            if args.database_url:
                with throwaway_database(args.database_url, "crossroads_ingest") as url:
                    run(url, server, user, args, workers)
            else:
                run(f"sqlite:///{work / f'ingest-{workers}.sqlite3'}", server, user, args, workers)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def _process(url: str, profile: str | None, done) -> None:
    """One worker process: process pending mail until none is left, then report how many."""
    engine = make_engine(url)
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    result = process_pending(make_sessionmaker(engine))
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    engine.dispose()
    done.put((result.processed, result.failed, time.perf_counter()))


def _prepare(url: str, user, count: int):
    engine = make_engine(url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        practice = Practice(name="Northbridge")
        session.add(practice)
        session.commit()
        practice_id = practice.id
        populate(session, practice_id, count)
        mailbox = configure_mailbox(session, practice_id, user, BENCH_SECRET)
        conn = user.imap()
        conn.select("INBOX", readonly=True)
        uidvalidity = int(conn.response("UIDVALIDITY")[1][0])
        conn.logout()
        # As if connected before the replies arrived: the poller reads them all.
        mailbox.uidvalidity, mailbox.last_uid = uidvalidity, 0
        session.commit()
    return engine, sessions, practice_id


def _line(label: str, seconds: float, count: int, extra: str = "") -> None:
    print(f"{label:<52}{seconds:7.2f} s {count / seconds:8.0f} messages/s{extra}")


def run(url: str, server: Dovecot, user, args, workers: int) -> None:
    count = args.messages
    engine, sessions, practice_id = _prepare(url, user, count)
    print(
        f"database: {engine.dialect.name}; {CLIENTS} clients, {count * SENT_PER_REPLY} contacts "
        f"and sent emails; load average {os.getloadavg()[0]:.1f}"
    )

    started = time.perf_counter()
    fetched = fetch_loop(server.port, user.name, user.password, 1)
    bare = time.perf_counter() - started
    assert fetched == count, fetched
    started = time.perf_counter()
    fetched = fetch_loop(server.port, user.name, user.password, BATCH)
    batched = time.perf_counter() - started
    assert fetched == count, fetched

    profile = args.profile if args.profile and workers == 1 else None
    profiler = cProfile.Profile() if profile else None
    with sessions() as session:
        cpu = time.process_time()
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        result = poll(session, practice_id, BENCH_SECRET, allow_private=True)
        if profiler:
            profiler.disable()
        recorded_at = time.perf_counter()
        ours = recorded_at - started
        cpu = time.process_time() - cpu
        recorded = session.scalar(select(func.count()).select_from(InboundMail))
        pending = session.scalar(
            select(func.count()).select_from(InboundMail).where(InboundMail.kind == InboundKind.PENDING)
        )
    if profiler:
        profiler.dump_stats(profile + ".poll")
    assert not result.error, result.error
    assert result.received == count == recorded == pending, (result, recorded, pending)

    # Processing: the worker processes, woken by the poll's commits (here: all at once, after).
    context = multiprocessing.get_context("spawn")
    done = context.Queue()
    processes = [
        context.Process(target=_process, args=(url, profile + ".process" if profile else None, done))
        for _ in range(workers)
    ]
    process_started = time.perf_counter()
    for process in processes:
        process.start()
    reports = []
    while len(reports) < workers:
        try:
            reports.append(done.get(timeout=5))
        except queue.Empty:
            dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            assert not dead, f"a worker process failed (exit codes {dead})"
    for process in processes:
        process.join()
    finished = max(at for _, _, at in reports)
    processing = finished - process_started
    lag = finished - recorded_at
    processed = sum(p for p, _, _ in reports)
    failed = sum(f for _, f, _ in reports)

    with sessions() as session:
        kinds = Counter(
            dict(session.execute(select(InboundMail.kind, func.count()).group_by(InboundMail.kind)).all())
        )
        forwarded = session.scalar(
            select(func.count()).select_from(OutboxEmail).where(OutboxEmail.status == MessageStatus.QUEUED)
        )
        attempts = session.scalar(select(func.max(InboundMail.attempts)))
    engine.dispose()
    assert (processed, failed, attempts) == (count, 0, 1), (processed, failed, attempts)
    assert {str(k): v for k, v in kinds.items()} == expected_kinds(count), kinds
    assert forwarded >= kinds["reply"], forwarded  # the client's copy, plus any notification emails

    bare_rate, batched_rate, our_rate = count / bare, count / batched, count / ours
    process_rate = count / processing
    print(f"processed: {dict(sorted((str(k), v) for k, v in kinds.items()))}; {forwarded} emails queued")
    _line("baseline (imaplib, one UID FETCH per message):", bare, count)
    _line("batched imaplib (100 per UID FETCH), context:", batched, count)
    _line("crossroads ingest (fetch, record, commit):", ours, count, f"  (CPU {cpu:.2f} s)")
    verdict = "met" if our_rate / bare_rate >= GOAL else "NOT met"
    ratio = our_rate / bare_rate
    print(f"ingest ratio: {ratio:.2f} of the baseline's throughput (goal >= {GOAL}: {verdict})")
    print(f"ingest ratio to the batched loop (context): {our_rate / batched_rate:.2f}")
    _line(f"crossroads processing, {workers} worker process(es):", processing, count)
    print(
        f"processing ratio: {process_rate / bare_rate:.3f} of the baseline's throughput (no goal: off the "
        f"mailbox-reading path); last message recorded -> all processed: {lag:.2f} s"
    )


if __name__ == "__main__":
    main()
