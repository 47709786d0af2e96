"""The reply mailbox's IMAP poller against a real Dovecot: new mail read once, old mail left alone,
progress kept across a killed worker, two pollers at once, errors recorded and recovered from,
and a renumbered folder (UIDVALIDITY) handled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from crossroads.core.db import make_sessionmaker, utcnow
from crossroads.core.inbox.imap import poll
from crossroads.core.mail.secrets import encrypt
from crossroads.core.models import InboundKind, InboundMail, MailSecurity, PracticeMailbox
from tests.imapserver import configure_mailbox, reply

ROOT = Path(__file__).resolve().parents[1]


def poll_once(db, settings, practice_id, **options):
    return poll(db, practice_id, settings.secret_key, allow_private=True, timeout=10, **options)


def recorded(db, practice_id) -> list[str]:
    """Message-IDs recorded for the practice, in the order received (duplicates would show twice)."""
    db.expire_all()
    rows = db.scalars(
        select(InboundMail.message_id).where(InboundMail.practice_id == practice_id).order_by(InboundMail.id)
    )
    return list(rows)


def ids(numbers, practice: str = "northbridge") -> list[str]:
    return [f"<reply-{n}-{practice}@acme.example>" for n in numbers]


def mailbox_of(db, practice_id) -> PracticeMailbox:
    db.expire_all()
    return db.scalar(select(PracticeMailbox).where(PracticeMailbox.practice_id == practice_id))


def test_a_new_message_is_received_and_last_uid_advances(db, world, settings, mailbox_user):
    configure_mailbox(db, world.practice.id, mailbox_user, settings.secret_key)
    first = poll_once(db, settings, world.practice.id)
    assert first.first_connection and first.received == 0 and not first.error
    mailbox_user.append([reply(1)])
    result = poll_once(db, settings, world.practice.id)
    assert (result.received, result.error) == (1, "")
    mailbox = mailbox_of(db, world.practice.id)
    assert mailbox.last_uid == 1 and mailbox.last_polled_at is not None and mailbox.lease_until is None
    mail = db.scalar(select(InboundMail))
    assert mail.message_id == ids([1])[0] and mail.source == "imap"
    assert mail.kind == InboundKind.PENDING and mail.processed_at is None  # recorded; the worker processes it
    assert mail.source_ref == f"{mailbox.uidvalidity}:1"
    # Read with BODY.PEEK on a read-only folder: the owner's mail client still sees it unread.
    conn = mailbox_user.imap()
    conn.select("INBOX", readonly=True)
    assert conn.uid("SEARCH", "UNSEEN")[1][0] == b"1"
    conn.logout()
    # Nothing new: `2:*` still names message 1 (the IMAP quirk), which is not read again.
    again = poll_once(db, settings, world.practice.id)
    assert (again.received, again.duplicates) == (0, 0) and recorded(db, world.practice.id) == ids([1])


def test_first_connection_to_a_full_mailbox_reads_none_of_the_old_messages(db, world, settings, mailbox_user):
    mailbox_user.write_maildir([reply(n, subject="Old news") for n in range(10_000)])
    configure_mailbox(db, world.practice.id, mailbox_user, settings.secret_key)
    started = time.monotonic()
    first = poll_once(db, settings, world.practice.id)
    assert first.first_connection and first.received == 0 and time.monotonic() - started < 20
    assert mailbox_of(db, world.practice.id).last_uid == 10_000
    assert recorded(db, world.practice.id) == []
    mailbox_user.append([reply(10_001)])
    result = poll_once(db, settings, world.practice.id)
    assert result.received == 1 and recorded(db, world.practice.id) == ids([10_001])
    assert mailbox_of(db, world.practice.id).last_uid == 10_001


POLLER = textwrap.dedent(
    """
    import sys, time
    from crossroads.core.db import make_engine, make_sessionmaker
    from crossroads.core.inbox.imap import poll

    url, practice_id, secret, pause = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])

    def after(uid):
        print(uid, flush=True)
        time.sleep(pause)

    session = make_sessionmaker(make_engine(url))()
    result = poll(session, practice_id, secret, allow_private=True, timeout=10, batch=7, after_message=after)
    print("done", result.received, flush=True)
    """
)


def test_a_worker_killed_mid_batch_resumes_after_its_last_commit(
    db, world, settings, mailbox_user, database_url
):
    configure_mailbox(db, world.practice.id, mailbox_user, settings.secret_key)
    poll_once(db, settings, world.practice.id)  # first connection: from now on
    mailbox_user.append([reply(n) for n in range(1, 31)])
    worker = subprocess.Popen(
        [sys.executable, "-c", POLLER, database_url, str(world.practice.id), settings.secret_key, "0.2"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    committed = [worker.stdout.readline() for _ in range(10)]
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    assert all(line.strip().isdigit() for line in committed)
    kept = mailbox_of(db, world.practice.id)
    assert 10 <= kept.last_uid < 30 and len(recorded(db, world.practice.id)) == kept.last_uid
    # The dead worker's claim is left; once its lease is over another poller takes the mailbox.
    assert poll_once(db, settings, world.practice.id).busy
    db.execute(update(PracticeMailbox).values(lease_until=utcnow() - timedelta(seconds=1)))
    db.commit()
    result = poll_once(db, settings, world.practice.id)
    assert result.received == 30 - kept.last_uid and not result.error
    assert recorded(db, world.practice.id) == ids(range(1, 31))
    assert mailbox_of(db, world.practice.id).last_uid == 30


def test_two_pollers_at_once_read_each_message_once(db, world, settings, mailbox_user, engine):
    configure_mailbox(db, world.practice.id, mailbox_user, settings.secret_key)
    poll_once(db, settings, world.practice.id)
    mailbox_user.append([reply(n) for n in range(1, 21)])
    sessions = make_sessionmaker(engine)
    results = []
    start = threading.Barrier(2)

    def run():
        with sessions() as session:
            start.wait()
            results.append(
                poll_once(session, settings, world.practice.id, after_message=lambda uid: time.sleep(0.02))
            )

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r.busy for r in results) == [False, True]
    assert sum(r.received for r in results) == 20
    assert recorded(db, world.practice.id) == ids(range(1, 21))


def test_two_processes_polling_the_same_mailbox_record_each_message_once(
    db, world, settings, mailbox_user, database_url
):
    configure_mailbox(db, world.practice.id, mailbox_user, settings.secret_key)
    poll_once(db, settings, world.practice.id)
    mailbox_user.append([reply(n) for n in range(1, 16)])
    args = [database_url, str(world.practice.id), settings.secret_key, "0.01"]
    workers = [
        subprocess.Popen([sys.executable, "-c", POLLER, *args], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=60)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers)
    assert sum(int(out.strip().splitlines()[-1].split()[1]) for out in outputs) == 15
    assert recorded(db, world.practice.id) == ids(range(1, 16))


def test_a_wrong_password_is_recorded_and_mail_that_arrived_meanwhile_is_read_after_the_fix(
    db, world, settings, mailbox_user
):
    configure_mailbox(db, world.practice.id, mailbox_user, settings.secret_key)
    poll_once(db, settings, world.practice.id)
    mailbox_user.append([reply(1)])
    poll_once(db, settings, world.practice.id)
    db.execute(update(PracticeMailbox).values(password_encrypted=encrypt(settings.secret_key, "wrong")))
    db.commit()
    failed = poll_once(db, settings, world.practice.id)
    assert "refused the user name or password" in failed.error
    mailbox = mailbox_of(db, world.practice.id)
    since = mailbox.failing_since
    assert mailbox.last_error == failed.error and since is not None and mailbox.last_uid == 1
    mailbox_user.append([reply(2), reply(3)])
    poll_once(db, settings, world.practice.id)
    assert mailbox_of(db, world.practice.id).failing_since == since  # since the first failure
    db.execute(
        update(PracticeMailbox).values(password_encrypted=encrypt(settings.secret_key, mailbox_user.password))
    )
    db.commit()
    result = poll_once(db, settings, world.practice.id)
    assert result.received == 2 and not result.error
    mailbox = mailbox_of(db, world.practice.id)
    assert (mailbox.last_error, mailbox.failing_since, mailbox.last_uid) == ("", None, 3)
    assert recorded(db, world.practice.id) == ids([1, 2, 3])


def test_a_server_that_refuses_connections_leaves_the_read_position_alone(db, world, settings, mailbox_user):
    configure_mailbox(db, world.practice.id, mailbox_user, settings.secret_key)
    poll_once(db, settings, world.practice.id)
    from tests.imapserver import free_port

    db.execute(update(PracticeMailbox).values(port=free_port()))
    db.commit()
    failed = poll_once(db, settings, world.practice.id)
    assert "refused the connection" in failed.error
    assert mailbox_of(db, world.practice.id).last_uid == 0
    assert mailbox_of(db, world.practice.id).uidvalidity is not None


def test_a_changed_uidvalidity_rereads_what_arrived_since_the_last_poll_once_each(
    db, world, settings, mailbox_user
):
    folder = "Replies"
    mailbox_user.create_folder(folder)
    month_ago = utcnow() - timedelta(days=30)
    mailbox_user.append([reply(n) for n in range(1, 4)], folder, when=month_ago)
    configure_mailbox(db, world.practice.id, mailbox_user, settings.secret_key, folder=folder)
    poll_once(db, settings, world.practice.id)
    mailbox_user.append([reply(4), reply(5)], folder)
    assert poll_once(db, settings, world.practice.id).received == 2
    before = mailbox_of(db, world.practice.id).uidvalidity
    # The folder is rebuilt: new UIDVALIDITY, every message numbered again from 1; the old ones keep
    # their dates, the ones read last time come back, and two arrive that were never read.
    mailbox_user.delete_folder(folder)
    mailbox_user.create_folder(folder)
    mailbox_user.append([reply(n) for n in range(1, 4)], folder, when=month_ago)
    mailbox_user.append([reply(4), reply(5), reply(6), reply(7)], folder)
    result = poll_once(db, settings, world.practice.id)
    assert result.uidvalidity_changed and not result.error
    assert (result.received, result.duplicates) == (2, 2)  # the month-old ones were not fetched at all
    after = mailbox_of(db, world.practice.id)
    assert after.uidvalidity != before and after.last_uid == 7
    assert recorded(db, world.practice.id) == ids([4, 5, 6, 7])


def test_a_plain_connection_to_a_public_server_is_refused_before_connecting(
    db, world, settings, mailbox_user
):
    configure_mailbox(db, world.practice.id, mailbox_user, settings.secret_key)
    db.execute(update(PracticeMailbox).values(host="93.184.215.14"))  # public; refused before any connection
    db.commit()
    failed = poll(db, world.practice.id, settings.secret_key, allow_private=True, timeout=2)
    assert "Logging in sends the password" in failed.error


@pytest.mark.parametrize(
    ("security", "reason"),
    [
        (MailSecurity.TLS, "the encrypted connection failed"),  # TLS spoken to a plain IMAP port
        (MailSecurity.STARTTLS, "answered with an error"),  # a server that does not offer STARTTLS
    ],
)
def test_a_tls_mismatch_is_recorded_and_nothing_is_sent_in_clear(
    db, world, settings, mailbox_user, security, reason
):
    configure_mailbox(db, world.practice.id, mailbox_user, settings.secret_key)
    db.execute(update(PracticeMailbox).values(security=security))
    db.commit()
    log = mailbox_user.server.directory / "dovecot.log"
    before = log.stat().st_size
    failed = poll_once(db, settings, world.practice.id)
    assert reason in failed.error
    mailbox = mailbox_of(db, world.practice.id)
    assert mailbox.failing_since is not None and mailbox.uidvalidity is None
    time.sleep(0.2)  # let Dovecot write its log line
    with log.open() as written:
        written.seek(before)
        assert f"user=<{mailbox_user.name}>" not in written.read()  # no login was attempted


RECEIVING_POLLER = POLLER.replace("after_message=after", "after_receive=after")


def test_a_worker_killed_before_its_batch_commits_leaves_none_of_the_batch_and_it_is_read_again_once(
    db, world, settings, mailbox_user, database_url
):
    configure_mailbox(db, world.practice.id, mailbox_user, settings.secret_key)
    poll_once(db, settings, world.practice.id)  # first connection: from now on
    mailbox_user.append([reply(n) for n in range(1, 31)])
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            RECEIVING_POLLER,
            database_url,
            str(world.practice.id),
            settings.secret_key,
            "0.2",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    # Batches of 7: messages 1-7 committed together; 8, 9 and 10 received, their batch not committed.
    received = [worker.stdout.readline().strip() for _ in range(10)]
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    assert received == [str(n) for n in range(1, 11)]
    assert mailbox_of(db, world.practice.id).last_uid == 7
    assert recorded(db, world.practice.id) == ids(range(1, 8))
    db.execute(update(PracticeMailbox).values(lease_until=utcnow() - timedelta(seconds=1)))
    db.commit()
    result = poll_once(db, settings, world.practice.id)
    assert (result.received, result.duplicates, result.error) == (23, 0, "")
    assert recorded(db, world.practice.id) == ids(range(1, 31))
