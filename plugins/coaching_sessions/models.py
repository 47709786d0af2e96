"""The coaching sessions plugin's tables: a coach's sessions with a client, and the action items agreed.

Both carry ``practice_id`` and ``client_id``, so :class:`~crossroads.plugin.Scope` narrows them
to the user's clients like the core's own rows. A client's scope reaches their sessions too:
the private notes are kept from them by the services and pages (never shown, never in their
export), not by the scope.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crossroads.plugin import Base, CareerTheme, Client, Contact, User, UTCDateTime, enum_column, utcnow


class SessionStatus(enum.StrEnum):
    """Where a session is: to come, held, or called off."""

    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


STATUS_LABELS = {
    SessionStatus.SCHEDULED: "Scheduled",
    SessionStatus.HELD: "Held",
    SessionStatus.CANCELLED: "Cancelled",
}


class Assignee(enum.StrEnum):
    """Who agreed to do an action item."""

    CLIENT = "client"
    COACH = "coach"


class CoachingSession(Base):
    """One session of a coach with a client: when (UTC, and the zone it was scheduled in), how long,
    the coach's private notes, and the summary shared with the client (``shared_at`` once shared)."""

    __tablename__ = "coaching_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    minutes: Mapped[int] = mapped_column(Integer, default=50)
    #: The IANA zone the coach scheduled it in (each viewer still sees it in their own zone).
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    location: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[SessionStatus] = mapped_column(
        enum_column(SessionStatus, "coaching_session_status"), default=SessionStatus.SCHEDULED
    )
    #: The coach's own notes: never shown to the client, never in the client's own export.
    private_notes: Mapped[str] = mapped_column(Text, default="")
    #: What the client gets once it is shared (``shared_at``).
    summary: Mapped[str] = mapped_column(Text, default="")
    shared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The calendar file's stable UID and its SEQUENCE (raised when the time changes or it is cancelled).
    uid: Mapped[str] = mapped_column(String(200))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    client: Mapped[Client] = relationship()
    coach: Mapped[User | None] = relationship()
    actions: Mapped[list[ActionItem]] = relationship(
        back_populates="coaching_session", order_by="ActionItem.id", cascade="all, delete-orphan"
    )

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.minutes)

    @property
    def is_shared(self) -> bool:
        return self.shared_at is not None


class ActionItem(Base):
    """Something agreed in a session, for the client (or the coach) to do by ``due_on``.

    It may point at a theme, a contact or a question bank where that helps; ``done_at`` is set
    when it is ticked off (cleared again by an undo).
    """

    __tablename__ = "coaching_action_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("coaching_session.id", ondelete="CASCADE"), index=True)
    assignee: Mapped[Assignee] = mapped_column(
        enum_column(Assignee, "coaching_action_assignee"), default=Assignee.CLIENT
    )
    text: Mapped[str] = mapped_column(String(500))
    #: The client's calendar date it is due on.
    due_on: Mapped[date] = mapped_column(Date)
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("career_theme.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("question_bank.id", ondelete="SET NULL"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    coaching_session: Mapped[CoachingSession] = relationship(back_populates="actions")
    theme: Mapped[CareerTheme | None] = relationship()
    contact: Mapped[Contact | None] = relationship()

    @property
    def is_done(self) -> bool:
        return self.done_at is not None
