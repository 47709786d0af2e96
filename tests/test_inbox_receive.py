"""Recording incoming email exactly once per practice and Message-ID, whatever fetched it, in one
statement per batch; processing comes after (tests/test_inbox_pending.py)."""

from __future__ import annotations

from sqlalchemy import func, select

from crossroads.core.inbox import Incoming, receive, record
from crossroads.core.models import InboundKind, InboundMail

RAW = (
    b"From: Zoe Ng <zoe.ng@acme.example>\r\n"
    b"To: replies@northbridge.example\r\n"
    b"Subject: Re: A question about magazine editing\r\n"
    b"Message-ID: <reply-1@acme.example>\r\n"
    b"\r\n"
    b"Happy to talk next week.\r\n"
)


def count(db) -> int:
    return db.scalar(select(func.count()).select_from(InboundMail))


def test_a_message_is_recorded_whole_once_even_when_fetched_twice(db, world):
    first, created = receive(db, world.practice.id, RAW, source="imap", source_ref="7:1")
    again, created_again = receive(db, world.practice.id, RAW, source="post")
    db.commit()
    assert (created, created_again) == (True, False)
    assert again.id == first.id and count(db) == 1
    assert first.raw == RAW and first.message_id == "<reply-1@acme.example>"
    assert first.from_address == "Zoe Ng <zoe.ng@acme.example>" and first.source == "imap"


def test_a_message_without_message_id_is_keyed_by_its_bytes(db, world):
    raw = RAW.replace(b"Message-ID: <reply-1@acme.example>\r\n", b"")
    mail, _ = receive(db, world.practice.id, raw, source="post")
    _, created = receive(db, world.practice.id, raw, source="post")
    other, created_other = receive(db, world.practice.id, raw + b"PS.\r\n", source="post")
    assert mail.message_id.startswith("<sha256-") and not created
    assert created_other and other.id != mail.id


def test_the_same_message_id_in_two_practices_is_two_records(db, world):
    receive(db, world.practice.id, RAW, source="post")
    _, created = receive(db, world.stranger_practice.id, RAW, source="post")
    assert created and count(db) == 2


def test_header_folding_in_the_subject_cannot_smuggle_lines(db, world):
    raw = RAW.replace(b"Subject: Re: A question", b"Subject: Re:\r\n Bcc: x@evil.example\r\n A question")
    mail, _ = receive(db, world.practice.id, raw, source="post")
    assert "\n" not in mail.subject and "\r" not in mail.subject


def numbered(n: int) -> bytes:
    return RAW.replace(b"<reply-1@acme.example>", b"<reply-%d@acme.example>" % n)


def test_a_recorded_message_waits_for_processing_with_only_its_headers_read(db, world):
    [(mail_id, message_id)] = record(db, world.practice.id, [Incoming(RAW, "imap", "7:1")])
    db.commit()
    mail = db.get(InboundMail, mail_id)
    assert message_id == "<reply-1@acme.example>" and mail.kind == InboundKind.PENDING
    assert (mail.processed_at, mail.text, mail.attempts, mail.error) == (None, "", 0, "")
    assert mail.subject == "Re: A question about magazine editing" and mail.source_ref == "7:1"


def test_recording_a_batch_is_one_statement_however_many_messages_it_holds(db, world):
    from .test_caseload import count_queries

    statements_per_batch = []
    start = 0
    for size in (1, 5, 50):
        with count_queries() as statements:
            created = record(
                db, world.practice.id, [Incoming(numbered(n), "imap") for n in range(start, start + size)]
            )
        db.commit()
        assert len(created) == size
        statements_per_batch.append(len(statements))
        start += size
    assert statements_per_batch == [1, 1, 1]
    assert count(db) == 56


def test_a_batch_skips_what_was_recorded_before_and_its_own_repeats(db, world):
    record(db, world.practice.id, [Incoming(numbered(n), "post") for n in range(3)])
    db.commit()
    again = [Incoming(numbered(n), "imap") for n in (1, 2, 3, 3, 4)]
    created = record(db, world.practice.id, again)
    db.commit()
    assert [message_id for _, message_id in created] == ["<reply-3@acme.example>", "<reply-4@acme.example>"]
    assert count(db) == 5
