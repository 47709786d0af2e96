"""Question banks: shared banks of questions and who may read them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, enum_column, utcnow

if TYPE_CHECKING:  # relationships name their targets; the mapper registry resolves them
    from .accounts import User
    from .clients import Client


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
