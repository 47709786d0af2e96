"""Read a practice's reply mailbox over IMAP and record each new message (:func:`~.receive.record`).

One poll (:func:`poll`):

1. **Claim** the mailbox with one conditional UPDATE (a lease: ``lease_token`` and
   ``lease_until``), so of two workers polling at once only one reads; the other
   returns at once. Every batch's commit renews the lease, and a poller whose
   lease was taken over stops before writing anything.
2. **Connect** (implicit TLS, STARTTLS or, on an allowed private address only,
   plain), log in and ``EXAMINE`` the folder (read-only: nothing is marked read).
   Every socket operation has a timeout.
3. **First connection** (no ``uidvalidity`` stored): record UIDVALIDITY and
   ``last_uid = UIDNEXT - 1``, so a mailbox with years of old mail reads only what
   arrives from now on.
4. **UIDVALIDITY changed** (the server renumbered the folder, e.g. after it was
   rebuilt): UIDs mean nothing any more, so nothing is skipped on their account.
   ``SEARCH SINCE`` the day before the last successful poll finds the messages that
   may be new; reading restarts just before the first of them, under the new
   UIDVALIDITY. Messages read before are recognised by their Message-ID and
   recorded only once (:func:`~.receive.record`).
5. **Read** ``UID last_uid+1:*`` in batches with ``BODY.PEEK[]``, in UID order;
   record the batch (one multi-row ``INSERT … ON CONFLICT DO NOTHING``: the raw
   bytes and a few headers, nothing processed), then ``last_uid`` = the batch's last
   UID and the lease renewed, and one commit for the whole batch. A worker killed
   midway resumes after the last committed batch; the messages of a batch not yet
   committed are rolled back with their UIDs, and read again. (A message recorded
   meanwhile by another path, e.g. the inbound endpoint, is recognised by its
   Message-ID and not recorded twice.) The worker processes the recorded mail right
   after each commit, in other threads (:mod:`.pending`).

A connection, login, TLS or folder error is recorded (``last_error``, and
``failing_since`` from the first failure on); the read position is left alone, so
nothing is skipped when the mailbox answers again.
"""

from __future__ import annotations

import imaplib
import ipaddress
import logging
import secrets
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from imapclient.imapclient import SocketTimeout
from sqlalchemy import or_, select, text, update
from sqlalchemy.orm import Session

from ..db import utcnow
from ..mail import smtp
from ..mail.secrets import SecretKeyMismatch, decrypt
from ..models import MailSecurity, PracticeMailbox
from .receive import Incoming, record

log = logging.getLogger(__name__)

#: How long a claim holds without being renewed (each committed batch renews it).
LEASE = timedelta(minutes=5)
#: Messages fetched per FETCH command.
BATCH = 100
#: Seconds to wait for the connection and for each reply.
TIMEOUT = 30.0
NO_PASSWORD_IN_CLEAR = (
    "Logging in sends the password: without TLS or STARTTLS that is only allowed for a server on "
    f"a loopback or private address, and only when the administrator allows those ({smtp.PRIVATE_ENV})."
)


class MailboxError(Exception):
    """The mailbox could not be read; ``reason`` says why, in words for the owner."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class UnknownHost(MailboxError):
    """The server's name does not resolve (now)."""


class ClearTextRefused(MailboxError):
    """A login without TLS to a server on a public address."""


@dataclass
class ImapServer:
    """Where and how to connect: a practice's mailbox, with its password already decrypted."""

    host: str
    port: int
    security: MailSecurity
    username: str
    password: str = field(default="", repr=False)
    folder: str = "INBOX"
    ca_file: str = ""
    timeout: float = TIMEOUT
    allow_private: bool = False


@dataclass
class PollResult:
    """What one poll did: ``busy`` when another poller held the mailbox."""

    received: int = 0
    duplicates: int = 0
    last_uid: int = 0
    busy: bool = False
    error: str = ""
    first_connection: bool = False
    uidvalidity_changed: bool = False


# -- connecting -------------------------------------------------------------------------------


def _connect_socket(addresses: list[str], port: int, timeout: float | None) -> socket.socket:
    last: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            last = exc
    raise last or OSError("no address to connect to")


class _PinnedIMAP4(imaplib.IMAP4):
    """imaplib connecting to addresses checked beforehand (not the name again), with a timeout."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float | None):
        self._addresses = addresses
        self._connect_timeout = timeout
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        return _connect_socket(self._addresses, self.port, timeout or self._connect_timeout)


class _PinnedIMAP4TLS(_PinnedIMAP4):
    def __init__(self, host: str, port: int, addresses: list[str], timeout: float | None, context):
        self.ssl_context = context
        super().__init__(host, port, addresses, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = super()._create_socket(timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class _Client(IMAPClient):
    def __init__(self, server: ImapServer, addresses: list[str], context: ssl.SSLContext | None):
        self._addresses = addresses
        super().__init__(
            server.host,
            port=server.port,
            ssl=server.security == MailSecurity.TLS,
            ssl_context=context,
            timeout=SocketTimeout(connect=server.timeout, read=server.timeout),
        )

    def _create_IMAP4(self):
        timeout = self._timeout.connect
        if self.ssl:
            return _PinnedIMAP4TLS(self.host, self.port, self._addresses, timeout, self.ssl_context)
        return _PinnedIMAP4(self.host, self.port, self._addresses, timeout)


def checked_addresses(server: ImapServer) -> list[str]:
    """The server's checked addresses: no private one unless allowed, no public one without TLS."""
    try:
        addresses = smtp.check_host(server.host, server.port, server.allow_private)
    except smtp.PermanentFailure as exc:
        raise MailboxError(exc.reason) from None
    except (OSError, UnicodeError):
        raise UnknownHost(f"The server name {server.host} cannot be found.") from None
    if server.security == MailSecurity.NONE and any(_public(a) for a in addresses):
        raise ClearTextRefused(NO_PASSWORD_IN_CLEAR)
    return addresses


def _public(address: str) -> bool:
    return smtp._is_public(ipaddress.ip_address(address.partition("%")[0]))


def _reason(exc: BaseException, server: ImapServer) -> str:
    """Words for the owner about a failed connection, login or command."""
    where = f"{server.host}:{server.port}"
    if isinstance(exc, MailboxError):
        return exc.reason
    if isinstance(exc, LoginError):
        return f"{where} refused the user name or password."
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"{where}: the server's certificate is not trusted ({exc.verify_message})."
    if isinstance(exc, ssl.SSLError):
        return (
            f"{where}: the encrypted connection failed ({exc.reason or exc}). "
            "Check the security setting and port."
        )
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"{where} did not answer in time."
    if isinstance(exc, ConnectionRefusedError):
        return f"{where} refused the connection. Check the server's name and port."
    if isinstance(exc, IMAPClientError | imaplib.IMAP4.error):
        text = " ".join(str(exc).split())[:300]
        return f"{where} answered with an error: {text}"
    if isinstance(exc, OSError):
        return f"{where}: the connection failed ({exc.strerror or exc})."
    return f"{where}: {type(exc).__name__}"


@contextmanager
def connect(server: ImapServer) -> Iterator[tuple[IMAPClient, dict]]:
    """A logged-in client with the folder selected read-only, and the SELECT answer.

    Raises :class:`MailboxError` when the server cannot be reached, refuses the
    login or has no such folder.
    """
    addresses = checked_addresses(server)
    try:
        context = smtp.tls_context(server.ca_file) if server.security != MailSecurity.NONE else None
    except OSError as exc:
        raise MailboxError(f"cannot read the certificate authorities in {server.ca_file} ({exc})") from None
    client: IMAPClient | None = None
    try:
        client = _Client(server, addresses, context)
        if server.security == MailSecurity.STARTTLS:
            client.starttls(context)
        client.login(server.username, server.password)
        selected = client.select_folder(server.folder, readonly=True)
    except Exception as exc:
        if client is not None:
            with suppress(Exception):
                client.shutdown()
        raise MailboxError(_reason(exc, server)) from None
    try:
        yield client, selected
    finally:
        with suppress(Exception):
            client.logout()
        with suppress(Exception):
            client.shutdown()


def folder_state(client: IMAPClient, selected: dict, folder: str) -> tuple[int, int]:
    """The selected folder's UIDVALIDITY and UIDNEXT (from the SELECT answer, else from STATUS)."""
    if b"UIDVALIDITY" in selected and b"UIDNEXT" in selected:
        return int(selected[b"UIDVALIDITY"]), int(selected[b"UIDNEXT"])
    status = client.folder_status(folder, [b"UIDVALIDITY", b"UIDNEXT"])
    return int(status[b"UIDVALIDITY"]), int(status[b"UIDNEXT"])


def server_for(
    mailbox: PracticeMailbox,
    secret_key: str,
    ca_file: str = "",
    allow_private: bool = False,
    timeout: float = TIMEOUT,
) -> ImapServer:
    """A stored mailbox's connection settings; :class:`MailboxError` if its password cannot be read."""
    try:
        password = decrypt(secret_key, mailbox.password_encrypted) if mailbox.password_encrypted else ""
    except SecretKeyMismatch as exc:
        raise MailboxError(str(exc)) from None
    return ImapServer(
        host=mailbox.host,
        port=mailbox.port,
        security=mailbox.security,
        username=mailbox.username,
        password=password,
        folder=mailbox.folder,
        ca_file=ca_file,
        timeout=timeout,
        allow_private=allow_private,
    )


def test_connection(server: ImapServer) -> int:
    """Connect, log in and open the folder; how many messages it holds. Raises :class:`MailboxError`."""
    with connect(server) as (_, selected):
        return int(selected.get(b"EXISTS", 0))


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


# -- the lease --------------------------------------------------------------------------------


def claim(
    session: Session, practice_id: int, lease: timedelta = LEASE, now: datetime | None = None
) -> str | None:
    """Claim the mailbox for one poll: the lease's token, or None if another poller holds it. Commits."""
    now = now or utcnow()
    token = secrets.token_hex(16)
    claimed = session.execute(
        update(PracticeMailbox)
        .where(
            PracticeMailbox.practice_id == practice_id,
            or_(PracticeMailbox.lease_until.is_(None), PracticeMailbox.lease_until < now),
        )
        .values(lease_token=token, lease_until=now + lease)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return token if claimed else None


def _held(practice_id: int, token: str):
    return (PracticeMailbox.practice_id == practice_id) & (PracticeMailbox.lease_token == token)


def release(session: Session, practice_id: int, token: str) -> None:
    """Give the claim back (only if it is still ours); commits."""
    session.rollback()
    session.execute(
        update(PracticeMailbox)
        .where(_held(practice_id, token))
        .values(lease_token="", lease_until=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _write(session: Session, practice_id: int, token: str, lease: timedelta, **values) -> bool:
    """Write mailbox state and renew the lease, only while it is ours; False when it was taken over."""
    done = session.execute(
        update(PracticeMailbox)
        .where(_held(practice_id, token))
        .values(lease_until=utcnow() + lease, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(done)


# -- one poll ---------------------------------------------------------------------------------


class _LeaseLost(Exception):
    pass


def poll(
    session: Session,
    practice_id: int,
    secret_key: str,
    *,
    ca_file: str = "",
    allow_private: bool = False,
    timeout: float = TIMEOUT,
    batch: int = BATCH,
    lease: timedelta = LEASE,
    after_message: Callable[[int], None] | None = None,
    after_receive: Callable[[int], None] | None = None,
) -> PollResult:
    """Read the practice's mailbox once: every message after ``last_uid``, a batch per commit.

    Returns at once (``busy``) when another poller holds the mailbox. Errors are
    recorded on the mailbox and returned in ``error``, never raised (the
    mailbox's read position stays where it was). Records only: the mail is processed
    after (:func:`~.pending.process_pending`). ``after_receive(uid)`` is called for each
    message after its batch is recorded, before the commit, and ``after_message(uid)``
    after the commit (tests use them to pause).
    """
    result = PollResult()
    token = claim(session, practice_id, lease)
    if token is None:
        result.busy = True
        return result
    try:
        mailbox = session.scalar(select(PracticeMailbox).where(PracticeMailbox.practice_id == practice_id))
        if mailbox is None:  # deleted since the claim
            return result
        started = utcnow()
        result.last_uid = mailbox.last_uid
        server = _unknown(mailbox)
        try:
            server = server_for(mailbox, secret_key, ca_file, allow_private, timeout)
            with connect(server) as (client, selected):
                _read(
                    session,
                    client,
                    selected,
                    mailbox,
                    practice_id,
                    token,
                    lease,
                    batch,
                    result,
                    started,
                    after_message,
                    after_receive,
                )
        except _LeaseLost:
            session.rollback()
            log.warning("mailbox of practice %s: another poller took over the lease", practice_id)
            return result
        except Exception as exc:
            session.rollback()
            reason = _reason(exc, server)
            if not isinstance(exc, MailboxError | IMAPClientError | OSError | imaplib.IMAP4.error):
                log.exception("mailbox of practice %s: poll failed", practice_id)
            result.error = reason
            _record_failure(session, practice_id, token, lease, reason)
            return result
        _write(
            session,
            practice_id,
            token,
            lease,
            last_polled_at=started,
            last_error="",
            failing_since=None,
        )
        session.commit()
        return result
    finally:
        release(session, practice_id, token)


def _unknown(mailbox: PracticeMailbox) -> ImapServer:
    return ImapServer(mailbox.host, mailbox.port, mailbox.security, mailbox.username)


def _record_failure(session: Session, practice_id: int, token: str, lease: timedelta, reason: str) -> None:
    now = utcnow()
    mailbox = session.scalar(select(PracticeMailbox).where(PracticeMailbox.practice_id == practice_id))
    if mailbox is None:
        return
    _write(
        session,
        practice_id,
        token,
        lease,
        last_error=reason[:2000],
        failing_since=mailbox.failing_since or now,
    )
    session.commit()
    log.warning("mailbox of practice %s: %s", practice_id, reason)


def _read(
    session: Session,
    client: IMAPClient,
    selected: dict,
    mailbox: PracticeMailbox,
    practice_id: int,
    token: str,
    lease: timedelta,
    batch: int,
    result: PollResult,
    started: datetime,
    after_message: Callable[[int], None] | None,
    after_receive: Callable[[int], None] | None = None,
) -> None:
    uidvalidity, uidnext = folder_state(client, selected, mailbox.folder)
    if mailbox.uidvalidity is None:
        # First connection: whatever is there already is not ours to read.
        result.first_connection = True
        last_uid = max(uidnext - 1, 0)
        if not _write(
            session,
            practice_id,
            token,
            lease,
            uidvalidity=uidvalidity,
            last_uid=last_uid,
            connected_at=started,
        ):
            raise _LeaseLost
        session.commit()
        result.last_uid = last_uid
        return
    last_uid = mailbox.last_uid
    if mailbox.uidvalidity != uidvalidity:
        result.uidvalidity_changed = True
        last_uid = _restart_point(client, mailbox, uidnext)
        if not _write(session, practice_id, token, lease, uidvalidity=uidvalidity, last_uid=last_uid):
            raise _LeaseLost
        session.commit()
        log.warning(
            "mailbox of practice %s: UIDVALIDITY changed from %s to %s; reading again from UID %s",
            practice_id,
            mailbox.uidvalidity,
            uidvalidity,
            last_uid + 1,
        )
    # `N:*` always includes the highest UID, even when it is below N: keep only the new ones.
    uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
    for start in range(0, len(uids), batch):
        chunk = uids[start : start + batch]
        fetched = client.fetch(chunk, ["BODY.PEEK[]"])
        done: list[int] = []
        items: list[Incoming] = []
        for uid in chunk:
            data = fetched.pop(uid, None)
            if data is None:  # expunged meanwhile
                continue
            raw = data.get(b"BODY[]") or b""
            items.append(Incoming(raw, "imap", f"{uidvalidity}:{uid}"))
            done.append(uid)
        del fetched
        if session.get_bind().dialect.name == "postgresql":
            # The mailbox, not this commit, keeps the mail safe until it is durable: nothing is
            # marked read or deleted on the server, and the batch commits together with its
            # last_uid, so a commit lost in a crash loses the batch and its read position alike,
            # and the next poll reads it again. So the commit need not wait for the disk.
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        received = len(record(session, practice_id, items))
        del items
        if after_receive is not None:
            for uid in done:
                after_receive(uid)
        # The batch, its read position and the renewed lease in one transaction: a worker
        # killed before this commit leaves none of the batch, and the next poll reads it again.
        if done and not _write(session, practice_id, token, lease, last_uid=done[-1]):
            raise _LeaseLost
        session.commit()
        if done:
            result.last_uid = done[-1]
        result.received += received
        result.duplicates += len(done) - received
        if after_message is not None:
            for uid in done:
                after_message(uid)


def _restart_point(client: IMAPClient, mailbox: PracticeMailbox, uidnext: int) -> int:
    """After a UIDVALIDITY change: the UID before the first message that arrived since the last poll."""
    since = mailbox.last_polled_at or mailbox.connected_at
    if since is None:
        return 0
    # SEARCH SINCE counts whole days in the server's time zone: start a day earlier.
    found = client.search(["SINCE", (since - timedelta(days=1)).date()])
    return (min(found) - 1) if found else max(uidnext - 1, 0)


# -- every practice ---------------------------------------------------------------------------


def mailbox_practices(session: Session) -> list[int]:
    """The practices that have a reply mailbox, in id order."""
    return list(session.scalars(select(PracticeMailbox.practice_id).order_by(PracticeMailbox.practice_id)))
