"""The outbox sends a backlog over one SMTP connection per worker thread (issue 18): the connection
is kept for the next message to the same server, checked with RSET, and replaced when it has gone."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from crossroads.core.mail import smtp
from crossroads.core.models import MailSecurity


def message(n: int) -> EmailMessage:
    email = EmailMessage()
    email["From"] = "hello@northbridge.example"
    email["To"] = f"person{n}@example.org"
    email["Subject"] = f"Message {n}"
    email["Message-ID"] = f"<reuse-{n}@northbridge.example>"
    email.set_content("Hello")
    return email


@pytest.fixture
def greetings(mail_handler) -> list[str]:
    """Every EHLO the test server hears: one per connection."""
    heard: list[str] = []

    async def handle_EHLO(server, session, envelope, hostname, responses):
        heard.append(hostname)
        session.host_name = hostname  # what aiosmtpd does when no hook answers EHLO
        return responses

    mail_handler.handle_EHLO = handle_EHLO
    yield heard
    smtp.close_kept()


def server_of(running) -> smtp.SmtpServer:
    return smtp.SmtpServer("127.0.0.1", running.port, MailSecurity.NONE, timeout=5, allow_private=True)


def test_a_backlog_goes_over_one_connection(smtp_server, mail_handler, greetings):
    for n in range(6):
        smtp.send(server_of(smtp_server), message(n))
    assert len(mail_handler.received) == 6
    assert len(greetings) == 1


def test_a_connection_the_server_closed_is_replaced_and_nothing_is_lost(smtp_server, mail_handler, greetings):
    smtp.send(server_of(smtp_server), message(1))
    smtp_server.stop()  # the kept connection dies with the server
    smtp_server.start()
    smtp.send(server_of(smtp_server), message(2))
    assert [r.message_id for r in mail_handler.received] == [
        "<reuse-1@northbridge.example>",
        "<reuse-2@northbridge.example>",
    ]
    assert len(greetings) == 2


def test_a_connection_is_not_kept_past_its_idle_time_or_its_share_of_messages(
    smtp_server, mail_handler, greetings, monkeypatch
):
    monkeypatch.setattr(smtp, "KEEP_MESSAGES", 2)
    for n in range(5):
        smtp.send(server_of(smtp_server), message(n))
    assert len(greetings) == 3  # 2 + 2 + 1
    monkeypatch.setattr(smtp, "KEEP_IDLE_SECONDS", 0.0)
    smtp.send(server_of(smtp_server), message(5))
    assert len(greetings) == 4 and len(mail_handler.received) == 6


def test_another_servers_message_gets_its_own_connection(smtp_server, mail_handler, greetings):
    smtp.send(server_of(smtp_server), message(1))
    other = server_of(smtp_server)
    other.timeout = 7  # other settings: not the same server as far as keeping goes
    smtp.send(other, message(2))
    assert len(greetings) == 2 and len(mail_handler.received) == 2
