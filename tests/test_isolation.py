"""Nobody reaches what is not theirs: every route that takes an id answers 404 to
another practice's user, to a coach for another coach's client, and to another client.

The sweep (crossroads.testing.sweeps, the one a plugin's own suite runs too) walks the
application's URL map, so a new route with an id is covered without anyone writing a new test.
Its ids are filled through RouteId declarations: the core's, and each installed plugin's
``crossroads_route_ids`` (plugins/alumni_offices/route_ids.py); a route whose id nobody declares
fails loudly. The control below (RIGHTFUL) is the core's and the built-in plugins': a plugin
installed beside them proves its own routes' control in its own suite.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from io import BytesIO

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crossroads.core.mail.outbox import queue_email
from crossroads.core.models import (
    Client,
    Contact,
    Conversation,
    ConversationStatus,
    MessageStatus,
    OutboxEmail,
    OutreachMessage,
    Suggestion,
)
from crossroads.plugins.alumni_offices.route_ids import INSTITUTION
from crossroads.plugins.coaching_sessions.route_ids import SESSION as COACHING_SESSION
from crossroads.testing import make_conversation, make_message
from crossroads.testing.sweeps import (
    CLIENT,
    COACH,
    EITHER,
    OWNER,
    STAFF,
    IsolationSweep,
    plugin_of,
    refusal_cases,
)


def _contact(client: Client) -> Contact:
    session = Session.object_session(client)
    return session.scalars(select(Contact).where(Contact.client_id == client.id).order_by(Contact.id)).first()


def _institution(client: Client) -> int:
    """The institution of the client's practice directory (the plugin's declaration makes one)."""
    return INSTITUTION.resolve(Session.object_session(client), client)


@pytest.fixture
def crossroads_settings(crossroads_settings, world):
    """The settings of ``crossroads serve --demo`` for the world's practice, so the app (and every
    signed-in client) has the demo's Sent mail routes and they are swept too (another practice is
    simply not the demo)."""
    crossroads_settings.demo_practice_id = world.practice.id
    return crossroads_settings


@pytest.fixture
def sweep(app) -> IsolationSweep:
    return IsolationSweep(app)


def id_routes(app):
    """(rule, method) for every route with an integer id in its path; removals last."""
    return IsolationSweep(app).routes()


def shipped(app) -> set[str | None]:
    """The blueprints' plugins that ship with Crossroads (None: the core's own routes)."""
    return {None} | {
        info.name
        for info in app.extensions["crossroads"].plugins.plugins()
        if info.module.startswith("crossroads.")
    }


@pytest.fixture
def pending_world(world, db):
    """The world with every client still to accept their invitation, so invitation routes apply."""
    for client in (world.other_client, world.owners_client, world.stranger_client):
        client.user.password_hash = None
    db.commit()
    return world


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
    assert {
        "coaching_sessions.history",
        "coaching_sessions.show",
        "coaching_sessions.save_notes",
        "coaching_sessions.add_action",
        "coaching_sessions.complete_action",
    } <= endpoints
    # The JSON API's routes, sent with each actor's token (a session never reaches them).
    assert {
        "api_clients.show_client",
        "api_clients.update_theme",
        "api_contacts.update_contact",
        "api_contacts.remove_contact",
        "api_conversations.show_reflection",
        "api_progress.client_figures",
        "api_banks.show_bank",
        "api_tokens.revoke",
    } <= endpoints


def test_every_id_route_refuses_other_practices_coaches_and_clients(sweep, pending_world, as_user):
    failures = sweep.refusals(refusal_cases(pending_world), as_user)
    assert not failures, "\n".join(failures)


def test_every_id_route_sends_a_signed_out_visitor_to_the_login_page(sweep, pending_world, http):
    failures = sweep.signed_out(http, pending_world.client)
    assert not failures, "\n".join(failures)


# -- the control: the rightful user gets each route's real success --------------------------------
#
# Without it, a 404 above could mean "this route always fails", not "refused". Each route names who
# rightfully uses it (the client's coach, the practice's owner, the client) and a form it accepts;
# the answer must be a success: 2xx, or a redirect to a page (not the sign-in page) that shows no
# error. Values that depend on the world are callables of the target client.


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


def _fresh_coaching_session(client: Client) -> int:
    """A coaching session still to come, for the cancel route (the first one is held by then)."""
    session = Session.object_session(client)
    row = COACHING_SESSION.make(session, client)
    row.uid = f"coaching-fresh-{client.id}-{uuid.uuid4()}@crossroads.test"
    session.add(row)
    session.commit()
    return row.id


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


def _connections(client: Client) -> tuple[BytesIO, str]:
    return BytesIO(CONNECTIONS_CSV.encode()), "Connections.csv"


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
    "contacts.import_upload": (EITHER, {"file": _connections}),
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
    "coaching_sessions.history": (STAFF, {}),
    "coaching_sessions.schedule": (STAFF, {"starts_at": "2031-06-03T10:00", "minutes": "50"}),
    "coaching_sessions.show": (STAFF, {}),
    "coaching_sessions.save_notes": (STAFF, {"private_notes": "Tired.", "summary": "Steps.", "share": "y"}),
    "coaching_sessions.held": (STAFF, {}),
    "coaching_sessions.cancel": (STAFF, {"_ids": {"session_id": _fresh_coaching_session}}),
    "coaching_sessions.calendar": (STAFF, {}),
    "coaching_sessions.add_action": (STAFF, {"text": "Write to two editors", "due_on": "2031-06-10"}),
    "coaching_sessions.complete_action": (EITHER, {}),
    "coaching_sessions.reopen_action": (EITHER, {}),
    "api_tokens.revoke": ((CLIENT,), {}),
    # The JSON API: sent as JSON with the rightful user's token.
    "api_clients.show_client": (EITHER, {}),
    "api_clients.update_client": (STAFF, {"status": "paused"}),
    "api_clients.list_themes": (EITHER, {}),
    "api_clients.create_theme": (EITHER, {"title": "Policy analysis", "status": "parked"}),
    "api_clients.show_theme": (EITHER, {}),
    "api_clients.update_theme": (EITHER, {"description": "Renamed by the API."}),
    "api_contacts.list_contacts": (EITHER, {}),
    "api_contacts.create_contact": (EITHER, {"name": "Nia Newton", "organisation": "Acme"}),
    "api_contacts.show_contact": (EITHER, {}),
    "api_contacts.update_contact": (EITHER, {"organisation": "Harbour Trust"}),
    "api_contacts.move_contact": (EITHER, {"stage": "researched"}),
    "api_contacts.remove_contact": (EITHER, {}),
    "api_conversations.list_conversations": (EITHER, {}),
    "api_conversations.schedule_conversation": (EITHER, {"starts_at": "2031-06-03T10:00"}),
    "api_conversations.show_conversation": (EITHER, {}),
    "api_conversations.update_prep": (EITHER, {"goals": "Learn what a week looks like."}),
    "api_conversations.mark_held": ((CLIENT,), {}),
    "api_conversations.cancel_conversation": ((CLIENT,), {"_ids": {"conversation_id": _scheduled}}),
    "api_conversations.list_reflections": (EITHER, {}),
    "api_conversations.show_reflection": (EITHER, {}),
    "api_conversations.save_reflection": (
        (CLIENT,),
        {"energy": 1, "fit": 4, "insights": "More people work."},
    ),
    "api_conversations.set_shared": ((CLIENT,), {"shared": True}),
    "api_conversations.comment": ((COACH,), {"text": "What gave you the most energy?"}),
    "api_progress.list_goals": (EITHER, {}),
    "api_progress.set_goal": (EITHER, {"period": "week", "metric": "requests", "target": 5}),
    "api_progress.client_figures": (EITHER, {}),
    "api_progress.list_messages": (EITHER, {}),
    "api_progress.show_message": (EITHER, {}),
    "api_banks.show_bank": (EITHER, {}),
    "alumni_offices_api.list_affiliations": (EITHER, {}),
    "coaching_sessions_api.list_sessions": (EITHER, {}),
    "coaching_sessions_api.list_action_items": (EITHER, {}),
    "coaching_sessions_api.complete_action_item": (EITHER, {}),
    "api_webhooks.show_webhook": ((OWNER,), {}),
    "api_webhooks.update_webhook": ((OWNER,), {"description": "The CRM"}),
    "api_webhooks.list_deliveries": ((OWNER,), {}),
    "api_webhooks.show_delivery": ((OWNER,), {}),
    "api_webhooks.replay_delivery": ((OWNER,), {}),
    "api_webhooks.remove_webhook": ((OWNER,), {}),
}


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


def test_every_id_route_is_covered_by_the_control(app, sweep):
    routes = [(rule, method) for rule, method in sweep.routes() if plugin_of(rule) in shipped(app)]
    missing = sweep.uncovered(RIGHTFUL, routes)
    assert not missing, f"teach RIGHTFUL in tests/test_isolation.py who uses {missing} and with what form"


def test_the_rightful_user_gets_each_routes_real_success(sweep, control_world, as_user):
    """The control: the client's own coach, the owner and the client themself succeed where the
    sweep above refused strangers, so every 404 there is a refusal and not a broken request."""
    users = {
        COACH: (control_world.coach, control_world.other_client),
        OWNER: (control_world.owner, control_world.other_client),
        CLIENT: (control_world.client.user, control_world.client),
    }
    failures = sweep.rightful_failures(users, as_user, RIGHTFUL)
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
