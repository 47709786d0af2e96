"""Nobody reaches what is not theirs: every route that takes an id answers 404 to
another practice's user, to a coach for another coach's client, and to another client.

The sweep walks the application's URL map, so a new route with an id is covered
without anyone writing a new test; a route whose id this file cannot fill fails loudly.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from crossroads.core.models import (
    Client,
    Contact,
    Conversation,
    OutreachMessage,
    PrepQuestion,
    Question,
    Reflection,
    StageChange,
    bank_client,
)
from crossroads.plugins.alumni_offices.models import (
    Affiliation,
    Institution,
    IntroductionRequest,
    Office,
)
from crossroads.plugins.alumni_offices.services import fill_institution


# How to fill a path parameter from a target client. Non-id parameters get a fixed value.
def _contact(client: Client) -> Contact:
    session = Session.object_session(client)
    return session.scalars(select(Contact).where(Contact.client_id == client.id).order_by(Contact.id)).first()


def _latest_change(client: Client) -> int:
    session = Session.object_session(client)
    return session.scalar(
        select(StageChange.id).where(StageChange.client_id == client.id).order_by(StageChange.id.desc())
    )


def _first(client: Client, model, column):
    session = Session.object_session(client)
    return session.scalar(select(model.id).where(column == client.id).order_by(model.id))


def _bank(client: Client) -> int:
    """The bank the client's coach chose for this client alone."""
    session = Session.object_session(client)
    return session.scalar(
        select(bank_client.c.bank_id)
        .where(bank_client.c.client_id == client.id)
        .order_by(bank_client.c.bank_id)
    )


def _bank_question(client: Client) -> int:
    session = Session.object_session(client)
    return session.scalar(select(Question.id).where(Question.bank_id == _bank(client)))


# The alumni offices plugin: an institution belongs to the practice's directory (every coach there
# keeps it); an affiliation and an introduction request are the client's own. Made on first use.
def _institution(client: Client) -> int:
    session = Session.object_session(client)
    found = session.scalar(
        select(Institution.id).where(Institution.practice_id == client.practice_id).order_by(Institution.id)
    )
    if found is None:
        institution = Institution(practice_id=client.practice_id)
        fill_institution(institution, {"name": f"University of {client.practice.name}"})
        session.add(institution)
        session.commit()
        found = institution.id
    return found


def _affiliation(client: Client) -> int:
    session = Session.object_session(client)
    found = _first(client, Affiliation, Affiliation.client_id)
    if found is None:
        row = Affiliation(
            practice_id=client.practice_id, client_id=client.id, institution_id=_institution(client)
        )
        session.add(row)
        session.commit()
        found = row.id
    return found


def _intro_request(client: Client) -> int:
    session = Session.object_session(client)
    found = _first(client, IntroductionRequest, IntroductionRequest.client_id)
    if found is None:
        row = IntroductionRequest(
            practice_id=client.practice_id,
            client_id=client.id,
            institution_id=_institution(client),
            office=Office.ALUMNI,
        )
        session.add(row)
        session.commit()
        found = row.id
    return found


ID_PARAMS = {
    "client_id": lambda client: client.id,
    "conversation_id": lambda client: _first(client, Conversation, Conversation.client_id),
    "prep_question_id": lambda client: _first(client, PrepQuestion, PrepQuestion.client_id),
    "reflection_id": lambda client: _first(client, Reflection, Reflection.client_id),
    "bank_id": _bank,
    "question_id": _bank_question,
    "theme_id": lambda client: client.themes[0].id,
    "user_id": lambda client: client.user_id,
    "contact_id": lambda client: _contact(client).id,
    "change_id": _latest_change,
    "message_id": lambda client: _first(client, OutreachMessage, OutreachMessage.client_id),
    "institution_id": _institution,
    "affiliation_id": _affiliation,
    "intro_request_id": _intro_request,
}
#: Ids of rows a whole practice's staff share: a colleague's client names the same institution,
#: so "a coach, for another coach's client" reaching it is the rule, not a leak.
PRACTICE_WIDE = {"institution_id"}
OTHER_PARAMS = {
    "status": "dropped",
    "name": "theme_progress",
    "state": "off",
    "stage": "requested",
    "action": "link",
    "answer": "dismiss",
    "direction": "up",
    "token": "not-a-real-token",
    "channel_name": "email",
    "kind": "first_request",
}


def id_routes(app):
    """(rule, method) for every route with an integer id in its path; removals last."""
    found = []
    for rule in app.url_map.iter_rules():
        if not any(isinstance(c, IntegerConverter) for c in rule._converters.values()):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule, method))
    # Removing a contact removes its conversations too, so it goes last of all.
    return sorted(
        found, key=lambda pair: ("remove" in pair[0].endpoint, pair[0].endpoint == "contacts.remove")
    )


def url_for_target(rule, target: Client) -> str:
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            assert name in ID_PARAMS, f"{rule.rule}: teach tests/test_isolation.py to fill <{name}>"
            values[name] = ID_PARAMS[name](target)
        else:
            assert name in OTHER_PARAMS, f"{rule.rule}: teach tests/test_isolation.py to fill <{name}>"
            values[name] = OTHER_PARAMS[name]
    return rule.build(values)[1]


def practice_wide(rule) -> bool:
    """True when every id in the route is of a row shared by the practice's staff."""
    ids = {n for n, c in rule._converters.items() if isinstance(c, IntegerConverter)}
    return ids <= PRACTICE_WIDE


def request(browser, method: str, url: str, coach_id: int = 1):
    data = {"status": "paused", "coach_id": str(coach_id), "title": "x", "target_conversations": "3"}
    return browser.open(url, method=method, data=data if method == "POST" else None)


@pytest.fixture
def pending_world(world, db):
    """The world with every client still to accept their invitation, so invitation routes apply."""
    for client in (world.other_client, world.owners_client, world.stranger_client):
        client.user.password_hash = None
    db.commit()
    return world


def cases(world):
    """(who asks, whose object) pairs that must be refused."""
    return [
        ("another practice's owner", world.stranger_owner, world.client),
        ("a coach, for another coach's client", world.coach, world.owners_client),
        ("a coach, for another practice's client", world.coach, world.stranger_client),
        ("the owner, for another practice's client", world.owner, world.stranger_client),
        ("a client, for another client", world.client.user, world.other_client),
        ("a client, for another practice's client", world.client.user, world.stranger_client),
    ]


def test_the_sweep_finds_the_routes_it_must_cover(app):
    endpoints = {rule.endpoint for rule, _ in id_routes(app)}
    assert {"coach.client_page", "coach.update_client", "themes.add", "themes.update"} <= endpoints
    assert {"themes.set_status", "coach.reinvite", "coach.revoke"} <= endpoints
    assert {"contacts.show", "contacts.move", "contacts.undo", "contacts.import_upload"} <= endpoints
    assert {"banks.show", "banks.update", "banks.retire", "banks.copy", "banks.export"} <= endpoints
    assert {"banks.add_question", "banks.update_question", "banks.move_question"} <= endpoints
    assert {"conversations.prep", "conversations.save_note", "conversations.comment"} <= endpoints
    assert {
        "outreach.compose",
        "outreach.send",
        "outreach.check",
        "outreach.show",
        "outreach.index",
    } <= endpoints
    assert {"outreach.mark_sent", "outreach.mark_replied", "outreach.send_again"} <= endpoints
    assert {"email_channel.invite"} <= endpoints
    assert {
        "alumni_offices.edit_institution",
        "alumni_offices.update_institution",
        "alumni_offices.remove_institution",
        "alumni_offices.restore_institution",
        "alumni_offices.client_page",
        "alumni_offices.add_affiliation",
        "alumni_offices.remove_affiliation",
        "alumni_offices.restore_affiliation",
        "alumni_offices.new_request",
        "alumni_offices.send_request",
        "alumni_offices.check_request",
        "alumni_offices.show_request",
        "alumni_offices.mark_answered",
        "alumni_offices.close_request",
        "alumni_offices.reopen_request",
        "alumni_offices.add_introduction",
    } <= endpoints
    assert {
        "progress_report.client_report",
        "progress_report.client_download",
        "progress_report.save_note",
    } <= endpoints
    # A client's data: the archive for them, and its erasure.
    assert {"client_data.export_client", "client_data.confirm_erase", "client_data.erase"} <= endpoints


def test_every_id_route_refuses_other_practices_coaches_and_clients(app, pending_world, as_user):
    failures = []
    for label, actor, target in cases(pending_world):
        browser = as_user(actor)
        for rule, method in id_routes(app):
            if actor.is_staff and actor.practice_id == target.practice_id and practice_wide(rule):
                continue  # the practice's shared rows: refused to other practices and to clients
            url = url_for_target(rule, target)
            status = request(browser, method, url).status_code
            if status != 404:
                failures.append(f"{label}: {method} {url} answered {status}")
    assert not failures, "\n".join(failures)


def test_every_id_route_sends_a_signed_out_visitor_to_the_login_page(app, pending_world, http):
    for rule, method in id_routes(app):
        url = url_for_target(rule, pending_world.client)
        response = request(http, method, url)
        assert response.status_code == 302 and "/login" in response.location, f"{method} {url}"


def test_the_rightful_coach_is_not_refused(app, pending_world, db, as_user):
    """The control: the same requests succeed for the client's own coach, so a 404 above means refusal."""
    target = pending_world.other_client  # the coach's own client, invitation pending
    browser = as_user(pending_world.coach)
    for rule, method in id_routes(app):
        url = url_for_target(rule, target)
        # Keep the client with this coach, so a later route still finds them in the caseload.
        response = request(browser, method, url, coach_id=pending_world.coach.id)
        assert response.status_code != 404, f"{method} {url}"


def test_refused_requests_changed_nothing(app, pending_world, db, as_user):
    theme = pending_world.stranger_client.themes[0]
    browser = as_user(pending_world.coach)
    browser.post(f"/themes/{theme.id}", data={"title": "Hijacked", "status": "exploring"})
    browser.post(f"/themes/{theme.id}/status/dropped")
    db.refresh(theme)
    assert (theme.title, theme.status.value) == ("Systems analysis", "exploring")


def test_clients_and_coaches_cannot_open_each_others_areas(world, as_user):
    assert as_user(world.client.user).get("/coach/").status_code == 404
    assert as_user(world.client.user).get("/practice/").status_code == 404
    assert as_user(world.coach).get("/practice/").status_code == 404
    assert as_user(world.coach).get("/me/").status_code == 404
