"""The core's tables. Every row that belongs to a practice carries ``practice_id``."""

from __future__ import annotations

import enum
import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    true,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .db import Base, UTCDateTime, enum_column, utcnow


def __getattr__(name: str) -> Any:
    """Names that moved, kept for one release with a warning (docs/plugins/changes.md)."""
    if name == "_enum":
        import warnings

        warnings.warn(
            "crossroads.core.models._enum is deprecated and goes in Crossroads 0.3; "
            "use crossroads.plugin.enum_column",
            DeprecationWarning,
            stacklevel=2,
        )
        return enum_column
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Role(enum.StrEnum):
    OWNER = "owner"
    COACH = "coach"
    CLIENT = "client"


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


class CalendarFeed(Base):
    """A user's private calendar subscription: the feed's secret (stored only as its hash) and choices.

    One per user at most. Renewing replaces the hash, so the old address stops working at once;
    revoking deletes the row.
    """

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    # SHA-256 of the secret in the address; the address itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: A client's feed may also carry their follow-ups and thank-yous due, as all-day items.
    include_follow_ups: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class PracticePlugin(Base):
    """Whether a plugin is on for a practice, and its settings there."""

    __tablename__ = "practice_plugin"
    __table_args__ = (UniqueConstraint("practice_id", "plugin_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    plugin_name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(default=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


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


# -- question banks, conversations, reflections, goals ------------------------------------


class Category(enum.StrEnum):
    """The ten kinds of question a starter bank covers."""

    BACKGROUND = "background"
    INDUSTRY = "industry"
    DAY_TO_DAY = "day_to_day"
    SKILLS = "skills"
    CAREER_ADVICE = "career_advice"
    NETWORKING = "networking"
    FUTURE = "future"
    WORK_LIFE = "work_life"
    MENTORSHIP = "mentorship"
    CLOSING = "closing"


CATEGORY_LABELS = {
    Category.BACKGROUND: "Background and career path",
    Category.INDUSTRY: "Industry and company insights",
    Category.DAY_TO_DAY: "Day-to-day responsibilities",
    Category.SKILLS: "Skills and qualifications",
    Category.CAREER_ADVICE: "Career advice",
    Category.NETWORKING: "Networking and professional growth",
    Category.FUTURE: "Industry changes and future outlook",
    Category.WORK_LIFE: "Work-life balance",
    Category.MENTORSHIP: "Mentorship and guidance",
    Category.CLOSING: "Closing",
}


class Reach(enum.StrEnum):
    """Who may see a bank."""

    PRACTICE = "practice"  # every coach of the practice, and every client of theirs
    OWNER = "owner"  # only the coach who owns it
    CLIENTS = "clients"  # the owner, and the clients chosen for it


bank_client = Table(
    "bank_client",
    Base.metadata,
    Column("bank_id", ForeignKey("question_bank.id", ondelete="CASCADE"), primary_key=True),
    Column("client_id", ForeignKey("client.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class QuestionBank(Base):
    """A coach's named set of questions, shared as far as its reach says."""

    __tablename__ = "question_bank"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    reach: Mapped[Reach] = mapped_column(enum_column(Reach, "bank_reach"), default=Reach.PRACTICE)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship()
    questions: Mapped[list[Question]] = relationship(
        back_populates="bank", order_by="Question.position, Question.id", cascade="all, delete-orphan"
    )
    clients: Mapped[list[Client]] = relationship(secondary=bank_client)

    @property
    def live_questions(self) -> list[Question]:
        return [q for q in self.questions if q.retired_at is None]


class Question(Base):
    __tablename__ = "question"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("question_bank.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[Category] = mapped_column(enum_column(Category, "question_category"))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    bank: Mapped[QuestionBank] = relationship(back_populates="questions")


class Medium(enum.StrEnum):
    VIDEO = "video"
    PHONE = "phone"
    IN_PERSON = "in_person"


class ConversationStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


class Conversation(Base):
    """One informational interview with a contact, with its prep sheet."""

    __tablename__ = "conversation"
    __table_args__ = (Index("ix_conversation_client_starts", "client_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("career_theme.id", ondelete="SET NULL"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    minutes: Mapped[int] = mapped_column(Integer, default=20)
    medium: Mapped[Medium] = mapped_column(enum_column(Medium, "conversation_medium"), default=Medium.VIDEO)
    location: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[ConversationStatus] = mapped_column(
        enum_column(ConversationStatus, "conversation_status"), default=ConversationStatus.SCHEDULED
    )
    # RFC 5545: the same UID with a higher SEQUENCE updates the event a calendar already has.
    uid: Mapped[str] = mapped_column(String(100), unique=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    goals: Mapped[str] = mapped_column(Text, default="")
    pitch: Mapped[str] = mapped_column(Text, default="")
    # [{"question": ..., "answer": ...}]: what the contact is likely to ask, with short answers.
    likely_questions: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    client: Mapped[Client] = relationship()
    contact: Mapped[Contact] = relationship()
    theme: Mapped[CareerTheme | None] = relationship()
    questions: Mapped[list[PrepQuestion]] = relationship(
        back_populates="conversation",
        order_by="PrepQuestion.position, PrepQuestion.id",
        cascade="all, delete-orphan",
    )
    reflection: Mapped[Reflection | None] = relationship(back_populates="conversation", uselist=False)


class PrepQuestion(Base):
    """A question chosen for one conversation: its own copy of the text, and the notes taken."""

    __tablename__ = "prep_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[Category | None] = mapped_column(enum_column(Category, "question_category"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[str] = mapped_column(Text, default="")
    notes_saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    conversation: Mapped[Conversation] = relationship(back_populates="questions")


class Reflection(Base):
    """What the client noticed and felt right after a conversation. Private unless shared."""

    __tablename__ = "reflection"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), unique=True
    )
    energy: Mapped[int] = mapped_column(Integer)  # -2 draining … +2 energising
    fit: Mapped[int] = mapped_column(Integer)  # 1 … 5, fit with the theme
    body: Mapped[str] = mapped_column(Text, default="")
    thoughts: Mapped[str] = mapped_column(Text, default="")
    feelings: Mapped[str] = mapped_column(Text, default="")
    surprises: Mapped[str] = mapped_column(Text, default="")
    less_shiny: Mapped[str] = mapped_column(Text, default="")
    insights: Mapped[str] = mapped_column(Text, default="")
    open_questions: Mapped[str] = mapped_column(Text, default="")
    next_steps: Mapped[str] = mapped_column(Text, default="")
    shared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="reflection")
    comments: Mapped[list[ReflectionComment]] = relationship(
        order_by="ReflectionComment.created_at", cascade="all, delete-orphan"
    )

    @property
    def is_shared(self) -> bool:
        return self.shared_at is not None


class ReflectionComment(Base):
    """A coach's comment on a shared reflection."""

    __tablename__ = "reflection_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    reflection_id: Mapped[int] = mapped_column(ForeignKey("reflection.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship()


class GoalPeriod(enum.StrEnum):
    WEEK = "week"
    QUARTER = "quarter"


class GoalMetric(enum.StrEnum):
    REQUESTS = "requests"
    CONVERSATIONS = "conversations"
    THANK_YOUS = "thank_yous"


class Goal(Base):
    """A target for a week or a quarter: requests sent, conversations held, thank-yous sent."""

    __tablename__ = "goal"
    __table_args__ = (UniqueConstraint("client_id", "period", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    period: Mapped[GoalPeriod] = mapped_column(enum_column(GoalPeriod, "goal_period"))
    metric: Mapped[GoalMetric] = mapped_column(enum_column(GoalMetric, "goal_metric"))
    target: Mapped[int] = mapped_column(Integer)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    set_by: Mapped[User | None] = relationship()


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


class ClientPluginSetting(Base):
    """One plugin's settings for one client (for example a LinkedIn Premium account)."""

    __tablename__ = "client_plugin_setting"
    __table_args__ = (UniqueConstraint("client_id", "plugin_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    plugin_name: Mapped[str] = mapped_column(String(100))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# -- the audit log ------------------------------------------------------------------------


class AuditAction(enum.StrEnum):
    """What someone did with a client's data."""

    VIEWED = "viewed"
    CHANGED = "changed"
    EXPORTED = "exported"
    ERASED = "erased"


AUDIT_ACTION_LABELS = {
    AuditAction.VIEWED: "Viewed",
    AuditAction.CHANGED: "Changed",
    AuditAction.EXPORTED: "Exported",
    AuditAction.ERASED: "Erased",
}


class AuditEvent(Base):
    """One access to a client's data by someone in the practice, for the owner's audit log.

    ``client_id`` is a plain number, not a foreign key: the log outlives an erased client,
    and then says only "client #42". ``what`` never holds a name or an email, only the kind
    of page or row and its id ("reflection 12", "contacts page").
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_practice_at", "practice_id", "at"),
        Index("ix_audit_event_client_at", "client_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    client_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[AuditAction] = mapped_column(enum_column(AuditAction, "audit_action"))
    what: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship()


class FormToken(Base):
    """A form's one-time token, claimed when the form is submitted (see ``locking.claim_form_token``).

    A page renders a fresh token into each form; a second submit of the same form (a double click,
    the back button) finds it claimed and does nothing. Kept two days, then deleted.
    """

    __tablename__ = "form_token"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


# -- notifications ------------------------------------------------------------------------


class NotificationKind(enum.StrEnum):
    """What happened that Crossroads tells someone about."""

    REPLY = "reply"  # a client's contact replied (to the client and their coach)
    REFLECTION_SHARED = "reflection_shared"  # to the client's coach
    COMMENT = "comment"  # a coach commented on a client's reflection (to the client)
    SUGGESTION = "suggestion"  # a coach suggested a contact (to the client)
    INVITATION_ACCEPTED = "invitation_accepted"  # to the client's coach (and inviter)
    STALLED = "stalled"  # a client stalled (to their coach)


NOTIFICATION_KIND_LABELS = {
    NotificationKind.REPLY: "A contact replied",
    NotificationKind.REFLECTION_SHARED: "A reflection was shared",
    NotificationKind.COMMENT: "Your coach commented",
    NotificationKind.SUGGESTION: "Your coach suggested a contact",
    NotificationKind.INVITATION_ACCEPTED: "An invitation was accepted",
    NotificationKind.STALLED: "A client stalled",
}


class Delivery(enum.StrEnum):
    """How a coach wants one kind of notification: emailed at once, in the weekly digest, or neither."""

    AT_ONCE = "at_once"
    DIGEST = "digest"
    IN_APP = "in_app"


DELIVERY_LABELS = {
    Delivery.AT_ONCE: "At once, by email",
    Delivery.DIGEST: "In the weekly digest",
    Delivery.IN_APP: "Only in Crossroads",
}


class Notification(Base):
    """One thing to tell one user, listed in Crossroads until read; maybe emailed or digested too.

    Scoped to its user alone (``Scope.select``): nobody else, not even the owner, reads it.
    ``client_id`` names the client it is about, so it is exported and erased with them.
    """

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind, "notification_kind"))
    #: How it was to be delivered when it was made (the coach's choice then).
    delivery: Mapped[Delivery] = mapped_column(enum_column(Delivery, "notification_delivery"))
    text: Mapped[str] = mapped_column(String(300))
    #: A path on this site (``/contacts/12``), never a full address.
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    digested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(Base):
    """A coach's choice of delivery for one kind of notification; a kind without a row takes the default."""

    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind, "notification_kind"))
    delivery: Mapped[Delivery] = mapped_column(enum_column(Delivery, "notification_delivery"))
