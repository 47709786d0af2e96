"""Incoming mail: the practice's reply mailbox and every message recorded from it."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, enum_column, utcnow
from .mail import MailSecurity

if TYPE_CHECKING:  # relationships name their targets; the mapper registry resolves them
    from .contacts import Contact
    from .outreach import OutreachMessage


class InboundKind(enum.StrEnum):
    """What an incoming email turned out to be."""

    PENDING = "pending"  # recorded, not yet read
    REPLY = "reply"
    AUTO_REPLY = "auto_reply"  # "away": an out-of-office or other automatic answer
    BOUNCE = "bounce"  # a delivery failure report
    UNRELATED = "unrelated"  # matched no message of ours: left alone, counted
    SPAM = "spam"


INBOUND_KIND_LABELS = {
    InboundKind.PENDING: "Waiting to be read",
    InboundKind.REPLY: "Replies",
    InboundKind.AUTO_REPLY: "Automatic replies (away)",
    InboundKind.BOUNCE: "Delivery failures",
    InboundKind.UNRELATED: "Unrelated mail (left alone)",
    InboundKind.SPAM: "Spam (left alone)",
}


class InboundMail(Base):
    """One email that arrived at a practice's reply mailbox or inbound endpoint, kept whole.

    Recorded once per practice and ``Message-ID`` (a message without one is keyed
    by a digest of its bytes), so a message fetched twice, by two workers or
    after a crash, is processed once. ``raw`` is the full original; what it
    meant is in ``kind`` and the rows it touched. Transports only record it (``kind`` pending);
    the worker processes it right after (:mod:`crossroads.core.inbox.pending`).
    """

    __tablename__ = "inbound_mail"
    __table_args__ = (
        UniqueConstraint("practice_id", "message_id"),
        Index("ix_inbound_mail_kind_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(250))
    #: "imap" or "post" (the inbound endpoint); for IMAP, "UIDVALIDITY:UID" in ``source_ref``.
    source: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str] = mapped_column(String(60), default="")
    from_address: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    kind: Mapped[InboundKind] = mapped_column(
        enum_column(InboundKind, "inbound_kind"), default=InboundKind.PENDING
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: What it was matched to (a reply or automatic reply: the message, its contact and client).
    outreach_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outreach_message.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    #: The answer itself: the plain text with quoted history and signature trimmed.
    text: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: An automatic reply's "back on" date, if it gave one.
    away_until: Mapped[date | None] = mapped_column(Date)
    #: In words, why it was read as it was (a bounce's diagnostic, how a reply was matched).
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: Processing (:mod:`crossroads.core.inbox.pending`): when the last claim was taken (a claim
    #: older than the lease is a dead worker's), how many claims were taken, and the last failure.
    #: A message still pending after the last attempt has failed for good and is shown as such.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str] = mapped_column(Text, default="", server_default="")

    outreach_message: Mapped[OutreachMessage | None] = relationship()
    contact: Mapped[Contact | None] = relationship()


class PracticeMailbox(Base):
    """The IMAP mailbox a practice's replies arrive in, and how far the poller has read it.

    The password is encrypted like :class:`PracticeMail`'s. ``uidvalidity`` is None
    until the first connection, which starts reading after the messages already
    there (``last_uid`` = UIDNEXT - 1). ``lease_token`` and ``lease_until`` are the
    poller's claim (one poller per mailbox at a time); ``last_error`` and
    ``failing_since`` say why the last poll failed, and since when polls fail.
    """

    __tablename__ = "practice_mailbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"), unique=True)
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int] = mapped_column(Integer, default=993)
    security: Mapped[MailSecurity] = mapped_column(
        enum_column(MailSecurity, "mailbox_security"), default=MailSecurity.TLS
    )
    username: Mapped[str] = mapped_column(String(254))
    password_encrypted: Mapped[str] = mapped_column(Text, default="")
    folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    #: IMAP UIDVALIDITY and UIDs are unsigned 32-bit numbers: beyond an INTEGER's range.
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str] = mapped_column(String(32), default="")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
