"""Requests that arrive together, on real threads against the real database (SQLite or PostgreSQL)."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from crossroads.core.db import make_sessionmaker
from crossroads.core.errors import InvalidInput
from crossroads.core.models import (
    ACTIVE_THEME_STATUSES,
    CareerTheme,
    Contact,
    Conversation,
    MessageKind,
    MessageStatus,
    OutboxEmail,
    OutreachMessage,
    PracticeMail,
    Stage,
    StageChange,
    User,
)
from crossroads.core.outreach import service as outreach
from crossroads.core.schemas import ThemeSchema, load
from crossroads.core.scoping import Scope
from crossroads.core.services import contacts, themes
from crossroads.testing import make_contact, make_message


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


def form_token_on(page) -> str:
    """The one-time token of the (first) form on ``page``."""
    return re.search(r'name="form_token" value="([0-9a-f]{32})"', page.get_data(as_text=True)).group(1)


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


def test_a_double_clicked_send_sends_one_email(world, db, as_user):
    db.add(
        PracticeMail(practice_id=world.practice.id, host="127.0.0.1", port=2525, from_address="hi@a.example")
    )
    contact = make_contact(db, world.client, "Sam Okafor", "Riverside Press", email="sam@riverside.example")
    db.commit()
    token = form_token_on(as_user(world.client.user).get(f"/contacts/{contact.id}/write?channel=email"))
    form = {"channel": "email", "kind": "first_request", "subject": "Editing", "body": "Can we talk?"}
    browsers = [as_user(world.client.user) for _ in range(4)]

    def send(index: int):
        return browsers[index].post(f"/contacts/{contact.id}/write", data={**form, "form_token": token})

    responses = together(4, send)
    assert [r.status_code for r in responses] == [302] * 4
    sent = db.scalars(select(OutreachMessage).where(OutreachMessage.contact_id == contact.id)).all()
    assert len(sent) == 1 and sent[0].status == MessageStatus.QUEUED
    assert (
        db.scalar(
            select(func.count()).select_from(OutboxEmail).where(OutboxEmail.client_id == world.client.id)
        )
        == 1
    )
    again = browsers[0].post(
        f"/contacts/{contact.id}/write", data={**form, "form_token": token}, follow_redirects=True
    )
    assert "already sent, so it was not done a second time" in again.get_data(as_text=True)
    assert len(db.scalars(select(OutreachMessage).where(OutreachMessage.contact_id == contact.id)).all()) == 1


def test_a_form_refused_for_bad_input_can_be_sent_again_with_its_token(world, db, as_user):
    browser = as_user(world.client.user)
    token = form_token_on(browser.get(f"/clients/{world.client.id}/contacts/new"))
    refused = browser.post(f"/clients/{world.client.id}/contacts", data={"name": "", "form_token": token})
    assert refused.status_code == 422
    added = browser.post(f"/clients/{world.client.id}/contacts", data={"name": "Ada", "form_token": token})
    assert added.status_code == 302
    assert (
        db.scalar(select(func.count()).where(Contact.client_id == world.client.id, Contact.name == "Ada"))
        == 1
    )


def contact_form(page, **changes) -> dict:
    """The contact edit form's fields as the page shows them, with ``changes``."""
    text = page.get_data(as_text=True)
    form = text[text.index('id="edit-heading"') :]
    values = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', form.split("</form>")[0]))
    values["name"] = html.unescape(re.search(r'name="name"[^>]*value="([^"]*)"', form).group(1))
    values = {k: html.unescape(v) for k, v in values.items()}
    return {**values, **changes}


def test_a_stale_edit_of_research_notes_is_refused_with_both_texts_kept(world, db, as_user):
    contact = make_contact(db, world.client, "Rita Reader", research_notes="First notes")
    db.commit()
    client, coach = as_user(world.client.user), as_user(world.coach)
    url = f"/contacts/{contact.id}"
    coachs_form = contact_form(coach.get(url), research_notes="The coach's stale edit")
    assert (
        client.post(url, data=contact_form(client.get(url), research_notes="The client's notes")).status_code
        == 302
    )
    refused = coach.post(url, data=coachs_form)
    assert refused.status_code == 409
    page = html.unescape(refused.get_data(as_text=True))
    assert "The client's notes" in page and "The coach's stale edit" in page
    db.expire_all()
    assert db.get(Contact, contact.id).research_notes == "The client's notes"
    again = coach.post(url, data=contact_form(refused, research_notes="The coach's stale edit, on purpose"))
    assert again.status_code == 302
    db.expire_all()
    assert db.get(Contact, contact.id).research_notes == "The coach's stale edit, on purpose"


def edit_form(page, marker: str, **changes) -> dict:
    """The fields of the first form after ``marker`` on ``page`` (inputs and text areas), with ``changes``."""
    text = page.get_data(as_text=True)
    form = text[text.index(marker) :].split("</form>")[0]
    values = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', form))
    values |= dict(re.findall(r'<textarea[^>]*name="(\w+)"[^>]*>([^<]*)</textarea>', form, re.S))
    return {**{k: html.unescape(v) for k, v in values.items()}, **changes}


def test_a_stale_save_of_a_prep_sheet_is_refused_with_both_texts_kept(world, db, as_user):
    conversation = db.scalars(select(Conversation).where(Conversation.client_id == world.client.id)).first()
    conversation.pitch = "First pitch"
    db.commit()
    client, coach = as_user(world.client.user), as_user(world.coach)
    url = f"/conversations/{conversation.id}"
    coachs_form = edit_form(coach.get(url), 'id="prep-heading"', pitch="The coach's stale pitch")
    clients_form = edit_form(client.get(url), 'id="prep-heading"', pitch="The client's pitch")
    assert client.post(url, data=clients_form).status_code == 302
    refused = coach.post(url, data=coachs_form)
    assert refused.status_code == 409
    page = html.unescape(refused.get_data(as_text=True))
    assert "The client's pitch" in page and "The coach's stale pitch" in page
    db.expire_all()
    assert db.get(Conversation, conversation.id).pitch == "The client's pitch"
    again = coach.post(
        url, data=edit_form(refused, 'id="prep-heading"', pitch="The coach's pitch, on purpose")
    )
    assert again.status_code == 302
    db.expire_all()
    assert db.get(Conversation, conversation.id).pitch == "The coach's pitch, on purpose"


def test_a_stale_edit_of_a_career_theme_is_refused_with_both_texts_kept(world, db, as_user):
    theme = world.client.themes[0]
    client, coach = as_user(world.client.user), as_user(world.coach)
    url, marker = f"/themes/{theme.id}", f'id="theme-{theme.id}"'
    coachs_form = edit_form(
        coach.get(f"/coach/clients/{world.client.id}"), marker, description="The coach's stale description"
    )
    clients_form = edit_form(client.get("/me/"), marker, description="The client's description")
    assert client.post(url, data=clients_form).status_code == 302
    refused = coach.post(url, data=coachs_form)
    assert refused.status_code == 409
    page = html.unescape(refused.get_data(as_text=True))
    assert "The client's description" in page and "The coach's stale description" in page
    db.expire_all()
    assert db.get(CareerTheme, theme.id).description == "The client's description"
    again = coach.post(
        url, data=edit_form(refused, marker, description="The coach's description, on purpose")
    )
    assert again.status_code == 302
    db.expire_all()
    assert db.get(CareerTheme, theme.id).description == "The coach's description, on purpose"


def test_edits_posted_without_a_version_are_saved_as_before(world, db, as_user):
    conversation = db.scalars(select(Conversation).where(Conversation.client_id == world.client.id)).first()
    theme = world.client.themes[0]
    coach = as_user(world.coach)
    prep = coach.post(f"/conversations/{conversation.id}", data={"pitch": "No version here"})
    edit = coach.post(f"/themes/{theme.id}", data={"title": "Magazine editing", "description": "Nor here"})
    assert (prep.status_code, edit.status_code) == (302, 302)
    db.expire_all()
    assert db.get(Conversation, conversation.id).pitch == "No version here"
    assert db.get(CareerTheme, theme.id).description == "Nor here"


def test_two_saves_of_the_same_version_at_once_keep_one_and_refuse_the_other(world, db, as_user):
    contact = make_contact(db, world.client, "Rita Reader", research_notes="First notes")
    db.commit()
    browsers = [as_user(world.client.user), as_user(world.coach)]
    forms = [
        contact_form(b.get(f"/contacts/{contact.id}"), research_notes=f"Notes by {i}")
        for i, b in enumerate(browsers)
    ]
    responses = together(2, lambda i: browsers[i].post(f"/contacts/{contact.id}", data=forms[i]))
    assert sorted(r.status_code for r in responses) == [302, 409]
    winner = [i for i, r in enumerate(responses) if r.status_code == 302][0]
    db.expire_all()
    assert db.get(Contact, contact.id).research_notes == f"Notes by {winner}"


def test_a_follow_up_marked_sent_twice_at_once_is_counted_once(world, db, engine):
    contact = make_contact(db, world.client, "Rita Requested", stage=Stage.REQUESTED)
    message = make_message(db, contact, kind=MessageKind.FOLLOW_UP)
    db.commit()
    user_id = world.client.user.id

    def mark(_index: int):
        return in_own_session(engine, user_id, lambda scope: outreach.mark_sent(scope, message.id).id)

    results = together(4, mark)
    assert sorted(map(type, results), key=str) == [InvalidInput] * 3 + [int]
    db.expire_all()
    assert db.get(Contact, contact.id).follow_ups_sent == 1
