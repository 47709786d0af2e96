"""The coach's caseload: who sees whom, search, filter, sort, pagination, query count."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.engine import Engine

from crossroads.core.db import utcnow
from crossroads.core.models import ClientStatus, Stage
from crossroads.core.schemas import CaseloadQuerySchema, load
from crossroads.core.scoping import Scope
from crossroads.core.services import contacts
from crossroads.core.services.clients import caseload
from crossroads.testing import make_client, make_contact


def names(db, user, **params) -> list[str]:
    page = caseload(Scope(db, user), load(CaseloadQuerySchema(), params))
    return [c.name for c in page.items]


@contextmanager
def count_queries():
    """The statements run meanwhile on any engine (the app under test has an engine of its own)."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def test_coach_sees_own_caseload_owner_sees_the_practice(world, db):
    assert sorted(names(db, world.coach)) == ["Clara Client", "Otto Other"]
    assert sorted(names(db, world.owner)) == ["Clara Client", "Ola Owned", "Otto Other"]
    assert names(db, world.stranger_owner) == ["Bea Beyond"]


def test_search_matches_name_email_and_theme_title(world, db):
    assert names(db, world.owner, q="clara") == ["Clara Client"]
    assert names(db, world.owner, q="OTTO@CLIENT") == ["Otto Other"]
    assert names(db, world.owner, q="journalism") == ["Ola Owned"]
    assert names(db, world.owner, q="Systems analysis") == []  # another practice's theme


def test_search_treats_like_wildcards_literally(world, db):
    assert names(db, world.owner, q="%") == []
    assert names(db, world.owner, q="_") == []


def test_filter_by_status_and_coach(world, db):
    world.other_client.status = ClientStatus.PAUSED
    db.commit()
    assert names(db, world.owner, status="paused") == ["Otto Other"]
    assert sorted(names(db, world.owner, coach_id=str(world.owner.id))) == ["Ola Owned"]


def test_sort_by_last_activity_puts_never_active_last(world, db):
    now = utcnow()
    world.client.last_activity_at = now - timedelta(days=3)
    world.other_client.last_activity_at = now - timedelta(hours=1)
    world.owners_client.last_activity_at = None  # never active (the cast's contacts count as activity)
    db.commit()
    assert names(db, world.owner, sort="-activity") == ["Otto Other", "Clara Client", "Ola Owned"]
    assert names(db, world.owner, sort="activity") == ["Clara Client", "Otto Other", "Ola Owned"]
    assert names(db, world.owner, sort="name") == ["Clara Client", "Ola Owned", "Otto Other"]
    assert names(db, world.owner, sort="-name") == ["Otto Other", "Ola Owned", "Clara Client"]


def test_pagination_and_a_page_past_the_end_shows_the_last_page(world, db):
    for i in range(30):
        make_client(db, world.coach, f"bulk{i:02}@a.example", f"Bulk {i:02}")
    db.commit()
    scope = Scope(db, world.coach)
    first = caseload(scope, load(CaseloadQuerySchema(), {"sort": "name", "per_page": "10"}))
    assert (first.total, first.pages, first.has_prev, first.has_next) == (32, 4, False, True)
    assert [c.name for c in first.items][:2] == ["Bulk 00", "Bulk 01"]
    beyond = caseload(scope, load(CaseloadQuerySchema(), {"sort": "name", "per_page": "10", "page": "99"}))
    assert beyond.page == 4 and len(beyond.items) == 2


def asked_and_answered(db, client, name: str) -> None:
    """A contact of ``client``'s asked two days ago and answered yesterday (a reply in the last 7 days)."""
    person = make_contact(db, client, name, "Acme", "Writer")
    db.commit()
    scope = Scope(db, client.user)
    contacts.move_to_stage(scope, person.id, Stage.REQUESTED, utcnow() - timedelta(days=2))
    contacts.move_to_stage(scope, person.id, Stage.REPLIED, utcnow() - timedelta(days=1))


#: The caseload as it opens, and sorted by and filtered on new replies (the replies' join).
CASELOAD_URLS = ("/coach/", "/coach/?sort=-replies&new_replies=true", "/coach/?new_replies=false")


def test_caseload_page_runs_the_same_number_of_queries_for_5_or_25_clients(world, db, as_user, engine):
    asked_and_answered(db, world.client, "First Reply")
    browser = as_user(world.coach)
    browser.get("/coach/")  # warm up: the first request loads the user and the plugin states
    few = {}
    for url in CASELOAD_URLS:
        with count_queries() as few[url]:
            assert browser.get(url).status_code == 200
    for i in range(23):
        more = make_client(db, world.coach, f"more{i}@a.example", themes=("One", "Two"))
        if i % 2:  # contacts with replies for half of them, more than one for some
            for n in range(1 + i % 3):
                asked_and_answered(db, more, f"Reply {i}.{n}")
    db.commit()
    many = {}
    for url in CASELOAD_URLS:
        with count_queries() as many[url]:
            page = browser.get(url)
            if url == "/coach/":
                assert page.get_data(as_text=True).count('href="/coach/clients/') == 25
    for url in CASELOAD_URLS:
        assert few[url], "no statement was seen: the count would prove nothing"
        assert len(many[url]) == len(few[url]), (url, many[url])


def test_caseload_page_shows_themes_status_and_invitation_state(world, db, as_user):
    world.client.user.password_hash = None
    db.commit()
    page = as_user(world.coach).get("/coach/").get_data(as_text=True)
    assert "Magazine editing" in page
    assert "badge-invited" in page
    assert "Ola Owned" not in page  # the owner's own client is not this coach's


def test_empty_caseload_explains_what_to_do(world, db, as_user):
    page = as_user(world.stranger_owner).get("/coach/?q=zzz").get_data(as_text=True)
    assert "No client matches these filters" in page


def test_bad_query_arguments_are_ignored_with_a_note_not_an_error(world, as_user):
    response = as_user(world.coach).get("/coach/?sort=password&page=-3")
    assert response.status_code == 200
    assert "were not understood" in response.get_data(as_text=True)


def test_coach_changes_a_clients_status(world, db, as_user):
    response = as_user(world.coach).post(
        f"/coach/clients/{world.client.id}", data={"status": "deciding", "coach_id": world.coach.id}
    )
    assert response.status_code == 302
    db.refresh(world.client)
    assert world.client.status == ClientStatus.DECIDING


def test_handing_a_client_to_another_coach_moves_them_between_caseloads(world, db, as_user):
    response = as_user(world.coach).post(
        f"/coach/clients/{world.client.id}", data={"status": "exploring", "coach_id": world.owner.id}
    )
    assert response.location.endswith("/coach/")
    assert sorted(names(db, world.coach)) == ["Otto Other"]


def test_client_cannot_be_handed_to_a_coach_of_another_practice(world, db, as_user):
    response = as_user(world.coach).post(
        f"/coach/clients/{world.client.id}",
        data={"status": "exploring", "coach_id": world.stranger_owner.id},
    )
    assert response.status_code == 422
    assert "Choose a coach of this practice." in response.get_data(as_text=True)


def test_times_are_shown_in_the_viewers_time_zone(world, db, as_user):
    from datetime import UTC, datetime

    world.client.created_at = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
    world.coach.timezone = "Asia/Tokyo"
    db.commit()
    page = as_user(world.coach).get(f"/coach/clients/{world.client.id}").get_data(as_text=True)
    assert "client since 02 Jul 2026" in page  # already the next day in Tokyo


def test_the_caseload_page_pages_and_keeps_the_search_in_its_links(world, db, as_user):
    for i in range(30):
        make_client(db, world.coach, f"pager{i:02}@a.example", f"Pager {i:02}")
    db.commit()
    page = as_user(world.coach).get("/coach/?q=pager&sort=name").get_data(as_text=True)
    assert "Page 1 of 2" in page and "1–25 of 30 clients" in page
    assert 'href="/coach/?q=pager&amp;sort=name&amp;page=2"' in page
    assert 'aria-sort="ascending"' in page
