"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 and a free port, in a background thread.

Load it with ``pytest_plugins = ["tests.mailserver"]`` (tests/conftest.py does).
Fixtures:

- ``smtp_server``: a plain server (no TLS) that records what it receives and
  can be told how to answer (see :class:`Handler`);
- ``starttls_server`` / ``tls_server``: the same with STARTTLS (required) or
  implicit TLS, using a certificate from a trustme CA;
- ``ca_file``: that CA as a PEM file, for ``ca_file`` / ``CROSSROADS_SMTP_CA_FILE``;
- ``untrusted_tls_server``: implicit TLS with a certificate from a CA nobody trusts;
- ``ascii_only_server``: a plain server that does not offer SMTPUTF8 (the others do, as
  aiosmtpd's controller does by default);
- ``banner_server``: not an email server: a TCP service that sends one line of its own
  (:data:`BANNER`) and waits.

:func:`configure_mail` points a practice's :class:`PracticeMail` at a server.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from sqlalchemy.orm import Session

from crossroads.core.mail.secrets import encrypt
from crossroads.core.models import MailSecurity, PracticeMail
from crossroads.testing import TEST_SECRET_KEY

SERVER_NAME = "mail.test"
USERNAME = "practice@northbridge.example"
PASSWORD = "s3cret smtp password"
DEFAULT_FROM = "hello@northbridge.example"


def free_port() -> int:
    """A TCP port nothing listens on at the moment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    """One message whose DATA the server read to the end, and what it answered."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    reply: str  # "250 OK", "451 ...", "dropped", "blocked"

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class Handler:
    """Records every message and answers as told.

    - :meth:`answer` queues replies for a stage (``"DATA"``, ``"RCPT"`` or ``"MAIL"``),
      used once each, or for ever with ``always=True``;
    - ``drop_during_data``: on the next DATA, read the start of the message and cut the
      connection (the client is still sending; the server never sees the end);
    - ``drop_after_data``: read the whole message, then cut the connection without answering;
    - :meth:`block`: hold the next messages in DATA (after recording them) until :meth:`release`.
    """

    received: list[Received] = field(default_factory=list)
    replies: dict[str, deque[str]] = field(default_factory=dict)
    always: dict[str, str] = field(default_factory=dict)
    drop_during_data: bool = False
    drop_after_data: bool = False
    logins: list[tuple[str, str]] = field(default_factory=list)
    _released: threading.Event = field(default_factory=threading.Event)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self._released.set()

    # -- telling it what to do -----------------------------------------------------------

    def answer(self, reply: str, stage: str = "DATA", always: bool = False) -> None:
        if always:
            self.always[stage] = reply
        else:
            self.replies.setdefault(stage, deque()).append(reply)

    def block(self) -> None:
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def _reply(self, stage: str) -> str | None:
        queued = self.replies.get(stage)
        if queued:
            return queued.popleft()
        return self.always.get(stage)

    # -- what it got ----------------------------------------------------------------------

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.reply.startswith("2")]

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        """Wait until at least ``count`` messages have arrived (whatever the answer)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"the server received {len(self.received)} message(s), not {count}"
                self._changed.wait(left)
        return list(self.received)

    def _record(self, envelope, reply: str) -> Received:
        received = Received(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            data=bytes(envelope.original_content or b""),
            reply=reply,
        )
        with self._changed:
            self.received.append(received)
            self._changed.notify_all()
        return received

    # -- aiosmtpd hooks ----------------------------------------------------------------

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = self._reply("MAIL")
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self._reply("RCPT")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.drop_after_data:
            self.drop_after_data = False
            self._record(envelope, "dropped")
            server.transport.abort()
            return "250 OK"  # never reaches the client: the connection is gone
        if not self._released.is_set():
            received = self._record(envelope, "blocked")
            while not self._released.is_set():  # polled, so stopping the server can cancel it
                await asyncio.sleep(0.02)
            received.reply = "250 OK"
            return "250 OK"
        reply = self._reply("DATA") or "250 OK"
        self._record(envelope, reply)
        return reply

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            self.logins.append((login, password))
            return AuthResult(success=(login, password) == (USERNAME, PASSWORD), handled=False)
        return AuthResult(success=False, handled=False)


class _SMTP(SMTP):
    """aiosmtpd's server, able to cut the connection in the middle of a message."""

    def connection_made(self, transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:  # a small window, so a client sending a large message is still sending
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        super().connection_made(transport)

    async def smtp_DATA(self, arg: str) -> None:
        handler: Handler = self.event_handler
        if not handler.drop_during_data or not self.envelope.rcpt_tos:
            return await super().smtp_DATA(arg)
        handler.drop_during_data = False
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        await self._reader.readexactly(16 * 1024)
        self.transport.abort()
        await asyncio.sleep(3600)  # cancelled at once: the connection is gone


class _Controller(Controller):
    def factory(self):
        return _SMTP(self.handler, **self.SMTP_kwargs)


@dataclass
class MailServer:
    """A running (or stopped) test SMTP server."""

    handler: Handler
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    security: MailSecurity = MailSecurity.NONE
    options: dict = field(default_factory=dict)
    controller: Controller | None = None

    def start(self) -> MailServer:
        assert self.controller is None
        self.controller = _Controller(
            self.handler,
            hostname=self.host,
            port=self.port,
            server_hostname=SERVER_NAME,
            authenticator=self.handler.authenticate,
            auth_require_tls=False,
            data_size_limit=None,
            **self.options,
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        self.handler.release()
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def configure_mail(
    db: Session,
    practice_id: int,
    server: MailServer,
    *,
    secret_key: str = TEST_SECRET_KEY,
    from_address: str = DEFAULT_FROM,
    username: str = "",
    password: str = "",
    security: MailSecurity | None = None,
) -> PracticeMail:
    """Point a practice's email settings at ``server``; commits."""
    settings = db.query(PracticeMail).filter_by(practice_id=practice_id).one_or_none()
    if settings is None:
        settings = PracticeMail(practice_id=practice_id)
        db.add(settings)
    settings.host = server.host
    settings.port = server.port
    settings.security = security or server.security
    settings.username = username
    settings.password_encrypted = encrypt(secret_key, password) if password else ""
    settings.from_address = from_address
    db.commit()
    return settings


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def mail_handler() -> Handler:
    return Handler()


@pytest.fixture
def smtp_server(mail_handler: Handler) -> Iterator[MailServer]:
    """A plain SMTP server on 127.0.0.1 (the security setting "none")."""
    server = MailServer(mail_handler).start()
    yield server
    server.stop()


@pytest.fixture
def ascii_only_server(mail_handler: Handler) -> Iterator[MailServer]:
    """A plain SMTP server without SMTPUTF8: it cannot take international addresses."""
    server = MailServer(mail_handler, options={"enable_SMTPUTF8": False}).start()
    yield server
    server.stop()


#: What :func:`banner_server` says on connection: a line another service might give away.
BANNER = b"SSH-2.0-OpenSSH_9.6 internal-build-host.corp secret-banner\r\n"


@pytest.fixture
def banner_server() -> Iterator[MailServer]:
    """A TCP service on 127.0.0.1 that is not an email server: it sends :data:`BANNER` and waits.

    Returned as a :class:`MailServer` (never started) so :func:`configure_mail` can point at it.
    """
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    connections: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            connections.append(conn)
            conn.sendall(BANNER)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield MailServer(Handler(), port=listener.getsockname()[1])
    stop.set()
    thread.join()
    for conn in connections:
        conn.close()
    listener.close()


@pytest.fixture
def stopped_smtp_server(mail_handler: Handler) -> Iterator[MailServer]:
    """A server with a reserved port that nothing listens on until the test calls ``start()``."""
    server = MailServer(mail_handler)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def trusted_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(trusted_ca: trustme.CA, tmp_path) -> str:
    """The test CA as a PEM file, for ``ca_file`` and ``CROSSROADS_SMTP_CA_FILE``."""
    path = tmp_path / "smtp-ca.pem"
    trusted_ca.cert_pem.write_to_path(str(path))
    return str(path)


def _server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost", SERVER_NAME).configure_cert(context)
    return context


def _tls_server(handler: Handler, security: MailSecurity, ca: trustme.CA) -> MailServer:
    context = _server_context(ca)
    if security == MailSecurity.STARTTLS:
        options = {"tls_context": context, "require_starttls": True}
    else:
        options = {"ssl_context": context}
    return MailServer(handler, security=security, options=options).start()


@pytest.fixture
def starttls_server(mail_handler: Handler, trusted_ca: trustme.CA) -> Iterator[MailServer]:
    """A server that requires STARTTLS, with a certificate from the test CA."""
    server = _tls_server(mail_handler, MailSecurity.STARTTLS, trusted_ca)
    yield server
    server.stop()


@pytest.fixture
def tls_server(mail_handler: Handler, trusted_ca: trustme.CA) -> Iterator[MailServer]:
    """A server speaking TLS from the first byte (port 465 style), certificate from the test CA."""
    server = _tls_server(mail_handler, MailSecurity.TLS, trusted_ca)
    yield server
    server.stop()


@pytest.fixture
def untrusted_tls_server(mail_handler: Handler) -> Iterator[MailServer]:
    """Implicit TLS with a certificate from a CA that nobody trusts."""
    server = _tls_server(mail_handler, MailSecurity.TLS, trustme.CA())
    yield server
    server.stop()


@pytest.fixture
def wait_until() -> Callable[..., None]:
    """``wait_until(condition, timeout=15, message=...)``: poll until ``condition()`` is true."""

    def wait(condition: Callable[[], object], timeout: float = 15.0, message: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, message or "timed out waiting"
            time.sleep(0.02)

    return wait
