"""The demo's email, end to end: a local mail catcher, what it caught, and a contact who answers.

Only ``crossroads serve --demo`` starts a :class:`MailCatcher`: an aiosmtpd
server on 127.0.0.1 and a free port, at which the demo practice's email
settings point (:func:`point_practice_at`), so the real outbox and worker
deliver real SMTP to it. Each message received is stored as a
:class:`~crossroads.core.models.DemoMail` row (:func:`record`), which the
web process's Sent mail page reads, whichever process the worker runs in.

The demo practice has a reply address with plus addressing
(:data:`DEMO_REPLY_ADDRESS`), so each email's ``Reply-To`` carries its token.
When the catcher receives a first request to a contact at
:data:`ANSWERING_DOMAIN`, it writes that contact's reply (:func:`reply_to`),
threaded under the request and addressed to its ``Reply-To``, and after a
short while hands it to the real reply path (:func:`hand_over`): the contact
moves to Replied, the client and their coach are notified, and the client gets
a copy, as with any reply that a practice's mailbox receives.

:func:`remind_now` sends the day's reminder at once to the demo clients with
something due, so that one shows on the Sent mail page from the start.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, getaddresses
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from .db import utcnow
from .inbox import message_id_of, receive
from .inbox.receive import MAX_RAW_BYTES, parse
from .mail.compose import new_message_id, one_line
from .models import (
    Client,
    ClientStatus,
    Contact,
    DemoMail,
    InboundMail,
    MailSecurity,
    MessageKind,
    OutboxEmail,
    OutreachMessage,
    PracticeMail,
    Role,
    User,
)
from .services import contacts as contact_service
from .services import conversations as conversation_service
from .services.reminders import send_reminders

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Contacts with an address at this domain answer a first request by email (in the demo only).
ANSWERING_DOMAIN = "answers.example"
#: The demo practice's sending address when it has none yet.
DEMO_FROM_ADDRESS = "hello@northbridge.example"
#: The demo practice's reply address (with plus addressing) when it has none yet.
DEMO_REPLY_ADDRESS = "replies@northbridge.example"
#: How the catcher names itself in its SMTP greeting (no DNS lookup at start).
CATCHER_NAME = "crossroads-demo-catcher"
#: Longest part of a message shown on the Sent mail page, in characters.
MAX_SHOWN = 200_000


# -- pointing the practice at the catcher ---------------------------------------------------


def point_practice_at(session: Session, practice_id: int, host: str, port: int) -> PracticeMail:
    """Make the practice send through ``host:port``: plain SMTP without a login. Commits.

    A practice without a reply address gets :data:`DEMO_REPLY_ADDRESS` with plus addressing, so
    the demo contact's answer is matched by its token like any reply (an owner's own choice stays).
    """
    settings = session.scalar(select(PracticeMail).where(PracticeMail.practice_id == practice_id))
    if settings is None:
        settings = PracticeMail(practice_id=practice_id, from_address=DEMO_FROM_ADDRESS)
        session.add(settings)
    if not settings.reply_address:
        settings.reply_address, settings.plus_addressing = DEMO_REPLY_ADDRESS, True
    settings.host, settings.port, settings.security = host, port, MailSecurity.NONE
    settings.username, settings.password_encrypted = "", ""
    session.commit()
    return settings


# -- a reminder from the start ---------------------------------------------------------------


def remind_now(session: Session, practice_id: int, now: datetime, secret_key: str, base_url: str) -> int:
    """Queue the daily reminder now for the practice's clients with something due today.

    Each such client whose reminder hour is later in their day gets the hour it is now, so the
    real reminder run (:func:`~crossroads.core.services.reminders.send_reminders`, for this
    practice only) finds them ready; a client reminded today already is not reminded again.
    Returns how many were queued. Commits. For ``serve --demo`` only.
    """
    clients = list(
        session.scalars(
            select(Client)
            .join(User, Client.user_id == User.id)
            .where(
                Client.practice_id == practice_id,
                Client.reminders_on,
                Client.status != ClientStatus.PAUSED,
                User.is_active,
                User.password_hash.is_not(None),
            )
            .options(joinedload(Client.user), joinedload(Client.practice))
            .order_by(Client.id)
        ).unique()
    )
    due = contact_service.due_by_client(session, clients, now)
    tomorrow = conversation_service.tomorrow_by_client(session, clients, now)
    for client in clients:
        hour = now.astimezone(ZoneInfo(client.timezone)).hour
        if (due[client.id] or tomorrow[client.id]) and client.reminder_hour > hour:
            client.reminder_hour = hour
    session.commit()
    return send_reminders(session, now, secret_key, base_url, practice_id=practice_id)


# -- what the catcher received --------------------------------------------------------------


def _addresses(message: EmailMessage, rcpt_tos: Sequence[str]) -> list[str]:
    """Every address the message is to or from: the envelope's recipients, To, Cc, Reply-To and From."""
    values = [str(value) for name in ("To", "Cc", "Reply-To", "From") for value in message.get_all(name, [])]
    found = [address for _, address in getaddresses(values)] + list(rcpt_tos)
    return sorted({a.strip().lower() for a in found if "@" in a})[:50]


def _party_client_id(session: Session, practice_id: int, addresses: list[str]) -> int | None:
    """The practice's client the message is to or from, if any (by their account's address)."""
    if not addresses:
        return None
    return session.scalar(
        select(Client.id)
        .join(User, Client.user_id == User.id)
        .where(
            Client.practice_id == practice_id,
            User.role == Role.CLIENT,
            func.lower(User.email).in_(addresses),
        )
        .order_by(Client.id)
        .limit(1)
    )


def _outreach_client_id(session: Session, practice_id: int, message_id: str) -> int | None:
    """The client whose outreach message this is (its Reply-To is the practice's reply address,
    not the client's own), found by its Message-ID."""
    if not message_id:
        return None
    return session.scalar(
        select(OutreachMessage.client_id)
        .join(OutboxEmail, OutreachMessage.outbox_id == OutboxEmail.id)
        .where(OutboxEmail.practice_id == practice_id, OutboxEmail.message_id == message_id)
        .limit(1)
    )


def _safely(read: Callable[[], T], default: T) -> T:
    try:
        return read()
    except Exception:  # any parsing error: the raw bytes are kept anyway
        return default


def record(
    session: Session, practice_id: int, mail_from: str, rcpt_tos: Sequence[str], raw: bytes
) -> DemoMail:
    """Store one received message as it arrived, with whom it concerns (the client it is to or from,
    or whose outreach it is). Does not commit."""
    raw = raw[:MAX_RAW_BYTES]
    message = parse(raw)
    # Header parsing can fail on a malformed header (the standard library raises, now and then):
    # the message is still kept, as it came, with whom it concerns found from the envelope alone.
    addresses = _safely(lambda: _addresses(message, rcpt_tos), _addresses(EmailMessage(), rcpt_tos))
    message_id = _safely(lambda: message_id_of(message, raw), "")[:250]
    mail = DemoMail(
        practice_id=practice_id,
        party_client_id=_party_client_id(session, practice_id, addresses)
        or _outreach_client_id(session, practice_id, message_id),
        mail_from=one_line(mail_from)[:254],
        rcpt_tos="\n".join(one_line(r)[:254] for r in rcpt_tos[:100]),
        message_id=message_id,
        subject=_safely(lambda: one_line(str(message.get("Subject", "") or "")), "")[:300],
        raw=raw,
        received_at=utcnow(),
    )
    session.add(mail)
    session.flush()
    return mail


@dataclass(frozen=True)
class Part:
    """One leaf part of a caught message: its type and, for text, its decoded content (never rendered)."""

    content_type: str
    filename: str
    text: str | None
    size: int
    cut: bool = False


@dataclass(frozen=True)
class CaughtMessage:
    """A caught message for the Sent mail page: headers exactly as received, and its parts."""

    headers: list[tuple[str, str]]
    parts: list[Part]


def _part(part: EmailMessage) -> Part:
    payload = part.get_payload(decode=True) or b""
    text: str | None = None
    if part.get_content_maintype() == "text":
        try:
            text = part.get_content()
        except Exception:  # an unknown or wrong charset, a malformed header: show the bytes
            text = payload.decode("utf-8", errors="replace")
    cut = text is not None and len(text) > MAX_SHOWN
    return Part(
        content_type=part.get_content_type(),
        filename=one_line(part.get_filename() or "")[:200],
        text=text[:MAX_SHOWN] if text is not None else None,
        size=len(payload),
        cut=cut,
    )


def read(mail: DemoMail) -> CaughtMessage:
    """``mail`` taken apart for showing: raw header values, and each part's text (HTML as source)."""
    message = parse(mail.raw)
    headers = [(name, str(value)) for name, value in message.raw_items()]
    parts = [_part(p) for p in message.walk() if not p.is_multipart()]  # type: ignore[arg-type]
    return CaughtMessage(headers=headers, parts=parts)


# -- the demo contact's answer ---------------------------------------------------------------


def _plain_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    if body is None:
        return ""
    try:
        return str(body.get_content())
    except Exception:
        return ""


def _first_name(name: str) -> str:
    return (one_line(name).split() or ["there"])[0]


def reply_to(session: Session, practice_id: int, raw: bytes) -> bytes | None:
    """The contact's answer when ``raw`` is a first request to a contact at :data:`ANSWERING_DOMAIN`.

    The answer comes from the contact's address, goes to the request's
    ``Reply-To`` (the client), and is threaded under it (``In-Reply-To`` and
    ``References``). None for any other message.
    """
    request = parse(raw[:MAX_RAW_BYTES])
    request_id = one_line(str(request.get("Message-ID", "") or ""))
    if not request_id:
        return None
    found = session.execute(
        select(OutreachMessage, OutboxEmail)
        .join(OutboxEmail, OutreachMessage.outbox_id == OutboxEmail.id)
        .where(
            OutboxEmail.practice_id == practice_id,
            OutboxEmail.message_id == request_id,
            OutreachMessage.kind == MessageKind.FIRST_REQUEST,
        )
    ).first()
    if found is None:
        return None
    outreach, outbox = found
    contact_address = outbox.to_address.strip().lower()
    if contact_address.rpartition("@")[2] != ANSWERING_DOMAIN:
        return None
    answer_to = [a for _, a in getaddresses([str(v) for v in request.get_all("Reply-To", [])]) if "@" in a]
    if not answer_to:
        return None
    contact: Contact | None = outreach.contact
    contact_name = one_line(contact.name if contact else outbox.to_name)[:200]
    theme = (contact.themes[0].title if contact and contact.themes else "the work").lower()
    client_name = outreach.client.user.name if outreach.client else ""
    quoted = "\n".join(f"> {line}" for line in _plain_text(request).splitlines()[:40])

    reply = EmailMessage()
    reply["From"] = Address(display_name=contact_name, addr_spec=contact_address)
    reply["To"] = Address(addr_spec=answer_to[0])
    subject = one_line(str(request.get("Subject", "") or ""))[:250]
    reply["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    reply["Date"] = format_datetime(utcnow())
    reply["Message-ID"] = new_message_id(contact_address)
    reply["In-Reply-To"] = request_id
    earlier = one_line(str(request.get("References", "") or ""))
    reply["References"] = f"{earlier} {request_id}".strip()
    reply.set_content(
        f"Hi {_first_name(client_name)},\n\n"
        f"Thanks for writing. I'd be glad to tell you what {theme} is like from the inside; "
        "people were generous with me when I was starting out.\n\n"
        "Would a 20-minute video call next Tuesday or Wednesday afternoon suit you? "
        "Send me a time that works and I'll put it in my calendar.\n\n"
        f"Best wishes,\n{_first_name(contact_name)}\n\n"
        f"{client_name or 'You'} wrote:\n{quoted}\n"
    )
    return reply.as_bytes(policy=SMTP_POLICY)


def hand_over(session: Session, practice_id: int, raw: bytes) -> InboundMail:
    """Give a reply to the real reply path, as the inbound endpoint would: record it and process it
    at once (:func:`~.inbox.receive`, which commits both)."""
    mail, _ = receive(session, practice_id, raw, source="post")
    return mail


# -- the catcher ----------------------------------------------------------------------------


class MailCatcher:
    """An SMTP server on ``host`` and a free port that keeps every message for one practice.

    :meth:`start` binds and returns at once (no waiting); :meth:`stop` closes
    the server and cancels the answers still to come.
    """

    def __init__(
        self,
        sessions: Callable[[], Session],
        practice_id: int,
        reply_delay: float = 30.0,
        host: str = "127.0.0.1",
    ):
        self.sessions = sessions
        self.practice_id = practice_id
        self.reply_delay = reply_delay
        self.host = host
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._timers: list[threading.Timer] = []
        self._lock = threading.Lock()

    # aiosmtpd's handler hook
    async def handle_DATA(self, server, session, envelope) -> str:
        """Store the message before saying 250, so a failure leaves it for the worker to retry."""
        raw = bytes(envelope.original_content or envelope.content or b"")
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, self._received, envelope.mail_from, list(envelope.rcpt_tos), raw)
        except Exception:
            log.exception("demo mail catcher: could not store a message")
            return "451 Requested action aborted: could not store the message"
        return "250 OK"

    def _received(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> None:
        with self.sessions() as session:
            record(session, self.practice_id, mail_from, rcpt_tos, raw)
            session.commit()
            answer = reply_to(session, self.practice_id, raw)
        if answer is not None:
            self._answer_later(answer)

    def _answer_later(self, answer: bytes) -> None:
        timer = threading.Timer(self.reply_delay, self._answer, args=(answer,))
        timer.daemon = True
        with self._lock:
            self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    def _answer(self, answer: bytes) -> None:
        try:
            with self.sessions() as session:
                hand_over(session, self.practice_id, answer)
        except Exception:
            log.exception("demo mail catcher: the demo contact's answer could not be received")

    def start(self) -> MailCatcher:
        """Listen on ``host`` and a free port, serving in a background thread.

        The event loop lives in that thread from start to end (creating the server included), so
        the catcher starts whatever the calling thread runs (a test's browser driver may hold an
        event loop of its own in the main thread)."""
        from aiosmtpd.smtp import SMTP

        sock = socket.create_server((self.host, 0))
        self.port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def factory() -> SMTP:
            return SMTP(
                self,
                hostname=CATCHER_NAME,
                ident="Crossroads demo mail catcher",
                data_size_limit=MAX_RAW_BYTES,
                enable_SMTPUTF8=True,
                loop=loop,
            )

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(loop.create_server(factory, sock=sock))
            except BaseException as exc:  # reported to start() below
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            # Stopped: end the SMTP sessions still open, then the loop.
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(_settle(tasks))
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name="demo-mail-catcher", daemon=True)
        self._thread.start()
        ready.wait(timeout=10)
        if failure:
            self._loop = self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Close the server, cancel answers still waiting, and end the thread."""
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._timers = []
        loop, server, thread = self._loop, self._server, self._thread
        if loop is None or server is None or thread is None:
            return
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._loop = self._server = self._thread = None

    def wait_for_answers(self, timeout: float = 10.0) -> None:
        """Wait until every answer scheduled so far has been handed over (for tests)."""
        with self._lock:
            timers = list(self._timers)
        for timer in timers:
            timer.join(timeout)


async def _settle(tasks: set[asyncio.Task]) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)


def start_catcher(
    sessions: Callable[[], Session], practice_id: int, reply_delay: float = 30.0, host: str = "127.0.0.1"
) -> MailCatcher:
    """Start a catcher for the practice and point the practice's email settings at it."""
    catcher = MailCatcher(sessions, practice_id, reply_delay, host).start()
    with sessions() as session:
        point_practice_at(session, practice_id, catcher.host, catcher.port)
    return catcher
