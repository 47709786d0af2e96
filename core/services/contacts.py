"""A client's contacts: adding, coach suggestions, referrals, themes, search, and the pipeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, case, delete, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from ..db import utcnow
from ..errors import Forbidden, InvalidInput, NotFound
from ..locking import refuse_stale
from ..models import (
    CareerTheme,
    Client,
    Contact,
    ContactSource,
    Role,
    Stage,
    StageChange,
    Suggestion,
    contact_theme,
)
from ..outreach.followups import DueItem, due_items
from ..pagination import Page, paginate
from ..scoping import Scope
from ..search_index import contains_words
from ..sources import check_source
from ..text import fold, like_pattern, words
from . import notifications
from .activity import touch

END_STAGES = frozenset({Stage.DECLINED, Stage.NO_RESPONSE})
HIDDEN = Suggestion.DISMISSED


def search_columns(
    name: str, organisation: str, position: str, email: str, tags: list[str]
) -> dict[str, str]:
    """The folded copies of a contact's text that search, sorting and lead matching use."""
    work = fold(f"{position} {organisation}")
    folded_name = fold(name)
    return {
        "sort_name": folded_name[:200],
        "search_text": " ".join(part for part in (folded_name, work, email, *map(fold, tags)) if part),
        "work_text": work,
        "tag_text": "".join(f"|{fold(t)}" for t in tags) + "|" if tags else "",
    }


def refresh_search_columns(contact: Contact) -> None:
    for key, value in search_columns(
        contact.name, contact.organisation, contact.position, contact.email, contact.tags or []
    ).items():
        setattr(contact, key, value)


def _client(scope: Scope, client_id: int) -> Client:
    return scope.get(Client, client_id)


def _themes(scope: Scope, client: Client, theme_ids: list[int]) -> list[CareerTheme]:
    if not theme_ids:
        return []
    themes = scope.session.scalars(
        scope.select(CareerTheme).where(CareerTheme.client_id == client.id, CareerTheme.id.in_(theme_ids))
    ).all()
    if len(themes) != len(set(theme_ids)):
        raise InvalidInput({"theme_ids": ["Choose themes of this client."]})
    return list(themes)


def _check_unique_url(scope: Scope, client: Client, url: str | None, contact_id: int | None) -> None:
    if not url:
        return
    query = select(Contact.id, Contact.name).where(
        Contact.client_id == client.id, Contact.linkedin_url == url
    )
    if contact_id is not None:
        query = query.where(Contact.id != contact_id)
    existing = scope.session.execute(query).first()
    if existing:
        raise InvalidInput({"linkedin_url": [f"{existing.name} already has this profile address."]})


def _record(
    scope: Scope, contact: Contact, before: Stage | None, after: Stage, at: datetime, note: str = ""
) -> StageChange:
    change = StageChange(
        practice_id=contact.practice_id,
        client_id=contact.client_id,
        contact=contact,
        from_stage=before,
        to_stage=after,
        note=note,
        at=at,
        by_user_id=scope.user.id,
    )
    scope.session.add(change)
    return change


def _new_contact(scope: Scope, client: Client, data: dict[str, Any], source: str, **extra: Any) -> Contact:
    _check_unique_url(scope, client, data.get("linkedin_url"), None)
    themes = _themes(scope, client, data.get("theme_ids", []))
    values = {k: v for k, v in data.items() if k not in ("theme_ids", "source", "version")}
    now = utcnow()
    contact = Contact(
        practice_id=client.practice_id,
        client_id=client.id,
        client=client,
        source=source,
        stage=Stage.IDENTIFIED,
        stage_changed_at=now,
        created_at=now,
        themes=themes,
        **values,
        **extra,
    )
    refresh_search_columns(contact)
    scope.session.add(contact)
    _record(scope, contact, None, Stage.IDENTIFIED, now)
    if scope.user.role == Role.CLIENT:
        touch(client, now)
    return contact


def create_contact(scope: Scope, client_id: int, data: dict[str, Any]) -> Contact:
    """The client adds someone by hand (data from ``NewContactSchema``).

    When a coach adds a contact to a client's list, it becomes a suggestion the
    client accepts or dismisses.
    """
    contact = add_contact(scope, client_id, data)
    scope.session.commit()
    return contact


def add_contact(scope: Scope, client_id: int, data: dict[str, Any]) -> Contact:
    """:func:`create_contact` without the commit, for services that do more in the same transaction."""
    client = _client(scope, client_id)
    if scope.user.is_staff:
        contact = _new_contact(
            scope,
            client,
            data,
            ContactSource.COACH,
            suggested_by_id=scope.user.id,
            suggestion=Suggestion.PENDING,
        )
        scope.session.flush()
        notifications.notify_suggestion(scope.session, contact, scope.user)
    else:
        source = check_source(scope.session, data.get("source") or ContactSource.MANUAL.value)
        contact = _new_contact(scope, client, data, source)
    scope.session.flush()
    return contact


def respond_to_suggestion(scope: Scope, contact_id: int, accept: bool) -> Contact:
    """The client accepts a coach's suggestion into their list, or dismisses it (reversibly)."""
    contact = scope.get(Contact, contact_id)
    if scope.user.role != Role.CLIENT:
        raise Forbidden("only the client accepts or dismisses suggestions")
    if contact.suggestion is None:
        raise InvalidInput({"_schema": [f"{contact.name} was not a suggestion."]})
    contact.suggestion = Suggestion.ACCEPTED if accept else Suggestion.DISMISSED
    touch(contact.client)
    scope.session.commit()
    return contact


def update_contact(scope: Scope, contact_id: int, data: dict[str, Any]) -> Contact:
    """Change a contact's details, themes, notes and tags (data from ``ContactSchema``).

    An edit of an older version than the one saved now raises :class:`EditConflict`, keeping the
    saved research notes for the page to show beside the user's.
    """
    contact = scope.get(Contact, contact_id)
    refuse_stale(scope.session, contact, data.pop("version", None), ["research_notes"], "this contact")
    _check_unique_url(scope, contact.client, data.get("linkedin_url"), contact.id)
    contact.themes = _themes(scope, contact.client, data.get("theme_ids", []))
    if "email" in data and (data["email"] or "").lower() != (contact.email or "").lower():
        # Whatever bounced was the old address.
        contact.email_problem, contact.email_problem_at = "", None
    for key, value in data.items():
        if key not in ("theme_ids", "source"):
            setattr(contact, key, value)
    refresh_search_columns(contact)
    if scope.user.role == Role.CLIENT:
        touch(contact.client)
    scope.session.commit()
    return contact


def add_referral(scope: Scope, contact_id: int, data: dict[str, Any]) -> Contact:
    """Record someone ``contact`` suggested talking to; they become a contact linked back to them."""
    contact = new_referral(scope, scope.get(Contact, contact_id), data)
    scope.session.commit()
    return contact


def new_referral(scope: Scope, referrer: Contact, data: dict[str, Any]) -> Contact:
    """A referral contact, added to the session without committing."""
    data = {**data, "theme_ids": data.get("theme_ids") or [t.id for t in referrer.themes]}
    return _new_contact(scope, referrer.client, data, ContactSource.REFERRAL, referred_by=referrer)


def referral_chain(contact: Contact) -> list[Contact]:
    """Who referred ``contact``, who referred them, and so on: nearest first."""
    chain, seen = [], {contact.id}
    current = contact.referred_by
    while current is not None and current.id not in seen:
        chain.append(current)
        seen.add(current.id)
        current = current.referred_by
    return chain


def move_to_stage(
    scope: Scope, contact_id: int, stage: Stage, now: datetime | None = None
) -> tuple[Contact, StageChange]:
    """Move a contact to ``stage``, keeping the change with its time."""
    contact = scope.get(Contact, contact_id)
    if contact.stage == stage:
        raise InvalidInput({"stage": [f"{contact.name} is already at {stage.value}."]})
    change = stage_move(scope, contact, stage, now)
    scope.session.commit()
    return contact, change


def stage_move(scope: Scope, contact: Contact, stage: Stage, now: datetime | None = None) -> StageChange:
    """Move a contact without committing, for services that do more in the same transaction."""
    now = now or utcnow()
    previous = contact.stage
    contact.stage = stage
    contact.stage_changed_at = now
    if stage == Stage.REQUESTED:
        contact.follow_ups_sent = 0
        contact.last_follow_up_at = None
    change = _record(scope, contact, previous, stage, now)
    if scope.user.role == Role.CLIENT:
        touch(contact.client, now)
    return change


def record_follow_up(scope: Scope, contact_id: int, now: datetime | None = None) -> Contact:
    """The client sent a follow-up to a request that has had no reply."""
    contact = scope.get(Contact, contact_id)
    if contact.stage != Stage.REQUESTED:
        raise InvalidInput({"stage": ["Follow-ups are for requests that have had no reply yet."]})
    count_follow_up(scope, contact, now)
    scope.session.commit()
    return contact


def count_follow_up(scope: Scope, contact: Contact, now: datetime | None = None) -> StageChange:
    """Count a follow-up to a request without committing (outreach sends one in its own transaction)."""
    now = now or utcnow()
    # In SQL, not read-modify-write in Python: two follow-ups counted at once both count.
    contact.follow_ups_sent = Contact.follow_ups_sent + 1
    contact.last_follow_up_at = now
    change = _record(scope, contact, Stage.REQUESTED, Stage.REQUESTED, now, note="follow_up")
    if scope.user.role == Role.CLIENT:
        touch(contact.client, now)
    return change


def undo_stage_change(scope: Scope, contact_id: int, change_id: int) -> Contact:
    """Take back the latest move of a contact, as if it never happened (for a mis-click)."""
    contact = scope.get(Contact, contact_id)
    history = scope.session.scalars(
        select(StageChange)
        .where(StageChange.contact_id == contact.id)
        .order_by(StageChange.id.desc())
        .limit(2)
    ).all()
    if not history or history[0].id != change_id or history[0].from_stage is None:
        raise InvalidInput({"_schema": ["Only the latest change can be undone."]})
    latest = history[0]
    if latest.note == "follow_up":
        contact.follow_ups_sent = case((Contact.follow_ups_sent > 0, Contact.follow_ups_sent - 1), else_=0)
        earlier = scope.session.scalars(
            select(StageChange.at)
            .where(
                StageChange.contact_id == contact.id,
                StageChange.note == "follow_up",
                StageChange.id != latest.id,
            )
            .order_by(StageChange.id.desc())
        ).first()
        contact.last_follow_up_at = earlier
    else:
        contact.stage = latest.from_stage
        contact.stage_changed_at = history[1].at if len(history) > 1 else contact.created_at
    scope.session.delete(latest)
    scope.session.commit()
    return contact


def stage_history(scope: Scope, contact: Contact) -> list[StageChange]:
    return list(
        scope.session.scalars(
            scope.select(StageChange)
            .where(StageChange.contact_id == contact.id)
            .order_by(StageChange.id.desc())
        )
    )


def link_theme(scope: Scope, contact_id: int, theme_id: int, linked: bool = True) -> Contact:
    """Link a contact to one of the client's themes (or unlink it)."""
    contact = scope.get(Contact, contact_id)
    theme = scope.get(CareerTheme, theme_id)
    if theme.client_id != contact.client_id:
        raise NotFound(f"CareerTheme {theme_id}")
    if linked and theme not in contact.themes:
        contact.themes.append(theme)
    elif not linked and theme in contact.themes:
        contact.themes.remove(theme)
    scope.session.commit()
    return contact


def _filtered(scope: Scope, client: Client, params: dict[str, Any]):
    query = scope.select(Contact).where(
        Contact.client_id == client.id, or_(Contact.suggestion.is_(None), Contact.suggestion != HIDDEN)
    )
    if searched := words(params.get("q") or ""):
        query = query.where(contains_words(scope.session.get_bind().dialect.name, searched))
    if params.get("stage"):
        query = query.where(Contact.stage == Stage(params["stage"]))
    if params.get("source"):
        query = query.where(Contact.source == params["source"])
    if params.get("theme_id"):
        query = query.where(
            Contact.id.in_(
                select(contact_theme.c.contact_id).where(contact_theme.c.theme_id == params["theme_id"])
            )
        )
    if params.get("tag"):
        query = query.where(Contact.tag_text.like(like_pattern(f"|{fold(params['tag'])}|"), escape="\\"))
    return query


SORT_COLUMNS = {
    "name": Contact.sort_name,
    "organisation": Contact.organisation,
    "stage": case({s: i for i, s in enumerate(Stage)}, value=Contact.stage),
    "updated": Contact.updated_at,
    "connected": Contact.connected_on,
}


def search(scope: Scope, client_id: int, params: dict[str, Any]) -> Page[Contact]:
    """One page of a client's contacts (params from ``ContactQuerySchema``).

    Every word of ``q`` must appear in the name, organisation, position, email
    or tags, ignoring case and accents. Themes and referrers come with the
    page in a fixed number of queries.
    """
    client = _client(scope, client_id)
    sort = params.get("sort", "name")
    column = SORT_COLUMNS[sort.lstrip("-")]
    order = column.desc() if sort.startswith("-") else column.asc()
    query = (
        _filtered(scope, client, params)
        .options(selectinload(Contact.themes), joinedload(Contact.referred_by))
        .order_by(order, Contact.sort_name, Contact.id)
    )
    return paginate(scope.session, query, params.get("page", 1), params.get("per_page", 50))


BOARD_COLUMN_LIMIT = 30


def board(scope: Scope, client_id: int, params: dict[str, Any]) -> dict[Stage, tuple[int, list[Contact]]]:
    """Contacts by stage: for each stage its count and the most recently moved few."""
    client = _client(scope, client_id)
    base = _filtered(scope, client, params)
    sub = base.subquery()
    counts = {
        Stage(stage): count
        for stage, count in scope.session.execute(select(sub.c.stage, func.count()).group_by(sub.c.stage))
    }
    ranked = (
        base.add_columns(
            func.row_number()
            .over(partition_by=Contact.stage, order_by=(Contact.stage_changed_at.desc(), Contact.id))
            .label("rank")
        )
    ).subquery()
    top = scope.session.scalars(
        select(Contact)
        .join(ranked, ranked.c.id == Contact.id)
        .where(ranked.c.rank <= BOARD_COLUMN_LIMIT)
        .order_by(Contact.stage_changed_at.desc(), Contact.id)
    ).all()
    columns: dict[Stage, tuple[int, list[Contact]]] = {stage: (counts.get(stage, 0), []) for stage in Stage}
    for contact in top:
        columns[contact.stage][1].append(contact)
    return columns


def pending_query(client_id: int, select_from):
    """The pending suggestions of a client, as a query on ``select_from`` (a ``select`` of contacts).

    "pending" is written into the SQL (not a bound value) so that both databases use the partial
    index ``ix_contact_client_pending`` whatever plan they cache."""
    pending = bindparam("pending", Suggestion.PENDING, type_=Contact.suggestion.type, literal_execute=True)
    return select_from.where(Contact.client_id == client_id, Contact.suggestion == pending)


def pending_suggestions(scope: Scope, client_id: int) -> list[Contact]:
    """A client's contacts suggested by their coach and not yet accepted or dismissed, newest first."""
    client = _client(scope, client_id)
    return list(
        scope.session.scalars(
            pending_query(client.id, scope.select(Contact))
            .options(joinedload(Contact.suggested_by))
            .order_by(Contact.created_at.desc())
        )
    )


#: The stages in which something can fall due (a follow-up, a thank-you): see core/outreach/followups.py.
OPEN_STAGES = (Stage.REQUESTED, Stage.TALKED)


def _open_contacts(scope: Scope, client_ids: list[int], due_by=None):
    """The client's contacts with something due by ``due_by`` (their ``due_on``; all open ones when None)."""
    query = scope.select(Contact).where(Contact.client_id.in_(client_ids), Contact.stage.in_(OPEN_STAGES))
    if due_by is not None:
        query = query.where(Contact.due_on <= due_by)
    return scope.session.scalars(query.options(joinedload(Contact.client).joinedload(Client.user))).all()


def due_for_client(scope: Scope, client_id: int, today=None) -> list[DueItem]:
    """What is due today or overdue for one client, in their own time zone: the contacts whose
    ``due_on`` has come, each described by the rhythm (:func:`.followups.due_for`)."""
    client = _client(scope, client_id)
    zone = ZoneInfo(client.timezone)
    today = today or utcnow().astimezone(zone).date()
    return due_items(_open_contacts(scope, [client.id], due_by=today), client.practice, zone, today)


#: The columns of a contact that the follow-up rhythm and a reminder line read.
DUE_COLUMNS = (
    Contact.id,
    Contact.client_id,
    Contact.name,
    Contact.organisation,
    Contact.stage,
    Contact.stage_changed_at,
    Contact.follow_ups_sent,
    Contact.last_follow_up_at,
    Contact.quiet_until,
)


def due_by_client(session: Session, clients: list[Client], now: datetime) -> dict[int, list[DueItem]]:
    """What is due today or overdue for each of ``clients``, each in their own zone, as
    :func:`due_for_client` has it, read in one query per thousand clients (the daily reminders).

    Not through a ``Scope``: the reminder run is nobody's request. ``clients`` come with their
    user and practice loaded. Each item's ``contact`` is a row of :data:`DUE_COLUMNS` rather than
    a whole ``Contact``: reading 500 clients' contacts as objects cost more than the rest of the
    run. Only contacts whose ``due_on`` has come in the latest of the clients' zones are read.
    """
    by_client: dict[int, list[Any]] = {c.id: [] for c in clients}
    ids = list(by_client)
    latest = max((now.astimezone(ZoneInfo(c.timezone)).date() for c in clients), default=None)
    for start in range(0, len(ids), 1000):
        for row in session.execute(
            select(*DUE_COLUMNS).where(
                Contact.client_id.in_(ids[start : start + 1000]),
                Contact.stage.in_(OPEN_STAGES),
                Contact.due_on <= latest,
            )
        ):
            by_client[row.client_id].append(row)
    due = {}
    for client in clients:
        zone = ZoneInfo(client.timezone)
        due[client.id] = due_items(by_client[client.id], client.practice, zone, now.astimezone(zone).date())
    return due


def overdue_counts(scope: Scope, clients: list[Client]) -> dict[int, int]:
    """Client id → number of overdue follow-ups and thank-yous, for a page of the caseload, in one
    aggregate statement over the contacts' kept ``overdue_from`` (each client's "today" in their
    own zone)."""
    if not clients:
        return {}
    now = utcnow()
    by_today: dict[Any, list[int]] = {}
    for client in clients:
        by_today.setdefault(now.astimezone(ZoneInfo(client.timezone)).date(), []).append(client.id)
    rows = scope.session.execute(
        select(Contact.client_id, func.count())
        .where(
            Contact.practice_id == scope.practice_id,
            or_(
                *(
                    and_(Contact.client_id.in_(ids), Contact.overdue_from <= today)
                    for today, ids in by_today.items()
                )
            ),
        )
        .group_by(Contact.client_id)
    ).all()
    counts = dict.fromkeys((c.id for c in clients), 0)
    counts.update(dict(rows))
    return counts


def remove_contact(scope: Scope, contact_id: int) -> str:
    """Delete a contact the client added by mistake; their referrals stay, unlinked."""
    contact = scope.get(Contact, contact_id)
    name = contact.name
    scope.session.execute(delete(contact_theme).where(contact_theme.c.contact_id == contact.id))
    scope.session.delete(contact)
    scope.session.commit()
    return name


def listing(scope: Scope, client_id: int, params: dict[str, Any]):
    """A client's contacts as the contact list filters them (``ContactQuerySchema``'s ``q``,
    ``stage``, ``source``, ``theme_id``, ``tag``), unordered, with their themes loaded alongside:
    the API pages it by id."""
    return _filtered(scope, _client(scope, client_id), params).options(selectinload(Contact.themes))
