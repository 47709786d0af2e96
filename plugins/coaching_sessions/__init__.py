"""Coaching sessions: the coach's sessions with a client, their notes and summaries, and action items.

A built-in plugin, registered through the ``crossroads`` entry point exactly as a third party's
would be, and the cookbook's example of a feature-sized plugin (``docs/plugins/cookbook.md``).
It imports Crossroads only from ``crossroads.plugin`` and changes nothing in the core: it adds

- pages (``blueprints``, ``menu_items``): a client's sessions and their history, one session with
  its drafted agenda, private notes, shared summary and action items, and "prepare for my
  sessions today";
- panels (``client_panels``): the shared summaries on the client's home page, the next session on
  the coach's page about the client;
- the due list and the daily reminder (``due_entries``), where the client ticks items off;
- a caseload column (``caseload_columns``) and a progress report section (``report_sections``);
- events for other plugins (``coaching_session_held``, ``action_item_completed``);
- demo rows, data export and erasure; and its tables with their own Alembic branch (``migrations/``).

The rules live in :mod:`.services` and :mod:`.agenda`, reachable without HTTP (and by an API).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from crossroads.plugin import (
    CaseloadColumn,
    Client,
    DueEntry,
    MenuItem,
    Panel,
    Practice,
    ReportRequest,
    Scope,
    User,
    hookimpl,
    scope,
    utcnow,
)

from . import client_data, models, report, services  # noqa: F401  (models: the plugin's tables)
from .demo import load_demo
from .models import CoachingSession, SessionStatus
from .route_ids import crossroads_route_ids  # noqa: F401  (read by the isolation sweeps)
from .views import bp

#: The hook set this plugin is written for: ``due_entries`` and ``caseload_columns`` came in 0.6.
crossroads_hooks = "0.6"


@hookimpl
def blueprints():
    return bp


@hookimpl
def api_blueprints():
    """The sessions and action items in the JSON API (:mod:`.api`)."""
    from .api import bp as api_bp

    return api_bp


@hookimpl
def menu_items(viewer: User, client: Client | None) -> MenuItem | None:
    """A "Sessions" tab in a client's workspace, for staff; "Today's sessions" in the staff menu."""
    if not viewer.is_staff:
        return None
    if client is not None:
        return MenuItem("Sessions", "coaching_sessions.history", {"client_id": client.id})
    return MenuItem("Today's sessions", "coaching_sessions.today")


@hookimpl
def client_panels(client: Client, viewer: User) -> Panel:
    """The client's shared summaries on their home; for staff, the next session and open actions."""
    current = scope()
    if not viewer.is_staff:
        return Panel(
            title="From your coaching sessions",
            template="coaching_sessions/client_panel.html",
            context={
                "summaries": services.shared_summaries(current, client.id),
                "by_email": services.wants_summaries_by_email(current.session, client),
            },
        )
    now = utcnow()
    upcoming = current.session.scalars(
        current.select(CoachingSession)
        .where(
            CoachingSession.client_id == client.id,
            CoachingSession.status == SessionStatus.SCHEDULED,
            CoachingSession.starts_at >= now,
        )
        .order_by(CoachingSession.starts_at)
        .limit(1)
    ).first()
    return Panel(
        title="Coaching sessions",
        template="coaching_sessions/staff_panel.html",
        context={
            "client_id": client.id,
            "next_session": upcoming,
            "counts": services.action_counts(current, [client], now)[client.id],
        },
    )


@hookimpl
def due_entries(session: Session, clients: list[Client], now: datetime) -> list[DueEntry]:
    """The clients' open action items due within a week, with a button that ticks each off."""
    zones = {c.id: ZoneInfo(c.timezone) for c in clients}
    entries = []
    for item in services.due_actions(session, clients, now):
        today = now.astimezone(zones[item.client_id]).date()
        entries.append(
            DueEntry(
                client_id=item.client_id,
                label=f"Action from your coaching session: {item.text}",
                due_on=item.due_on,
                overdue=services.is_overdue(item, today),
                kind="coaching_action",
                done_endpoint="coaching_sessions.complete_action",
                done_values={"action_id": item.id},
            )
        )
    return entries


@hookimpl
def caseload_columns(scope: Scope, clients: list[Client], now: datetime) -> CaseloadColumn:
    """ "Session actions": each client's open action items, how many are overdue, and how many done."""
    counts = services.action_counts(scope, clients, now)
    cells, flagged = {}, set()
    for client_id, c in counts.items():
        if not (c.open or c.done):
            continue
        text = f"{c.open} open, {c.done} done"
        if c.overdue:
            text += f" ({c.overdue} overdue)"
            flagged.add(client_id)
        cells[client_id] = text
    return CaseloadColumn(
        key="coaching_actions", label="Session actions", cells=cells, flagged=frozenset(flagged), empty="none"
    )


@hookimpl
def report_sections(request: ReportRequest):
    if request.kind == "client":
        return report.client_section(request)
    return report.caseload_section(request)


@hookimpl
def load_demo_data(session: Session, practice: Practice) -> None:
    load_demo(session, practice)


@hookimpl
def export_client_data(scope: Scope, client: Client) -> dict[str, list[dict]]:
    """The client's sessions and action items (the private notes only in staff's archive)."""
    return client_data.export_rows(scope, client)


@hookimpl
def erase_client_data(session: Session, client: Client) -> None:
    """Delete the client's action items and sessions: the owner is erasing them."""
    client_data.erase_rows(session, client)


__all__ = ["load_demo"]
