"""Clients and their career themes: the caseload's rows, the themes, the decision log."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, enum_column, utcnow

if TYPE_CHECKING:  # relationships name their targets; the mapper registry resolves them
    from .accounts import Practice, User


class ClientStatus(enum.StrEnum):
    ONBOARDING = "onboarding"
    EXPLORING = "exploring"
    DECIDING = "deciding"
    DECIDED = "decided"
    PAUSED = "paused"


class ThemeStatus(enum.StrEnum):
    EXPLORING = "exploring"
    PARKED = "parked"
    CHOSEN = "chosen"
    DROPPED = "dropped"


#: Themes in these states count against a client's limit of three.
ACTIVE_THEME_STATUSES = frozenset({ThemeStatus.EXPLORING, ThemeStatus.CHOSEN})


MAX_ACTIVE_THEMES = 3


class Client(Base):
    """A person being coached through a career change, with their own workspace."""

    __tablename__ = "client"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[ClientStatus] = mapped_column(
        enum_column(ClientStatus, "client_status"), default=ClientStatus.ONBOARDING
    )
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The daily reminder email (core/reminders.py): on or off, the local hour it goes from, and the
    #: client's local date it last went (claimed by one conditional UPDATE, so once a day at most).
    reminders_on: Mapped[bool] = mapped_column(default=True, server_default=true())
    reminder_hour: Mapped[int] = mapped_column(Integer, default=8, server_default="8")
    last_reminded_on: Mapped[date | None] = mapped_column(Date)
    #: When the coach was last told this client stalled (``services.notifications.notify_stalled``):
    #: a stall that began before it has been told, so each stall is told once.
    stalled_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    practice: Mapped[Practice] = relationship()
    user: Mapped[User] = relationship(back_populates="client", foreign_keys=[user_id])
    coach: Mapped[User] = relationship(foreign_keys=[coach_id])
    themes: Mapped[list[CareerTheme]] = relationship(
        back_populates="client", order_by="CareerTheme.position, CareerTheme.id"
    )

    __table_args__ = (Index("ix_client_practice_coach", "practice_id", "coach_id"),)

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def timezone(self) -> str:
        """A client's time zone is their account's."""
        return self.user.timezone

    @property
    def active_themes(self) -> list[CareerTheme]:
        return [t for t in self.themes if t.status in ACTIVE_THEME_STATUSES]


class CareerTheme(Base):
    """One career direction a client explores for the next two or three years."""

    __tablename__ = "career_theme"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    target_conversations: Mapped[int] = mapped_column(Integer, default=5)
    status: Mapped[ThemeStatus] = mapped_column(
        enum_column(ThemeStatus, "theme_status"), default=ThemeStatus.EXPLORING
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    client: Mapped[Client] = relationship(back_populates="themes")
    practice: Mapped[Practice] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_THEME_STATUSES


class ThemeDecision(Base):
    """An entry in a client's decision log: a theme chosen, parked or dropped, and why."""

    __tablename__ = "theme_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("career_theme.id", ondelete="CASCADE"))
    decision: Mapped[ThemeStatus] = mapped_column(enum_column(ThemeStatus, "theme_status"))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    theme: Mapped[CareerTheme] = relationship()
    by_user: Mapped[User | None] = relationship()
