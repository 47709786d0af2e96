"""The busiest pages run a few statements, as many for a small caseload as for a large one
(issue 18: at most 10 each, constant in the amount of data)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event

from crossroads.core.db import utcnow
from crossroads.core.models import Stage, Suggestion
from crossroads.testing import make_client, make_contact

LIMIT = 10
LAST: list[str] = []


@contextmanager
def statements(app):
    """The statements the app's requests send (the test's own session has another engine)."""
    engine = app.extensions["crossroads"].engine
    seen: list[str] = []
    record = lambda conn, cursor, statement, *rest: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def grow(db, world, clients: int, contacts: int) -> None:
    """More clients for the coach, and more contacts (overdue, pending suggestions) for each."""
    now = utcnow()
    for n in range(clients):
        make_client(db, world.coach, f"more{n}@a.example")
    for n in range(contacts):
        make_contact(
            db,
            world.client,
            f"Late {n}",
            "Acme",
            stage=Stage.TALKED,
            stage_changed_at=now - timedelta(days=9),
        )
        make_contact(
            db, world.client, f"Suggested {n}", suggestion=Suggestion.PENDING, suggested_by=world.coach
        )
        make_contact(
            db,
            world.other_client,
            f"Asked {n}",
            stage=Stage.REQUESTED,
            stage_changed_at=now - timedelta(days=30),
        )
    db.commit()


def count(app, browser, url: str) -> int:
    browser.get(url)  # warm: first-request work (templates, plugin look-ups) is not the page's
    with statements(app) as seen:
        assert browser.get(url).status_code == 200
    LAST[:] = [s[:90] for s in seen]
    return len(seen)


def plugins_part(seen: list[str]) -> list[str]:
    """The statements run for plugins: each plugin call runs in its own savepoint."""
    part, depth = [], 0
    for statement in seen:
        depth += statement.startswith("SAVEPOINT")
        if depth:
            part.append(statement)
        depth -= statement.startswith("RELEASE SAVEPOINT") or statement.startswith("ROLLBACK TO SAVEPOINT")
    return part


def test_the_caseload_runs_at_most_ten_statements_however_many_clients_and_contacts(app, db, world, as_user):
    """The core's part of the caseload is at most ten statements; the coaching sessions plugin's
    column adds its one query in the savepoint every plugin call gets, whatever the caseload."""
    browser = as_user(world.coach)
    few = count(app, browser, "/coach/")
    few_plugins = plugins_part(LAST)
    grow(db, world, clients=12, contacts=30)
    many = count(app, browser, "/coach/")
    assert 0 < few - len(few_plugins) <= LIMIT, LAST
    assert [s.split()[0] for s in few_plugins] == ["SAVEPOINT", "SELECT", "RELEASE"]
    assert "coaching_action_item" in few_plugins[1]
    assert many == few


def test_the_contacts_page_runs_at_most_ten_statements_however_many_contacts(app, db, world, as_user):
    for who in (world.client.user, world.coach):
        browser = as_user(who)
        url = f"/clients/{world.client.id}/contacts"
        few = count(app, browser, url)
        grow(db, world, clients=0, contacts=25)
        many = count(app, browser, url)
        assert 0 < few <= LIMIT, (who.role, LAST)
        assert many == few, who.role
