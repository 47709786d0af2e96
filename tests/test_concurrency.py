"""Requests that arrive together, on real threads against the real database (SQLite or PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from crossroads.core.db import make_sessionmaker
from crossroads.core.errors import InvalidInput
from crossroads.core.models import ACTIVE_THEME_STATUSES, CareerTheme, Contact, Stage, StageChange, User
from crossroads.core.schemas import ThemeSchema, load
from crossroads.core.scoping import Scope
from crossroads.core.services import contacts, themes

from .conftest import make_contact


def together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` on ``count`` threads released at the same moment; each result or exception."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001  (kept for the test to look at)
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def in_own_session(engine, user_id: int, action: Callable[[Scope], Any]) -> Any:
    """``action`` with a scope on a session of its own, as each request has."""
    with make_sessionmaker(engine)() as session:
        return action(Scope(session, session.get(User, user_id)))


def test_six_theme_additions_at_once_leave_at_most_three_active(world, db, engine):
    client_id, user_id = world.client.id, world.client.user.id

    def add(index: int):
        data = load(ThemeSchema(), {"title": f"Theme {index}"})
        return in_own_session(engine, user_id, lambda scope: themes.add_theme(scope, client_id, data).id)

    results = together(6, add)
    assert [r for r in results if not isinstance(r, int | InvalidInput)] == []
    active = db.scalar(
        select(func.count()).where(
            CareerTheme.client_id == client_id, CareerTheme.status.in_(ACTIVE_THEME_STATUSES)
        )
    )
    assert active == 3
    assert sum(isinstance(r, InvalidInput) for r in results) == 4


def test_follow_ups_recorded_at_once_are_all_counted(world, db, engine):
    contact = make_contact(db, world.client, "Rita Requested", stage=Stage.REQUESTED)
    db.commit()
    user_id = world.client.user.id

    def follow_up(_index: int):
        return in_own_session(engine, user_id, lambda scope: contacts.record_follow_up(scope, contact.id).id)

    results = together(8, follow_up)
    assert results == [contact.id] * 8
    db.expire_all()
    assert db.get(Contact, contact.id).follow_ups_sent == 8
    notes = select(func.count()).where(StageChange.contact_id == contact.id, StageChange.note == "follow_up")
    assert db.scalar(notes) == 8
