"""The emails a test queued, read back from the outbox and parsed as the worker would send them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from crossroads.core.models import MessageStatus, OutboxEmail

#: The From address used for a practice without an email server (its emails wait in the outbox).
FALLBACK_FROM = "crossroads@example.invalid"


class Outbox:
    """The ``OutboxEmail`` rows queued since the fixture was made, as :class:`email.message.EmailMessage`.

    Read afresh on every access, so it sees what the test queued after asking
    for the fixture. Each message is built by the same code that sends it
    (``crossroads.core.mail.compose.build_email``), from the practice's
    configured address or :data:`FALLBACK_FROM`.
    """

    def __init__(self, session_factory: Callable[[], Session]):
        self._session_factory = session_factory
        self._after = self._last_id()

    def _last_id(self) -> int:
        from sqlalchemy import func, select

        from crossroads.core.models import OutboxEmail

        with self._session_factory() as session:
            return session.scalar(select(func.max(OutboxEmail.id))) or 0

    def _select(self, transport: str | None = "email"):
        from sqlalchemy import select

        from crossroads.core.models import OutboxEmail

        query = select(OutboxEmail).where(OutboxEmail.id > self._after).order_by(OutboxEmail.id)
        return query if transport is None else query.where(OutboxEmail.transport == transport)

    def rows(self, transport: str | None = "email") -> list[OutboxEmail]:
        """The queued rows themselves (detached), oldest first: status, attempts, ``client_id``…

        Emails by default; name a plugin's ``transport`` for its rows (``payload`` and all),
        or ``None`` for every row.
        """
        with self._session_factory() as session:
            rows = list(session.scalars(self._select(transport)))
            session.expunge_all()
        return rows

    @property
    def messages(self) -> list[EmailMessage]:
        """Every queued email, oldest first, as it would go over the wire."""
        from sqlalchemy import select

        from crossroads.core.mail.compose import build_email
        from crossroads.core.models import PracticeMail

        with self._session_factory() as session:
            rows = session.scalars(self._select()).all()
            senders = dict(session.execute(select(PracticeMail.practice_id, PracticeMail.from_address)).all())
            return [build_email(row, senders.get(row.practice_id) or FALLBACK_FROM) for row in rows]

    def __iter__(self) -> Iterator[EmailMessage]:
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    def __bool__(self) -> bool:
        return bool(self.messages)

    @property
    def subjects(self) -> list[str]:
        """The subject lines, oldest first."""
        return [str(message["Subject"]) for message in self.messages]

    @property
    def last(self) -> EmailMessage:
        """The newest queued email; :class:`AssertionError` when nothing was queued."""
        messages = self.messages
        assert messages, "no email was queued"
        return messages[-1]

    def to(self, address: str) -> list[EmailMessage]:
        """The emails addressed to ``address`` (compared without regard to case), oldest first."""
        wanted = address.strip().lower()
        return [
            message
            for message in self.messages
            if any(a.addr_spec.lower() == wanted for a in message["To"].addresses)
        ]

    @staticmethod
    def body(message: EmailMessage) -> str:
        """The plain-text body of ``message``."""
        part = message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def __repr__(self) -> str:
        return f"<Outbox {self.subjects!r}>"


class Worker:
    """The outbox's worker, run in the test's own thread: each call sends what is due, once.

    The very code ``crossroads worker`` runs (the claim, the row's transport, the record of its
    fate), with the app's plugins' transports and the plugins told of ``message_sent``; only the
    queue (Huey) is left out. ``now`` moves the clock forward, to reach a retry's time.
    """

    def __init__(self, queue: Any):
        self._queue = queue

    def send_due(self, now: datetime | None = None) -> dict[int, MessageStatus | None]:
        """Mark rows left ``sending`` as unknown, then deliver each due row once; their statuses by id."""
        from crossroads.core.mail.outbox import deliver, due_ids, mark_stale

        sessions = self._queue.sessionmaker
        with sessions() as session:
            mark_stale(session, now)
            session.commit()
            ids = due_ids(session, now)
        settings = self._queue.settings
        return {
            outbox_id: deliver(
                sessions,
                outbox_id,
                settings.secret_key,
                settings.smtp_ca_file,
                now=now,
                allow_private=settings.smtp_allow_private,
                transports=self._queue.transports,
            )
            for outbox_id in ids
        }
