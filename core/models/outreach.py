"""Outreach: the messages a client writes, the outbox every sent message goes through, and templates."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, enum_column, utcnow

if TYPE_CHECKING:  # relationships name their targets; the mapper registry resolves them
    from .clients import Client
    from .contacts import Contact
    from .conversations import Conversation


class MessageKind(enum.StrEnum):
    """What an outreach message is for."""

    FIRST_REQUEST = "first_request"
    FOLLOW_UP = "follow_up"
    THANK_YOU = "thank_you"
    INTRODUCTION_REQUEST = "introduction_request"
    INVITATION = "invitation"  # a calendar invitation for a scheduled conversation


KIND_LABELS = {
    MessageKind.FIRST_REQUEST: "First request",
    MessageKind.FOLLOW_UP: "Follow-up",
    MessageKind.THANK_YOU: "Thank-you",
    MessageKind.INTRODUCTION_REQUEST: "Introduction request",
    MessageKind.INVITATION: "Calendar invitation",
}


class MessageStatus(enum.StrEnum):
    """Where a message is. ``handed_off`` waits for the client to send it themselves;
    ``queued`` → ``sending`` → ``sent`` / ``failed`` / ``unknown`` is the outbox's path."""

    HANDED_OFF = "handed_off"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"


MESSAGE_STATUS_LABELS = {
    MessageStatus.HANDED_OFF: "Waiting for you to send it",
    MessageStatus.QUEUED: "Queued",
    MessageStatus.SENDING: "Sending",
    MessageStatus.SENT: "Sent",
    MessageStatus.FAILED: "Failed",
    MessageStatus.UNKNOWN: "Unknown: check your sent mail",
}


class OutboxEmail(Base):
    """A message waiting to go, going, or gone: written here first, then sent by a background worker.

    Most rows are emails; a row whose ``transport`` is not ``"email"`` goes by a
    plugin's transport (:mod:`crossroads.core.outreach.transports`), with what it needs in
    ``payload``. The worker claims a row (``queued`` → ``sending``) with a
    conditional update before it sends, so two workers never send the same row;
    a row left ``sending`` by a worker that died is marked ``unknown`` and never
    resent without a person deciding to.
    """

    __tablename__ = "outbox_email"
    __table_args__ = (Index("ix_outbox_email_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    status: Mapped[MessageStatus] = mapped_column(
        enum_column(MessageStatus, "message_status"), default=MessageStatus.QUEUED
    )
    sender_name: Mapped[str] = mapped_column(String(300), default="")
    reply_to: Mapped[str] = mapped_column(String(254), default="")
    to_address: Mapped[str] = mapped_column(String(254))
    to_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    #: A calendar part (text/calendar) and its METHOD, for invitations.
    ics: Mapped[str | None] = mapped_column(Text)
    ics_method: Mapped[str | None] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    in_reply_to: Mapped[str] = mapped_column(String(250), default="")
    references: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Which transport delivers the row: ``"email"`` (the core's SMTP) or a plugin's transport's name.
    transport: Mapped[str] = mapped_column(String(50), default="email", server_default="email")
    #: What a plugin's transport needs beyond the addressee, subject and body (a JSON object,
    #: at most ``transports.PAYLOAD_LIMIT`` characters); None for email, whose headers have columns.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class OutreachMessage(Base):
    """A message from a client to a contact (or to an office), on one channel.

    Email messages are delivered through :class:`OutboxEmail`, whose fate the
    worker copies here; other channels hand the message to the client, who
    sends it themselves and marks it sent.
    """

    __tablename__ = "outreach_message"
    __table_args__ = (
        # Incoming mail finds the latest message sent to an address (core/inbox/match.py).
        Index("ix_outreach_message_practice_to", "practice_id", func.lower(sql_text("to_address"))),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversation.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(50))
    kind: Mapped[MessageKind] = mapped_column(enum_column(MessageKind, "message_kind"))
    #: The channel's own variant, e.g. a LinkedIn connection note or InMail.
    format: Mapped[str] = mapped_column(String(30), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    to_name: Mapped[str] = mapped_column(String(200), default="")
    to_address: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[MessageStatus] = mapped_column(enum_column(MessageStatus, "message_status"))
    #: The checks that warned when the client sent it anyway: [{"code", "message"}].
    warnings: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("outreach_message.id", ondelete="SET NULL"))
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_email.id", ondelete="SET NULL"), unique=True
    )
    error: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The random part of the reply address (``replies+<token>@…``) that brings an answer back to
    #: this message; given when an email is queued (older messages have none).
    reply_token: Mapped[str | None] = mapped_column(String(32), unique=True)

    client: Mapped[Client] = relationship()
    contact: Mapped[Contact | None] = relationship()
    conversation: Mapped[Conversation | None] = relationship()
    outbox: Mapped[OutboxEmail | None] = relationship()
    in_reply_to: Mapped[OutreachMessage | None] = relationship(remote_side=[id])


class MessageTemplate(Base):
    """A practice's own wording for one channel, kind and format; the channel's default applies otherwise."""

    __tablename__ = "message_template"
    __table_args__ = (UniqueConstraint("practice_id", "channel", "kind", "format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(50))
    kind: Mapped[MessageKind] = mapped_column(enum_column(MessageKind, "message_kind"))
    format: Mapped[str] = mapped_column(String(30), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: Why it failed on a client's draft (who then got the channel's default); cleared when saved again.
    problem: Mapped[str] = mapped_column(Text, default="", server_default="")
    problem_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
