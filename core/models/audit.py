"""The audit log: who viewed or changed which client's data, and when."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, enum_column, utcnow

if TYPE_CHECKING:  # relationships name their targets; the mapper registry resolves them
    from .accounts import User


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
