"""The progress report plugin's tables: a coach's note on a client's period, and the weekly digest opt-in.

Both carry ``practice_id`` so :class:`~crossroads.plugin.Scope` narrows them like the core's
rows; a note carries ``client_id`` too, so a coach reaches only their caseload's notes.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crossroads.plugin import Base, User, UTCDateTime, utcnow


class ReportNote(Base):
    """What the coach wants to say about one client's period (``[period_start, period_end]``, inclusive)."""

    __tablename__ = "progress_report_note"
    __table_args__ = (UniqueConstraint("client_id", "period_start", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    body: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    author: Mapped[User | None] = relationship()


class DigestSubscription(Base):
    """A coach (or owner) who asked for the weekly caseload digest by email."""

    __tablename__ = "progress_report_digest"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The Monday (in the coach's time zone) of the week whose digest went last; None before the first.
    last_sent_week: Mapped[date | None] = mapped_column(Date)

    user: Mapped[User] = relationship()
