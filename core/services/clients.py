"""The caseload, and a coach's changes to a client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, exists, func, not_, nulls_last, or_
from sqlalchemy.orm import aliased, joinedload, selectinload

from .. import figures
from ..db import utcnow
from ..errors import Forbidden, InvalidInput
from ..models import CareerTheme, Client, ClientStatus, User
from ..pagination import Page, paginate
from ..reports import Period, PeriodChoice
from ..scoping import Scope
from ..text import like_pattern

#: The caseload's recent replies: those that came in over this many days, up to now.
RECENT_REPLY_DAYS = 7


def recent_replies_since(now: datetime) -> datetime:
    """The start of the caseload's recent replies window (the same for the column, sort and filter)."""
    return now - timedelta(days=RECENT_REPLY_DAYS)


def caseload(
    scope: Scope, params: dict[str, Any], now: datetime | None = None, threshold: int | None = None
) -> Page[Client]:
    """One page of the clients this user may see (params from ``CaseloadQuerySchema``).

    Searches name, email and theme titles; filters by status, coach, stalled and new replies;
    sorts by name, status, coach, last activity, stalled (the client's own activity,
    by :func:`crossroads.core.figures.activity`'s rule) or replies received in the last
    ``RECENT_REPLY_DAYS`` days (by :func:`crossroads.core.figures.replies_select`). Themes,
    accounts and coaches are loaded with the page in a fixed number of queries, whatever its
    length. ``threshold`` is the practice's stalled days (read here unless given).
    """
    now = now or utcnow()
    if threshold is None:
        threshold = figures.stalled_days(scope.session, scope.practice_id)
    person = aliased(User)
    coach = aliased(User)
    query = (
        scope.select(Client)
        .join(person, Client.user_id == person.id)
        .join(coach, Client.coach_id == coach.id)
        .options(joinedload(Client.user), joinedload(Client.coach), selectinload(Client.themes))
    )
    if params.get("q"):
        pattern = like_pattern(params["q"].lower())
        theme_match = exists().where(
            CareerTheme.client_id == Client.id,
            func.lower(CareerTheme.title).like(pattern, escape="\\"),
        )
        query = query.where(
            or_(
                func.lower(person.name).like(pattern, escape="\\"),
                person.email.like(pattern, escape="\\"),
                theme_match,
            )
        )
    if params.get("status"):
        query = query.where(Client.status == params["status"])
    if params.get("coach_id"):
        query = query.where(Client.coach_id == params["coach_id"])
    if params.get("stalled") is not None:
        stalled = figures.stalled_clause(now, threshold)
        query = query.where(stalled if params["stalled"] else not_(stalled))
    sort = params.get("sort", "-activity")
    recent = None
    if params.get("new_replies") is not None or sort.lstrip("-") == "replies":
        recent = figures.replies_select(scope, recent_replies_since(now), now).subquery()
        query = query.outerjoin(recent, recent.c.client_id == Client.id)
        if params.get("new_replies") is not None:
            query = query.where(
                recent.c.replies.is_not(None) if params["new_replies"] else recent.c.replies.is_(None)
            )

    descending = sort.startswith("-")
    column = {
        "name": func.lower(person.name),
        # In the method's order (onboarding → decided), the same on every database.
        "status": case({s: i for i, s in enumerate(ClientStatus)}, value=Client.status),
        "coach": func.lower(coach.name),
        "activity": Client.last_activity_at,
        "stalled": figures.stalled_order(now, threshold),
        "replies": func.coalesce(recent.c.replies, 0) if recent is not None else None,
    }[sort.lstrip("-")]
    order = nulls_last(column.desc() if descending else column.asc())
    then: tuple = ()
    if sort.lstrip("-") == "stalled":  # among the stalled (and the others), the longest quiet first
        then = (figures.last_activity_column().asc(),)
    elif recent is not None and sort.lstrip("-") == "replies":  # the latest reply first
        then = (nulls_last(recent.c.last_reply_at.desc()),)
    query = query.order_by(order, *then, func.lower(person.name), Client.id)
    return paginate(scope.session, query, params.get("page", 1), params.get("per_page", 25))


@dataclass(frozen=True)
class CaseloadDetails:
    """What the caseload shows beside each client: own activity and stalled, this week's figures, and
    the replies that came in over the last ``RECENT_REPLY_DAYS`` days."""

    activity: dict[int, figures.Activity]
    this_week: dict[int, figures.Headline]
    replies: dict[int, figures.Replies]


def caseload_details(
    scope: Scope, clients: list[Client], now: datetime | None = None, threshold: int | None = None
) -> CaseloadDetails:
    """Activity, this week's figures in the viewer's zone and recent replies, for a page of the
    caseload (a few queries, whatever the page's length)."""
    now = now or utcnow()
    if threshold is None:
        threshold = figures.stalled_days(scope.session, scope.practice_id)
    zone = scope.user.timezone or "UTC"
    week = Period.of(PeriodChoice.THIS_WEEK, zone, today=now.astimezone(ZoneInfo(zone)).date())
    ids = [c.id for c in clients]
    return CaseloadDetails(
        activity={c.id: figures.activity(c, now, threshold) for c in clients},
        this_week=figures.headlines(scope, ids, week.since, week.until),
        replies=figures.replies_received(scope, ids, recent_replies_since(now), now),
    )


def update_client(scope: Scope, client_id: int, data: dict[str, Any]) -> Client:
    """A coach changes a client's status or hands them to another coach (``ClientUpdateSchema``)."""
    if not scope.user.is_staff:
        raise Forbidden("clients cannot change their own status")
    client = scope.get(Client, client_id)
    coach = scope.session.scalar(scope.coaches().where(User.id == data["coach_id"]))
    if coach is None:
        raise InvalidInput({"coach_id": ["Choose a coach of this practice."]})
    client.status = data["status"]
    client.coach = coach
    scope.session.commit()
    return client
