"""A client's data export: one ZIP archive of everything Crossroads keeps about a client.

The archive holds a JSON and a CSV file per kind of data (the same rows in both), each
plugin's data under ``<plugin>/`` (from the ``export_client_data`` hook), the client's
progress report for their whole time in Crossroads under ``report/``, and ``README.txt``
describing every file.

The client downloads it from their own pages and gets everything, private reflections
included. Their coach or the owner can download it on their behalf; that archive is read
through *their* scope and holds only what staff may see: shared reflections and their
comments (never the unshared ones), prep notes (never private from the coach), invitations
but not password resets, no failed sign-ins, and, for a coach, no audit log (only the owner
reads it). Plugins' files and the progress report are
made through the same scope. Every export is recorded in the audit log.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import inspect, select

from ..db import utcnow
from ..models import (
    AuditAction,
    AuditEvent,
    CareerTheme,
    Client,
    ClientPluginSetting,
    Contact,
    Conversation,
    Goal,
    InboundMail,
    Invitation,
    InvitationPurpose,
    LoginFailure,
    Notification,
    OutboxEmail,
    OutreachMessage,
    PrepQuestion,
    QuestionBank,
    Reflection,
    ReflectionComment,
    Role,
    StageChange,
    ThemeDecision,
    User,
    bank_client,
    contact_theme,
)
from ..reports import (
    Period,
    PeriodChoice,
    ReportRequest,
    Subject,
    build_report,
    csv_bytes,
    report_formats,
    spreadsheet_cell,
)
from ..scoping import Scope
from ..text import slug
from . import audit
from .contacts import due_for_client

if TYPE_CHECKING:
    from ..plugins import PluginManager

#: Columns never exported: search copies of other columns, and secrets' hashes.
SKIPPED_COLUMNS = frozenset({"search_text", "work_text", "tag_text", "sort_name", "token_hash"})
#: The report formats put in the archive, when a plugin offers them (the PDF needs Pango; left out).
REPORT_FORMATS = ("html", "csv")

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Kind:
    """One kind of core data: its file name, what it is, and how to read the client's rows."""

    name: str
    description: str
    rows: Callable[[Scope, Client], Rows]


@dataclass
class Archive:
    """A built export: the ZIP file's bytes, its download name, and what went into it."""

    filename: str
    data: bytes
    files: list[str] = field(default_factory=list)
    #: Plugins (or the report) whose part could not be made: name → error.
    errors: dict[str, str] = field(default_factory=dict)


# -- turning rows into plain values --------------------------------------------------------


def plain(value: Any) -> Any:
    """A JSON value for a column's value: times and dates in ISO 8601 (UTC), enums by value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    return value


def row_of(obj: Any, **extra: Any) -> dict[str, Any]:
    """Every column of a model object (but :data:`SKIPPED_COLUMNS`), plus ``extra``."""
    row = {
        attr.key: plain(getattr(obj, attr.key))
        for attr in inspect(obj).mapper.column_attrs
        if attr.key not in SKIPPED_COLUMNS
    }
    row.update({k: plain(v) for k, v in extra.items()})
    return row


def csv_cell(value: Any) -> str:
    """How a JSON value is written in the CSV file.

    Empty for null, ``true``/``false``, lists and objects as JSON, the rest as text; text a
    spreadsheet would take for a formula starts with ``'`` (``reports.spreadsheet_cell``).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return str(value)
    return spreadsheet_cell(value)


def to_json(rows: Rows) -> bytes:
    return json.dumps(rows, ensure_ascii=False, indent=2).encode("utf-8")


def to_csv(rows: Rows) -> bytes:
    """The rows as CSV: a heading line of every key seen, in order; a byte-order mark for spreadsheets."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return csv_bytes([list(keys), *([csv_cell(row.get(key)) for key in keys] for row in rows)])


# -- the core's kinds of data ------------------------------------------------------------------


def _all(scope: Scope, model: Any, client: Client, *order: Any) -> list[Any]:
    query = scope.select(model).where(model.client_id == client.id)
    return list(scope.session.scalars(query.order_by(*(order or (model.id,)))))


def _profile(scope: Scope, client: Client) -> Rows:
    user = client.user
    return [
        {
            "client_id": client.id,
            "name": user.name,
            "email": user.email,
            "timezone": user.timezone,
            "status": client.status.value,
            "coach": client.coach.name,
            "coach_email": client.coach.email,
            "practice": client.practice.name,
            "client_since": plain(client.created_at),
            "last_activity_at": plain(client.last_activity_at),
            "account_created_at": plain(user.created_at),
            "last_login_at": plain(user.last_login_at),
            "has_password": user.has_password,
        }
    ]


def _themes(scope: Scope, client: Client) -> Rows:
    return [row_of(t) for t in _all(scope, CareerTheme, client, CareerTheme.position, CareerTheme.id)]


def _decisions(scope: Scope, client: Client) -> Rows:
    return [
        row_of(d, theme_title=d.theme.title, by=d.by_user.name if d.by_user else None)
        for d in _all(scope, ThemeDecision, client, ThemeDecision.at, ThemeDecision.id)
    ]


def _goals(scope: Scope, client: Client) -> Rows:
    return [row_of(g, set_by=g.set_by.name if g.set_by else None) for g in _all(scope, Goal, client)]


def _contacts(scope: Scope, client: Client) -> Rows:
    contacts = _all(scope, Contact, client)
    themes = {c.id: [] for c in contacts}
    for contact_id, theme_id in scope.session.execute(
        select(contact_theme.c.contact_id, contact_theme.c.theme_id).where(
            contact_theme.c.contact_id.in_(list(themes))
        )
    ):
        themes[contact_id].append(theme_id)
    return [
        row_of(
            c,
            theme_ids=sorted(themes[c.id]),
            suggested_by=c.suggested_by.name if c.suggested_by else None,
        )
        for c in contacts
    ]


def _stage_history(scope: Scope, client: Client) -> Rows:
    return [row_of(s) for s in _all(scope, StageChange, client, StageChange.at, StageChange.id)]


def _conversations(scope: Scope, client: Client) -> Rows:
    return [
        row_of(c, contact_name=c.contact.name)
        for c in _all(scope, Conversation, client, Conversation.starts_at, Conversation.id)
    ]


def _prep_questions(scope: Scope, client: Client) -> Rows:
    return [
        row_of(q)
        for q in _all(scope, PrepQuestion, client, PrepQuestion.conversation_id, PrepQuestion.position)
    ]


def _reflections(scope: Scope, client: Client) -> Rows:
    return [row_of(r, shared=r.is_shared) for r in _all(scope, Reflection, client)]


def _comments(scope: Scope, client: Client) -> Rows:
    # Comments go with their reflection: staff see them only while it is shared.
    visible = scope.select(Reflection).with_only_columns(Reflection.id)
    query = scope.select(ReflectionComment).where(
        ReflectionComment.client_id == client.id, ReflectionComment.reflection_id.in_(visible)
    )
    comments = scope.session.scalars(query.order_by(ReflectionComment.created_at, ReflectionComment.id))
    return [row_of(c, author=c.author.name if c.author else None) for c in comments]


def _messages(scope: Scope, client: Client) -> Rows:
    return [row_of(m) for m in _all(scope, OutreachMessage, client)]


def _replies(scope: Scope, client: Client) -> Rows:
    rows = _all(scope, InboundMail, client, InboundMail.received_at, InboundMail.id)
    return [row_of(m, raw=m.raw.decode("utf-8", "replace")) for m in rows]


def _emails(scope: Scope, client: Client) -> Rows:
    return [row_of(e) for e in _all(scope, OutboxEmail, client)]


def _follow_ups(scope: Scope, client: Client) -> Rows:
    return [
        {
            "contact_id": item.contact.id,
            "contact_name": item.contact.name,
            "kind": item.kind.value,
            "what": item.label,
            "due_on": item.due_on.isoformat(),
            "overdue": item.overdue,
        }
        for item in due_for_client(scope, client.id)
    ]


def _plugin_settings(scope: Scope, client: Client) -> Rows:
    return [row_of(s) for s in _all(scope, ClientPluginSetting, client)]


def _banks(scope: Scope, client: Client) -> Rows:
    chosen = select(bank_client.c.bank_id).where(bank_client.c.client_id == client.id)
    banks = scope.session.scalars(
        select(QuestionBank).where(QuestionBank.id.in_(chosen)).order_by(QuestionBank.id)
    )
    return [
        {"bank_id": b.id, "name": b.name, "description": b.description, "owner": b.owner.name} for b in banks
    ]


def _invitations(scope: Scope, client: Client) -> Rows:
    # Practice-level rows a client's own scope does not reach: read by the account's id.
    query = select(Invitation).where(Invitation.user_id == client.user_id)
    if scope.user.is_staff:
        # Staff see the invitations they issue, never the password resets the client asks for.
        query = query.where(Invitation.purpose == InvitationPurpose.INVITE)
    return [row_of(i) for i in scope.session.scalars(query.order_by(Invitation.id))]


def _notifications(scope: Scope, client: Client) -> Rows:
    # Read by the client's id, not through the scope (which gives each user only their own): what
    # Crossroads told the client, and what it told their coach about them.
    query = (
        select(Notification)
        .where(Notification.practice_id == client.practice_id, Notification.client_id == client.id)
        .order_by(Notification.created_at, Notification.id)
    )
    return [
        row_of(n, told="you" if n.user_id == client.user_id else "your coach")
        for n in scope.session.scalars(query)
    ]


def _sign_in_failures(scope: Scope, client: Client) -> Rows:
    if scope.user.is_staff:
        return []  # shown to no one in the practice; the client's own
    rows = scope.session.scalars(
        select(LoginFailure).where(LoginFailure.email == client.user.email).order_by(LoginFailure.at)
    )
    return [row_of(f) for f in rows]


def _access_log(scope: Scope, client: Client) -> Rows:
    if scope.user.role == Role.COACH:
        return []  # the audit log is the owner's to read (and the client's own)
    events = _all(scope, AuditEvent, client, AuditEvent.at, AuditEvent.id)
    return [
        {
            "at": plain(e.at),
            "action": e.action.value,
            "what": e.what,
            "by": e.actor.name if e.actor else None,
            "by_role": e.actor.role.value if e.actor else None,
        }
        for e in events
    ]


#: Every kind of core data the archive holds, in README order.
KINDS: tuple[Kind, ...] = (
    Kind(
        "profile", "Your account and coaching relationship: name, email, time zone, status, coach.", _profile
    ),
    Kind(
        "themes", "Your career themes: title, description, target number of conversations, status.", _themes
    ),
    Kind("theme_decisions", "Your decision log: each theme chosen, parked or dropped, and why.", _decisions),
    Kind("goals", "Your weekly and quarterly goals (requests, conversations, thank-yous).", _goals),
    Kind(
        "contacts",
        "The people you may talk to: organisation, position, source, stage, research notes, tags, "
        "linked theme ids.",
        _contacts,
    ),
    Kind("contact_stage_history", "Every move of a contact through the outreach pipeline.", _stage_history),
    Kind(
        "conversations", "Your informational interviews and their prep sheets (goals, pitch).", _conversations
    ),
    Kind(
        "prep_questions",
        "The questions chosen for each conversation and the notes you took.",
        _prep_questions,
    ),
    Kind(
        "reflections",
        "What you noted and felt after each conversation, shared with your coach or not (column 'shared').",
        _reflections,
    ),
    Kind("reflection_comments", "Your coach's comments on reflections you shared.", _comments),
    Kind("outreach_messages", "Requests, follow-ups, thank-yous and introduction requests.", _messages),
    Kind("emails", "Emails sent (or queued) on your behalf through the practice's mail server.", _emails),
    Kind(
        "replies",
        "Emails that came back to your messages: answers, automatic replies, delivery failures; "
        "each whole (column 'raw') and its own words (column 'text').",
        _replies,
    ),
    Kind("follow_ups_due", "Follow-ups and thank-yous due today or overdue, as of the export.", _follow_ups),
    Kind(
        "notifications",
        "What Crossroads told you (replies, comments, suggestions) and your coach about you (replies, "
        "shared reflections, a stall), when, and when it was read (column 'told').",
        _notifications,
    ),
    Kind("question_banks", "Question banks your coach chose for you.", _banks),
    Kind(
        "plugin_settings",
        "Your settings for plugins (for example your LinkedIn account type).",
        _plugin_settings,
    ),
    Kind(
        "invitations",
        "Invitation and password-reset links issued to you (when, until when, used).",
        _invitations,
    ),
    Kind(
        "sign_in_failures",
        "Failed sign-ins with your email, kept briefly to stop password guessing.",
        _sign_in_failures,
    ),
    Kind(
        "access_log",
        "The audit log's entries about you: when your coach or the owner viewed, changed or exported "
        "your data.",
        _access_log,
    ),
)


# -- plugins and the report -----------------------------------------------------------------


def _is_tables(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(r, dict) for r in v)
        for k, v in value.items()
    )


def file_key(text: str) -> str:
    """A safe file name part for a plugin's table: lowercase ASCII letters, digits and ``_``."""
    return slug(text, "data", separator="_", ascii_only=True)


def plugin_tables(scope: Scope, plugins: PluginManager, client: Client) -> tuple[dict, dict]:
    """Each installed plugin's tables about ``client`` (switched off or not: it still holds them),
    read through ``scope``: the exporter's, so a staff export holds only what staff may see.

    Returns ``({plugin: {key: rows}}, {plugin: error})``.
    """
    tables, errors = {}, {}
    session = scope.session
    results = plugins.call(
        "export_client_data",
        None,
        expect=_is_tables,
        isolate=session.begin_nested,
        session=session,
        client=client,
        scope=scope,
    )
    for result in results:
        if result.ok:
            tables[result.plugin] = {file_key(k): [plain(r) for r in v] for k, v in result.value.items()}
        else:
            errors[result.plugin] = result.error or "failed"
    return tables, errors


def whole_period(client: Client, now: datetime) -> Period:
    """From the day the client joined to today, in their time zone (longer than a page's custom range)."""
    zone = client.timezone or "UTC"
    today = now.astimezone(ZoneInfo(zone)).date()
    first = min(client.created_at.astimezone(ZoneInfo(zone)).date(), today)
    return Period(PeriodChoice.CUSTOM, first, today + timedelta(days=1), zone)


def report_files(
    scope: Scope, plugins: PluginManager, client: Client, now: datetime
) -> tuple[dict[str, bytes], dict[str, str]]:
    """The client's progress report for their whole period, as ``scope``'s user sees it on its page.

    Built through the core's report hooks from the plugins on for the practice; the HTML
    format renders a template, so it needs a Flask app context and is left out (and said so)
    without one. Returns ``({file name: bytes}, {format: error})``.
    """
    session = scope.session
    enabled = plugins.enabled_for(session, client.practice_id)
    request = ReportRequest(
        session=session,
        scope=scope,
        subject=Subject(client=client),
        period=whole_period(client, now),
        viewer=scope.user,
        practice=client.practice,
        now=now,
    )
    report = build_report(plugins, enabled, request, isolate=session.begin_nested)
    formats = report_formats(plugins, enabled)
    files, failed = {}, {}
    for name in REPORT_FORMATS:
        fmt = formats.get(name)
        if fmt is None:
            continue
        try:
            files[f"report/progress-report.{fmt.extension}"] = fmt.render(report)
        except Exception as exc:  # a format that cannot render here must not stop the export
            failed[f"report ({name})"] = f"{type(exc).__name__}: {exc}"
    # One format is enough (the README says which is missing); none at all is an error.
    errors = {} if files else failed
    for missing in report.unavailable:
        errors[f"report section of {missing.plugin}"] = missing.error
    return files, errors


# -- the archive --------------------------------------------------------------------------------


def archive_name(client: Client, now: datetime) -> str:
    """``crossroads-export-clara-client-2026-11-25.zip``: whose, and the day (in their time zone)."""
    day = now.astimezone(ZoneInfo(client.timezone or "UTC")).date().isoformat()
    whose = slug(client.name, "report", ascii_only=True)
    return f"crossroads-export-{whose}-{day}.zip"


def _readme(
    client: Client,
    now: datetime,
    described: list[tuple[str, str]],
    errors: dict[str, str],
    made_by: User | None = None,
) -> str:
    lines = [
        f"Crossroads: everything kept about {client.name}",
        f"Made {now.isoformat(timespec='seconds')} (UTC).",
        "",
    ]
    if made_by is not None:
        lines += [
            f"Made by {made_by.name} on the client's behalf: it holds what the practice's staff may",
            "see, so only reflections the client shared (and their comments). The client's own",
            "download, from their home page, holds everything, private reflections included.",
            "",
        ]
    lines += [
        "Each kind of data comes twice, with the same rows: a .json file (a list of objects)",
        "and a .csv file (one row per object; lists are written as JSON; a text cell that",
        "starts with = + - @, a tab or a line break gets a leading ' so spreadsheets do not run it",
        "as a formula).",
        "Times are in UTC, ISO 8601. Ids link the files: a prep question's conversation_id is",
        "a conversation's id, a conversation's contact_id a contact's id, and so on.",
        "",
    ]
    if errors:
        lines += ["INCOMPLETE: these parts could not be exported:"]
        lines += [f"  - {name}: {error}" for name, error in sorted(errors.items())]
        lines += ["Ask your coach or the practice owner to try again.", ""]
    lines += ["Files:", ""]
    for path, text in described:
        lines.append(f"{path}")
        lines.append(f"    {text}")
    return "\n".join(lines) + "\n"


def build_archive(
    scope: Scope, client: Client, plugins: PluginManager, now: datetime | None = None
) -> Archive:
    """The archive of ``client``'s data as ``scope``'s user may see it. Reads only.

    The client's own archive holds everything of theirs; one made by their coach or the owner
    holds what staff may see (every file read through the staff member's scope).
    """
    now = now or utcnow()
    made_by = scope.user if scope.user.is_staff else None
    files: dict[str, bytes] = {}
    described: list[tuple[str, str]] = []
    for kind in KINDS:
        rows = kind.rows(scope, client)
        files[f"{kind.name}.json"] = to_json(rows)
        files[f"{kind.name}.csv"] = to_csv(rows)
        described.append((f"{kind.name}.json, {kind.name}.csv", f"{kind.description} ({len(rows)} rows)"))
    tables, errors = plugin_tables(scope, plugins, client)
    for plugin, kinds in sorted(tables.items()):
        for key, rows in kinds.items():
            files[f"{plugin}/{key}.json"] = to_json(rows)
            files[f"{plugin}/{key}.csv"] = to_csv(rows)
            described.append(
                (f"{plugin}/{key}.json, {plugin}/{key}.csv", f"From the {plugin} plugin ({len(rows)} rows).")
            )
    report, report_errors = report_files(scope, plugins, client, now)
    errors.update(report_errors)
    for path in report:
        what = "a web page" if path.endswith(".html") else "the figures behind each section, as CSV"
        described.append((path, f"Your progress report from the day you joined to today: {what}."))
    files.update(report)
    if not any(p.endswith(".html") for p in report):
        described.append(
            ("report/", "No web page of the report could be made here; its rows are in the CSV.")
        )
    files = {"README.txt": _readme(client, now, described, errors, made_by).encode("utf-8"), **files}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=_zip_time(now)), data, zipfile.ZIP_DEFLATED)
    return Archive(archive_name(client, now), buffer.getvalue(), list(files), errors)


def _zip_time(now: datetime) -> tuple[int, int, int, int, int, int]:
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


def export_client(
    scope: Scope, client_id: int, plugins: PluginManager, ip: str | None = None, now: datetime | None = None
) -> Archive:
    """Build ``client_id``'s archive for the signed-in user (the client, their coach or the owner)
    and record the export in the audit log. :class:`~crossroads.core.errors.NotFound` outside the scope."""
    client = scope.get(Client, client_id)
    archive = build_archive(scope, client, plugins, now)
    what = "data export"
    if scope.user.is_staff:
        what += " on the client's behalf (shared reflections only)"
    if archive.errors:
        what += f"; incomplete: {', '.join(sorted(archive.errors))}"
    audit.record(scope, client.id, AuditAction.EXPORTED, what, ip=ip, commit=True)
    return archive
