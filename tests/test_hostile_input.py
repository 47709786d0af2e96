"""Input nobody types on purpose gets a clear answer, never a server error."""

from __future__ import annotations

import pytest

from .conftest import make_contact


@pytest.mark.parametrize(
    "url", ["/contacts/99999999999999999999", "/coach/clients/4294967296", "/conversations/0"]
)
def test_ids_too_large_for_the_database_are_not_found(world, as_user, url):
    assert as_user(world.coach).get(url).status_code == 404


def test_oversized_ids_in_query_and_form_fields_are_refused_by_name(world, db, as_user):
    coach = as_user(world.coach)
    page = coach.get(f"/clients/{world.client.id}/contacts?theme_id=99999999999999999999")
    assert page.status_code == 200 and "were not understood" in page.get_data(as_text=True)
    assert coach.get("/coach/?coach_id=99999999999999999999").status_code == 200
    response = coach.post(
        f"/coach/clients/{world.client.id}", data={"status": "exploring", "coach_id": "99999999999999999999"}
    )
    assert response.status_code == 422 and 'id="coach_id-error"' in response.get_data(as_text=True)


def test_a_nul_character_is_refused_on_the_field_that_holds_it(world, db, as_user):
    response = as_user(world.client.user).post(
        f"/clients/{world.client.id}/contacts", data={"name": "Ada\x00", "organisation": "Acme"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="name-error"' in page and "invisible control character" in page
    tagged = as_user(world.client.user).get(f"/clients/{world.client.id}/contacts?tag=a%00b")
    assert tagged.status_code == 200


def test_a_date_centuries_away_is_refused(world, db, as_user):
    contact = make_contact(db, world.client, "Ada")
    db.commit()
    response = as_user(world.client.user).post(
        f"/contacts/{contact.id}/conversations", data={"starts_at": "9999-12-31T23:00", "minutes": "20"}
    )
    assert response.status_code == 422
    assert "between the years 2000 and 2100" in response.get_data(as_text=True)


def test_query_arguments_cannot_rewrite_the_pages_links(world, as_user):
    page = as_user(world.client.user).get(
        f"/clients/{world.client.id}/contacts?client_id=2&_external=1&_scheme=http&q=ada"
    )
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert (
        "http://localhost/clients" not in text and f'href="/clients/{world.client.id}/contacts?q=ada' in text
    )
