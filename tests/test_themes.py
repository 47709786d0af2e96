"""Career themes: at most three active, edited by the client or their coach, with undo."""

from __future__ import annotations

import pytest

from crossroads.core.errors import InvalidInput, NotFound
from crossroads.core.models import CareerTheme, ThemeStatus
from crossroads.core.schemas import ThemeSchema, load
from crossroads.core.scoping import Scope
from crossroads.core.services import themes


def add(db, user, client, title, status="exploring"):
    data = load(ThemeSchema(), {"title": title, "status": status})
    return themes.add_theme(Scope(db, user), client.id, data)


def test_client_adds_a_theme_from_their_workspace(world, db, as_user):
    response = as_user(world.client.user).post(
        f"/clients/{world.client.id}/themes",
        data={"title": "Technical writing", "description": "Docs", "target_conversations": "4"},
    )
    assert response.status_code == 302 and response.location.endswith("/me/")
    theme = db.query(CareerTheme).filter_by(title="Technical writing").one()
    assert (theme.client_id, theme.target_conversations, theme.status) == (
        world.client.id,
        4,
        ThemeStatus.EXPLORING,
    )
    db.refresh(world.client)
    assert world.client.last_activity_at is not None  # a client's own work counts as activity


def test_a_fourth_active_theme_is_refused_but_can_be_added_parked(world, db):
    add(db, world.client.user, world.client, "Two")
    add(db, world.client.user, world.client, "Three")
    with pytest.raises(InvalidInput) as caught:
        add(db, world.client.user, world.client, "Four")
    assert "at most 3 themes" in caught.value.errors["status"][0]
    parked = add(db, world.client.user, world.client, "Four", status="parked")
    assert parked.status == ThemeStatus.PARKED
    with pytest.raises(InvalidInput):
        themes.set_theme_status(Scope(db, world.client.user), parked.id, ThemeStatus.EXPLORING)


def test_failed_add_keeps_what_was_typed_and_names_the_field(world, db, as_user):
    add(db, world.client.user, world.client, "Two")
    add(db, world.client.user, world.client, "Three")
    response = as_user(world.client.user).post(
        f"/clients/{world.client.id}/themes",
        data={
            "title": "Employee engagement",
            "description": "People side of work",
            "target_conversations": "5",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="Employee engagement"' in page
    assert "People side of work" in page
    assert 'id="new-status-error"' in page


def test_blank_title_and_silly_target_are_reported_per_field(world, as_user):
    response = as_user(world.client.user).post(
        f"/clients/{world.client.id}/themes", data={"title": "   ", "target_conversations": "500"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "This field is required." in page
    assert "Choose a target between 1 and 50." in page


def test_coach_edits_a_clients_theme(world, db, as_user):
    theme = world.client.themes[0]
    response = as_user(world.coach).post(
        f"/themes/{theme.id}",
        data={"title": "Magazine editing (features)", "target_conversations": "6", "status": "exploring"},
    )
    assert response.status_code == 302 and response.location.endswith(f"/coach/clients/{world.client.id}")
    db.refresh(theme)
    assert (theme.title, theme.target_conversations) == ("Magazine editing (features)", 6)


def test_failed_edit_reopens_that_themes_form_with_the_typed_values(world, as_user):
    theme = world.client.themes[0]
    response = as_user(world.client.user).post(
        f"/themes/{theme.id}", data={"title": "Renamed", "target_conversations": "0", "status": "exploring"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="theme-{theme.id}-title"' in page and 'value="Renamed"' in page


def test_dropping_a_theme_offers_undo_and_undo_restores_it(world, db, as_user):
    theme = world.client.themes[0]
    browser = as_user(world.client.user)
    response = browser.post(f"/themes/{theme.id}/status/dropped", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "is now dropped" in page
    assert f'action="/themes/{theme.id}/status/exploring"' in page  # the undo button
    browser.post(f"/themes/{theme.id}/status/exploring")
    db.refresh(theme)
    assert theme.status == ThemeStatus.EXPLORING


def test_unknown_status_in_the_url_changes_nothing(world, db, as_user):
    theme = world.client.themes[0]
    as_user(world.client.user).post(f"/themes/{theme.id}/status/deleted")
    db.refresh(theme)
    assert theme.status == ThemeStatus.EXPLORING


def test_themes_of_other_clients_are_not_found(world, db):
    other_theme = world.other_client.themes[0]
    with pytest.raises(NotFound):
        themes.set_theme_status(Scope(db, world.client.user), other_theme.id, ThemeStatus.DROPPED)
    with pytest.raises(NotFound):
        add(db, world.client.user, world.other_client, "Sneaky")
