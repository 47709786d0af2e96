"""crossroads.plugin: the one module a Crossroads plugin imports Crossroads from.

Everything a plugin needs is here, under the names in ``__all__``, and only these
names are a stable interface: they keep working, or warn for at least one release
before they change (``docs/plugins/changes.md``). Everything else under
``crossroads.core``, ``crossroads.web`` and ``crossroads.plugins`` is internal and
may change in any release. ``crossroads plugins`` warns about an installed plugin
that imports from elsewhere, and a test holds the built-in plugins to this face.

This module lives in its own folder (``plugin_face/``, installed as
``crossroads.plugin``), not in ``core/``, because it spans two layers: the core's
models, services and contracts, and the web layer's request helpers (the request's
scope and session, forms, notices, time-zone filters). ``core/`` knows nothing of
``web/``; the face may know both. It is not ``plugins/``, which holds the built-in
plugins themselves.

The test kit's entry points (``World``, ``OtherPractice``, ``Outbox``, ``RenderedPage``,
``PluginPart``, ``plugin_parts``, the builders ``make_contact``... and ``TEST_PASSWORD``) are
loaded from ``crossroads.testing`` only when asked for, so importing this module never imports
pytest. The demo's logins
(``DEMO_CLIENT_EMAIL`` …) are loaded on first use too.

The guide, ``docs/plugins/guide.md``, says what each name is for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import has_app_context
from flask_login import current_user

from crossroads.core import events as _events
from crossroads.core.commands import open_session
from crossroads.core.dates import month_start, quarter_start
from crossroads.core.db import Base, UTCDateTime, enum_column, utcnow
from crossroads.core.errors import EditConflict, Forbidden, InvalidInput, NotFound
from crossroads.core.figures import (
    BY_HAND,
    Figures,
    StepKind,
    activity,
    figures_for,
    replies_received,
    stalled_days,
    steps,
    tally,
)
from crossroads.core.hookspecs import HOOKS_VERSION, hookimpl
from crossroads.core.inbox.addresses import reply_to_for
from crossroads.core.jobs import ScheduledJob
from crossroads.core.linkedin import normalise_profile_url
from crossroads.core.locking import lock_client, refuse_stale
from crossroads.core.mail.outbox import queue_email, queue_outbox
from crossroads.core.models import (
    ACTIVE_THEME_STATUSES,
    KIND_LABELS,
    MAX_ACTIVE_THEMES,
    MESSAGE_STATUS_LABELS,
    SOURCE_LABELS,
    STAGE_LABELS,
    CareerTheme,
    Client,
    ClientPluginSetting,
    ClientStatus,
    Contact,
    ContactSource,
    Conversation,
    ConversationStatus,
    Goal,
    GoalMetric,
    GoalPeriod,
    InboundMail,
    MessageKind,
    MessageStatus,
    Notification,
    OutboxEmail,
    OutreachMessage,
    Practice,
    PracticeMail,
    PracticePlugin,
    Reflection,
    Role,
    Stage,
    Suggestion,
    ThemeDecision,
    ThemeStatus,
    User,
)
from crossroads.core.outreach.channels import (
    Channel,
    Counting,
    Delivery,
    Draft,
    DraftContext,
    Handoff,
    Limit,
    MessageFormat,
    MessageWarning,
    TemplateText,
    length,
)
from crossroads.core.outreach.checks import CORE_CHECKS
from crossroads.core.outreach.followups import DueItem, DueKind, due_items
from crossroads.core.outreach.service import initial_draft
from crossroads.core.outreach.service import warnings as draft_warnings
from crossroads.core.outreach.templating import Variable
from crossroads.core.outreach.transports import Envelope, Outcome, Transport, post_json
from crossroads.core.pagination import Page, paginate
from crossroads.core.plugin_settings import PluginSettings
from crossroads.core.plugins import (
    CaseloadColumn,
    DueEntry,
    HookResult,
    MenuItem,
    Panel,
    PluginManager,
    as_items,
)
from crossroads.core.reports import (
    MAX_DAYS,
    PERIOD_LABELS,
    Period,
    PeriodChoice,
    Report,
    ReportFormat,
    ReportRequest,
    Section,
    Subject,
    Unavailable,
    build_report,
    csv_bytes,
    report_formats,
)
from crossroads.core.route_ids import RouteId
from crossroads.core.schemas import Id, InputSchema, LocalDateTime, OptionalEmail, ProfileUrl, Text, Version
from crossroads.core.schemas import load as load_input
from crossroads.core.schemas.api import PageQuerySchema
from crossroads.core.scoping import Scope
from crossroads.core.services.activity import touch as touch_client
from crossroads.core.services.contacts import add_contact
from crossroads.core.services.conversations import ics as conversation_ics
from crossroads.core.services.goals import METRIC_LABELS
from crossroads.core.services.mail_settings import can_send_email
from crossroads.core.services.notifications import take_for_digest
from crossroads.core.services.practices import plugin_states
from crossroads.core.services.webhooks import record_plugin_event as webhook_event
from crossroads.core.sources import (
    ImportedContact,
    Importer,
    ImportRefused,
    ParsedFile,
    Source,
    csv_rows,
    decode_text,
)
from crossroads.core.sources import registry as _source_registry
from crossroads.core.text import fold, like_pattern, words
from crossroads.web.api import ApiBlueprint
from crossroads.web.api.conventions import api_scope, cursor_page, idempotent, page_shape, require_fresh
from crossroads.web.context import crossroads as _crossroads
from crossroads.web.context import db, require_role, scope
from crossroads.web.filters import ago, localtime, viewer_zone
from crossroads.web.forms import Form, submit
from crossroads.web.notices import notify
from crossroads.web.plugin_ui import source_label as _request_source_label

if TYPE_CHECKING:  # loaded on first use, by __getattr__ below
    from crossroads.testing import OtherPractice, Outbox, PluginPart, World, plugin_parts
    from crossroads.testing import Page as RenderedPage
    from crossroads.testing.builders import PASSWORD as TEST_PASSWORD
    from crossroads.testing.builders import (
        History,
        add_history,
        make_bank,
        make_client,
        make_contact,
        make_conversation,
        make_message,
        make_practice,
        make_user,
    )
    from crossroads.testing.sweeps import EITHER as SWEEP_EITHER
    from crossroads.testing.sweeps import ERASE_URL, EXPORT_URL, LIVE_CHECK_URL, STAFF_EXPORT_URL
    from crossroads.testing.sweeps import STAFF as SWEEP_STAFF


def plugin_manager() -> PluginManager:
    """The running app's plugin manager, for a plugin that calls a hook itself (as the reports do)."""
    return _crossroads().plugins


def enabled_plugins() -> set[str]:
    """The names of the plugins switched on for the signed-in user's practice (in a request)."""
    return _crossroads().plugins.enabled_for(db(), current_user.practice_id)


def source_label(name: str | None) -> str:
    """What people read for a contact's stored ``source``: the core's label, a plugin's (switched on
    or off), or "Other source (name)" when no installed plugin adds it."""
    if has_app_context():
        return _request_source_label(name)
    return _source_registry(None).label(name)


def fire_event(session: Any, hook_name: str, practice_id: int, **kwargs: Any) -> None:
    """Tell the plugins on for ``practice_id`` that something happened: call the event hook
    ``hook_name`` with ``kwargs`` when ``session`` flushes, each plugin in its own savepoint."""
    _events.fire(session, hook_name, practice_id, **kwargs)


#: Names resolved on first use: module they come from, and the name there.
_LAZY = {
    "World": ("crossroads.testing", "World"),
    "Outbox": ("crossroads.testing", "Outbox"),
    "RenderedPage": ("crossroads.testing", "Page"),
    "PluginPart": ("crossroads.testing", "PluginPart"),
    "plugin_parts": ("crossroads.testing", "plugin_parts"),
    "OtherPractice": ("crossroads.testing", "OtherPractice"),
    "TEST_PASSWORD": ("crossroads.testing.builders", "PASSWORD"),
    "make_practice": ("crossroads.testing.builders", "make_practice"),
    "make_user": ("crossroads.testing.builders", "make_user"),
    "make_client": ("crossroads.testing.builders", "make_client"),
    "make_contact": ("crossroads.testing.builders", "make_contact"),
    "make_bank": ("crossroads.testing.builders", "make_bank"),
    "make_conversation": ("crossroads.testing.builders", "make_conversation"),
    "make_message": ("crossroads.testing.builders", "make_message"),
    "History": ("crossroads.testing.builders", "History"),
    "add_history": ("crossroads.testing.builders", "add_history"),
    "SWEEP_STAFF": ("crossroads.testing.sweeps", "STAFF"),
    "SWEEP_EITHER": ("crossroads.testing.sweeps", "EITHER"),
    "EXPORT_URL": ("crossroads.testing.sweeps", "EXPORT_URL"),
    "STAFF_EXPORT_URL": ("crossroads.testing.sweeps", "STAFF_EXPORT_URL"),
    "ERASE_URL": ("crossroads.testing.sweeps", "ERASE_URL"),
    "LIVE_CHECK_URL": ("crossroads.testing.sweeps", "LIVE_CHECK_URL"),
    "DEMO_OWNER_EMAIL": ("crossroads.core.demo", "OWNER_EMAIL"),
    "DEMO_COACH_EMAIL": ("crossroads.core.demo", "COACH_EMAIL"),
    "DEMO_CLIENT_EMAIL": ("crossroads.core.demo", "CLIENT_EMAIL"),
    "DEMO_PASSWORD": ("crossroads.core.demo", "DEMO_PASSWORD"),
}


#: Names that moved: old name -> the new one, kept for one release with a DeprecationWarning.
_MOVED = {"Warning": ("MessageWarning", "0.3")}


def __getattr__(name: str) -> Any:
    """The test kit's and the demo's names, loaded when first asked for; old names, with a warning."""
    if name in _MOVED:
        import warnings

        new, release = _MOVED[name]
        warnings.warn(
            f"crossroads.plugin.{name} is deprecated and goes in Crossroads {release}; "
            f"use crossroads.plugin.{new}",
            DeprecationWarning,
            stacklevel=2,
        )
        return globals()[new]
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


__all__ = [
    # The JSON API (the api_blueprints hook)
    "ApiBlueprint",
    "api_scope",
    "cursor_page",
    "page_shape",
    "PageQuerySchema",
    "require_fresh",
    "idempotent",
    "webhook_event",
    # Hooks
    "hookimpl",
    "HOOKS_VERSION",
    "PluginManager",
    "HookResult",
    "as_items",
    "plugin_manager",
    "enabled_plugins",
    "fire_event",
    # Panels and menus
    "Panel",
    "MenuItem",
    # The due list and the caseload
    "DueEntry",
    "CaseloadColumn",
    # Outreach channels
    "Channel",
    "Counting",
    "Delivery",
    "Draft",
    "DraftContext",
    "Handoff",
    "Limit",
    "MessageFormat",
    "TemplateText",
    "Variable",
    "MessageWarning",
    "CORE_CHECKS",
    "length",
    "initial_draft",
    "draft_warnings",
    "queue_email",
    "reply_to_for",
    # Transports: a channel's own way of sending through the outbox
    "Transport",
    "Envelope",
    "Outcome",
    "queue_outbox",
    "post_json",
    "can_send_email",
    "normalise_profile_url",
    # Contact sources and importers
    "Source",
    "Importer",
    "ImportedContact",
    "ParsedFile",
    "ImportRefused",
    "decode_text",
    "csv_rows",
    "source_label",
    # Reports
    "ReportRequest",
    "Report",
    "ReportFormat",
    "Section",
    "Subject",
    "Unavailable",
    "Period",
    "PeriodChoice",
    "PERIOD_LABELS",
    "MAX_DAYS",
    "build_report",
    "report_formats",
    "csv_bytes",
    # Figures: the core's counting rules
    "BY_HAND",
    "Figures",
    "StepKind",
    "steps",
    "tally",
    "figures_for",
    "replies_received",
    "activity",
    "stalled_days",
    "DueKind",
    "DueItem",
    "due_items",
    "METRIC_LABELS",
    # Settings and scheduled jobs
    "PluginSettings",
    "ScheduledJob",
    "plugin_states",
    "take_for_digest",
    # Tables
    "Base",
    "UTCDateTime",
    "enum_column",
    "utcnow",
    "lock_client",
    "refuse_stale",
    # The core's models a plugin may read and point foreign keys at, and their enums
    "Practice",
    "User",
    "Client",
    "CareerTheme",
    "Contact",
    "Conversation",
    "Reflection",
    "Goal",
    "ThemeDecision",
    "OutreachMessage",
    "OutboxEmail",
    "InboundMail",
    "PracticeMail",
    "PracticePlugin",
    "ClientPluginSetting",
    "Notification",
    "Role",
    "ClientStatus",
    "ThemeStatus",
    "ContactSource",
    "Stage",
    "Suggestion",
    "ConversationStatus",
    "GoalMetric",
    "GoalPeriod",
    "MessageKind",
    "MessageStatus",
    "ACTIVE_THEME_STATUSES",
    "MAX_ACTIVE_THEMES",
    "SOURCE_LABELS",
    "STAGE_LABELS",
    "KIND_LABELS",
    "MESSAGE_STATUS_LABELS",
    # Services a plugin may call
    "add_contact",
    "touch_client",
    "conversation_ics",
    # Pages: the request's scope and session, forms, notices, errors
    "Scope",
    "scope",
    "db",
    "require_role",
    "submit",
    "Form",
    "InputSchema",
    "Id",
    "Text",
    "LocalDateTime",
    "OptionalEmail",
    "ProfileUrl",
    "Version",
    "load_input",
    "notify",
    "InvalidInput",
    "NotFound",
    "Forbidden",
    "EditConflict",
    # Times and tables on pages
    "localtime",
    "ago",
    "viewer_zone",
    "month_start",
    "quarter_start",
    "Page",
    "paginate",
    "fold",
    "like_pattern",
    "words",
    # Commands
    "open_session",
    # The demo (loaded on first use)
    "DEMO_OWNER_EMAIL",
    "DEMO_COACH_EMAIL",
    "DEMO_CLIENT_EMAIL",
    "DEMO_PASSWORD",
    # The test kit (loaded on first use; never imports pytest before)
    "World",
    "Outbox",
    "RenderedPage",
    "PluginPart",
    "plugin_parts",
    "OtherPractice",
    # The test kit's builders and the password of everyone they make (loaded on first use)
    "TEST_PASSWORD",
    "make_practice",
    "make_user",
    "make_client",
    "make_contact",
    "make_bank",
    "make_conversation",
    "make_message",
    "History",
    "add_history",
    # The test kit's sweeps: who rightfully uses a route, and the addresses they check
    "RouteId",
    "SWEEP_STAFF",
    "SWEEP_EITHER",
    "EXPORT_URL",
    "STAFF_EXPORT_URL",
    "ERASE_URL",
    "LIVE_CHECK_URL",
]
