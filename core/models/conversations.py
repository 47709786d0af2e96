"""Conversations (scheduling, prep sheets), reflections and their comments, and goals."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, enum_column, utcnow
from .banks import Category

if TYPE_CHECKING:  # relationships name their targets; the mapper registry resolves them
    from .accounts import User
    from .clients import CareerTheme, Client
    from .contacts import Contact


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
