"""A channel's own transport goes through the outbox: the same claim, retries, unknown and pages as email.

The test channel below delivers over HTTP (``crossroads.plugin.post_json``) to a real HTTP server
on 127.0.0.1, run in a thread; nothing is mocked.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from crossroads.core.db import make_sessionmaker, utcnow
from crossroads.core.hookspecs import hookimpl
from crossroads.core.mail.outbox import (
    NO_TRANSPORT,
    STALE_ELSEWHERE,
    deliver,
    due_ids,
    mark_stale,
    queue_email,
    queue_outbox,
)
from crossroads.core.mail.queue import make_queue
from crossroads.core.models import Contact, MessageKind, MessageStatus, OutboxEmail, OutreachMessage
from crossroads.core.outreach.transports import PAYLOAD_LIMIT, plugin_transports
from crossroads.plugin import (
    Channel,
    Delivery,
    Envelope,
    Limit,
    MessageFormat,
    Outcome,
    TemplateText,
    Transport,
    post_json,
)
from crossroads.testing import TEST_SECRET_KEY
from tests.mailserver import free_port

SECRET = TEST_SECRET_KEY
NAME = "webhook_test"


# -- a local HTTP server that answers as each test scripts it ----------------------------------------


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        server: HookServer = self.server  # type: ignore[assignment]
        with server.lock:
            server.received.append(
                SimpleNamespace(path=self.path, headers=dict(self.headers), json=json.loads(body))
            )
            status, text, hang = server.script.pop(0) if server.script else (200, "ok", 0.0)
        if hang:
            time.sleep(hang)  # the whole request is in; the answer comes too late
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(text.encode())
        except OSError:  # the sender stopped waiting
            pass

    def log_message(self, *args) -> None:
        pass


class HookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.received: list[SimpleNamespace] = []
        self.script: list[tuple[int, str, float]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/requests"

    def answer(self, status: int, text: str = "", hang: float = 0.0) -> None:
        """The next request gets this answer (after ``hang`` seconds)."""
        self.script.append((status, text, hang))


@pytest.fixture(autouse=True)
def _loopback_allowed(monkeypatch):
    """The test server is on 127.0.0.1, which only an administrator's allowance reaches."""
    monkeypatch.setenv("CROSSROADS_SMTP_ALLOW_PRIVATE", "1")


@pytest.fixture
def hook_server():
    server = HookServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# -- the test channel and its transport ------------------------------------------------------------


class WebhookTransport(Transport):
    """POSTs the message as JSON to the URL in the row's payload."""

    name = NAME
    label = "the test web service"

    def send(self, envelope: Envelope) -> Outcome:
        data = {"to": envelope.to_address, "subject": envelope.subject, "body": envelope.body}
        return post_json(envelope.payload["url"], data, timeout=envelope.timeout, key=envelope.key)


class WebhookChannel(Channel):
    name = NAME
    label = "Web service"
    kinds = (MessageKind.FIRST_REQUEST,)
    transport = WebhookTransport()
    url = ""

    def formats(self, context):
        return [MessageFormat("message", self.label, subject=Limit(max=200))]

    def default_template(self, kind, format):
        return TemplateText(subject="Hello", body="Dear {{ contact.first_name }}")

    def deliver(self, message, context):
        message.to_address = context.contact.email or ""
        message.outbox = queue_outbox(
            context.session,
            self.transport.name,
            practice_id=context.practice.id,
            client_id=context.client.id,
            to_address=message.to_address,
            to_name=context.contact.name,
            subject=message.subject,
            body=message.body,
            payload={"url": self.url},
        )
        return Delivery(queued=True)


@pytest.fixture
def channel(hook_server):
    made = WebhookChannel()
    made.url = hook_server.url
    return made


@pytest.fixture
def plugins(plugins, channel):
    """The installed plugins, and a test plugin offering the web service channel."""
    plugins.register(SimpleNamespace(outreach_channels=hookimpl(lambda: channel)), "webhook_plugin")
    return plugins


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


def contact_of(db, world) -> Contact:
    return db.scalar(select(Contact).where(Contact.client_id == world.client.id))


def write(as_user, world, db, subject="May I ask you about editing?") -> OutreachMessage:
    """The client sends a message on the test channel through the compose page."""
    contact = contact_of(db, world)
    response = as_user(world.client.user).post(
        f"/contacts/{contact.id}/write",
        data={
            "channel": NAME,
            "kind": "first_request",
            "format": "message",
            "subject": subject,
            "body": "Hi",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.expire_all()
    return db.scalar(select(OutreachMessage).where(OutreachMessage.channel == NAME))


def text_of(page) -> str:
    """A page's words, without tags or escapes, spaces made single."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.html)).split())


def run(sessions, plugins, message, **kwargs):
    return deliver(sessions, message.outbox_id, SECRET, transports=plugin_transports(plugins), **kwargs)


def reload(db, message) -> tuple[OutreachMessage, OutboxEmail]:
    db.expire_all()
    message = db.get(OutreachMessage, message.id)
    return message, db.get(OutboxEmail, message.outbox_id)


# -- delivered ------------------------------------------------------------------------------------


def test_a_channels_own_transport_delivers_its_message_once_through_the_outbox(
    app, db, world, as_user, sessions, plugins, hook_server
):
    message = write(as_user, world, db)
    message, row = reload(db, message)
    assert (row.transport, row.payload, row.status) == (NAME, {"url": hook_server.url}, MessageStatus.QUEUED)
    assert message.status == MessageStatus.QUEUED

    assert run(sessions, plugins, message) == MessageStatus.SENT
    assert run(sessions, plugins, message) == MessageStatus.SENT  # found sent: nothing more goes

    [request] = hook_server.received
    assert request.path == "/requests"
    assert request.json == {"to": message.to_address, "subject": "May I ask you about editing?", "body": "Hi"}
    assert request.headers["Idempotency-Key"] == row.message_id
    message, row = reload(db, message)
    assert (message.status, row.attempts, row.last_error) == (MessageStatus.SENT, 1, "")
    page = text_of(as_user(world.client.user).page(f"/messages/{message.id}"))
    assert "Sent" in page


def test_the_queue_finds_the_plugins_transport_and_sends_what_is_due(
    app, db, world, as_user, settings, plugins, hook_server
):
    write(as_user, world, db)
    queue = make_queue(settings, plugins)
    try:
        assert queue.sweep_now() == 1
    finally:
        queue.close()
    assert len(hook_server.received) == 1


def test_email_rows_go_by_the_email_transport(db, world):
    row = queue_email(
        db,
        practice_id=world.practice.id,
        client_id=world.client.id,
        sender_name="Clara",
        reply_to="clara@client.example",
        to_address="zoe@acme.example",
        subject="Hello",
        body="Hi",
    )
    db.commit()
    db.expire_all()
    assert (db.get(OutboxEmail, row.id).transport, db.get(OutboxEmail, row.id).payload) == ("email", None)


# -- failures: retried, permanent, unknown -------------------------------------------------------------


def test_a_5xx_answer_is_retried_with_backoff_and_sent_once_it_answers(
    app, db, world, as_user, sessions, plugins, hook_server
):
    hook_server.answer(503, "down for maintenance")
    message = write(as_user, world, db)
    started = utcnow()

    assert run(sessions, plugins, message, now=started) == MessageStatus.QUEUED
    message, row = reload(db, message)
    assert row.last_error.startswith("retrying: 127.0.0.1:")
    assert "answered 503 Service Unavailable: down for maintenance" in row.last_error
    assert row.next_attempt_at == started + timedelta(minutes=1)
    page = text_of(as_user(world.client.user).page(f"/messages/{message.id}"))
    assert "Not sent yet, retrying:" in page and "down for maintenance" in page

    assert run(sessions, plugins, message, now=started + timedelta(seconds=30)) == MessageStatus.QUEUED
    assert len(hook_server.received) == 1  # not due yet: not sent
    assert run(sessions, plugins, message, now=started + timedelta(seconds=61)) == MessageStatus.SENT
    first, second = hook_server.received
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == row.message_id
    message, row = reload(db, message)
    assert (message.status, row.attempts) == (MessageStatus.SENT, 2)


def test_a_4xx_answer_fails_for_good_with_the_reason_on_the_messages_page(
    app, db, world, as_user, sessions, plugins, hook_server
):
    hook_server.answer(422, "no member with this address")
    message = write(as_user, world, db)

    assert run(sessions, plugins, message) == MessageStatus.FAILED
    message, row = reload(db, message)
    assert "answered 422 Unprocessable Entity: no member with this address" in message.error
    assert due_ids(db, utcnow() + timedelta(days=1)) == []  # never retried by itself
    browser = as_user(world.client.user)
    page = text_of(browser.page(f"/messages/{message.id}"))
    assert "It could not be sent:" in page and "no member with this address" in page
    assert "Try again" in page

    # A person decides to send it again, and it goes.
    assert browser.post(f"/messages/{message.id}/send-again").status_code == 302
    assert run(sessions, plugins, message) == MessageStatus.SENT
    assert len(hook_server.received) == 2


def test_a_timeout_after_the_whole_request_is_unknown_and_never_resent_by_itself(
    app, db, world, as_user, sessions, plugins, hook_server
):
    hook_server.answer(200, "ok", hang=2.0)
    message = write(as_user, world, db)

    # A lease of 2 s gives the transport 0.5 s (a quarter of it).
    assert run(sessions, plugins, message, lease=timedelta(seconds=2)) == MessageStatus.UNKNOWN
    message, row = reload(db, message)
    assert "no answer came within 0.5 s" in message.error
    later = utcnow() + timedelta(hours=2)
    assert mark_stale(db, later) == 0
    db.commit()
    assert due_ids(db, later) == []
    assert run(sessions, plugins, message, now=later) == MessageStatus.UNKNOWN
    assert len(hook_server.received) == 1
    page = text_of(as_user(world.client.user).page(f"/messages/{message.id}"))
    assert "may or may not have been taken" in page and "send it again" in page


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/x",
        "http://localhost:{port}/x",
        "http://[::1]:{port}/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/internal",
        "https://192.168.1.1/",
    ],
)
def test_an_address_on_the_servers_own_network_is_refused_unless_the_administrator_allows_it(
    url, hook_server, monkeypatch
):
    monkeypatch.delenv("CROSSROADS_SMTP_ALLOW_PRIVATE")
    outcome = post_json(url.format(port=hook_server.server_address[1]), {"a": 1}, timeout=2)
    assert (outcome.status, outcome.temporary) == (MessageStatus.FAILED, False)
    assert "loopback, private or link-local" in outcome.reason
    assert hook_server.received == []
    allowed = post_json(hook_server.url, {"a": 1}, timeout=2, allow_private=True)
    assert allowed.status == MessageStatus.SENT and len(hook_server.received) == 1


def test_a_service_that_is_down_is_a_temporary_failure():
    outcome = post_json(f"http://127.0.0.1:{free_port()}/x", {}, timeout=2)
    assert (outcome.status, outcome.temporary) == (MessageStatus.FAILED, True)
    assert "connection refused" in outcome.reason


def test_a_row_left_sending_by_a_dead_worker_becomes_unknown_whatever_its_transport(
    app, db, world, as_user, plugins
):
    message = write(as_user, world, db)
    row = db.get(OutboxEmail, message.outbox_id)
    row.status, row.claimed_at, row.attempts = MessageStatus.SENDING, utcnow() - timedelta(minutes=11), 1
    db.commit()
    assert mark_stale(db) == 1
    db.commit()
    message, row = reload(db, message)
    assert message.status == row.status == MessageStatus.UNKNOWN
    assert message.error == STALE_ELSEWHERE  # not "check your sent mail": it was not an email
    assert due_ids(db) == []


# -- never twice ---------------------------------------------------------------------------------


def test_workers_racing_on_one_row_send_it_once(app, db, world, as_user, sessions, plugins, hook_server):
    message = write(as_user, world, db)
    transports = plugin_transports(plugins)
    barrier = threading.Barrier(4)
    results = []

    def race():
        barrier.wait()
        results.append(deliver(sessions, message.outbox_id, SECRET, transports=transports))

    threads = [threading.Thread(target=race) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 4 and MessageStatus.SENT in results
    assert set(results) <= {MessageStatus.SENT, MessageStatus.SENDING}
    assert len(hook_server.received) == 1
    assert reload(db, message)[1].attempts == 1


# -- what cannot go -------------------------------------------------------------------------------


def test_a_row_whose_transport_is_not_installed_fails_saying_so(db, world, sessions):
    row = queue_outbox(db, "gone_plugin", practice_id=world.practice.id, client_id=world.client.id)
    db.commit()
    assert deliver(sessions, row.id, SECRET, transports={}) == MessageStatus.FAILED
    db.expire_all()
    assert db.get(OutboxEmail, row.id).last_error == NO_TRANSPORT.format(name="gone_plugin")


def test_a_transport_that_raises_leaves_the_message_unknown(db, world, sessions):
    class Broken(Transport):
        name = "broken"

        def send(self, envelope):
            raise RuntimeError("halfway")

    row = queue_outbox(db, "broken", practice_id=world.practice.id, client_id=world.client.id)
    db.commit()
    assert deliver(sessions, row.id, SECRET, transports={"broken": Broken()}) == MessageStatus.UNKNOWN


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"text": "x" * PAYLOAD_LIMIT}, "at most"),
        ({"when": utcnow()}, "only JSON values"),
        (["not", "an", "object"], "dictionary"),
    ],
)
def test_a_payload_must_be_a_small_json_object(db, world, payload, problem):
    with pytest.raises(ValueError, match=problem):
        queue_outbox(db, NAME, practice_id=world.practice.id, client_id=world.client.id, payload=payload)


def test_email_is_not_queued_through_queue_outbox(db, world):
    with pytest.raises(ValueError, match="queue_email"):
        queue_outbox(db, "email", practice_id=world.practice.id, client_id=world.client.id)
