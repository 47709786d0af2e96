"""Transports: how the outbox's worker delivers a row, by email or by a plugin's own means.

Every message that Crossroads sends (rather than hands to the client) is a row
in the outbox (:class:`~crossroads.core.models.OutboxEmail`), whatever carries
it. The row names its transport (``transport``: ``"email"`` for the core's
SMTP transport, or a plugin's), and the outbox does the rest the same way for
all of them: the claim (``queued`` → ``sending``, one conditional UPDATE, so two
workers never send the same row), retries with backoff after a temporary
failure, ``unknown`` for a row whose worker died mid-send (never resent without
a person), "send again", and the message's page, which shows the status and the
reason.

A transport only sends: :meth:`Transport.send` gets an :class:`Envelope` (the
row's addressee, subject, body and the channel's JSON ``payload``) and returns
an :class:`Outcome`: sent, failed (temporary or permanent, with a reason for
the client), or unknown (the other side may have it). A plugin offers its
transport as its channel's ``transport`` attribute (:class:`~.channels.Channel`)
and queues rows for it with :func:`~.mail.outbox.queue_outbox`.

:func:`post_json` is an HTTP delivery with every outcome classified, for
transports that call a web service.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import socket
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..models import MessageStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ..plugins import PluginManager

log = logging.getLogger(__name__)

#: The core's own transport: email through the practice's server (SMTP).
EMAIL = "email"
#: A row's ``payload`` as JSON may be at most this many characters.
PAYLOAD_LIMIT = 16_000
#: A reason is kept to this many characters (it is shown on the message's page).
REASON_LIMIT = 1_000
#: How much of a web service's answer a reason quotes.
ANSWER_LIMIT = 200

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _reason(text: str, limit: int = REASON_LIMIT) -> str:
    flat = " ".join(_CONTROL.sub(" ", str(text or "")).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: sent, failed (for now or for good) with a reason, or unknown.

    Make one with :meth:`sent`, :meth:`failed` or :meth:`unknown`. A temporary
    failure is tried again later (1, 2, 4 … 60 minutes apart, ten attempts in
    all); a permanent one waits for a person. ``unknown`` means the other side
    may have the message: it is never sent again automatically.
    """

    status: MessageStatus
    reason: str = ""
    temporary: bool = False

    @classmethod
    def sent(cls) -> Outcome:
        """Delivered: the other side accepted it."""
        return cls(MessageStatus.SENT)

    @classmethod
    def failed(cls, reason: str, *, temporary: bool = False) -> Outcome:
        """Not delivered; ``temporary`` when trying again later may work. ``reason`` is for the client."""
        return cls(MessageStatus.FAILED, _reason(reason) or "no reason was given", temporary)

    @classmethod
    def unknown(cls, reason: str) -> Outcome:
        """The whole message left, but whether it was accepted is not known (an answer never came)."""
        return cls(MessageStatus.UNKNOWN, _reason(reason) or "no answer came")


@dataclass(frozen=True)
class Envelope:
    """One attempt at one outbox row, as a transport sees it."""

    #: The outbox row's id.
    id: int
    #: The transport's name, as stored on the row.
    transport: str
    practice_id: int
    client_id: int | None
    #: 1 on the first attempt, counting on across retries and "send again".
    attempt: int
    #: The same on every attempt of this row (its Message-ID): send it along so the other side
    #: can tell a repeat (an ``Idempotency-Key`` header, say).
    key: str
    to_address: str
    to_name: str
    subject: str
    body: str
    #: What the channel put in the row for this transport (JSON; see :data:`PAYLOAD_LIMIT`).
    payload: dict[str, Any] = field(default_factory=dict)
    #: Seconds the attempt may take in all; past the outbox's lease, the row is taken for lost.
    timeout: float = 30.0
    #: What :meth:`Transport.prepare` returned.
    prepared: Any = None


class Transport:
    """Base class for a way of delivering outbox rows. Subclass it, set ``name``, write ``send``.

    ``name`` is stored on every row queued for this transport: keep it stable and unique
    among installed plugins (``"email"`` is the core's). ``send`` runs in the worker, with no
    database transaction open, and may take up to ``envelope.timeout`` seconds. It must not
    raise: an exception is logged and recorded as an unknown outcome, since the message may
    have left.
    """

    name: str = ""
    #: A few words for people: "email", "the association's booking service".
    label: str = ""

    def prepare(self, session: Session, envelope: Envelope) -> Any:
        """Read what ``send`` needs from the database (say, the practice's settings); read-only.

        Runs in the worker's claim transaction, just before it commits; the answer is handed to
        ``send`` as ``envelope.prepared``. An exception here fails the attempt for good.
        """
        return None

    def send(self, envelope: Envelope) -> Outcome:
        """Deliver ``envelope`` once and say what came of it."""
        raise NotImplementedError


def plugin_transports(plugins: PluginManager | None) -> dict[str, Transport]:
    """The installed plugins' transports by name, from their channels' ``transport`` attribute.

    A transport named like the core's email transport, or like one found before it, is
    left out (and logged).
    """
    from .channels import Channel

    found: dict[str, Transport] = {}
    if plugins is None:
        return found
    for result in plugins.call("outreach_channels", None, expect=Channel):
        for channel in result.items:
            transport = getattr(channel, "transport", None)
            if transport is None:
                continue
            name = getattr(transport, "name", "")
            if not isinstance(transport, Transport) or not name or name == EMAIL:
                log.warning(
                    "plugin %s: channel %s has an unusable transport %r", result.plugin, channel.name, name
                )
            elif name in found and found[name] is not transport:
                log.warning("plugin %s: a transport named %r is installed already", result.plugin, name)
            else:
                found[name] = transport
    return found


def payload_problem(payload: Any) -> str | None:
    """Why ``payload`` cannot be stored on an outbox row (not a JSON object, or too long), or None."""
    if not isinstance(payload, dict):
        return "A payload is a dictionary."
    try:
        text = json.dumps(payload, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        return f"A payload holds only JSON values ({exc})."
    if len(text) > PAYLOAD_LIMIT:
        return f"A payload is at most {PAYLOAD_LIMIT} characters of JSON (this one has {len(text)})."
    return None


# -- HTTP ------------------------------------------------------------------------------------------

#: Answers that say "later": request timeout, too early, too many requests, and every 5xx.
TEMPORARY_STATUSES = frozenset({408, 425, 429})


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address checked beforehand; ``Host`` still names the host."""

    def __init__(self, *args: Any, address: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to an address checked beforehand; the certificate must name the host."""

    def __init__(self, *args: Any, address: str, context: ssl.SSLContext, **kwargs: Any) -> None:
        super().__init__(*args, context=context, **kwargs)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def post_json(
    url: str,
    data: Any,
    *,
    timeout: float = 30.0,
    key: str = "",
    headers: dict[str, str] | None = None,
    ca_file: str = "",
    allow_private: bool | None = None,
) -> Outcome:
    """POST ``data`` as JSON to ``url`` once, and classify what came of it.

    - a 2xx answer: sent;
    - 408, 425, 429 or a 5xx answer, no connection, or a connection lost before the whole
      request was written: a temporary failure (tried again later);
    - any other answer (a 4xx, a redirect, which is not followed): a permanent failure, quoting
      the answer's first line and the start of its body;
    - the whole request written but no answer within ``timeout`` seconds, or the connection
      lost while waiting for it: unknown (the service may have acted on it).

    ``key`` goes as the ``Idempotency-Key`` header. HTTPS checks the certificate (``ca_file``
    adds authorities to trust). A URL typed into a practice's settings must not reach the
    server's own network: the host's every address must be public (as for mail servers), unless
    ``allow_private`` (by default the administrator's ``CROSSROADS_SMTP_ALLOW_PRIVATE``), and
    the connection goes to the address checked, so the name cannot resolve elsewhere meanwhile.
    """
    from ..mail.smtp import PRIVATE_ENV, PermanentFailure, check_host

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Outcome.failed(f"{url!r} is not an http or https address.")
    where = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    if allow_private is None:
        allow_private = os.environ.get(PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = check_host(parts.hostname, port, allow_private)[0]
    except PermanentFailure as exc:
        return Outcome.failed(str(exc))
    except (OSError, UnicodeError) as exc:
        return Outcome.failed(f"Cannot find {where} ({_what(exc)}).", temporary=True)
    if parts.scheme == "https":
        context = ssl.create_default_context()
        if ca_file:
            try:
                context.load_verify_locations(cafile=ca_file)
            except OSError as exc:
                return Outcome.failed(
                    f"Cannot read the certificate authorities in {ca_file} ({exc}).", temporary=True
                )
        conn: http.client.HTTPConnection = _PinnedHTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=context, address=address
        )
    else:
        conn = _PinnedHTTPConnection(parts.hostname, parts.port, timeout=timeout, address=address)
    body = json.dumps(data, ensure_ascii=False).encode()
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sent_all = False
    try:
        try:
            conn.putrequest("POST", path)
            conn.putheader("Content-Type", "application/json; charset=utf-8")
            conn.putheader("Content-Length", str(len(body)))
            if key:
                conn.putheader("Idempotency-Key", key)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            conn.endheaders(body)
            sent_all = True
            response = conn.getresponse()
        except ssl.SSLCertVerificationError as exc:
            return Outcome.failed(f"The certificate of {where} is not trusted ({exc.verify_message or exc}).")
        except (OSError, http.client.HTTPException) as exc:
            if not sent_all:
                return Outcome.failed(f"Cannot reach {where} ({_what(exc)}).", temporary=True)
            if isinstance(exc, TimeoutError):
                return Outcome.unknown(
                    f"The whole request reached {where}, but no answer came within {timeout:g} s: "
                    "it may or may not have been taken."
                )
            return Outcome.unknown(
                f"The whole request reached {where}, but the connection was lost before it answered "
                f"({_what(exc)}): it may or may not have been taken."
            )
        try:
            answer = response.read(ANSWER_LIMIT * 4).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            answer = ""
    finally:
        conn.close()
    status = response.status
    if 200 <= status <= 299:
        return Outcome.sent()
    said = f"{where} answered {status} {response.reason}".rstrip()
    if answer.strip():
        said += f": {_reason(answer, ANSWER_LIMIT)}"
    if status >= 500 or status in TEMPORARY_STATUSES:
        return Outcome.failed(said, temporary=True)
    if 300 <= status <= 399:
        return Outcome.failed(f"{said} (a redirect, which is not followed)")
    return Outcome.failed(said)


def _what(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return _reason(str(exc) or type(exc).__name__, ANSWER_LIMIT)
