"""The audit log: staff access to a client's pages, exports and erasures; read by the owner only."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from crossroads.core.errors import NotFound
from crossroads.core.models import AuditAction, AuditEvent
from crossroads.core.scoping import Scope
from crossroads.core.services import audit
from crossroads.plugins.alumni_offices.models import IntroductionRequest
from crossroads.testing import World
from crossroads.testing.sweeps import core_route_ids

from .test_export import seed_everything


def events(db, **where) -> list[AuditEvent]:
    db.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return list(db.scalars(query))


def test_a_coachs_view_is_recorded_once_per_window(db, world: World, as_user):
    coach = as_user(world.coach)
    url = f"/coach/clients/{world.client.id}"
    assert coach.get(url).status_code == 200
    assert coach.get(url).status_code == 200
    [event] = events(db)
    assert (event.actor_id, event.client_id, event.action, event.what) == (
        world.coach.id,
        world.client.id,
        AuditAction.VIEWED,
        "client page",
    )
    assert event.ip == "127.0.0.1"
    event.at -= audit.VIEW_WINDOW + timedelta(seconds=1)  # the window has passed
    db.commit()
    coach.get(url)
    assert len(events(db, what="client page")) == 2


def test_each_private_page_is_named_by_kind_and_id_never_by_name(db, world: World, as_user):
    coach = as_user(world.coach)
    client = world.client
    ids = core_route_ids()
    conversation_id = ids["conversation_id"].resolve(db, client)
    message_id = ids["message_id"].resolve(db, client)
    contact_id = ids["contact_id"].resolve(db, client)
    pages = {
        f"/clients/{client.id}/contacts": "contacts page",
        f"/contacts/{contact_id}": f"contact {contact_id}",
        f"/clients/{client.id}/conversations": "conversations page",
        f"/conversations/{conversation_id}": f"prep sheet of conversation {conversation_id}",
        f"/conversations/{conversation_id}/reflection": f"reflection on conversation {conversation_id}",
        f"/clients/{client.id}/messages": "messages page",
        f"/messages/{message_id}": f"message {message_id}",
        f"/plugins/progress_report/clients/{client.id}/report": "progress report: client report",
    }
    for url in pages:
        assert coach.get(url).status_code == 200, url
    recorded = {e.what for e in events(db, client_id=client.id, action=AuditAction.VIEWED)}
    assert recorded == set(pages.values())


def test_a_change_by_staff_is_recorded(db, world: World, as_user):
    response = as_user(world.coach).post(
        f"/clients/{world.client.id}/themes", data={"title": "Podcasting", "target_conversations": "4"}
    )
    assert response.status_code in (302, 303)
    assert [e.action for e in events(db, client_id=world.client.id)] == [AuditAction.CHANGED]


def test_the_clients_own_views_and_refused_requests_are_not_recorded(db, world: World, as_user):
    client = as_user(world.client.user)
    for url in ("/me/", f"/clients/{world.client.id}/contacts", f"/clients/{world.client.id}/conversations"):
        assert client.get(url).status_code == 200
    assert as_user(world.coach).get(f"/coach/clients/{world.owners_client.id}").status_code == 404
    assert as_user(world.stranger_owner).get(f"/clients/{world.client.id}/contacts").status_code == 404
    assert events(db) == []


def test_the_owners_views_are_recorded_too(db, world: World, as_user):
    as_user(world.owner).get(f"/clients/{world.client.id}/contacts")
    [event] = events(db)
    assert (event.actor_id, event.what) == (world.owner.id, "contacts page")


def test_another_practices_owner_filtering_by_our_client_sees_nothing_of_it(db, world: World, as_user):
    as_user(world.coach).get(f"/clients/{world.client.id}/contacts")
    assert events(db)  # there is an entry to leak
    page = as_user(world.stranger_owner).get(f"/practice/audit/?client_id={world.client.id}")
    text = page.get_data(as_text=True)
    assert page.status_code in (200, 404)
    assert "contacts page" not in text and world.client.name not in text and world.coach.name not in text


def test_only_the_owner_reads_the_log(world: World, as_user):
    assert as_user(world.owner).get("/practice/audit/").status_code == 200
    assert as_user(world.coach).get("/practice/audit/").status_code == 404
    assert as_user(world.client.user).get("/practice/audit/").status_code == 404
    assert as_user(world.stranger_owner).get("/practice/audit/").status_code == 200  # their own, empty
    settings = as_user(world.owner).get("/practice/").data.decode()
    assert 'href="/practice/audit/"' in settings


def test_the_log_lists_newest_first_in_the_owners_time_zone_and_filters(db, world: World, as_user):
    as_user(world.coach).get(f"/coach/clients/{world.client.id}")
    as_user(world.owner).get(f"/coach/clients/{world.other_client.id}")
    as_user(world.stranger_owner).get(f"/coach/clients/{world.stranger_client.id}")
    owner = as_user(world.owner)
    page = owner.get("/practice/audit/").data.decode()
    table = page[page.index("<tbody>") :]
    assert table.index("Otto Other") < table.index("Clara Client")  # newest first
    assert "Bea Beyond" not in page  # another practice's log
    assert "GMT" in page  # Europe/London in November
    only_clara = owner.get(f"/practice/audit/?client_id={world.client.id}").data.decode()
    assert "Colin Coach" in only_clara and "Otto Other</a>" not in only_clara
    only_owner = owner.get(f"/practice/audit/?actor_id={world.owner.id}").data.decode()
    assert "Otto Other</a>" in only_owner and "Clara Client</a>" not in only_owner
    bad = owner.get("/practice/audit/?client_id=abc")
    assert bad.status_code == 200 and b"were not understood" in bad.data


def test_an_empty_log_says_so(world: World, as_user):
    page = as_user(world.owner).get("/practice/audit/").data.decode()
    assert "The log is empty" in page
    filtered = as_user(world.owner).get(f"/practice/audit/?client_id={world.client.id}").data.decode()
    assert "Nothing in the log matches these filters" in filtered


def test_the_log_is_paginated(db, world: World, as_user):
    scope = Scope(db, world.coach)
    for n in range(60):
        audit.record(scope, world.client.id, AuditAction.VIEWED, f"contact {n}")
    db.commit()
    owner = as_user(world.owner)
    first = owner.get("/practice/audit/").data.decode()
    assert "1–50 of 60 events" in first and "contact 59" in first and "Page 1 of 2" in first
    second = owner.get("/practice/audit/?page=2").data.decode()
    assert "51–60 of 60 events" in second and re.search(r">contact 0<", second)


def test_the_service_refuses_anyone_but_the_owner(db, world: World):
    with pytest.raises(NotFound):
        audit.events(Scope(db, world.coach), {"page": 1, "per_page": 50})


def test_a_staff_view_of_a_plugins_page_about_a_client_is_recorded_without_the_plugin_doing_anything(
    db, world: World, as_user
):
    seed_everything(db, world.client)
    db.execute(delete(AuditEvent))  # the seed's own entry
    db.commit()
    intro_request = db.scalar(
        select(IntroductionRequest).where(IntroductionRequest.client_id == world.client.id)
    )
    url = f"/plugins/alumni_offices/requests/{intro_request.id}"
    assert as_user(world.coach).get(url).status_code == 200
    [event] = events(db)
    assert (event.actor_id, event.action) == (world.coach.id, AuditAction.VIEWED)
    assert event.what == f"alumni offices: show request intro request {intro_request.id}"
    assert "Clara" not in event.what
    as_user(world.client.user).get(url)  # the client's own look is not logged
    assert len(events(db)) == 1


def test_a_template_preview_rendering_a_real_client_is_recorded_as_a_view_of_them(db, world: World, as_user):
    coach = as_user(world.coach)
    response = coach.post(
        "/templates/email/first_request/preview",
        data={"subject": "x", "body": "{{ client.name }}, {{ client.email }} to {{ contact.name }}"},
    )
    assert response.status_code == 200
    rendered = response.get_json()["body"]
    [event] = events(db)
    assert f"{world.client.name}, {world.client.user.email} to {world.contacts[0].name}" in rendered
    assert event.client_id == world.client.id  # the practice's first contact is the client's first
    assert (event.actor_id, event.action) == (world.coach.id, AuditAction.VIEWED)
    assert event.what == "template preview (email, first_request)"
    assert as_user(world.coach).get("/templates").status_code == 200  # the list shows no client's data
    assert len(events(db)) == 1
