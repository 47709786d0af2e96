"""The alumni offices plugin's tables: the practice's institutions, clients' affiliations with them,
introduction requests to their offices, and the contacts those requests brought.

Every row carries ``practice_id``; rows that belong to a client carry ``client_id`` too, so
:class:`~crossroads.plugin.Scope` narrows them to the user's clients like the core's own.
The core's tables are not changed: an introduced contact is linked to its request here.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crossroads.plugin import (
    Base,
    CareerTheme,
    Client,
    Contact,
    OutreachMessage,
    UTCDateTime,
    enum_column,
    utcnow,
)


class Office(enum.StrEnum):
    """Which office of an institution a request goes to."""

    ALUMNI = "alumni"
    CAREER = "career"


OFFICE_LABELS = {Office.ALUMNI: "Alumni office", Office.CAREER: "Career centre"}


class RequestStatus(enum.StrEnum):
    """Where an introduction request is: waiting for the office, answered, or closed by the client."""

    SENT = "sent"
    ANSWERED = "answered"
    CLOSED = "closed"


REQUEST_STATUS_LABELS = {
    RequestStatus.SENT: "Waiting for an answer",
    RequestStatus.ANSWERED: "Answered",
    RequestStatus.CLOSED: "Closed",
}


class Institution(Base):
    """A university, college or training institution in the practice's directory, kept by coaches.

    Removing one sets ``removed_at`` (undone by clearing it): clients' affiliations and
    requests keep pointing at it, and its name stays taken.
    """

    __tablename__ = "alumni_institution"
    __table_args__ = (UniqueConstraint("practice_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The name folded (lowercase, no accents, single spaces): unique per practice, and the sort key.
    name_key: Mapped[str] = mapped_column(String(200))
    alumni_email: Mapped[str] = mapped_column(String(254), default="")
    career_email: Mapped[str] = mapped_column(String(254), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    #: Folded name, addresses and notes, for search that works the same on SQLite and PostgreSQL.
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None

    def office_email(self, office: Office) -> str:
        return self.alumni_email if office == Office.ALUMNI else self.career_email

    @property
    def offices(self) -> list[Office]:
        """The offices this institution has an address for."""
        return [office for office in Office if self.office_email(office)]


class Affiliation(Base):
    """A client studied or trained at an institution: the programme and the year they finished."""

    __tablename__ = "alumni_affiliation"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("alumni_institution.id", ondelete="CASCADE"), index=True
    )
    programme: Mapped[str] = mapped_column(String(200), default="")
    year: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when the client removes it; clearing it is the undo.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[Client] = relationship()
    institution: Mapped[Institution] = relationship()


class IntroductionRequest(Base):
    """A client's request to an institution's office for introductions to alumni in a field.

    The email itself is an :class:`~crossroads.plugin.OutreachMessage` (``message``),
    so it shows among the client's messages and goes through the outbox.
    """

    __tablename__ = "alumni_introduction_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("alumni_institution.id", ondelete="CASCADE"), index=True
    )
    affiliation_id: Mapped[int | None] = mapped_column(
        ForeignKey("alumni_affiliation.id", ondelete="SET NULL")
    )
    office: Mapped[Office] = mapped_column(enum_column(Office, "alumni_office_kind"))
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("career_theme.id", ondelete="SET NULL"))
    #: How many alumni the client hopes to be introduced to.
    hoped_for: Mapped[int] = mapped_column(Integer, default=3)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outreach_message.id", ondelete="SET NULL"), unique=True
    )
    status: Mapped[RequestStatus] = mapped_column(
        enum_column(RequestStatus, "alumni_request_status"), default=RequestStatus.SENT
    )
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The client's note on the answer ("they will forward my request to three graduates").
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship()
    institution: Mapped[Institution] = relationship()
    affiliation: Mapped[Affiliation | None] = relationship()
    theme: Mapped[CareerTheme | None] = relationship()
    message: Mapped[OutreachMessage | None] = relationship()
    introductions: Mapped[list[Introduction]] = relationship(
        back_populates="request", order_by="Introduction.id", cascade="all, delete-orphan"
    )


class Introduction(Base):
    """A person an office introduced the client to: a contact (source "alumni office") and its request."""

    __tablename__ = "alumni_introduction"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("alumni_introduction_request.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[IntroductionRequest] = relationship(back_populates="introductions")
    contact: Mapped[Contact] = relationship()
