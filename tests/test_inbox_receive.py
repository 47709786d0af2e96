"""Recording incoming email exactly once per practice and Message-ID, whatever fetched it."""

from __future__ import annotations

from sqlalchemy import func, select

from crossroads.core.inbox import receive
from crossroads.core.models import InboundMail

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
