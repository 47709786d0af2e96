"""A client's career themes: at most three active at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from .. import events
from ..errors import InvalidInput
from ..locking import lock_client, refuse_stale
from ..models import (
    ACTIVE_THEME_STATUSES,
    MAX_ACTIVE_THEMES,
    CareerTheme,
    Client,
    Role,
    ThemeStatus,
)
from ..scoping import Scope
from .activity import touch

TOO_MANY = (
    f"A client explores at most {MAX_ACTIVE_THEMES} themes at once. "
    "Park or drop one first, or add this one as parked."
)


#: Moving a theme into one of these fires ``theme_decided``.
DECIDED_STATUSES = frozenset({ThemeStatus.CHOSEN, ThemeStatus.DROPPED})


def _check_limit(scope: Scope, client: Client, status: ThemeStatus, theme_id: int | None) -> None:
    if status not in ACTIVE_THEME_STATUSES:
        return
    lock_client(scope.session, client.id)  # two saves at once cannot both pass the count
    query = select(func.count()).where(
        CareerTheme.client_id == client.id, CareerTheme.status.in_(ACTIVE_THEME_STATUSES)
    )
    if theme_id is not None:
        query = query.where(CareerTheme.id != theme_id)
    if scope.session.scalar(query) >= MAX_ACTIVE_THEMES:
        raise InvalidInput({"status": [TOO_MANY]})


def _record_activity(scope: Scope, client: Client) -> None:
    if scope.user.role == Role.CLIENT:
        touch(client)


def add_theme(scope: Scope, client_id: int, data: dict[str, Any]) -> CareerTheme:
    """Add a theme for a client (data from ``ThemeSchema``)."""
    client = scope.get(Client, client_id)
    _check_limit(scope, client, data["status"], None)
    last = scope.session.scalar(
        select(func.max(CareerTheme.position)).where(CareerTheme.client_id == client.id)
    )
    theme = CareerTheme(
        practice_id=client.practice_id,
        client=client,
        position=(last or 0) + 1,
        **data,
    )
    scope.session.add(theme)
    _record_activity(scope, client)
    scope.session.commit()
    return theme


def update_theme(scope: Scope, theme_id: int, data: dict[str, Any]) -> CareerTheme:
    """Change a theme's title, description, target or status (data from ``ThemeEditSchema``).

    An edit of an older version than the one saved now raises :class:`EditConflict` with the saved
    title and description.
    """
    theme = scope.get(CareerTheme, theme_id)
    refuse_stale(scope.session, theme, data.pop("version", None), ["title", "description"], "this theme")
    previous = theme.status
    _check_limit(scope, theme.client, data["status"], theme.id)
    for key, value in data.items():
        setattr(theme, key, value)
    _record_activity(scope, theme.client)
    _announce_decision(scope, theme, previous)
    scope.session.commit()
    return theme


def set_theme_status(scope: Scope, theme_id: int, status: ThemeStatus) -> tuple[CareerTheme, ThemeStatus]:
    """Move a theme to ``status``; returns the theme and its previous status, so it can be undone."""
    theme, previous = status_change(scope, theme_id, status)
    scope.session.commit()
    return theme, previous


def status_change(scope: Scope, theme_id: int, status: ThemeStatus) -> tuple[CareerTheme, ThemeStatus]:
    """Change a theme's status without committing, for services that do more in the same transaction."""
    theme = scope.get(CareerTheme, theme_id)
    previous = theme.status
    _check_limit(scope, theme.client, status, theme.id)
    theme.status = status
    _record_activity(scope, theme.client)
    _announce_decision(scope, theme, previous)
    return theme, previous


def _announce_decision(scope: Scope, theme: CareerTheme, previous: ThemeStatus) -> None:
    if theme.status != previous and theme.status in DECIDED_STATUSES:
        events.fire(scope.session, "theme_decided", theme.practice_id, theme=theme, status=theme.status)
