"""Practices and the people in them: accounts, invitations, sign-in throttling and forms' one-time tokens."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, enum_column, utcnow

if TYPE_CHECKING:  # relationships name their targets; the mapper registry resolves them
    from .clients import Client


class Role(enum.StrEnum):
    OWNER = "owner"
    COACH = "coach"
    CLIENT = "client"


class InvitationPurpose(enum.StrEnum):
    INVITE = "invite"
    RESET = "reset"


class Practice(Base):
    """A coaching business: the tenant. Nothing crosses between practices."""

    __tablename__ = "practice"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The follow-up rhythm ("3B7"): business days without a reply before suggesting a second
    # person at the same organisation, and before a follow-up to the first person is due.
    second_person_after_days: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    follow_up_after_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")

    users: Mapped[list[User]] = relationship(back_populates="practice")


class User(Base):
    """Anyone who signs in: the practice owner, a coach, or a client."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # None until the person accepts their invitation and sets a password.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Bumped on password change; signs out every other session of this user.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    practice: Mapped[Practice] = relationship(back_populates="users")
    client: Mapped[Client | None] = relationship(
        back_populates="user", foreign_keys="Client.user_id", uselist=False
    )

    # Flask-Login's user protocol, written out so the core need not import it.
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        """The session id: a password change bumps the version and ends older sessions."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_staff(self) -> bool:
        """Owners and coaches: the people who see a caseload."""
        return self.role in (Role.OWNER, Role.COACH)

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None


class Invitation(Base):
    """A signed, expiring, single-use link: to join a practice, or to reset a password."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    purpose: Mapped[InvitationPurpose] = mapped_column(enum_column(InvitationPurpose, "invitation_purpose"))
    # SHA-256 of the random part of the link; the link itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > now


class LoginFailure(Base):
    """One failed sign-in, kept briefly to throttle guessing. Lives in the database, not a process."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_email_at", "email", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    #: The known browser the attempt came from ("" for any other): see ``accounts.authenticate``.
    device: Mapped[str] = mapped_column(String(64), default="", server_default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FormToken(Base):
    """A form's one-time token, claimed when the form is submitted (see ``locking.claim_form_token``).

    A page renders a fresh token into each form; a second submit of the same form (a double click,
    the back button) finds it claimed and does nothing. Kept two days, then deleted.
    """

    __tablename__ = "form_token"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
