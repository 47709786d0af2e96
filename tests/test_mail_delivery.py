"""Delivering the outbox through a real SMTP server (aiosmtpd in-process; see tests/mailserver.py).

No mocks: every test talks SMTP over a real socket, and the worker tests run
the real ``crossroads worker`` command in a subprocess.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, message_from_string
from email import policy as email_policy
from pathlib import Path

import pytest
from sqlalchemy import select

from crossroads.core.db import make_sessionmaker, utcnow
from crossroads.core.errors import InvalidInput
from crossroads.core.hookspecs import hookimpl
from crossroads.core.mail import outbox, smtp
from crossroads.core.mail.compose import build_email, new_message_id
from crossroads.core.mail.outbox import deliver, due_ids, mark_stale, queue_email, send_again
from crossroads.core.mail.queue import make_queue
from crossroads.core.models import (
    Contact,
    MailSecurity,
    MessageKind,
    MessageStatus,
    OutboxEmail,
    OutreachMessage,
    PracticeMail,
)
from crossroads.core.plugins import PluginManager
from crossroads.testing import TEST_SECRET_KEY
from tests.mailserver import BANNER, PASSWORD, USERNAME, configure_mail, free_port
from tests.processes import STOP_SECONDS, start_logged

SECRET = TEST_SECRET_KEY
PRACTICE_ADDRESS = "hello@northbridge.example"
CONTACT_ADDRESS = "zoe.ng@acme.example"


@pytest.fixture
def sessions(engine):
    """Sessions for deliver(), separate from the test's own ``db`` session, like a worker's."""
    return make_sessionmaker(engine)


def queue_message(
    db, world, subject: str = "A question about magazine editing", commit: bool = True, **fields
) -> tuple[OutboxEmail, OutreachMessage]:
    """An email from the world's client to their contact, in the outbox and linked to an outreach message."""
    client = world.client
    contact = db.scalar(select(Contact).where(Contact.client_id == client.id))
    values = {
        "practice_id": client.practice_id,
        "client_id": client.id,
        "sender_name": f"{client.user.name} via {world.practice.name}",
        "reply_to": client.user.email,
        "to_address": CONTACT_ADDRESS,
        "to_name": "Zoë Ng",
        "subject": subject,
        "body": "Dear Zoë,\n\nWould you have 20 minutes next week?\n\nClara",
    }
    values.update(fields)
    email = queue_email(db, **values)
    message = OutreachMessage(
        practice_id=client.practice_id,
        client_id=client.id,
        contact=contact,
        channel="email",
        kind=MessageKind.FIRST_REQUEST,
        subject=subject,
        body=values["body"],
        to_name=values["to_name"],
        to_address=values["to_address"],
        status=MessageStatus.QUEUED,
        outbox=email,
    )
    db.add(message)
    if commit:
        db.commit()
    return email, message


def reload(db, *rows):
    db.expire_all()
    return [db.get(type(row), row.id) for row in rows]


def run(sessions, email, now=None, **kwargs):
    kwargs.setdefault("allow_private", True)  # the test servers listen on 127.0.0.1
    return deliver(sessions, email.id, SECRET, now=now, **kwargs)


# -- delivered, with the right headers ----------------------------------------------------


def test_an_email_is_delivered_once_with_the_right_headers(world, db, sessions, smtp_server):
    configure_mail(db, world.practice.id, smtp_server, from_address=PRACTICE_ADDRESS)
    email, message = queue_message(db, world)

    assert run(sessions, email) == MessageStatus.SENT
    assert run(sessions, email) == MessageStatus.SENT  # a second call finds it sent and does nothing

    [received] = smtp_server.received
    assert received.reply == "250 OK"
    assert received.mail_from == PRACTICE_ADDRESS and received.rcpt_tos == [CONTACT_ADDRESS]
    mail = received.message
    [sender] = mail["From"].addresses
    assert sender.display_name == "Clara Client via Northbridge Coaching"
    assert sender.addr_spec == PRACTICE_ADDRESS
    assert str(mail["Reply-To"]) == "clara@client.example"
    [to] = mail["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Zoë Ng", CONTACT_ADDRESS)
    assert str(mail["Subject"]) == "A question about magazine editing"
    assert str(mail["Message-ID"]) == email.message_id
    assert email.message_id.endswith("@northbridge.example>")
    assert mail["Date"].datetime == email.created_at.replace(microsecond=0)
    assert mail.get_content_type() == "text/plain"
    assert "Would you have 20 minutes next week?" in mail.get_content()
    assert "In-Reply-To" not in mail and "References" not in mail

    email, message = reload(db, email, message)
    assert (email.status, email.attempts, email.last_error) == (MessageStatus.SENT, 1, "")
    assert (message.status, message.error) == (MessageStatus.SENT, "")
    assert message.sent_at == email.sent_at is not None


def test_a_display_name_with_quotes_and_commas_is_quoted(world, db, sessions, smtp_server):
    configure_mail(db, world.practice.id, smtp_server)
    email, _ = queue_message(db, world, sender_name='Ana "Nan" Ruiz, PhD via Northbridge')
    run(sessions, email)
    [sender] = smtp_server.received[0].message["From"].addresses
    assert sender.display_name == 'Ana "Nan" Ruiz, PhD via Northbridge'
    assert sender.addr_spec == "hello@northbridge.example"


SPOOFING_NAMES = [
    # Long enough for the header to be folded: Python's folder dropped the quotes, and the
    # name's address became the From (and To) that mail programs show.
    "Priya <ceo@bank.example> Chief Executive of everything at the bank",
    "A" * 60 + " <ceo@bank.example>",
    "Zoë <ceo@bank.example>, Chief Executive Officer of the Northbridge bank group",
    'Ana "Nan" Ruiz, PhD; <ceo@bank.example>\r\nBcc: ceo@bank.example',
]


@pytest.mark.parametrize("name", SPOOFING_NAMES)
@pytest.mark.parametrize("policy", [email_policy.strict, email_policy.default], ids=["strict", "default"])
def test_a_display_name_holding_an_address_never_becomes_the_sender_or_recipient(
    world, db, sessions, smtp_server, name, policy
):
    # Such names are refused at input now; rows written earlier must still go out safely.
    configure_mail(db, world.practice.id, smtp_server, from_address=PRACTICE_ADDRESS)
    email, _ = queue_message(db, world, sender_name=f"{name} via Northbridge", to_name=name)
    assert run(sessions, email) == MessageStatus.SENT

    [received] = smtp_server.received
    assert received.mail_from == PRACTICE_ADDRESS and received.rcpt_tos == [CONTACT_ADDRESS]
    mail = message_from_bytes(received.data, policy=policy)
    [sender] = mail["From"].addresses
    [to] = mail["To"].addresses
    assert (sender.addr_spec, to.addr_spec) == (PRACTICE_ADDRESS, CONTACT_ADDRESS)
    assert "Bcc" not in mail and "ceo@bank.example" not in str(mail["Reply-To"])
    shown = " ".join(name.split())  # line breaks go; Python's parser may double a space between words
    assert " ".join(to.display_name.split()) == shown
    assert " ".join(sender.display_name.split()) == f"{shown} via Northbridge"


def test_a_line_break_in_a_stored_subject_is_sent_on_one_line(world, db, sessions, smtp_server):
    configure_mail(db, world.practice.id, smtp_server)
    email, message = queue_message(db, world, subject="Coffee?\r\nBcc: someone@else.example")
    assert run(sessions, email) == MessageStatus.SENT
    [received] = smtp_server.received
    assert received.rcpt_tos == [CONTACT_ADDRESS]
    mail = message_from_bytes(received.data, policy=email_policy.strict)
    assert str(mail["Subject"]) == "Coffee? Bcc: someone@else.example" and "Bcc" not in mail


def test_follow_ups_and_thank_yous_thread_after_the_first_email(world, db, sessions, smtp_server):
    configure_mail(db, world.practice.id, smtp_server)
    first, _ = queue_message(db, world)
    run(sessions, first)
    follow_up, _ = queue_message(
        db, world, subject="Re: A question", in_reply_to=first.message_id, references=first.message_id
    )
    run(sessions, follow_up)
    thanks, _ = queue_message(
        db,
        world,
        subject="Thank you",
        in_reply_to=follow_up.message_id,
        references=f"{first.message_id} {follow_up.message_id}",
    )
    run(sessions, thanks)

    mails = [r.message for r in smtp_server.received]
    assert [str(m["Message-ID"]) for m in mails] == [
        first.message_id,
        follow_up.message_id,
        thanks.message_id,
    ]
    assert len({first.message_id, follow_up.message_id, thanks.message_id}) == 3
    assert str(mails[1]["In-Reply-To"]) == first.message_id
    assert str(mails[1]["References"]) == first.message_id
    assert str(mails[2]["In-Reply-To"]) == follow_up.message_id
    assert str(mails[2]["References"]).split() == [first.message_id, follow_up.message_id]


def test_a_calendar_invitation_carries_a_text_calendar_part_with_its_method(world, db, sessions, smtp_server):
    configure_mail(db, world.practice.id, smtp_server)
    ics = "\r\n".join(
        ["BEGIN:VCALENDAR", "VERSION:2.0", "METHOD:REQUEST", "BEGIN:VEVENT", "UID:x@test", "END:VEVENT"]
        + ["END:VCALENDAR", ""]
    )
    email, _ = queue_message(db, world, ics=ics, ics_method="REQUEST")
    run(sessions, email)
    mail = smtp_server.received[0].message
    assert mail.get_content_type() == "multipart/alternative"
    plain, calendar = mail.iter_parts()
    assert plain.get_content_type() == "text/plain" and "20 minutes" in plain.get_content()
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_param("method") == "REQUEST" and calendar.get_content_charset() == "utf-8"
    assert "UID:x@test" in calendar.get_content()


def test_the_message_sent_event_fires_in_the_workers_transaction(world, db, settings, smtp_server):
    seen = []

    class Recorder:
        @hookimpl
        def message_sent(self, session, message):
            seen.append((message.id, message.status))

    plugins = PluginManager(load_entry_points=False)
    plugins.register(Recorder(), "recorder")
    configure_mail(db, world.practice.id, smtp_server)
    _, message = queue_message(db, world)
    queue = make_queue(settings, plugins)
    try:
        assert queue.sweep_now() == 1
    finally:
        queue.close()
    assert seen == [(message.id, MessageStatus.SENT)]


# -- the password ---------------------------------------------------------------------------


def test_the_password_is_stored_encrypted_and_used_to_log_in(world, db, sessions, starttls_server, ca_file):
    configure_mail(db, world.practice.id, starttls_server, username=USERNAME, password=PASSWORD)
    stored = db.scalar(select(PracticeMail.password_encrypted))
    assert stored and PASSWORD not in stored and PASSWORD.encode().hex() not in stored
    email, _ = queue_message(db, world)
    assert run(sessions, email, ca_file=ca_file) == MessageStatus.SENT
    assert starttls_server.handler.logins == [(USERNAME, PASSWORD)]


def test_a_refused_password_fails_with_the_servers_answer(world, db, sessions, starttls_server, ca_file):
    configure_mail(db, world.practice.id, starttls_server, username=USERNAME, password="not the password")
    email, message = queue_message(db, world)
    assert run(sessions, email, ca_file=ca_file) == MessageStatus.FAILED
    email, message = reload(db, email, message)
    assert "535" in message.error and "user name or password" in message.error
    assert starttls_server.received == []


def test_a_password_is_never_sent_over_a_connection_without_tls(world, db, sessions, smtp_server):
    # Saved before this was refused at input: delivery refuses it too, naming the setting.
    configure_mail(db, world.practice.id, smtp_server, username=USERNAME, password=PASSWORD)
    email, message = queue_message(db, world)
    assert run(sessions, email) == MessageStatus.FAILED
    [message] = reload(db, message)
    assert "security setting" in message.error and "STARTTLS or TLS" in message.error
    assert smtp_server.handler.logins == [] and smtp_server.received == []


def test_a_password_saved_under_another_secret_key_fails_with_what_to_do(world, db, sessions, smtp_server):
    configure_mail(db, world.practice.id, smtp_server, username=USERNAME, password=PASSWORD, secret_key="old")
    email, message = queue_message(db, world)
    assert run(sessions, email) == MessageStatus.FAILED
    [message] = reload(db, message)
    assert "Enter the password again" in message.error


def test_a_practice_without_an_email_server_fails_with_a_clear_reason(world, db, sessions):
    email, message = queue_message(db, world)
    assert run(sessions, email) == MessageStatus.FAILED
    email, message = reload(db, email, message)
    assert email.last_error == message.error == "Your practice has not set up an email server yet"


# -- international addresses ----------------------------------------------------------------

INTERNATIONAL_ADDRESS = "łukasz@example.org"


def test_an_international_address_goes_with_smtputf8_when_the_server_offers_it(
    world, db, sessions, smtp_server
):
    configure_mail(db, world.practice.id, smtp_server)
    email, message = queue_message(db, world, to_address=INTERNATIONAL_ADDRESS, to_name="Łukasz Nowak")
    assert run(sessions, email) == MessageStatus.SENT
    [received] = smtp_server.received
    assert received.rcpt_tos == [INTERNATIONAL_ADDRESS]
    mail = message_from_string(received.data.decode("utf-8"), policy=email_policy.strict)
    [to] = mail["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Łukasz Nowak", INTERNATIONAL_ADDRESS)
    [message] = reload(db, message)
    assert message.status == MessageStatus.SENT


def test_an_international_address_fails_for_good_saying_the_server_lacks_smtputf8(
    world, db, sessions, ascii_only_server
):
    configure_mail(db, world.practice.id, ascii_only_server)
    email, message = queue_message(db, world, to_address=INTERNATIONAL_ADDRESS)
    assert run(sessions, email) == MessageStatus.FAILED
    email, message = reload(db, email, message)
    assert email.attempts == 1 and message.status == MessageStatus.FAILED
    assert "SMTPUTF8" in message.error and INTERNATIONAL_ADDRESS in message.error
    assert "international" in message.error
    assert ascii_only_server.received == []


def test_a_domain_in_another_script_goes_in_its_ascii_form_without_smtputf8(world, db, sessions, smtp_server):
    configure_mail(db, world.practice.id, smtp_server)
    email, _ = queue_message(db, world, to_address="zoe@bücher.example")
    assert run(sessions, email) == MessageStatus.SENT
    assert smtp_server.received[0].rcpt_tos == ["zoe@xn--bcher-kva.example"]


# -- the server's address and what it answers ------------------------------------------------


def test_delivery_refuses_a_server_on_a_private_address_unless_allowed(world, db, sessions, smtp_server):
    configure_mail(db, world.practice.id, smtp_server)
    email, message = queue_message(db, world)
    assert run(sessions, email, allow_private=False) == MessageStatus.FAILED
    [message] = reload(db, message)
    assert "private" in message.error and "CROSSROADS_SMTP_ALLOW_PRIVATE" in message.error
    assert smtp_server.received == []


def test_a_service_that_is_not_an_email_server_is_named_so_and_its_reply_not_repeated(
    world, db, sessions, banner_server
):
    configure_mail(db, world.practice.id, banner_server)
    email, message = queue_message(db, world)
    assert run(sessions, email) == MessageStatus.FAILED
    email, message = reload(db, email, message)
    assert "that server did not answer as an email server" in message.error
    assert "SSH" not in message.error and "secret-banner" not in message.error
    assert BANNER.decode().strip() not in email.last_error


# -- temporary failures retry ----------------------------------------------------------------


def test_a_server_that_is_down_is_retried_and_the_email_sent_once_it_is_up(
    world, db, sessions, stopped_smtp_server
):
    configure_mail(db, world.practice.id, stopped_smtp_server)
    email, message = queue_message(db, world)
    start = utcnow()

    assert run(sessions, email, now=start) == MessageStatus.QUEUED
    email, message = reload(db, email, message)
    assert email.attempts == 1 and email.next_attempt_at == start + timedelta(minutes=1)
    assert email.last_error.startswith("retrying: ") and "connection refused" in email.last_error
    assert (message.status, message.error) == (MessageStatus.QUEUED, email.last_error)

    # Not due yet: nothing is tried.
    assert run(sessions, email, now=start + timedelta(seconds=30)) == MessageStatus.QUEUED
    assert reload(db, email)[0].attempts == 1

    stopped_smtp_server.start()
    assert run(sessions, email, now=start + timedelta(seconds=61)) == MessageStatus.SENT
    assert len(stopped_smtp_server.received) == 1
    email, message = reload(db, email, message)
    assert (email.attempts, message.status, message.error) == (2, MessageStatus.SENT, "")


def test_a_4xx_answer_is_retried_and_the_email_sent_once(world, db, sessions, smtp_server):
    configure_mail(db, world.practice.id, smtp_server)
    smtp_server.handler.answer("451 4.3.0 Mailbox busy, try later")
    email, message = queue_message(db, world)
    start = utcnow()

    assert run(sessions, email, now=start) == MessageStatus.QUEUED
    [message] = reload(db, message)
    assert message.error == "retrying: The server refused the message: 451 4.3.0 Mailbox busy, try later"

    assert run(sessions, email, now=start + timedelta(minutes=1)) == MessageStatus.SENT
    assert [r.reply for r in smtp_server.received] == ["451 4.3.0 Mailbox busy, try later", "250 OK"]
    assert len(smtp_server.handler.accepted) == 1


def test_retries_back_off_and_give_up_after_ten_attempts(world, db, sessions, stopped_smtp_server):
    configure_mail(db, world.practice.id, stopped_smtp_server)
    email, message = queue_message(db, world)
    now = utcnow()
    waits = []
    for _ in range(9):
        assert run(sessions, email, now=now) == MessageStatus.QUEUED
        [email] = reload(db, email)
        waits.append(int((email.next_attempt_at - now).total_seconds() // 60))
        now = email.next_attempt_at
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert run(sessions, email, now=now) == MessageStatus.FAILED
    email, message = reload(db, email, message)
    assert email.attempts == 10
    assert message.error.startswith("Gave up after 10 attempts: Nothing answers at")


# -- permanent failures --------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_a_5xx_answer_fails_with_the_servers_text_and_is_not_retried(
    world, db, sessions, settings, smtp_server, stage
):
    configure_mail(db, world.practice.id, smtp_server)
    smtp_server.handler.answer("550 5.1.1 Mailbox unavailable", stage=stage, always=True)
    email, message = queue_message(db, world)
    assert run(sessions, email) == MessageStatus.FAILED
    email, message = reload(db, email, message)
    assert "550 5.1.1 Mailbox unavailable" in message.error and message.status == MessageStatus.FAILED
    assert email.last_error == message.error

    queue = make_queue(settings)
    try:
        assert queue.sweep_now() == 0  # a failed message waits for a person
    finally:
        queue.close()
    assert len(smtp_server.received) == (1 if stage == "DATA" else 0)


# -- the connection lost -------------------------------------------------------------------


def test_a_connection_dropped_before_the_end_of_the_message_is_retried_and_delivered_once(
    world, db, sessions, smtp_server
):
    configure_mail(db, world.practice.id, smtp_server)
    # Large enough that the sender is still writing when the server cuts the connection.
    body = "Dear Zoë,\n" + ("A long line of the attached essay, in plain words, to fill it.\n" * 140_000)
    email, message = queue_message(db, world, body=body)
    smtp_server.handler.drop_during_data = True
    start = utcnow()

    assert run(sessions, email, now=start) == MessageStatus.QUEUED
    [message] = reload(db, message)
    assert "before it was complete" in message.error
    assert smtp_server.received == []  # the server never saw the end of it

    assert run(sessions, email, now=start + timedelta(minutes=1)) == MessageStatus.SENT
    [received] = smtp_server.received
    assert received.message_id == email.message_id and received.reply == "250 OK"


def test_a_connection_lost_after_the_end_of_the_message_is_unknown_and_never_resent(
    world, db, sessions, settings, smtp_server
):
    configure_mail(db, world.practice.id, smtp_server)
    email, message = queue_message(db, world)
    smtp_server.handler.drop_after_data = True

    assert run(sessions, email) == MessageStatus.UNKNOWN
    email, message = reload(db, email, message)
    assert message.status == MessageStatus.UNKNOWN
    assert "connection was lost before the server said whether it accepted it" in message.error

    queue = make_queue(settings)
    try:
        for _ in range(2):
            assert queue.sweep_now() == 0
    finally:
        queue.close()
    assert run(sessions, email, now=utcnow() + timedelta(days=1)) == MessageStatus.UNKNOWN
    assert mark_stale(db, lease=timedelta(0)) == 0
    assert len(smtp_server.received) == 1
    assert reload(db, email)[0].status == MessageStatus.UNKNOWN


# -- TLS -------------------------------------------------------------------------------------


@pytest.mark.parametrize("server_fixture", ["starttls_server", "tls_server"])
def test_tls_with_a_trusted_certificate_delivers(world, db, sessions, request, ca_file, server_fixture):
    server = request.getfixturevalue(server_fixture)
    configure_mail(db, world.practice.id, server, username=USERNAME, password=PASSWORD)
    email, _ = queue_message(db, world)
    assert deliver(sessions, email.id, SECRET, ca_file=ca_file, allow_private=True) == MessageStatus.SENT
    assert len(server.handler.accepted) == 1 and server.handler.logins == [(USERNAME, PASSWORD)]


@pytest.mark.parametrize("server_fixture", ["starttls_server", "untrusted_tls_server"])
def test_an_untrusted_certificate_fails_permanently_with_a_clear_reason(
    world, db, sessions, request, tmp_path, server_fixture
):
    server = request.getfixturevalue(server_fixture)
    configure_mail(db, world.practice.id, server, username=USERNAME, password=PASSWORD)
    email, message = queue_message(db, world)
    # The system's authorities only for STARTTLS; the test CA for a server whose CA nobody trusts.
    ca_file = "" if server_fixture == "starttls_server" else request.getfixturevalue("ca_file")
    assert deliver(sessions, email.id, SECRET, ca_file=ca_file, allow_private=True) == MessageStatus.FAILED
    [message] = reload(db, message)
    assert "certificate" in message.error and "is not trusted" in message.error
    assert server.received == [] and server.handler.logins == []  # the password never left


def test_plain_smtp_is_refused_where_the_server_requires_starttls(world, db, sessions, starttls_server):
    configure_mail(db, world.practice.id, starttls_server, security=MailSecurity.NONE)
    email, message = queue_message(db, world)
    assert run(sessions, email) == MessageStatus.FAILED
    [message] = reload(db, message)
    assert "530" in message.error


def test_implicit_tls_against_a_plain_server_names_the_security_setting(world, db, sessions, smtp_server):
    configure_mail(db, world.practice.id, smtp_server, security=MailSecurity.TLS)
    email, message = queue_message(db, world)
    assert run(sessions, email) == MessageStatus.FAILED
    [message] = reload(db, message)
    assert "Check the security setting" in message.error


# -- never twice -----------------------------------------------------------------------------


def test_deliveries_racing_on_one_row_send_it_once(world, db, sessions, smtp_server):
    configure_mail(db, world.practice.id, smtp_server)
    email, _ = queue_message(db, world)
    barrier = threading.Barrier(4)
    results = []

    def race():
        barrier.wait()
        results.append(deliver(sessions, email.id, SECRET, allow_private=True))

    threads = [threading.Thread(target=race) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 4 and MessageStatus.SENT in results
    assert set(results) <= {MessageStatus.SENT, MessageStatus.SENDING}
    assert len(smtp_server.received) == 1
    assert reload(db, email)[0].attempts == 1


def test_send_again_queues_a_failed_message_and_refuses_others(world, db, sessions, smtp_server):
    configure_mail(db, world.practice.id, smtp_server)
    smtp_server.handler.answer("554 5.7.1 Rejected for policy reasons")
    email, message = queue_message(db, world)
    run(sessions, email)
    db.expire_all()

    send_again(db, email.id)
    db.commit()
    email, message = reload(db, email, message)
    assert (email.status, email.attempts, email.last_error) == (MessageStatus.QUEUED, 1, "")
    assert (message.status, message.error) == (MessageStatus.QUEUED, "")
    assert due_ids(db) == [email.id]

    assert run(sessions, email) == MessageStatus.SENT
    db.expire_all()
    with pytest.raises(InvalidInput) as refused:
        send_again(db, email.id)
    assert "status" in refused.value.errors
    db.rollback()


def test_send_again_clicked_twice_at_once_queues_the_message_once(world, db, sessions, smtp_server):
    configure_mail(db, world.practice.id, smtp_server)
    smtp_server.handler.answer("554 5.7.1 Rejected for policy reasons")
    email, _ = queue_message(db, world)
    run(sessions, email)
    barrier = threading.Barrier(2)
    outcomes = []

    def click():
        with sessions() as session:
            barrier.wait()
            try:
                send_again(session, email.id)
                session.commit()
                outcomes.append("queued")
            except InvalidInput:
                session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["queued", "refused"]


def test_a_row_sending_longer_than_the_lease_becomes_unknown_not_queued(world, db):
    email, message = queue_message(db, world)
    claimed = utcnow() - timedelta(minutes=11)
    email.status, email.claimed_at, email.attempts = MessageStatus.SENDING, claimed, 1
    message.status = MessageStatus.SENDING
    fresh, _ = queue_message(db, world, commit=False)
    fresh.status, fresh.claimed_at = MessageStatus.SENDING, utcnow() - timedelta(minutes=2)
    db.commit()

    assert mark_stale(db) == 1
    db.commit()
    email, message, fresh = reload(db, email, message, fresh)
    assert email.status == message.status == MessageStatus.UNKNOWN
    assert message.error == outbox.STALE and "check your sent mail" in message.error
    assert fresh.status == MessageStatus.SENDING  # its worker may still be at it
    assert due_ids(db) == []


# -- the queue: Huey on SQLite and on Redis --------------------------------------------------


def test_a_commit_wakes_a_background_worker_on_the_sqlite_queue(world, db, settings, smtp_server, wait_until):
    configure_mail(db, world.practice.id, smtp_server)
    queue = make_queue(settings)
    consumer = queue.start_background(workers=2)
    try:
        queue.attach(db)
        email, _ = queue_message(db, world)  # the commit enqueues it
        smtp_server.handler.wait_for(1)
        wait_until(lambda: reload(db, email)[0].status == MessageStatus.SENT)
    finally:
        consumer.stop(graceful=True)
        queue.close()
    assert settings.queue_path.exists()
    assert len(smtp_server.received) == 1


def test_a_rolled_back_transaction_enqueues_nothing(world, db, settings):
    queue = make_queue(settings)
    queue.attach(db)
    queue_message(db, world, commit=False)
    assert len(db.info[outbox.NEW_ROWS_KEY]) == 1
    db.rollback()
    assert outbox.NEW_ROWS_KEY not in db.info
    assert queue.huey.pending_count() == 0


def test_a_plugins_rolled_back_savepoint_keeps_the_other_emails_wake_up(world, db, settings):
    queue = make_queue(settings)
    queue.attach(db)
    kept, _ = queue_message(db, world, commit=False)
    with pytest.raises(RuntimeError), db.begin_nested():  # as a plugin's failed hook would
        queue_message(db, world, subject="Dropped with the savepoint", commit=False)
        raise RuntimeError
    db.commit()
    assert [task.args for task in queue.huey.pending()] == [(kept.id,)]


@pytest.fixture
def redis_settings(settings):
    settings.redis_url = "redis://127.0.0.1:6379/0"
    return settings


def test_the_queue_runs_on_redis(world, db, redis_settings, smtp_server, wait_until):
    configure_mail(db, world.practice.id, smtp_server)
    queue = make_queue(redis_settings, name=f"crossroads-test-{uuid.uuid4().hex}")
    assert type(queue.huey).__name__ == "RedisHuey"
    consumer = queue.start_background(workers=2)
    try:
        queue.attach(db)
        emails = [queue_message(db, world, subject=f"Question {n}")[0] for n in range(3)]
        smtp_server.handler.wait_for(3)
        wait_until(lambda: {e.status for e in reload(db, *emails)} == {MessageStatus.SENT})
    finally:
        consumer.stop(graceful=True)
        queue.huey.storage.flush_all()
        queue.close()
    assert sorted(r.message_id for r in smtp_server.received) == sorted(e.message_id for e in emails)


def test_enqueueing_while_redis_is_unreachable_loses_nothing(world, db, redis_settings, smtp_server, caplog):
    configure_mail(db, world.practice.id, smtp_server)
    redis_settings.redis_url = "redis://127.0.0.1:1/0"  # nothing listens there
    queue = make_queue(redis_settings, name=f"crossroads-test-{uuid.uuid4().hex}")
    queue.attach(db)
    with caplog.at_level(logging.WARNING, logger="crossroads.core.mail.queue"):
        email, _ = queue_message(db, world)  # the commit succeeds; waking the worker does not
    assert "the next sweep will send it" in caplog.text
    assert reload(db, email)[0].status == MessageStatus.QUEUED
    try:
        assert queue.sweep_now() == 1
    finally:
        queue.close()
    assert reload(db, email)[0].status == MessageStatus.SENT
    assert len(smtp_server.received) == 1


def test_the_minutes_sweep_hands_a_backlog_to_every_worker_thread_once(world, db, settings, smtp_server):
    configure_mail(db, world.practice.id, smtp_server)
    emails = [queue_message(db, world, subject=f"Backlog {n}")[0] for n in range(4)]  # no worker woken
    queue = make_queue(settings, name=f"crossroads-test-{uuid.uuid4().hex}")
    try:
        assert queue.sweep_to_workers() == 4
        assert sorted(task.args for task in queue.huey.pending() if task.name == "deliver") == sorted(
            (e.id,) for e in emails
        )
        assert queue.sweep_to_workers() == 0  # still waiting in the queue: not handed out twice
    finally:
        queue.close()
    assert {e.status for e in reload(db, *emails)} == {MessageStatus.QUEUED}


def test_the_sweep_sends_here_what_the_queue_cannot_take(world, db, redis_settings, smtp_server):
    configure_mail(db, world.practice.id, smtp_server)
    email, _ = queue_message(db, world)
    redis_settings.redis_url = "redis://127.0.0.1:1/0"  # nothing listens there
    queue = make_queue(redis_settings, name=f"crossroads-test-{uuid.uuid4().hex}")
    try:
        assert queue.sweep_to_workers() == 0
    finally:
        queue.close()
    assert reload(db, email)[0].status == MessageStatus.SENT
    assert len(smtp_server.received) == 1


# -- the real worker process, killed mid-send ----------------------------------------------


def worker_env(database_url: str, instance: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CROSSROADS_") or k == "CROSSROADS_PLUGINS"
    }
    env.update(
        CROSSROADS_DATABASE_URL=database_url,
        CROSSROADS_INSTANCE=str(instance),
        CROSSROADS_SECRET_KEY=SECRET,
        CROSSROADS_SMTP_ALLOW_PRIVATE="1",  # the test server listens on 127.0.0.1
    )
    return env


def swept(log: Path) -> bool:
    """Whether a worker's log shows a finished sweep."""
    return any("queue.sweep" in line and "executed in" in line for line in log.read_text().splitlines())


def test_a_worker_killed_mid_send_leaves_the_email_unknown_and_it_is_not_resent(
    world, db, settings, database_url, tmp_path, smtp_server, wait_until
):
    configure_mail(db, world.practice.id, smtp_server)
    smtp_server.handler.block()  # the server takes the message and holds its answer
    email, message = queue_message(db, world)
    env = worker_env(database_url, tmp_path / "instance")

    first_log = tmp_path / "worker-1.log"
    worker = start_logged(["worker", "--workers", "1"], env, first_log)
    try:
        smtp_server.handler.wait_for(1, timeout=60)  # it sweeps on start and sends
        assert reload(db, email)[0].status == MessageStatus.SENDING
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(STOP_SECONDS)
    finally:
        if worker.poll() is None:
            worker.kill()
    smtp_server.handler.release()

    assert mark_stale(db, lease=timedelta(0)) == 1
    db.commit()
    email, message = reload(db, email, message)
    assert email.status == message.status == MessageStatus.UNKNOWN
    assert message.error == outbox.STALE

    # A new worker starts and sweeps: the unknown email is left alone.
    second_log = tmp_path / "worker-2.log"
    worker = start_logged(["worker", "--workers", "2"], env, second_log)
    try:
        wait_until(lambda: swept(second_log), 60, "the new worker never swept")
        worker.send_signal(signal.SIGINT)  # Ctrl-C stops it cleanly
        assert worker.wait(STOP_SECONDS) == 0, second_log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
    assert len(smtp_server.received) == 1
    assert reload(db, email)[0].status == MessageStatus.UNKNOWN

    # A person checked their sent mail and decides to send it again.
    send_again(db, email.id)
    db.commit()
    queue = make_queue(settings)
    try:
        assert queue.sweep_now() == 1
    finally:
        queue.close()
    email, message = reload(db, email, message)
    assert email.status == message.status == MessageStatus.SENT and email.attempts == 2
    assert len(smtp_server.received) == 2


def test_serve_sends_email_from_a_worker_inside_it(world, db, database_url, tmp_path, smtp_server):
    configure_mail(db, world.practice.id, smtp_server)
    email, _ = queue_message(db, world)
    port = str(free_port())
    log = tmp_path / "serve.log"
    server = start_logged(["serve", "--port", port], worker_env(database_url, tmp_path / "i"), log)
    try:
        smtp_server.handler.wait_for(1, timeout=60)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            server.kill()
    assert "Sending email in the background" in log.read_text()
    assert reload(db, email)[0].status == MessageStatus.SENT


def test_serve_no_worker_sends_nothing(world, db, database_url, tmp_path, smtp_server, wait_until):
    configure_mail(db, world.practice.id, smtp_server)
    email, _ = queue_message(db, world)
    log = tmp_path / "serve.log"
    env = worker_env(database_url, tmp_path / "i")
    server = start_logged(["serve", "--no-worker", "--port", str(free_port())], env, log)
    try:
        wait_until(lambda: "is running at" in log.read_text(), 60, "serve did not start")
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(STOP_SECONDS)
    assert "Sending email" not in log.read_text()
    assert reload(db, email)[0].status == MessageStatus.QUEUED


# -- smtp.send on its own ------------------------------------------------------------------


def test_send_reports_connection_refused_as_temporary(world, db, stopped_smtp_server):
    email, _ = queue_message(db, world)
    server = smtp.SmtpServer(
        "127.0.0.1", stopped_smtp_server.port, MailSecurity.NONE, timeout=5, allow_private=True
    )
    with pytest.raises(smtp.TemporaryFailure, match="connection refused"):
        smtp.send(server, build_email(email, PRACTICE_ADDRESS))


def test_a_message_id_is_unique_and_on_the_senders_domain():
    ids = {new_message_id("Hello@Northbridge.Example") for _ in range(100)}
    assert len(ids) == 100
    assert all(i.startswith("<") and i.endswith("@northbridge.example>") for i in ids)


def test_date_header_is_the_time_the_email_was_written(world, db):
    email, _ = queue_message(db, world)
    email.created_at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    assert build_email(email, PRACTICE_ADDRESS)["Date"] == "Fri, 20 Nov 2026 09:30:00 +0000"


def test_a_message_that_fails_is_a_message_failed_webhook_delivery(world, db, sessions):
    from crossroads.core.models import WebhookDelivery, WebhookSubscription

    db.add(
        WebhookSubscription(
            practice_id=world.practice.id,
            url="https://hooks.example.org/x",
            events=["message.failed"],
            secret="whsec_dGVzdA==",
        )
    )
    db.commit()
    email, message = queue_message(db, world)
    assert run(sessions, email) == MessageStatus.FAILED
    db.expire_all()
    [delivery] = db.scalars(select(WebhookDelivery)).all()
    assert delivery.event == "message.failed"
    assert delivery.payload["data"]["id"] == message.id
    assert delivery.payload["data"]["status"] == "failed"
    assert delivery.payload["data"]["error"] == "Your practice has not set up an email server yet"
