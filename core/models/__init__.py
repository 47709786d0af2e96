"""The core's tables, one module per domain; every row that belongs to a practice carries ``practice_id``.

``crossroads.core.models`` re-exports every model, enum and label table, so code (and Alembic's
environment, and the plugins' face) imports them from here, whichever module defines them:

- ``accounts``: ``Practice``, ``User`` and ``Role``, ``Invitation``, ``LoginFailure``, ``FormToken``.
- ``clients``: ``Client``, ``CareerTheme``, ``ThemeDecision`` (the decision log), their statuses.
- ``contacts``: ``Contact``, ``StageChange``, ``Stage``, ``ContactSource``, ``Suggestion``.
- ``banks``: ``QuestionBank``, ``Question``, ``Category``, ``Reach``.
- ``conversations``: ``Conversation``, ``PrepQuestion``, ``Reflection``, ``ReflectionComment``,
  ``Goal``.
- ``outreach``: ``OutreachMessage``, ``OutboxEmail`` (every sent message's row, whatever its
  transport), ``MessageTemplate``, ``MessageKind``, ``MessageStatus``.
- ``mail``: ``PracticeMail`` (the practice's email server), ``DemoMail``.
- ``inbox``: ``PracticeMailbox`` (the reply mailbox), ``InboundMail``.
- ``plugins``: ``PracticePlugin``, ``ClientPluginSetting``.
- ``notifications``: ``Notification``, ``NotificationPreference``, ``CalendarFeed``.
- ``audit``: ``AuditEvent``, ``AuditAction``.
- ``api``: ``ApiToken``, ``ApiIdempotencyKey``, ``WebhookSubscription``, ``WebhookDelivery``.

Relationships name their targets (``Mapped[Client]``), which SQLAlchemy's registry resolves once
every module is imported; importing this package imports them all, in the order below. A new
model goes in its domain's module and in the import list here.
"""

from __future__ import annotations

from typing import Any

from ..db import Base, UTCDateTime, enum_column, utcnow
from .accounts import FormToken, Invitation, InvitationPurpose, LoginFailure, Practice, Role, User
from .api import (
    ApiIdempotencyKey,
    ApiToken,
    DeliveryState,
    TokenAccess,
    WebhookDelivery,
    WebhookSubscription,
)
from .audit import AUDIT_ACTION_LABELS, AuditAction, AuditEvent
from .banks import CATEGORY_LABELS, Category, Question, QuestionBank, Reach, bank_client
from .clients import (
    ACTIVE_THEME_STATUSES,
    MAX_ACTIVE_THEMES,
    CareerTheme,
    Client,
    ClientStatus,
    ThemeDecision,
    ThemeStatus,
)
from .contacts import (
    SOURCE_LABELS,
    SOURCE_NAME,
    STAGE_LABELS,
    Contact,
    ContactSource,
    Stage,
    StageChange,
    Suggestion,
    contact_theme,
)
from .conversations import (
    Conversation,
    ConversationStatus,
    Goal,
    GoalMetric,
    GoalPeriod,
    Medium,
    PrepQuestion,
    Reflection,
    ReflectionComment,
)
from .inbox import INBOUND_KIND_LABELS, InboundKind, InboundMail, PracticeMailbox
from .mail import DemoMail, MailSecurity, PracticeMail
from .notifications import (
    DELIVERY_LABELS,
    NOTIFICATION_KIND_LABELS,
    CalendarFeed,
    Delivery,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from .outreach import (
    KIND_LABELS,
    MESSAGE_STATUS_LABELS,
    MessageKind,
    MessageStatus,
    MessageTemplate,
    OutboxEmail,
    OutreachMessage,
)
from .plugins import ClientPluginSetting, PracticePlugin


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


__all__ = [
    "Base",
    "UTCDateTime",
    "enum_column",
    "utcnow",
    "Role",
    "ClientStatus",
    "ThemeStatus",
    "ACTIVE_THEME_STATUSES",
    "MAX_ACTIVE_THEMES",
    "InvitationPurpose",
    "Practice",
    "User",
    "Client",
    "CareerTheme",
    "Invitation",
    "CalendarFeed",
    "PracticePlugin",
    "LoginFailure",
    "SOURCE_NAME",
    "ContactSource",
    "SOURCE_LABELS",
    "Stage",
    "STAGE_LABELS",
    "Suggestion",
    "contact_theme",
    "Contact",
    "StageChange",
    "Category",
    "CATEGORY_LABELS",
    "Reach",
    "bank_client",
    "QuestionBank",
    "Question",
    "Medium",
    "ConversationStatus",
    "Conversation",
    "PrepQuestion",
    "Reflection",
    "ReflectionComment",
    "GoalPeriod",
    "GoalMetric",
    "Goal",
    "ThemeDecision",
    "MessageKind",
    "KIND_LABELS",
    "MessageStatus",
    "MESSAGE_STATUS_LABELS",
    "OutboxEmail",
    "OutreachMessage",
    "MessageTemplate",
    "InboundKind",
    "INBOUND_KIND_LABELS",
    "InboundMail",
    "DemoMail",
    "MailSecurity",
    "PracticeMail",
    "PracticeMailbox",
    "ClientPluginSetting",
    "AuditAction",
    "AUDIT_ACTION_LABELS",
    "AuditEvent",
    "FormToken",
    "NotificationKind",
    "NOTIFICATION_KIND_LABELS",
    "Delivery",
    "DELIVERY_LABELS",
    "Notification",
    "NotificationPreference",
    "ApiToken",
    "ApiIdempotencyKey",
    "TokenAccess",
    "WebhookSubscription",
    "WebhookDelivery",
    "DeliveryState",
]

# The session hook that keeps ``Contact.due_on`` and ``overdue_from`` as contacts change: imported
# with the models, so that whatever writes contacts through a session keeps their dates.
from ..outreach import due_dates as _due_dates  # noqa: E402, F401
