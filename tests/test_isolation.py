"""Nobody reaches what is not theirs: every route that takes an id answers 404 to
another practice's user, to a coach for another coach's client, and to another client.

The sweep walks the application's URL map, so a new route with an id is covered
without anyone writing a new test; a route whose id this file cannot fill fails loudly.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from io import BytesIO

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from crossroads.core.demo_mail import record
from crossroads.core.mail.outbox import queue_email
from crossroads.core.models import (
    Client,
    Contact,
    Conversation,
    ConversationStatus,
    DemoMail,
    MessageStatus,
    Notification,
    NotificationKind,
    OutboxEmail,
    OutreachMessage,
    PrepQuestion,
    Question,
    Reflection,
    StageChange,
    Suggestion,
    bank_client,
)
from crossroads.core.services.notifications import notify
from crossroads.plugins.alumni_offices.models import (
    Affiliation,
    Institution,
    IntroductionRequest,
    Office,
)
from crossroads.plugins.alumni_offices.services import fill_institution
from crossroads.web import create_app
from tests.conftest import make_conversation, make_message


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
        fill_institution(
            institution,
            {"name": f"University of {client.practice.name}", "alumni_email": "alumni@university.example"},
        )
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


def _demo_mail(client: Client) -> int:
    """A message the demo's mail catcher received for the client (the sweep's app runs the demo)."""
    session = Session.object_session(client)
    found = session.scalar(
        select(DemoMail.id).where(DemoMail.party_client_id == client.id).order_by(DemoMail.id)
    )
    if found is None:
        raw = f"To: {client.user.email}\r\nSubject: Welcome\r\n\r\nHi\r\n"
        found = record(session, client.practice_id, "hello@x.example", [client.user.email], raw.encode()).id
        session.commit()
    return found


def _notification(client: Client) -> int:
    """The client's own notification (a coach's suggestion, say), made on first use."""
    session = Session.object_session(client)
    found = session.scalar(
        select(Notification.id).where(Notification.user_id == client.user_id).order_by(Notification.id)
    )
    if found is None:
        found = notify(session, client.user, NotificationKind.SUGGESTION, "A suggestion", "/me/", client).id
        session.commit()
    return found


@pytest.fixture
def app(settings, plugins, db, world):
    """The app as ``crossroads serve --demo`` builds it for the world's practice, so the demo's
    Sent mail routes are swept too (another practice is simply not the demo)."""
    settings.demo_practice_id = world.practice.id
    app = create_app(settings, plugins=plugins)
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["SERVER_NAME"] = "localhost"
    app.config["PREFERRED_URL_SCHEME"] = "https"
    return app


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
    "mail_id": _demo_mail,
    "notification_id": _notification,
}
#: Ids of rows a whole practice's staff share: a colleague's client names the same institution,
#: and the demo's Sent mail is the practice's, so "a coach, for another coach's client" reaching
#: them is the rule, not a leak.
PRACTICE_WIDE = {"institution_id", "mail_id"}
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
    "practice_ref": "1",  # the inbound endpoint: authenticated by the practice's secret, not a session
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


def url_for_target(rule, target: Client, ids: dict[str, int] | None = None) -> str:
    values = dict(ids or {})
    for name, converter in rule._converters.items():
        if name in values:
            continue
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
    assert {"notifications.open"} <= endpoints
    # A client's data: the archive for them, and its erasure.
    assert {"client_data.export_client", "client_data.confirm_erase", "client_data.erase"} <= endpoints
    assert {"demo_mail.show"} <= endpoints  # the app here runs the demo


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


# -- the control: the rightful user gets each route's real success --------------------------------
#
# Without it, a 404 above could mean "this route always fails", not "refused". Each route names who
# rightfully uses it (the client's coach, the practice's owner, the client) and a form it accepts;
# the answer must be a success: 2xx, or a redirect to a page (not the sign-in page) that shows no
# error. Values that depend on the world are callables of the target client.

COACH, OWNER, CLIENT = "coach", "owner", "client"
STAFF, EITHER = (COACH,), (COACH, CLIENT)


def _coach_id(client: Client) -> str:
    return str(client.coach_id)


def _scheduled(client: Client) -> int:
    """The client's conversation still to come (the control's world adds it)."""
    session = Session.object_session(client)
    return session.scalar(
        select(Conversation.id).where(
            Conversation.client_id == client.id, Conversation.status == ConversationStatus.SCHEDULED
        )
    )


def _failed_email(client: Client) -> int:
    """The client's email that failed (the control's world adds it)."""
    session = Session.object_session(client)
    return session.scalar(
        select(OutreachMessage.id).where(
            OutreachMessage.client_id == client.id, OutreachMessage.status == MessageStatus.FAILED
        )
    )


THEME = {"title": "Urban design", "status": "exploring", "target_conversations": "4"}
CONTACT = {"name": "Nia Newton", "organisation": "Acme", "position": "Planner"}
LATER = {"starts_at": "2031-06-03T10:00", "minutes": "20", "medium": "video"}
MESSAGE = {
    "channel": "email",
    "kind": "first_request",
    "subject": "A question about urban planning",
    "body": "Dear Sam,\n\nI am exploring urban planning. Would you have 20 minutes for a call?\n\nOtto",
}
REQUEST = {
    "institution_id": _institution,
    "office": "alumni",
    "hoped_for": "3",
    "subject": "Introductions to alumni in planning",
    "body": "Dear alumni office,\n\nCould you introduce me to two or three alumni in planning?\n\nOtto",
}
CONNECTIONS_CSV = (
    "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
    "Rui,Costa,https://www.linkedin.com/in/rui-costa,,Harbour Trust,Planner,01 Mar 2024\n"
)

#: endpoint: (who rightfully uses it, the form they send). Path values other than ids come from
#: OTHER_PARAMS unless the form's "_path" overrides them.
RIGHTFUL: dict[str, tuple[tuple[str, ...], dict]] = {
    "coach.client_page": (STAFF, {}),
    "coach.update_client": (STAFF, {"status": "paused", "coach_id": _coach_id}),
    "coach.reinvite": (STAFF, {}),
    "coach.revoke": (STAFF, {}),
    "themes.add": (EITHER, {"title": "Policy analysis", "target_conversations": "3"}),
    "themes.update": (EITHER, THEME),
    "themes.set_status": (EITHER, {}),
    "contacts.index": (EITHER, {}),
    "contacts.new": (EITHER, {}),
    "contacts.create": (EITHER, CONTACT),
    "contacts.show": (EITHER, {}),
    "contacts.update": (EITHER, {**CONTACT, "name": "Sam Renamed", "email": "sam@example.org"}),
    "contacts.add_referral": (EITHER, {"name": "Rita Referred", "organisation": "Harbour Trust"}),
    "contacts.move": (EITHER, {}),
    "contacts.follow_up": (EITHER, {}),
    "contacts.undo": (EITHER, {}),
    "contacts.link_theme": (EITHER, {}),
    "contacts.answer_suggestion": ((CLIENT,), {}),
    "contacts.import_form": (EITHER, {}),
    "contacts.import_upload": (EITHER, {"file": "connections"}),
    "contacts.warm_leads": (EITHER, {}),
    "contacts.remove": (EITHER, {}),
    "conversations.schedule_form": (EITHER, {}),
    "conversations.schedule": (EITHER, LATER),
    "conversations.index": (EITHER, {}),
    "conversations.prep": (EITHER, {}),
    "conversations.save_prep": (EITHER, {"goals": "Learn what a week looks like."}),
    "conversations.reschedule": (EITHER, LATER),
    "conversations.add_question": (EITHER, {"text": "What surprised you in your first year?"}),
    "conversations.remove_question": (EITHER, {}),
    "conversations.calendar": (EITHER, {}),
    "conversations.live": (EITHER, {}),
    "conversations.save_note": ((CLIENT,), {"notes": "They start at eight."}),
    "conversations.held": ((CLIENT,), {}),
    "conversations.cancel": ((CLIENT,), {"_ids": {"conversation_id": _scheduled}}),
    "conversations.reflection": ((CLIENT,), {"energy": "1", "fit": "4", "insights": "More people work."}),
    "conversations.comment": ((COACH,), {"text": "What gave you the most energy?"}),
    "conversations.set_goal": (EITHER, {"period": "week", "metric": "requests", "target": "5"}),
    "conversations.synthesis_page": (EITHER, {}),
    "conversations.decide": (EITHER, {"decision": "chosen", "note": "It fits."}),
    "banks.show": (EITHER, {}),
    "banks.update": (
        STAFF,
        {"name": "Questions, revised", "reach": "clients", "client_ids": lambda client: str(client.id)},
    ),
    "banks.retire": (STAFF, {}),
    "banks.copy": (STAFF, {}),
    "banks.export": (STAFF, {}),
    "banks.add_question": (STAFF, {"text": "What would you do again?", "category": "background"}),
    "banks.update_question": (STAFF, {"text": "What would you change?", "category": "background"}),
    "banks.move_question": (STAFF, {}),
    "banks.retire_question": (STAFF, {}),
    "outreach.compose": ((CLIENT,), {}),
    "outreach.send": ((CLIENT,), MESSAGE),
    "outreach.check": ((CLIENT,), MESSAGE),
    "outreach.show": (EITHER, {}),
    "outreach.index": (EITHER, {}),
    "outreach.mark_sent": ((CLIENT,), {}),
    "outreach.mark_replied": ((CLIENT,), {}),
    "outreach.send_again": ((CLIENT,), {"_ids": {"message_id": _failed_email}}),
    "client_data.export_client": (STAFF, {}),
    "client_data.confirm_erase": ((OWNER,), {}),
    "client_data.erase": ((OWNER,), {"confirm_name": lambda client: client.user.name}),
    "progress_report.client_report": (EITHER, {}),
    "progress_report.client_download": (EITHER, {"format": "csv"}),
    "progress_report.save_note": (STAFF, {"body": "A steady week."}),
    "linkedin.account": ((CLIENT,), {"account": "free"}),
    "email_channel.invite": ((CLIENT,), {"_ids": {"conversation_id": _scheduled}}),
    "alumni_offices.edit_institution": (STAFF, {}),
    "alumni_offices.update_institution": (
        STAFF,
        {"name": "Harbour University", "alumni_email": "alumni@harbour.example"},
    ),
    "alumni_offices.remove_institution": (STAFF, {}),
    "alumni_offices.restore_institution": (STAFF, {"_before": "alumni_offices.remove_institution"}),
    "alumni_offices.client_page": (EITHER, {}),
    "alumni_offices.add_affiliation": ((CLIENT,), {"institution_id": _institution, "year": "2015"}),
    "alumni_offices.remove_affiliation": ((CLIENT,), {}),
    "alumni_offices.restore_affiliation": ((CLIENT,), {"_before": "alumni_offices.remove_affiliation"}),
    "alumni_offices.new_request": ((CLIENT,), {}),
    "alumni_offices.send_request": ((CLIENT,), REQUEST),
    "alumni_offices.check_request": ((CLIENT,), REQUEST),
    "alumni_offices.show_request": (EITHER, {}),
    "alumni_offices.mark_answered": ((CLIENT,), {"note": "They sent two names."}),
    "alumni_offices.close_request": ((CLIENT,), {}),
    "alumni_offices.reopen_request": ((CLIENT,), {}),
    "notifications.open": ((CLIENT,), {}),
    "alumni_offices.add_introduction": (
        (CLIENT,),
        {"name": "Ivo Introduced", "organisation": "Port Authority"},
    ),
    "demo_mail.show": (EITHER, {}),
}


def rightful_request(browser, app, rule, method: str, target: Client):
    """The route's request as its rightful user sends it, with the form RIGHTFUL gives."""
    form = dict(RIGHTFUL[rule.endpoint][1])
    ids, before = form.pop("_ids", {}), form.pop("_before", None)
    values = {name: value(target) if callable(value) else value for name, value in form.items()}
    url = url_for_target(rule, target, {name: fill(target) for name, fill in ids.items()})
    if before:
        [before_rule] = [r for r in app.url_map.iter_rules() if r.endpoint == before]
        browser.post(url_for_target(before_rule, target))
        _take_flashes(browser)
    if values.pop("file", None) == "connections":
        values["file"] = (BytesIO(CONNECTIONS_CSV.encode()), "Connections.csv")
    if method == "GET":
        return url, browser.get(url, query_string=values)
    return url, browser.post(url, data=values)


def _take_flashes(browser) -> list:
    """The notices waiting for the next page, taken off the session."""
    with browser.session_transaction() as session:
        return session.pop("_flashes", [])


def failure_of(browser, response) -> str | None:
    """Why ``response`` is not the route's real success, or None when it is."""
    if response.status_code in (200, 201, 204):
        return None
    if response.status_code not in (302, 303):
        return f"answered {response.status_code}: {_errors(response.data)}"
    if "/login" in response.location:
        return f"sent the user to {response.location}"
    errors = [message["text"] for level, message in _take_flashes(browser) if level == "error"]
    if errors:
        return f"redirected to {response.location} saying {errors}"
    landing = browser.get(response.location)
    if landing.status_code != 200:
        return f"redirected to {response.location}, which answered {landing.status_code}"
    return None


def _errors(page: bytes) -> str:
    """The field errors a refused form shows, or the page's title."""
    text = page.decode(errors="replace")
    found = re.findall(r'class="field-error"[^>]*>(.*?)<', text, re.S) or re.findall(
        r"<title>(.*?)</title>", text
    )
    return " | ".join(found)[:300]


@pytest.fixture
def control_world(pending_world, db):
    """The world, plus for each client of the coach: a conversation still to come, a failed email
    (so "send again" has something to send), and their first contact suggested by the coach."""
    for client in (pending_world.client, pending_world.other_client):
        contact = _contact(client)
        contact.suggestion = Suggestion.PENDING
        conversation = make_conversation(db, contact, starts_at=datetime(2031, 5, 6, 9, 0, tzinfo=UTC))
        conversation.status, conversation.held_at = ConversationStatus.SCHEDULED, None
        message = make_message(db, contact, status=MessageStatus.FAILED)
        message.outbox_id = queue_email(
            db,
            practice_id=client.practice_id,
            client_id=client.id,
            sender_name=client.user.name,
            reply_to=client.user.email,
            to_address="sam@example.org",
            subject=message.subject,
            body=message.body,
        ).id
        db.get(OutboxEmail, message.outbox_id).status = MessageStatus.FAILED
    db.commit()
    return pending_world


def test_every_id_route_is_covered_by_the_control(app):
    missing = sorted({rule.endpoint for rule, _ in id_routes(app)} - set(RIGHTFUL))
    assert not missing, f"teach RIGHTFUL in tests/test_isolation.py who uses {missing} and with what form"


def test_the_rightful_user_gets_each_routes_real_success(app, control_world, db, as_user):
    """The control: the client's own coach, the owner and the client themself succeed where the
    sweep above refused strangers, so every 404 there is a refusal and not a broken request."""
    users = {
        COACH: (control_world.coach, control_world.other_client),
        OWNER: (control_world.owner, control_world.other_client),
        CLIENT: (control_world.client.user, control_world.client),
    }
    failures = []
    for role in (CLIENT, COACH, OWNER):  # the owner's erasure of the client last
        actor, target = users[role]
        browser = as_user(actor)
        for rule, method in id_routes(app):
            if role not in RIGHTFUL.get(rule.endpoint, ((),))[0]:
                continue
            url, response = rightful_request(browser, app, rule, method, target)
            reason = failure_of(browser, response)
            if reason:
                failures.append(f"{role}: {method} {url} {reason}")
    assert not failures, "\n".join(failures)


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
