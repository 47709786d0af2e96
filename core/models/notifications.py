"""What reaches a user outside the pages: notifications, their delivery choices, and the calendar feed."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, enum_column, utcnow

if TYPE_CHECKING:  # relationships name their targets; the mapper registry resolves them
    from .accounts import User


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


class NotificationKind(enum.StrEnum):
    """What happened that Crossroads tells someone about."""

    REPLY = "reply"  # a client's contact replied (to the client and their coach)
    REFLECTION_SHARED = "reflection_shared"  # to the client's coach
    COMMENT = "comment"  # a coach commented on a client's reflection (to the client)
    SUGGESTION = "suggestion"  # a coach suggested a contact (to the client)
    INVITATION_ACCEPTED = "invitation_accepted"  # to the client's coach (and inviter)
    STALLED = "stalled"  # a client stalled (to their coach)
    WEBHOOK_DISABLED = "webhook_disabled"  # a failing webhook was switched off (to the owners)


NOTIFICATION_KIND_LABELS = {
    NotificationKind.REPLY: "A contact replied",
    NotificationKind.REFLECTION_SHARED: "A reflection was shared",
    NotificationKind.COMMENT: "Your coach commented",
    NotificationKind.SUGGESTION: "Your coach suggested a contact",
    NotificationKind.INVITATION_ACCEPTED: "An invitation was accepted",
    NotificationKind.STALLED: "A client stalled",
    NotificationKind.WEBHOOK_DISABLED: "A webhook was switched off",
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
