"""Processing recorded mail: each message once under two processors or a processor killed midway
(no second notification, no second copy to the client), a message that keeps failing given up and
shown to the owner and by ``crossroads check``, and the worker woken by the commit that recorded it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crossroads.core.db import utcnow
from crossroads.core.inbox import Incoming, record
from crossroads.core.inbox import pending as pending_module
from crossroads.core.inbox.pending import LEASE, MAX_ATTEMPTS, failed_mail, process_pending
from crossroads.core.models import (
    Contact,
    InboundKind,
    InboundMail,
    Notification,
    NotificationKind,
    OutboxEmail,
    Stage,
)
from crossroads.core.production_check import Status, check_incoming_mail
from crossroads.testing import make_contact
from tests import test_inbox_process as inbox

ROOT = Path(__file__).resolve().parents[1]
# The fixtures of tests/test_inbox_process.py, shared.
practice_mail, sessions = inbox.practice_mail, inbox.sessions


def replies(db, world, count: int) -> list[bytes]:
    """``count`` contacts of the client, each sent a first request, and each one's reply."""
    raws = []
    for n in range(count):
        contact = make_contact(db, world.client, f"Person {n}", "Acme", "Editor", email=f"p{n}@acme.example")
        db.commit()
        message = inbox.send_request(db, world, contact, subject=f"{inbox.SUBJECT} ({n})")
        raw = inbox.incoming("reply_in_reply_to.eml", **inbox.values_for(message))
        raws.append(raw.replace(b"CAzoe-reply-0001", b"reply-%d" % n))
    return raws


def record_all(db, world, raws: list[bytes]) -> None:
    record(db, world.practice.id, [Incoming(raw, "imap") for raw in raws])
    db.commit()


def effects(db, world) -> tuple[int, int, list[InboundKind]]:
    """Copies queued to the client, reply notifications, and the kind of each recorded message."""
    db.expire_all()
    copies = db.scalar(
        select(func.count())
        .select_from(OutboxEmail)
        .where(OutboxEmail.to_address == world.client.user.email, OutboxEmail.subject.contains("replied"))
    )
    notices = db.scalar(
        select(func.count()).select_from(Notification).where(Notification.kind == NotificationKind.REPLY)
    )
    kinds = list(db.scalars(select(InboundMail.kind).order_by(InboundMail.id)))
    return copies, notices, kinds


def test_processing_after_recording_moves_the_contact_once(db, world, practice_mail, sessions):
    [raw] = replies(db, world, 1)
    record_all(db, world, [raw])
    assert effects(db, world)[2] == [InboundKind.PENDING]
    first = process_pending(sessions)
    again = process_pending(sessions)
    assert (first.processed, first.failed, again.processed) == (1, 0, 0)
    copies, notices, kinds = effects(db, world)
    assert kinds == [InboundKind.REPLY] and copies == 1 and notices >= 1
    assert db.scalar(select(Contact.stage).where(Contact.email == "p0@acme.example")) == Stage.REPLIED
    mail = db.scalar(select(InboundMail))
    assert mail.processed_at is not None and mail.attempts == 1 and mail.error == ""


def test_two_processors_at_once_process_each_message_once(db, world, practice_mail, sessions):
    raws = replies(db, world, 12)
    record_all(db, world, raws)
    results = []
    start = threading.Barrier(2)

    def run():
        start.wait()
        results.append(process_pending(sessions, claim_size=3, after_process=lambda _id: time.sleep(0.01)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sum(r.processed for r in results) == 12 and sum(r.failed for r in results) == 0
    copies, notices, kinds = effects(db, world)
    assert kinds == [InboundKind.REPLY] * 12 and copies == 12
    one_notice = notices / 12
    assert one_notice == int(one_notice) and one_notice >= 1  # the same notifications for each reply
    assert db.scalar(select(func.max(InboundMail.attempts))) == 1


PROCESSOR = textwrap.dedent(
    """
    import sys, time
    from crossroads.core.db import make_engine, make_sessionmaker
    from crossroads.core.inbox.pending import process_pending

    def after(mail_id):
        print(mail_id, flush=True)
        time.sleep(60)  # killed here: processed, not committed

    process_pending(make_sessionmaker(make_engine(sys.argv[1])), after_process=after)
    """
)


def test_a_processor_killed_mid_message_leaves_it_to_be_processed_once_after_the_lease(
    db, world, practice_mail, sessions, database_url
):
    raws = replies(db, world, 3)
    record_all(db, world, raws)
    worker = subprocess.Popen(
        [sys.executable, "-c", PROCESSOR, database_url], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        killed_at = int(worker.stdout.readline())
    finally:
        worker.kill()
        worker.wait()
    assert effects(db, world) == (0, 0, [InboundKind.PENDING] * 3)  # nothing of it was committed
    # The dead worker had claimed all three: its claim holds until the lease runs out.
    assert process_pending(sessions).processed == 0
    later = utcnow() + LEASE + timedelta(seconds=1)
    deadline, done = time.monotonic() + 10, 0
    while done < 3 and time.monotonic() < deadline:  # PostgreSQL ends the dead session's transaction
        done += process_pending(sessions, now=later).processed
    assert done == 3
    copies, notices, kinds = effects(db, world)
    assert kinds == [InboundKind.REPLY] * 3 and copies == 3 and notices % 3 == 0
    assert db.get(InboundMail, killed_at).attempts == 2
    assert process_pending(sessions, now=later + LEASE * 2).processed == 0  # and never again
    assert effects(db, world)[:2] == (copies, notices)


@pytest.fixture
def breaking(monkeypatch):
    """Processing raises for any message whose subject says "boom"."""
    real = pending_module.process

    def process(session, mail, message):
        if "boom" in mail.subject:
            raise RuntimeError("the classifier tripped over it")
        real(session, mail, message)

    monkeypatch.setattr(pending_module, "process", process)


def test_a_message_that_keeps_failing_is_given_up_after_the_last_attempt_and_shown(
    db, world, practice_mail, sessions, breaking, as_user, engine
):
    good, bad = replies(db, world, 2)
    bad = bad.replace(inbox.SUBJECT.encode(), b"boom")
    record_all(db, world, [good, bad])
    first = process_pending(sessions)
    assert (first.processed, first.failed) == (1, 1)  # the failure holds nothing else up
    mail = db.scalar(select(InboundMail).where(InboundMail.subject.contains("boom")))
    db.refresh(mail)
    assert mail.kind == InboundKind.PENDING and mail.attempts == 1
    assert mail.error == "RuntimeError: the classifier tripped over it"
    assert failed_mail(db, world.practice.id) == []  # it will be tried again
    assert process_pending(sessions).failed == 0  # not before its lease has run out
    now = utcnow()
    for attempt in range(2, MAX_ATTEMPTS + 1):
        now += LEASE + timedelta(seconds=1)
        assert process_pending(sessions, now=now).failed == 1, attempt
    now += LEASE + timedelta(seconds=1)
    given_up = process_pending(sessions, now=now)
    assert (given_up.processed, given_up.failed) == (0, 0)
    db.refresh(mail)
    assert mail.attempts == MAX_ATTEMPTS and mail.kind == InboundKind.PENDING
    assert [m.id for m in failed_mail(db, world.practice.id)] == [mail.id]
    assert effects(db, world)[0] == 1  # only the good one was forwarded

    html = as_user(world.owner).get("/practice/email").get_data(as_text=True)
    assert "1 incoming message could not be read" in html
    assert "RuntimeError: the classifier tripped over it" in html and "boom" in html
    [check] = check_incoming_mail(engine)
    assert check.status == Status.WARN and "1 message(s) could not be processed" in check.reason


def test_mail_recorded_long_ago_and_not_processed_is_reported_by_check(db, world, engine):
    record(db, world.practice.id, [Incoming(inbox.incoming("unrelated_newsletter.eml"), "post")])
    db.commit()
    assert check_incoming_mail(engine)[0].status == Status.OK  # just arrived: the worker is on it
    mail = db.scalar(select(InboundMail))
    mail.received_at = utcnow() - timedelta(hours=1)
    db.commit()
    [check] = check_incoming_mail(engine)
    assert check.status == Status.WARN and "is `crossroads worker` running?" in check.reason


def test_the_commit_that_records_mail_wakes_the_worker_for_its_practice(db, world, settings):
    from crossroads.core.mail.queue import MailQueue

    queue = MailQueue(settings, name="test-wake-inbox")
    woken: list[int | None] = []
    queue.enqueue_processing = woken.append  # type: ignore[method-assign]
    queue.attach(db)
    record(db, world.practice.id, [Incoming(inbox.incoming("unrelated_newsletter.eml"), "post")])
    assert woken == []  # not before the commit
    db.commit()
    assert woken == [world.practice.id]
    record(db, world.practice.id, [Incoming(inbox.incoming("unrelated_newsletter.eml"), "post")])
    db.commit()  # recorded before: nothing new, nobody woken
    assert woken == [world.practice.id]
