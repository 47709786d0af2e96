"""Marshmallow schemas: every form field, API body, and command-line input is loaded through one.

Errors come back keyed by field name, which is how the web layer shows them
next to the field and how the CLI names the option at fault.

``crossroads.core.schemas`` re-exports every schema, field and helper, so code imports them from
here, whichever module defines them:

- ``base``: what every schema is built from: ``CleanSchema`` and ``InputSchema``, the fields
  (``Text``, ``Name``, ``Email``, ``TimeZone``, ``Version``, ``Id``, ``IdList``, ``Tags``,
  ``ProfileUrl``, ``OptionalEmail``, ``LocalDateTime``) and ``load``.
- ``accounts``: signing in, passwords, one's profile, calendar feed and reminders, the commands
  that create practices and users.
- ``clients``: invitations, the caseload's query, a client's status, themes, decisions.
- ``contacts``: the contact form, imports, the contact list's query.
- ``conversations``: question banks, scheduling, prep sheets, notes, reflections, goals.
- ``outreach``: drafts, messages, the message list's query, templates.
- ``practice``: the owner's settings (rhythm, email server, reply mailbox), audit log, erasure.
- ``notifications``: the notification list and delivery choices.
"""

from __future__ import annotations

from .accounts import (
    PASSWORD,
    CalendarFeedSchema,
    ChangePasswordSchema,
    CreatePracticeSchema,
    CreateUserSchema,
    FeedTokenSchema,
    LoginSchema,
    NewPasswordSchema,
    ProfileSchema,
    ReminderSettingsSchema,
    ResetRequestSchema,
)
from .base import (
    MAX_ID,
    MISSING_MESSAGE,
    NUL_MESSAGE,
    SURROGATE_MESSAGE,
    CleanSchema,
    Email,
    Id,
    IdList,
    InputSchema,
    LocalDateTime,
    Name,
    OptionalEmail,
    ProfileUrl,
    Tags,
    Text,
    TimeZone,
    Version,
    load,
    no_line_breaks,
    timezone_names,
    unstorable_text,
)
from .clients import (
    SORTS,
    CaseloadQuerySchema,
    ClientUpdateSchema,
    DecisionSchema,
    InviteClientSchema,
    InviteCoachSchema,
    ThemeEditSchema,
    ThemeSchema,
)
from .contacts import (
    CONTACT_SORT_KEYS,
    CONTACT_SORTS,
    ContactQuerySchema,
    ContactSchema,
    ImportSchema,
    NewContactSchema,
)
from .conversations import (
    BankSchema,
    CommentSchema,
    GoalSchema,
    NoteSchema,
    PrepQuestionSchema,
    PrepSchema,
    QuestionSchema,
    ReflectionSchema,
    ScheduleSchema,
)
from .notifications import NotificationPreferencesSchema, NotificationQuerySchema
from .outreach import (
    CHANNEL_NAME,
    FORMAT_NAME,
    DraftQuerySchema,
    MessageQuerySchema,
    OutreachPreviewSchema,
    OutreachSchema,
    TemplateSchema,
)
from .practice import (
    AuditQuerySchema,
    CadenceSchema,
    DemoMailQuerySchema,
    EraseClientSchema,
    MailboxSettingsSchema,
    MailSettingsSchema,
    PracticeSettingsSchema,
    ReplySettingsSchema,
)

__all__ = [
    "timezone_names",
    "Text",
    "Name",
    "no_line_breaks",
    "Version",
    "Email",
    "TimeZone",
    "MAX_ID",
    "NUL_MESSAGE",
    "SURROGATE_MESSAGE",
    "unstorable_text",
    "CleanSchema",
    "Id",
    "InputSchema",
    "load",
    "MISSING_MESSAGE",
    "PASSWORD",
    "LoginSchema",
    "NewPasswordSchema",
    "ChangePasswordSchema",
    "ProfileSchema",
    "CalendarFeedSchema",
    "FeedTokenSchema",
    "ReminderSettingsSchema",
    "ResetRequestSchema",
    "InviteClientSchema",
    "InviteCoachSchema",
    "ClientUpdateSchema",
    "ThemeSchema",
    "ThemeEditSchema",
    "PracticeSettingsSchema",
    "SORTS",
    "CaseloadQuerySchema",
    "DemoMailQuerySchema",
    "CreatePracticeSchema",
    "CreateUserSchema",
    "IdList",
    "Tags",
    "ProfileUrl",
    "OptionalEmail",
    "ContactSchema",
    "NewContactSchema",
    "ImportSchema",
    "CONTACT_SORT_KEYS",
    "CONTACT_SORTS",
    "ContactQuerySchema",
    "CadenceSchema",
    "BankSchema",
    "QuestionSchema",
    "LocalDateTime",
    "ScheduleSchema",
    "PrepSchema",
    "PrepQuestionSchema",
    "NoteSchema",
    "ReflectionSchema",
    "CommentSchema",
    "GoalSchema",
    "DecisionSchema",
    "CHANNEL_NAME",
    "FORMAT_NAME",
    "DraftQuerySchema",
    "OutreachSchema",
    "OutreachPreviewSchema",
    "MessageQuerySchema",
    "TemplateSchema",
    "MailSettingsSchema",
    "ReplySettingsSchema",
    "MailboxSettingsSchema",
    "AuditQuerySchema",
    "EraseClientSchema",
    "NotificationQuerySchema",
    "NotificationPreferencesSchema",
]
