"""The coaching sessions' rules, reachable without HTTP: scheduling, notes and summaries, action items.

Every function takes the signed-in user's :class:`~crossroads.plugin.Scope` and looks rows up
through it (404 outside it). Sessions and their notes are the staff's: a client reaches only
their shared summaries and their own action items, never the private notes. Functions that
change something commit; events (``coaching_session_held``, ``action_item_completed``) fire
inside the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crossroads.plugin import (
    Client,
    ClientPluginSetting,
    Contact,
    InvalidInput,
    NotFound,
    Scope,
    fire_event,
    refuse_stale,
    utcnow,
)

from . import mail
from .models import ActionItem, Assignee, CoachingSession, SessionStatus

PLUGIN = "coaching_sessions"
CANCELLED_NOT_HELD = "This session was cancelled: schedule a new one instead."
#: Open action items of the client's due within this many days are in their due list.
DUE_AHEAD_DAYS = 7


def _staff(scope: Scope) -> None:
    """Sessions, notes and the agenda are the staff's: for a client they do not exist (404)."""
    if not scope.user.is_staff:
        raise NotFound("coaching sessions are the coach's pages")


def client_for_staff(scope: Scope, client_id: int) -> Client:
    """A client of the signed-in coach's (the owner's: of the practice), or 404."""
    _staff(scope)
    return scope.get(Client, client_id)


def session_for_staff(scope: Scope, session_id: int) -> CoachingSession:
    """One session, for its client's coach or the owner, or 404."""
    _staff(scope)
    return scope.get(CoachingSession, session_id)


def to_utc(local: datetime, zone_name: str) -> datetime:
    """A wall-clock time in ``zone_name`` as an aware UTC datetime."""
    return local.replace(tzinfo=ZoneInfo(zone_name)).astimezone(ZoneInfo("UTC"))


def local_today(zone_name: str, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(zone_name)).date()


# -- sessions -----------------------------------------------------------------------------


def schedule(scope: Scope, client_id: int, data: dict[str, Any]) -> CoachingSession:
    """Schedule a session with a client at ``data["starts_at"]`` in the coach's own zone (``ScheduleSchema``);
    with ``invite``, email the client an invitation with the calendar file when the practice has an
    email server (``invited`` on the row says whether one was queued). Commits."""
    client = client_for_staff(scope, client_id)
    zone = scope.user.timezone or "UTC"
    row = CoachingSession(
        practice_id=client.practice_id,
        client_id=client.id,
        coach_id=scope.user.id,
        starts_at=to_utc(data["starts_at"], zone),
        minutes=data["minutes"],
        timezone=zone,
        location=data["location"],
        status=SessionStatus.SCHEDULED,
        uid=f"coaching-{uuid.uuid4()}@crossroads",
    )
    scope.session.add(row)
    scope.session.flush()
    row.invited = bool(data.get("invite")) and mail.send_invitation(scope, row)  # type: ignore[attr-defined]
    scope.session.commit()
    return row


def save_notes(
    scope: Scope, session_id: int, data: dict[str, Any], now: datetime | None = None
) -> CoachingSession:
    """Save the private notes and the summary (``NotesSchema``); ``share`` shares the summary with the
    client (unticked, it is theirs no longer), ``held`` marks the session held. Commits.

    A summary shared just now is emailed to a client who asked for that (``emailed`` on the row).
    """
    now = now or utcnow()
    row = session_for_staff(scope, session_id)
    refuse_stale(scope.session, row, data.get("version"), ["private_notes", "summary"], "these notes")
    if data["share"] and not data["summary"]:
        raise InvalidInput({"summary": ["Write the summary before you share it."]})
    if data["held"] and row.status == SessionStatus.CANCELLED:
        raise InvalidInput({"held": [CANCELLED_NOT_HELD]})
    row.private_notes = data["private_notes"]
    row.summary = data["summary"]
    newly_shared = data["share"] and row.shared_at is None
    if data["share"]:
        row.shared_at = row.shared_at or now
    else:
        row.shared_at = None
    if data["held"] and row.status != SessionStatus.HELD:
        _hold(scope, row, now)
    emailed = newly_shared and wants_summaries_by_email(scope.session, row.client)
    row.emailed = emailed and mail.send_summary(scope, row)  # type: ignore[attr-defined]
    scope.session.commit()
    return row


def _hold(scope: Scope, row: CoachingSession, now: datetime) -> None:
    if row.status == SessionStatus.CANCELLED:
        raise InvalidInput({"held": [CANCELLED_NOT_HELD]})
    row.status = SessionStatus.HELD
    row.held_at = min(now, row.starts_at)
    fire_event(scope.session, "coaching_session_held", row.practice_id, coaching_session=row)


def mark_held(scope: Scope, session_id: int, now: datetime | None = None) -> CoachingSession:
    """Mark a session held (``coaching_session_held`` fires); held already: nothing changes. Commits."""
    row = session_for_staff(scope, session_id)
    if row.status != SessionStatus.HELD:
        _hold(scope, row, now or utcnow())
    scope.session.commit()
    return row


def cancel(scope: Scope, session_id: int) -> CoachingSession:
    """Call a session off (its calendar file's SEQUENCE raised); a held session cannot be. Commits."""
    row = session_for_staff(scope, session_id)
    if row.status == SessionStatus.HELD:
        raise InvalidInput({"_schema": ["This session was held: it cannot be cancelled."]})
    if row.status != SessionStatus.CANCELLED:
        row.status = SessionStatus.CANCELLED
        row.sequence += 1
    scope.session.commit()
    return row


def history(scope: Scope, client_id: int) -> list[CoachingSession]:
    """Every session with the client, newest first, with its action items (two queries)."""
    client = client_for_staff(scope, client_id)
    return list(
        scope.session.scalars(
            scope.select(CoachingSession)
            .where(CoachingSession.client_id == client.id)
            .options(selectinload(CoachingSession.actions))
            .order_by(CoachingSession.starts_at.desc(), CoachingSession.id.desc())
        )
    )


def previous_session(scope: Scope, row: CoachingSession) -> CoachingSession | None:
    """The client's last session held before ``row`` starts."""
    return scope.session.scalars(
        scope.select(CoachingSession)
        .where(
            CoachingSession.client_id == row.client_id,
            CoachingSession.status == SessionStatus.HELD,
            CoachingSession.starts_at < row.starts_at,
            CoachingSession.id != row.id,
        )
        .order_by(CoachingSession.starts_at.desc())
        .limit(1)
    ).first()


def sessions_today(scope: Scope, now: datetime | None = None) -> list[CoachingSession]:
    """The signed-in coach's own sessions today, in their zone, not cancelled, by time."""
    _staff(scope)
    zone = ZoneInfo(scope.user.timezone or "UTC")
    today = (now or utcnow()).astimezone(zone).date()
    start = datetime.combine(today, datetime.min.time(), tzinfo=zone).astimezone(ZoneInfo("UTC"))
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(
        ZoneInfo("UTC")
    )
    return list(
        scope.session.scalars(
            scope.select(CoachingSession)
            .where(
                CoachingSession.coach_id == scope.user.id,
                CoachingSession.status != SessionStatus.CANCELLED,
                CoachingSession.starts_at >= start,
                CoachingSession.starts_at < end,
            )
            .options(selectinload(CoachingSession.client))
            .order_by(CoachingSession.starts_at)
        )
    )


def shared_summaries(scope: Scope, client_id: int, limit: int = 3) -> list[CoachingSession]:
    """The client's latest shared summaries, newest first: what the client (or staff) may read."""
    return list(
        scope.session.scalars(
            scope.select(CoachingSession)
            .where(CoachingSession.client_id == client_id, CoachingSession.shared_at.is_not(None))
            .order_by(CoachingSession.shared_at.desc())
            .limit(limit)
        )
    )


def client_contacts(scope: Scope, client_id: int) -> list[Contact]:
    """The client's contacts by name, for linking an action item to one."""
    return list(
        scope.session.scalars(
            scope.select(Contact).where(Contact.client_id == client_id).order_by(Contact.name)
        )
    )


# -- action items -----------------------------------------------------------------------------


def add_action(scope: Scope, session_id: int, data: dict[str, Any]) -> ActionItem:
    """Agree an action item in a session (``ActionSchema``); its theme, contact and bank must be the
    client's (or the practice's bank the coach may read). Commits."""
    row = session_for_staff(scope, session_id)
    errors: dict[str, list[str]] = {}
    for field, model in (("theme_id", None), ("contact_id", Contact)):
        if data.get(field) is None:
            continue
        found = _client_row(scope, row.client, field, data[field], model)
        if found is None:
            errors[field] = ["Choose from the list."]
    if data.get("bank_id") is not None:
        try:
            scope.bank(data["bank_id"])
        except NotFound:
            errors["bank_id"] = ["Choose from the list."]
    if errors:
        raise InvalidInput(errors)
    item = ActionItem(
        practice_id=row.practice_id,
        client_id=row.client_id,
        session_id=row.id,
        assignee=data["assignee"],
        text=data["text"],
        due_on=data["due_on"],
        theme_id=data.get("theme_id"),
        contact_id=data.get("contact_id"),
        bank_id=data.get("bank_id"),
    )
    scope.session.add(item)
    scope.session.commit()
    return item


def _client_row(scope: Scope, client: Client, field: str, value: int, model: Any) -> Any:
    if field == "theme_id":
        return next((t for t in client.themes if t.id == value), None)
    try:
        found = scope.get(model, value)
    except NotFound:
        return None
    return found if found.client_id == client.id else None


def action_for(scope: Scope, action_id: int) -> ActionItem:
    """An action item the user may tick off: staff, any of their clients'; a client, their own
    items assigned to them (a coach's own items are not the client's to tick: 404)."""
    item = scope.get(ActionItem, action_id)
    if not scope.user.is_staff and item.assignee != Assignee.CLIENT:
        raise NotFound(f"ActionItem {action_id}")
    return item


def complete_action(scope: Scope, action_id: int, now: datetime | None = None) -> tuple[ActionItem, bool]:
    """Tick an action item off (``action_item_completed`` fires); returns it and whether it changed.
    Commits."""
    item = action_for(scope, action_id)
    changed = item.done_at is None
    if changed:
        item.done_at = now or utcnow()
        item.done_by_id = scope.user.id
        fire_event(scope.session, "action_item_completed", item.practice_id, action_item=item)
    scope.session.commit()
    return item, changed


def reopen_action(scope: Scope, action_id: int) -> tuple[ActionItem, bool]:
    """Undo a tick: the item is open again. Returns it and whether it changed. Commits."""
    item = action_for(scope, action_id)
    changed = item.done_at is not None
    item.done_at = None
    item.done_by_id = None
    scope.session.commit()
    return item, changed


def open_actions(scope: Scope, client_id: int) -> list[ActionItem]:
    """The client's open action items (both assignees), by due date."""
    query = scope.select(ActionItem).where(ActionItem.client_id == client_id, ActionItem.done_at.is_(None))
    if not scope.user.is_staff:
        query = query.where(ActionItem.assignee == Assignee.CLIENT)
    return list(scope.session.scalars(query.order_by(ActionItem.due_on, ActionItem.id)))


# -- figures: one rule each, for the due list, the caseload and the report ---------------------


def is_overdue(item: ActionItem, today: date) -> bool:
    """Open after the day it was due (in the client's calendar)."""
    return item.done_at is None and item.due_on < today


def done_on_time(item: ActionItem, zone: ZoneInfo) -> bool:
    """Ticked off on or before the day it was due, in the client's calendar."""
    return item.done_at is not None and item.done_at.astimezone(zone).date() <= item.due_on


@dataclass(frozen=True)
class ActionCounts:
    """A client's action items (theirs to do): open now, of those overdue, and done."""

    open: int = 0
    overdue: int = 0
    done: int = 0


def action_counts(scope: Scope, clients: list[Client], now: datetime) -> dict[int, ActionCounts]:
    """Client id -> :class:`ActionCounts` of the items assigned to the client, in one query."""
    ids = [c.id for c in clients]
    zones = {c.id: ZoneInfo(c.timezone) for c in clients}
    counts: dict[int, list[int]] = {i: [0, 0, 0] for i in ids}
    if not ids:
        return {}
    rows = scope.session.execute(
        scope.select(ActionItem)
        .where(ActionItem.client_id.in_(ids), ActionItem.assignee == Assignee.CLIENT)
        .with_only_columns(ActionItem.client_id, ActionItem.due_on, ActionItem.done_at)
    ).all()
    for client_id, due_on, done_at in rows:
        today = now.astimezone(zones[client_id]).date()
        if done_at is not None:
            counts[client_id][2] += 1
        else:
            counts[client_id][0] += 1
            counts[client_id][1] += due_on < today
    return {i: ActionCounts(*counts[i]) for i in ids}


def due_actions(session: Any, clients: list[Client], now: datetime) -> list[ActionItem]:
    """Open items of these clients' (assigned to them) due by their today + :data:`DUE_AHEAD_DAYS`
    (the ``due_entries`` hook; not a request, so not through a scope: the clients are given)."""
    if not clients:
        return []
    latest = max(local_today(c.timezone, now) for c in clients) + timedelta(days=DUE_AHEAD_DAYS)
    by_id = {c.id: c for c in clients}
    items = session.scalars(
        select(ActionItem)
        .where(
            ActionItem.client_id.in_(list(by_id)),
            ActionItem.assignee == Assignee.CLIENT,
            ActionItem.done_at.is_(None),
            ActionItem.due_on <= latest,
        )
        .order_by(ActionItem.due_on, ActionItem.id)
    ).all()
    return [
        i
        for i in items
        if i.due_on <= local_today(by_id[i.client_id].timezone, now) + timedelta(days=DUE_AHEAD_DAYS)
    ]


# -- the client's choice ------------------------------------------------------------------------


def wants_summaries_by_email(session: Any, client: Client) -> bool:
    """Whether the client asked for shared summaries by email (their plugin setting)."""
    settings = session.scalar(
        select(ClientPluginSetting.settings).where(
            ClientPluginSetting.client_id == client.id, ClientPluginSetting.plugin_name == PLUGIN
        )
    )
    return bool((settings or {}).get("email_summaries"))


def set_preferences(scope: Scope, data: dict[str, Any]) -> bool:
    """The client chooses whether shared summaries also come by email (``PreferencesSchema``). Commits."""
    client_id = scope.own_client_id
    if client_id is None:
        raise NotFound("only a client has this choice")
    row = scope.session.scalar(
        select(ClientPluginSetting).where(
            ClientPluginSetting.client_id == client_id, ClientPluginSetting.plugin_name == PLUGIN
        )
    )
    if row is None:
        row = ClientPluginSetting(
            practice_id=scope.practice_id, client_id=client_id, plugin_name=PLUGIN, settings={}
        )
        scope.session.add(row)
    row.settings = {**(row.settings or {}), "email_summaries": data["email_summaries"]}
    scope.session.commit()
    return data["email_summaries"]
