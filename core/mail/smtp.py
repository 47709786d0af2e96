"""One delivery over SMTP, with every way it can end sorted into three kinds of failure.

:func:`send` connects (plain, STARTTLS or implicit TLS, always checking the
server's certificate), logs in when a user name is set, and hands over one
message. It returns when the server has accepted the message, or raises:

- :class:`TemporaryFailure`: nothing was delivered and trying again later may
  work (connection refused, a 4xx reply, the connection lost before the
  message was complete);
- :class:`PermanentFailure`: the server refused, and trying again will not
  help (a 5xx reply, a rejected password, an untrusted certificate);
- :class:`UnknownOutcome`: the whole message reached the server but its
  answer did not reach us. The server may have accepted it, so sending it
  again could deliver it twice; a person has to check.

smtplib's ``sendmail`` cannot tell the last two apart (a dropped connection
is ``SMTPServerDisconnected`` either way), so the DATA phase is done here by
hand: only a connection lost after the whole message, end-of-data marker
included, has been written counts as unknown.
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import re
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.policy import SMTP as SMTP_POLICY
from email.policy import EmailPolicy
from email.utils import getaddresses
from functools import cache

from ..models import MailSecurity

__all__ = [
    "DeliveryError",
    "PermanentFailure",
    "SmtpServer",
    "TemporaryFailure",
    "UnknownOutcome",
    "check_host",
    "send",
    "tls_context",
]

#: Said instead of whatever a server that does not speak SMTP sent: repeating it would
#: let the settings page read the banners of other services.
NOT_SMTP = "that server did not answer as an email server; check the server's name and port."
NO_PASSWORD_IN_CLEAR = (
    "The password is only sent over an encrypted connection: choose STARTTLS or TLS as the "
    "security setting, or clear the user name."
)
PRIVATE_ENV = "CROSSROADS_SMTP_ALLOW_PRIVATE"


class DeliveryError(Exception):
    """A message was not (known to be) delivered; ``reason`` says why, in words for the client."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TemporaryFailure(DeliveryError):
    """Not delivered; trying again later may work."""


class PermanentFailure(DeliveryError):
    """Not delivered, and trying again will not help until something changes."""


class UnknownOutcome(DeliveryError):
    """The message reached the server but its answer was lost: it may or may not have been accepted."""


@dataclass
class SmtpServer:
    """Where and how to send: a practice's server, with its password already decrypted."""

    host: str
    port: int
    security: MailSecurity
    username: str = ""
    password: str = field(default="", repr=False)
    #: Extra certificate authorities (a PEM file) to trust besides the system's.
    ca_file: str = ""
    #: Seconds to wait for the connection and for each reply.
    timeout: float = 30.0
    #: Seconds to wait for the server's answer once the whole message is sent. Servers
    #: often scan the message before they answer; giving up earlier leaves it "unknown".
    final_reply_timeout: float = 120.0
    #: Whether the server may be on a loopback, private or link-local address
    #: (``CROSSROADS_SMTP_ALLOW_PRIVATE``); otherwise only public addresses are reached.
    allow_private: bool = False


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_host(host: str, port: int, allow_private: bool) -> list[str]:
    """The addresses ``host`` resolves to, once each; refused if any is not public.

    Raises :class:`PermanentFailure` when an address is loopback, private,
    link-local or otherwise not on the internet (unless ``allow_private``), and
    ``socket.gaierror`` when the name cannot be resolved. Every address is
    checked, and the caller connects to these addresses rather than to the name,
    so the name cannot resolve to something else a moment later.
    """
    name = host.strip().removeprefix("[").removesuffix("]")
    infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        for address in addresses:
            if not _is_public(ipaddress.ip_address(address.partition("%")[0])):
                shown = host if address == name else f"{host} ({address})"
                raise PermanentFailure(
                    f"The server {shown} is on a loopback, private or link-local address, which Crossroads "
                    f"does not connect to unless the administrator allows it ({PRIVATE_ENV})."
                )
    return addresses


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """A client context that checks certificates and host names, trusting ``ca_file`` as well."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


@cache
def _local_hostname() -> str:
    # smtplib would call socket.getfqdn() on every connection, which can wait on DNS.
    name = socket.getfqdn()
    return name if name and "." in name else "localhost.localdomain"


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


def _refused(code: int, reply: bytes | str, what: str) -> DeliveryError:
    """A failure for an unwelcome reply: 5xx is permanent, anything else temporary.

    A reply that is not SMTP's (no three-digit code) is not repeated.
    """
    if not 200 <= code <= 599:
        return PermanentFailure(f"{what}: {NOT_SMTP}")
    reason = f"{what}: {code} {_reply_text(reply)}".rstrip()
    return PermanentFailure(reason) if 500 <= code <= 599 else TemporaryFailure(reason)


def _addresses(values: list) -> list[str]:
    """The addresses in header values: from the header registry's parse when there is one."""
    found = []
    for value in values:
        parsed = getattr(value, "addresses", None)
        if parsed is None:
            found.extend(addr for _, addr in getaddresses([str(value)]) if addr)
        else:
            found.extend(a.addr_spec for a in parsed if a.username or a.domain)
    return found


def _envelope(message: Message) -> tuple[str, list[str]]:
    sender = message.get("Sender") or message.get("From") or ""
    senders = _addresses([sender])
    if not senders:
        raise PermanentFailure("The message has no sender address.")
    recipients = _addresses([v for h in ("To", "Cc", "Bcc") for v in message.get_all(h, [])])
    if not recipients:
        raise PermanentFailure("The message has no recipient address.")
    return senders[0], recipients


_EOL = re.compile(rb"\r\n|\n|\r")
_LEADING_DOT = re.compile(rb"(?m)^\.")


def _wire_bytes(message: Message, utf8: bool = False) -> bytes:
    """The message as it goes over the wire: CRLF line ends, leading dots doubled, no Bcc.

    ``utf8`` lets headers carry UTF-8 as it is (for a server that takes SMTPUTF8);
    otherwise a header that cannot be written in ASCII raises ``UnicodeEncodeError``.
    """
    if message.get("Bcc") is not None:
        message = copy.copy(message)
        del message["Bcc"]
    policy = message.policy.clone(linesep="\r\n") if isinstance(message.policy, EmailPolicy) else SMTP_POLICY
    if utf8:
        policy = policy.clone(utf8=True)
    data = _EOL.sub(b"\r\n", message.as_bytes(policy=policy))
    data = _LEADING_DOT.sub(b"..", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


class _Progress:
    """How far a delivery got: after the end-of-data marker is written, a loss is an unknown outcome."""

    data_ended = False


def _connect(server: SmtpServer, context: ssl.SSLContext | None) -> smtplib.SMTP:
    where = f"{server.host}:{server.port}"
    addresses = check_host(server.host, server.port, server.allow_private)
    if server.security == MailSecurity.TLS:
        conn: smtplib.SMTP = smtplib.SMTP_SSL(
            local_hostname=_local_hostname(), timeout=server.timeout, context=context
        )
        conn._host = server.host  # the name the certificate must match
    else:
        conn = smtplib.SMTP(local_hostname=_local_hostname(), timeout=server.timeout)
    try:
        code, reply = _open(conn, addresses, server.port)
        if code != 220:
            raise _refused(code, reply, f"The server at {where} did not accept the connection")
        code, reply = conn.ehlo()
        if not 200 <= code <= 299:
            code, reply = conn.helo()
            if not 200 <= code <= 299:
                raise _refused(code, reply, f"The server at {where} refused the greeting")
        if server.security == MailSecurity.STARTTLS:
            if not conn.has_extn("starttls"):
                raise PermanentFailure(
                    f"The server at {where} does not offer STARTTLS; check the port and the security setting."
                )
            code, reply = conn.docmd("STARTTLS")
            if code != 220:
                raise _refused(code, reply, f"The server at {where} refused STARTTLS")
            conn.sock = context.wrap_socket(conn.sock, server_hostname=server.host)
            conn.file = None
            conn.helo_resp = conn.ehlo_resp = None
            conn.esmtp_features = {}
            conn.does_esmtp = False
            code, reply = conn.ehlo()
            if not 200 <= code <= 299:
                raise _refused(code, reply, f"The server at {where} refused the greeting after STARTTLS")
    except BaseException:
        _close(conn)
        raise
    return conn


def _open(conn: smtplib.SMTP, addresses: list[str], port: int) -> tuple[int, bytes]:
    """Connect to the first of the checked ``addresses`` that answers; the greeting."""
    for address in addresses[:-1]:
        try:
            return conn.connect(address, port)
        except OSError:
            _close(conn)
    return conn.connect(addresses[-1], port)


def _login(conn: smtplib.SMTP, server: SmtpServer) -> None:
    try:
        conn.login(server.username, server.password)
    except smtplib.SMTPAuthenticationError as exc:
        what = "The server refused the user name or password"
        raise _refused(exc.smtp_code, exc.smtp_error, what) from None
    except smtplib.SMTPNotSupportedError:
        raise PermanentFailure(
            "The server does not offer to log in; clear the user name, or check the security setting."
        ) from None
    except smtplib.SMTPException as exc:
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            raise
        raise PermanentFailure(f"Cannot log in to the server: {exc}") from None


def _send_data(conn: smtplib.SMTP, data: bytes, server: SmtpServer, progress: _Progress) -> None:
    conn.putcmd("data")
    code, reply = conn.getreply()
    if code != 354:
        raise _refused(code, reply, "The server refused the message")
    try:
        # The message ends with the end-of-data marker: its last CRLF plus ".\r\n". If sendall
        # fails, not every byte was written, so the marker was not complete and the server cannot
        # have accepted the message. (One write: a separate small one for the marker would wait
        # on Nagle's algorithm and the server's delayed ACK.)
        conn.sock.sendall(data + b".\r\n")
    except OSError as exc:
        raise TemporaryFailure(
            f"The connection was lost while the message was being sent, before it was complete ({exc})."
        ) from None
    progress.data_ended = True
    conn.sock.settimeout(max(server.timeout, server.final_reply_timeout))
    try:
        code, reply = conn.getreply()
    except (smtplib.SMTPException, OSError) as exc:
        raise UnknownOutcome(
            "The whole message reached the server, but the connection was lost before the server "
            f"said whether it accepted it ({_reply_text(str(exc))})."
        ) from None
    if 200 <= code <= 299:
        return
    if code < 0 or not 400 <= code <= 599:
        raise UnknownOutcome(
            f"The whole message reached the server, which then answered something unexpected: {code} "
            f"{_reply_text(reply)}"
        )
    raise _refused(code, reply, "The server refused the message")


def _mail_options(conn: smtplib.SMTP, server: SmtpServer, international: list[str]) -> list[str]:
    """``MAIL FROM`` options: SMTPUTF8 for a message with addresses beyond ASCII, if the server takes it."""
    if not international:
        return []
    if not conn.has_extn("smtputf8"):
        raise PermanentFailure(
            f"The server at {server.host}:{server.port} does not accept international email addresses "
            f"(SMTPUTF8), so it cannot take this message (for {', '.join(international)})."
        )
    return ["SMTPUTF8", "BODY=8BITMIME"] if conn.has_extn("8bitmime") else ["SMTPUTF8"]


def _close(conn: smtplib.SMTP) -> None:
    with contextlib.suppress(Exception):  # closing a broken connection may fail again
        conn.close()


def send(server: SmtpServer, message: EmailMessage | Message) -> None:
    """Hand ``message`` to ``server``; return once it is accepted, raise a :class:`DeliveryError` otherwise.

    The envelope comes from the message: Sender (or From), and To, Cc and Bcc.
    An address or header that is not ASCII goes with SMTPUTF8, which the
    server must offer; otherwise the message fails for good, saying so.
    """
    sender, recipients = _envelope(message)
    if server.username and server.security == MailSecurity.NONE:
        raise PermanentFailure(NO_PASSWORD_IN_CLEAR)
    international = [a for a in [sender, *recipients] if not a.isascii()]
    try:
        data = _wire_bytes(message, utf8=bool(international))
    except UnicodeEncodeError:
        international = international or ["an address in its headers"]
        data = _wire_bytes(message, utf8=True)
    try:
        context = tls_context(server.ca_file) if server.security != MailSecurity.NONE else None
    except OSError as exc:
        raise TemporaryFailure(
            f"Cannot read the certificate authorities in {server.ca_file} ({exc})."
        ) from None
    progress = _Progress()
    kept = _take_kept(server)
    try:
        if kept is not None:
            try:
                _transact(kept.conn, server, sender, recipients, data, international, progress)
            except (smtplib.SMTPServerDisconnected, OSError):
                if progress.data_ended:
                    raise
                # The kept connection had gone stale between its check and this message: nothing
                # was accepted, so the message goes again on a fresh connection.
                kept = None
        if kept is None:
            conn = _connect(server, context)
            try:
                if server.username:
                    _login(conn, server)
            except BaseException:
                _close(conn)
                raise
            kept = _Kept(server, conn)
            _transact(conn, server, sender, recipients, data, international, progress)
        kept.sent += 1
        _keep(kept)
    except DeliveryError:
        raise
    except Exception as exc:
        if progress.data_ended:
            raise UnknownOutcome(
                f"Something went wrong after the whole message reached the server ({exc!r})."
            ) from exc
        raise _classify(exc, server) from None


def _transact(
    conn: smtplib.SMTP,
    server: SmtpServer,
    sender: str,
    recipients: list[str],
    data: bytes,
    international: list[str],
    progress: _Progress,
) -> None:
    """One message's MAIL, RCPT and DATA on an open (and, if need be, logged-in) connection; the
    connection is closed if anything goes wrong."""
    try:
        options = _mail_options(conn, server, international)
        code, reply = conn.mail(sender, options)
        if code != 250:
            raise _refused(code, reply, f"The server refused the sender {sender}")
        for recipient in recipients:
            code, reply = conn.rcpt(recipient)
            if code not in (250, 251):
                raise _refused(code, reply, f"The server refused the recipient {recipient}")
        _send_data(conn, data, server, progress)
    except BaseException:
        _close(conn)
        raise


# -- one connection for many messages --------------------------------------------------------

#: A connection is kept open after a message for the next one to the same server (same settings)
#: in the same thread, for at most this many idle seconds and this many messages; before it is
#: used again the server must answer RSET. A worker sending a backlog opens one connection, not
#: one per message (and logs in once).
KEEP_IDLE_SECONDS = 15.0
KEEP_MESSAGES = 100


@dataclass
class _Kept:
    server: SmtpServer
    conn: smtplib.SMTP
    sent: int = 0
    at: float = 0.0


_kept = threading.local()


def _keep(kept: _Kept) -> None:
    """Keep ``kept`` for this thread's next message, or say goodbye when it has sent its share."""
    previous = getattr(_kept, "value", None)
    if previous is not None and previous is not kept:
        _goodbye(previous.conn)
    if kept.sent >= KEEP_MESSAGES:
        _kept.value = None
        _goodbye(kept.conn)
        return
    kept.at = time.monotonic()
    _kept.value = kept


def _take_kept(server: SmtpServer) -> _Kept | None:
    """This thread's kept connection to ``server`` if it is fresh and still answers; else None
    (and any other kept connection is closed)."""
    kept = getattr(_kept, "value", None)
    _kept.value = None
    if kept is None:
        return None
    if kept.server != server or time.monotonic() - kept.at > KEEP_IDLE_SECONDS:
        _goodbye(kept.conn)
        return None
    try:
        code, _ = kept.conn.rset()
    except (smtplib.SMTPException, OSError):
        code = -1
    if code != 250:
        _close(kept.conn)
        return None
    return kept


def close_kept() -> None:
    """Say goodbye on this thread's kept connection, if any (a worker thread that stops)."""
    kept = getattr(_kept, "value", None)
    _kept.value = None
    if kept is not None:
        _goodbye(kept.conn)


def _goodbye(conn: smtplib.SMTP) -> None:
    with contextlib.suppress(Exception):  # a failed goodbye changes nothing
        conn.quit()
    _close(conn)


def _classify(exc: Exception, server: SmtpServer) -> DeliveryError:
    """What an exception raised before the end of the message means for the delivery."""
    where = f"{server.host}:{server.port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentFailure(
            f"The certificate of the server at {where} is not trusted: {exc.verify_message or exc.reason}. "
            "Check the server name, or have the administrator trust its certificate authority "
            "(CROSSROADS_SMTP_CA_FILE)."
        )
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return TemporaryFailure(f"The TLS connection to {where} was cut off ({exc}).")
    if isinstance(exc, ssl.SSLError):
        return PermanentFailure(
            f"Cannot set up TLS with the server at {where} ({exc.reason or exc}). Check the security "
            "setting: STARTTLS usually goes with port 587, TLS with port 465."
        )
    if isinstance(exc, ConnectionRefusedError):
        return TemporaryFailure(f"Nothing answers at {where} (connection refused).")
    if isinstance(exc, smtplib.SMTPResponseException):  # includes SMTPConnectError and SMTPHeloError
        return _refused(exc.smtp_code, exc.smtp_error, f"The server at {where} answered")
    if isinstance(exc, UnicodeEncodeError):
        return PermanentFailure("An address has characters other than ASCII, which the server cannot take.")
    if isinstance(exc, socket.gaierror):
        return TemporaryFailure(f"Cannot find the server {server.host} ({exc.strerror or exc}).")
    if isinstance(exc, TimeoutError):
        return TemporaryFailure(f"The server at {where} did not answer within {server.timeout:g} s.")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TemporaryFailure(f"The server at {where} closed the connection ({exc}).")
    if isinstance(exc, OSError | smtplib.SMTPException):
        return TemporaryFailure(f"Cannot talk to the server at {where} ({exc}).")
    return TemporaryFailure(f"Something went wrong while sending ({exc!r}).")
