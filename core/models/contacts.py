"""A client's contacts and their way through the pipeline (stages, sources, stage changes)."""

from __future__ import annotations

import enum
import re
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..db import Base, UTCDateTime, enum_column, utcnow

if TYPE_CHECKING:  # relationships name their targets; the mapper registry resolves them
    from .accounts import User
    from .clients import CareerTheme, Client


#: A contact source's name (the same rule as ``crossroads.core.sources.NAME``).
SOURCE_NAME = re.compile(r"[a-z][a-z0-9_]{1,39}")


class ContactSource(enum.StrEnum):
    LINKEDIN = "linkedin_import"
    MANUAL = "manual"
    COACH = "coach_suggestion"
    REFERRAL = "referral"
    ALUMNI = "alumni_office"
    ASSOCIATION = "association"
    ADDRESS_BOOK = "address_book"


#: The core's sources' labels. Plugins add sources of their own (``contact_sources`` hook), so a
#: contact's ``source`` is any registered name: label it with ``SourceRegistry.label``.
SOURCE_LABELS = {
    ContactSource.LINKEDIN: "LinkedIn import",
    ContactSource.MANUAL: "Added by hand",
    ContactSource.COACH: "Suggested by the coach",
    ContactSource.REFERRAL: "Referral",
    ContactSource.ALUMNI: "Alumni office",
    ContactSource.ASSOCIATION: "Professional association",
    ContactSource.ADDRESS_BOOK: "Address book (vCard)",
}


class Stage(enum.StrEnum):
    """Where a contact is in the outreach pipeline; the last two are ends."""

    IDENTIFIED = "identified"
    RESEARCHED = "researched"
    REQUESTED = "requested"
    REPLIED = "replied"
    SCHEDULED = "scheduled"
    TALKED = "talked"
    THANKED = "thanked"
    DECLINED = "declined"
    NO_RESPONSE = "no_response"


STAGE_LABELS = {
    Stage.IDENTIFIED: "Identified",
    Stage.RESEARCHED: "Researched",
    Stage.REQUESTED: "Requested",
    Stage.REPLIED: "Replied",
    Stage.SCHEDULED: "Scheduled",
    Stage.TALKED: "Talked",
    Stage.THANKED: "Thanked",
    Stage.DECLINED: "Declined",
    Stage.NO_RESPONSE: "No response",
}


class Suggestion(enum.StrEnum):
    """A coach's suggestion waits for the client to accept or dismiss it."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"


contact_theme = Table(
    "contact_theme",
    Base.metadata,
    Column("contact_id", ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ForeignKey("career_theme.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Contact(Base):
    """A person a client may talk to."""

    __tablename__ = "contact"
    __table_args__ = (
        # Re-importing matches on the profile URL; one contact per URL per client.
        UniqueConstraint("client_id", "linkedin_url"),
        Index("ix_contact_client_stage", "client_id", "stage"),
        Index("ix_contact_client_name", "client_id", "sort_name"),
        # Incoming mail finds the contact who wrote by address (core/inbox/match.py).
        Index("ix_contact_practice_email", "practice_id", func.lower(sql_text("email"))),
        # What is due and overdue is counted from these two dates (core/outreach/due_dates.py).
        Index("ix_contact_client_due_on", "client_id", "due_on"),
        Index("ix_contact_client_overdue_from", "client_id", "overdue_from"),
        # The contacts page shows a client's pending suggestions: a few rows among tens of
        # thousands, found through an index of only those (partial on SQLite and PostgreSQL).
        Index(
            "ix_contact_client_pending",
            "client_id",
            "created_at",
            sqlite_where=sql_text("suggestion = 'pending'"),
            postgresql_where=sql_text("suggestion = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # Lowercased name for sorting the same way on SQLite and PostgreSQL.
    sort_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    linkedin_url: Mapped[str | None] = mapped_column(String(500))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[str] = mapped_column(String(200), default="")
    #: A source's name: one of ``ContactSource`` or a plugin's (``crossroads.core.sources``); it stays
    #: when that plugin is switched off or removed.
    source: Mapped[str] = mapped_column(String(40))
    referred_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    suggested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    suggestion: Mapped[Suggestion | None] = mapped_column(enum_column(Suggestion, "contact_suggestion"))
    research_notes: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Folded (lowercase, no accents) copies kept by services.contacts.refresh_search_columns:
    # name, organisation, position, email and tags for search; position and organisation
    # for matching warm leads to themes; "|tag|tag|" for filtering by tag.
    search_text: Mapped[str] = mapped_column(Text, default="")
    work_text: Mapped[str] = mapped_column(Text, default="")
    tag_text: Mapped[str] = mapped_column(Text, default="")
    connected_on: Mapped[date | None] = mapped_column(Date)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage, "contact_stage"), default=Stage.IDENTIFIED)
    stage_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    follow_ups_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Nothing is due for this contact before this date (the client's calendar): set when the
    #: client snoozes a follow-up, or when the contact's auto-reply says they are away until then.
    quiet_until: Mapped[date | None] = mapped_column(Date)
    #: The first day something is due for this contact, and the first day it is overdue, in the
    #: client's calendar (``followups.due_dates``); None when nothing will be. Kept when the contact
    #: changes (core/outreach/due_dates.py), recomputed when the client's zone or the practice's
    #: rhythm changes.
    due_on: Mapped[date | None] = mapped_column(Date)
    overdue_from: Mapped[date | None] = mapped_column(Date)
    #: Why mail to ``email`` came back (a delivery failure report), and when; cleared when the
    #: address is edited.
    email_problem: Mapped[str] = mapped_column(Text, default="", server_default="")
    email_problem_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    client: Mapped[Client] = relationship()
    referred_by: Mapped[Contact | None] = relationship(remote_side=[id], back_populates="referrals")
    referrals: Mapped[list[Contact]] = relationship(back_populates="referred_by", order_by="Contact.name")
    suggested_by: Mapped[User | None] = relationship()
    themes: Mapped[list[CareerTheme]] = relationship(secondary=contact_theme, order_by="CareerTheme.position")

    @property
    def is_pending_suggestion(self) -> bool:
        return self.suggestion == Suggestion.PENDING

    @validates("source")
    def _source_name(self, _key: str, value: str) -> str:
        """A source's name in the allowed form (services check that it is registered)."""
        if not isinstance(value, str) or SOURCE_NAME.fullmatch(value) is None:
            raise ValueError(f"{value!r} is not a contact source's name")
        return str(value)


class StageChange(Base):
    """One move of a contact between stages, kept so reports can count what happened when."""

    __tablename__ = "stage_change"
    __table_args__ = (Index("ix_stage_change_client_at", "client_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[Stage | None] = mapped_column(enum_column(Stage, "contact_stage"))
    to_stage: Mapped[Stage] = mapped_column(enum_column(Stage, "contact_stage"))
    # A follow-up sent is recorded here too, with from_stage == to_stage == requested.
    note: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    contact: Mapped[Contact] = relationship()
