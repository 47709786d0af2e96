"""A practice's email server settings, and the demo's caught mail."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, enum_column, utcnow


class DemoMail(Base):
    """One message the demo's mail catcher received (``crossroads serve --demo`` only), kept as it arrived.

    ``party_client_id`` is the client the message is to or from (by address), if any: that
    client sees it on the demo's Sent mail page, as do the practice's staff.
    """

    __tablename__ = "demo_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"), index=True)
    party_client_id: Mapped[int | None] = mapped_column(
        ForeignKey("client.id", ondelete="CASCADE"), index=True
    )
    mail_from: Mapped[str] = mapped_column(String(254), default="")
    #: The envelope's recipients, one a line.
    rcpt_tos: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(250), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailSecurity(enum.StrEnum):
    STARTTLS = "starttls"
    TLS = "tls"  # implicit TLS, usually port 465
    NONE = "none"  # plain SMTP: only without a password (e.g. a relay on an allowed private address)


class PracticeMail(Base):
    """The SMTP server a practice sends through; the password is encrypted with the secret key."""

    __tablename__ = "practice_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"), unique=True)
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int] = mapped_column(Integer, default=587)
    security: Mapped[MailSecurity] = mapped_column(
        enum_column(MailSecurity, "mail_security"), default=MailSecurity.STARTTLS
    )
    username: Mapped[str] = mapped_column(String(254), default="")
    password_encrypted: Mapped[str] = mapped_column(Text, default="")
    from_address: Mapped[str] = mapped_column(String(254))
    #: Where answers come back (``replies@…``); empty: Reply-To is the client's own address.
    reply_address: Mapped[str] = mapped_column(String(254), default="", server_default="")
    #: Write ``replies+<token>@…`` so that each answer names its message (the mailbox must
    #: deliver subaddresses, e.g. Postfix ``recipient_delimiter = +``).
    plus_addressing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: SHA-256 of the inbound endpoint's secret (shown once to the owner); empty: endpoint closed.
    inbound_secret_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    inbound_secret_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
