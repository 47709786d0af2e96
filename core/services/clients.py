"""The caseload, and a coach's changes to a client."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, exists, func, nulls_last, or_
from sqlalchemy.orm import aliased, joinedload, selectinload

from ..errors import Forbidden, InvalidInput
from ..models import CareerTheme, Client, ClientStatus, User
from ..pagination import Page, paginate
from ..scoping import Scope
from ..text import like_pattern


def caseload(scope: Scope, params: dict[str, Any]) -> Page[Client]:
    """One page of the clients this user may see (params from ``CaseloadQuerySchema``).

    Searches name, email and theme titles; filters by status and coach; sorts
    by name, status, coach or last activity. Themes, accounts and coaches are
    loaded with the page in a fixed number of queries, whatever its length.
    """
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

    sort = params.get("sort", "-activity")
    descending = sort.startswith("-")
    column = {
        "name": func.lower(person.name),
        # In the method's order (onboarding → decided), the same on every database.
        "status": case({s: i for i, s in enumerate(ClientStatus)}, value=Client.status),
        "coach": func.lower(coach.name),
        "activity": Client.last_activity_at,
    }[sort.lstrip("-")]
    order = nulls_last(column.desc() if descending else column.asc())
    query = query.order_by(order, func.lower(person.name), Client.id)
    return paginate(scope.session, query, params.get("page", 1), params.get("per_page", 25))


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
