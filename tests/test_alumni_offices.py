"""The alumni offices plugin: the practice's institution directory, clients' affiliations,
introduction requests sent through the outbox to a real SMTP server, introductions that become
contacts, the switch per practice, isolation, and the plugin's own migration branch."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url

from crossroads.core import migrate, search_index
from crossroads.core.db import Base, make_engine, make_sessionmaker
from crossroads.core.errors import Forbidden, InvalidInput, NotFound
from crossroads.core.mail.outbox import deliver
from crossroads.core.models import (
    Contact,
    ContactSource,
    MessageKind,
    MessageStatus,
    MessageTemplate,
    OutreachMessage,
    Role,
)
from crossroads.core.scoping import Scope
from crossroads.core.services.practices import set_plugin_enabled
from crossroads.plugins.alumni_offices import services
from crossroads.plugins.alumni_offices.demo import load_demo
from crossroads.plugins.alumni_offices.models import (
    Affiliation,
    Institution,
    Introduction,
    IntroductionRequest,
    Office,
    RequestStatus,
)
from crossroads.testing import TEST_SECRET_KEY, make_contact, make_user
from crossroads.testing.sweeps import IsolationSweep

from .mailserver import configure_mail

BASE = "/plugins/alumni_offices"
SECRET = TEST_SECRET_KEY
ALUMNI_ADDRESS = "alumni@riverside.example"
CAREERS_ADDRESS = "careers@riverside.example"
PLUGIN_TABLES = {
    "alumni_institution",
    "alumni_affiliation",
    "alumni_introduction_request",
    "alumni_introduction",
}


def coach_scope(world, db) -> Scope:
    return Scope(db, world.coach)


def client_scope(world, db) -> Scope:
    return Scope(db, world.client.user)


@pytest.fixture
def riverside(world, db) -> Institution:
    """An institution with both offices' addresses, in practice A's directory."""
    return services.create_institution(
        coach_scope(world, db),
        {
            "name": "Riverside University",
            "alumni_email": ALUMNI_ADDRESS,
            "career_email": CAREERS_ADDRESS,
            "notes": "Ask for Grace.",
        },
    )


@pytest.fixture
def affiliation(world, db, riverside) -> Affiliation:
    """The client studied English at Riverside, finishing in 2012."""
    return services.add_affiliation(
        client_scope(world, db),
        world.client.id,
        {"institution_id": riverside.id, "programme": "BA English Literature", "year": 2012},
    )


def request_data(institution: Institution, world, **changes) -> dict:
    data = {
        "institution_id": str(institution.id),
        "office": "alumni",
        "theme_id": str(world.client.themes[0].id),
        "hoped_for": "3",
        "subject": "Introductions to Riverside alumni in magazine editing",
        "body": "Dear alumni office, could you introduce me to 3 alumni in magazine editing?",
    }
    data.update(changes)
    return data


def service_data(institution: Institution, world, **changes) -> dict:
    """``request_data`` as ``RequestSchema`` loads it, for calling the service directly."""
    values = request_data(institution, world, **changes)
    return {
        **values,
        "institution_id": int(values["institution_id"]),
        "office": Office(values["office"]),
        "theme_id": int(values["theme_id"]) if values["theme_id"] else None,
        "hoped_for": int(values["hoped_for"]),
    }


def sent_request(world, db, institution: Institution, **changes) -> IntroductionRequest:
    """A request the client sent (handed off: the practice has no email server in most tests)."""
    data = service_data(institution, world, **changes)
    return services.send_request(client_scope(world, db), world.client.id, data)


# -- the directory ---------------------------------------------------------------------------------


def test_a_coach_adds_edits_removes_and_restores_an_institution(world, db, as_user):
    browser = as_user(world.coach)
    created = browser.post(
        f"{BASE}/institutions",
        data={"name": "Riverside University", "alumni_email": "Alumni@Riverside.example", "notes": "Grace"},
        follow_redirects=True,
    )
    assert created.status_code == 200 and b"Added Riverside University to the directory." in created.data
    institution = db.scalar(select(Institution))
    assert (institution.practice_id, institution.alumni_email) == (world.practice.id, ALUMNI_ADDRESS)
    assert institution.created_by_id == world.coach.id

    edited = browser.post(
        f"{BASE}/institutions/{institution.id}",
        data={
            "name": "Riverside University",
            "alumni_email": ALUMNI_ADDRESS,
            "career_email": CAREERS_ADDRESS,
        },
    )
    assert edited.status_code == 302
    db.refresh(institution)
    assert institution.career_email == CAREERS_ADDRESS and institution.notes == ""

    removed = browser.post(f"{BASE}/institutions/{institution.id}/remove", follow_redirects=True)
    assert b"Removed Riverside University from the directory." in removed.data
    undo_url = f"{BASE}/institutions/{institution.id}/restore"
    assert f'action="{undo_url}"'.encode() in removed.data  # the notice's undo button
    assert b"No institutions yet." in removed.data
    listed_removed = browser.get(f"{BASE}/institutions?removed=true")
    assert b"Riverside University" in listed_removed.data and b"Restore" in listed_removed.data

    browser.post(undo_url)
    db.refresh(institution)
    assert institution.removed_at is None
    assert b"Riverside University" in browser.get(f"{BASE}/institutions").data


def test_a_duplicate_name_is_refused_naming_the_field_and_keeping_what_was_typed(
    world, db, as_user, riverside
):
    browser = as_user(world.owner)  # the owner keeps the same directory as the coaches
    response = browser.post(
        f"{BASE}/institutions",
        data={
            "name": "  riverside   UNIVERSITY ",
            "career_email": "jobs@elsewhere.example",
            "notes": "typed",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="name-error"' in page and "“Riverside University” is already in the directory." in page
    assert "jobs@elsewhere.example" in page and ">typed</textarea>" in page
    assert db.scalar(select(Institution.id).where(Institution.id != riverside.id)) is None

    other = services.create_institution(coach_scope(world, db), {"name": "Northgate School"})
    renamed = browser.post(f"{BASE}/institutions/{other.id}", data={"name": "Riverside university"})
    assert renamed.status_code == 422 and b'id="name-error"' in renamed.data
    db.refresh(other)
    assert other.name == "Northgate School"

    services.set_institution_removed(coach_scope(world, db), riverside.id, True)
    with pytest.raises(InvalidInput) as refused:
        services.create_institution(coach_scope(world, db), {"name": "Riverside University"})
    assert "restore it" in refused.value.errors["name"][0]


def test_a_bad_office_address_names_its_field(world, as_user):
    response = as_user(world.coach).post(
        f"{BASE}/institutions", data={"name": "Riverside", "alumni_email": "not an address"}
    )
    assert response.status_code == 422 and b'id="alumni_email-error"' in response.data
    assert b'value="not an address"' in response.data


def test_the_same_name_in_another_practice_is_no_duplicate(world, db, riverside):
    theirs = services.create_institution(Scope(db, world.stranger_owner), {"name": "Riverside University"})
    assert theirs.practice_id == world.stranger_practice.id


def test_search_sort_and_pages(world, db, as_user):
    scope = coach_scope(world, db)
    for number in range(1, 13):
        services.create_institution(scope, {"name": f"College {number:02d}", "notes": "evening courses"})
    services.create_institution(scope, {"name": "Universität Zürich", "notes": "Masters in journalism"})

    def names(**params):
        params = {"q": "", "sort": "name", "page": 1, "per_page": 5, **params}
        return [i.name for i in services.search_institutions(scope, params).items]

    assert names(q="zurich") == ["Universität Zürich"]  # accents and case ignored
    assert names(q="JOURNALISM masters") == ["Universität Zürich"]  # notes too, every word
    assert names() == [f"College {n:02d}" for n in range(1, 6)]
    assert names(sort="-name")[0] == "Universität Zürich"
    assert names(page=3) == ["College 11", "College 12", "Universität Zürich"]
    assert services.search_institutions(scope, {"page": 99, "per_page": 5}).page == 3  # past the end

    browser = as_user(world.coach)
    page = browser.get(f"{BASE}/institutions?per_page=5&page=2&sort=-added").get_data(as_text=True)
    assert "Page 2 of 3" in page and 'rel="next"' in page and 'rel="prev"' in page
    assert 'aria-sort="descending"' in page and 'data-label="Institution"' in page  # phone layout
    nothing = browser.get(f"{BASE}/institutions?q=sorbonne").get_data(as_text=True)
    assert "No institution matches “sorbonne”." in nothing
    odd = browser.get(f"{BASE}/institutions?sort=sideways&page=0")
    assert odd.status_code == 200 and b"Some filters were not understood" in odd.data


def test_an_empty_directory_says_how_to_start(world, as_user):
    page = as_user(world.coach).get(f"{BASE}/institutions").get_data(as_text=True)
    assert "No institutions yet." in page and "Add an institution" in page


def test_the_directory_pages_do_not_exist_for_clients(world, db, as_user, riverside):
    browser = as_user(world.client.user)
    assert browser.get(f"{BASE}/institutions").status_code == 404
    assert browser.get(f"{BASE}/institutions/{riverside.id}").status_code == 404
    assert browser.post(f"{BASE}/institutions", data={"name": "Mine"}).status_code == 404
    with pytest.raises(NotFound):
        services.create_institution(client_scope(world, db), {"name": "Mine"})


# -- affiliations ------------------------------------------------------------------------------------


def test_a_client_records_and_removes_an_affiliation_with_undo(world, db, as_user, riverside):
    browser = as_user(world.client.user)
    page = browser.get(f"{BASE}/clients/{world.client.id}")
    assert page.status_code == 200 and b"None recorded yet." in page.data
    added = browser.post(
        f"{BASE}/clients/{world.client.id}/affiliations",
        data={"institution_id": str(riverside.id), "programme": "BA English Literature", "year": "2012"},
        follow_redirects=True,
    )
    assert b"Added Riverside University to your affiliations." in added.data
    row = db.scalar(select(Affiliation))
    assert (row.client_id, row.practice_id, row.programme, row.year) == (
        world.client.id,
        world.practice.id,
        "BA English Literature",
        2012,
    )

    twice = browser.post(
        f"{BASE}/clients/{world.client.id}/affiliations",
        data={"institution_id": str(riverside.id), "programme": "ba english literature", "year": "2013"},
    )
    assert twice.status_code == 422 and b'id="programme-error"' in twice.data
    bad_year = browser.post(
        f"{BASE}/clients/{world.client.id}/affiliations",
        data={"institution_id": str(riverside.id), "programme": "MA", "year": "12"},
    )
    assert (
        bad_year.status_code == 422 and b'id="year-error"' in bad_year.data and b'value="MA"' in bad_year.data
    )

    coach_page = as_user(world.coach).get(f"{BASE}/clients/{world.client.id}").get_data(as_text=True)
    assert "Where Clara Client studied" in coach_page and "BA English Literature, 2012" in coach_page
    assert "Add where you studied" not in coach_page

    removed = browser.post(f"{BASE}/affiliations/{row.id}/remove", follow_redirects=True)
    assert f'action="{BASE}/affiliations/{row.id}/restore"'.encode() in removed.data
    assert services.affiliations(client_scope(world, db), world.client.id) == []
    browser.post(f"{BASE}/affiliations/{row.id}/restore")
    assert [a.id for a in services.affiliations(client_scope(world, db), world.client.id)] == [row.id]


def test_a_removed_institution_is_not_offered(world, db, riverside):
    services.set_institution_removed(coach_scope(world, db), riverside.id, True)
    assert services.directory(client_scope(world, db)) == []
    with pytest.raises(InvalidInput) as refused:
        services.add_affiliation(client_scope(world, db), world.client.id, {"institution_id": riverside.id})
    assert list(refused.value.errors) == ["institution_id"]


def test_coaches_read_affiliations_but_do_not_record_them(world, db, as_user, riverside):
    response = as_user(world.coach).post(
        f"{BASE}/clients/{world.client.id}/affiliations", data={"institution_id": str(riverside.id)}
    )
    assert response.status_code == 403
    with pytest.raises(Forbidden):
        services.add_affiliation(coach_scope(world, db), world.client.id, {"institution_id": riverside.id})
    assert db.scalar(select(Affiliation.id)) is None


# -- requests: drafted, checked, sent ------------------------------------------------------------


def test_a_request_is_drafted_from_the_template_with_the_affiliation(world, db, as_user, affiliation):
    browser = as_user(world.client.user)
    first = browser.get(f"{BASE}/clients/{world.client.id}/request").get_data(as_text=True)
    assert "Draft the message" in first and 'name="body"' not in first  # choose first
    theme = world.client.themes[0]
    page = browser.get(
        f"{BASE}/clients/{world.client.id}/request",
        query_string={"institution_id": affiliation.institution_id, "office": "alumni", "theme_id": theme.id},
    ).get_data(as_text=True)
    assert "Dear Riverside University alumni office," in page
    assert "I studied BA English Literature with you (class of 2012)" in page
    assert "introduce me to 3 alumni working in magazine editing" in page
    assert f"&lt;{ALUMNI_ADDRESS}&gt;" in page and "replies come to clara@client.example" in page
    assert "No warnings: short, specific, and easy to say yes to." in page  # the default passes the checks
    assert f'data-check-url="{BASE}/clients/{world.client.id}/request/check"' in page


def test_the_practices_own_template_is_used(world, db, as_user, affiliation):
    db.add(
        MessageTemplate(
            practice_id=world.practice.id,
            channel="alumni_office",
            kind=MessageKind.INTRODUCTION_REQUEST,
            format="",
            subject="From {{ client.first_name }}",
            body="Hello {{ institution.name }}: {{ hoped_for }} people in {{ theme }}, please?",
        )
    )
    db.commit()
    page = as_user(world.client.user).get(
        f"{BASE}/clients/{world.client.id}/request",
        query_string={"institution_id": affiliation.institution_id, "office": "alumni", "hoped_for": 2},
    )
    assert b"Hello Riverside University: 2 people in this field, please?" in page.data
    assert b'value="From Clara"' in page.data


def test_the_checks_warn_about_a_weak_request(world, db, as_user, riverside):
    context = services.request_context(
        client_scope(world, db), world.client, {"institution_id": riverside.id, "office": Office.ALUMNI}
    )
    draft = services.initial_draft(client_scope(world, db), context)
    assert "I am a former student of Riverside University" in draft.body
    assert {w.code for w in services.warnings(context, draft.subject, draft.body)} == {"no_affiliation"}

    checked = as_user(world.client.user).post(
        f"{BASE}/clients/{world.client.id}/request/check",
        data=request_data(riverside, world, hoped_for="8", body="Do you have a job opening for me"),
    )
    assert {w["code"] for w in checked.json["warnings"]} == {
        "job_request",
        "no_question",
        "no_affiliation",
        "many_introductions",
    }
    wrong = as_user(world.client.user).post(
        f"{BASE}/clients/{world.client.id}/request/check", data=request_data(riverside, world, hoped_for="0")
    )
    assert wrong.status_code == 422 and "hoped_for" in wrong.json["errors"]


def test_a_request_goes_through_the_outbox_to_the_office(
    world, db, engine, as_user, affiliation, smtp_server
):
    configure_mail(db, world.practice.id, smtp_server)
    browser = as_user(world.client.user)
    response = browser.post(
        f"{BASE}/clients/{world.client.id}/request",
        data=request_data(
            affiliation.institution, world, body="Could you introduce me to three alumni? Thanks"
        ),
        follow_redirects=True,
    )
    assert b"Your request to Riverside University, alumni office is on its way." in response.data
    sent = db.scalar(select(IntroductionRequest))
    message = sent.message
    assert (sent.status, sent.office, sent.hoped_for, sent.affiliation_id) == (
        RequestStatus.SENT,
        Office.ALUMNI,
        3,
        affiliation.id,
    )
    assert (message.channel, message.kind, message.status) == (
        "alumni_office",
        MessageKind.INTRODUCTION_REQUEST,
        MessageStatus.QUEUED,
    )
    assert message.contact_id is None and message.to_address == ALUMNI_ADDRESS
    assert message.warnings == []

    sessions = make_sessionmaker(engine)
    assert deliver(sessions, message.outbox_id, SECRET, allow_private=True) == MessageStatus.SENT
    [received] = smtp_server.handler.wait_for(1)
    email = received.message
    assert received.rcpt_tos == [ALUMNI_ADDRESS]
    assert email["To"] == f"Riverside University alumni office <{ALUMNI_ADDRESS}>"
    assert email["Reply-To"] == "clara@client.example"
    assert email["From"].addresses[0].display_name == "Clara Client via Northbridge Coaching"
    assert email["Subject"] == "Introductions to Riverside alumni in magazine editing"
    assert "introduce me to three alumni" in email.get_content()

    db.expire_all()
    assert db.get(OutreachMessage, message.id).status == MessageStatus.SENT
    messages = browser.get(f"/clients/{world.client.id}/messages").get_data(as_text=True)
    assert "Riverside University alumni office" in messages and "Introduction request" in messages
    assert f"/messages/{message.id}" in messages
    coach_view = as_user(world.coach).get(f"{BASE}/clients/{world.client.id}").get_data(as_text=True)
    assert "Waiting for an answer" in coach_view and "0 of 3 hoped for" in coach_view


def test_without_an_email_server_the_request_is_handed_to_the_clients_mail_program(
    world, db, as_user, riverside
):
    browser = as_user(world.client.user)
    response = browser.post(
        f"{BASE}/clients/{world.client.id}/request",
        data=request_data(riverside, world),
        follow_redirects=True,
    )
    assert b"Send it to Riverside University, alumni office from your own mail program" in response.data
    assert b"mailto:alumni%40riverside.example?subject=Introductions" in response.data
    message = db.scalar(select(OutreachMessage).where(OutreachMessage.channel == "alumni_office"))
    assert message.status == MessageStatus.HANDED_OFF and message.outbox is None
    assert browser.post(f"/messages/{message.id}/sent").status_code == 302
    db.refresh(message)
    assert message.status == MessageStatus.SENT


def test_a_request_whose_email_has_not_gone_says_so_before_and_after_the_click(
    world, db, as_user, riverside, smtp_server
):
    browser = as_user(world.client.user)
    choice = {k: v for k, v in request_data(riverside, world).items() if k not in ("subject", "body")}
    form = browser.get(f"{BASE}/clients/{world.client.id}/request", query_string=choice).get_data(
        as_text=True
    )
    assert "no email server" in form and "Save: I'll send it myself" in form and ">Send</button>" not in form
    handed = sent_request(world, db, riverside)
    page = browser.get(f"{BASE}/clients/{world.client.id}").get_data(as_text=True)
    assert "Not sent yet: waiting for you to send it" in page and "Waiting for an answer" not in page
    shown = browser.get(f"{BASE}/requests/{handed.id}").get_data(as_text=True)
    assert "Not sent yet: waiting for you to send it" in shown and "· written " in shown
    configure_mail(db, world.practice.id, smtp_server)
    form = browser.get(f"{BASE}/clients/{world.client.id}/request", query_string=choice).get_data(
        as_text=True
    )
    assert ">Send</button>" in form and "no email server" not in form
    queued = sent_request(world, db, riverside, office="career")
    assert queued.message.status == MessageStatus.QUEUED
    page = browser.get(f"{BASE}/clients/{world.client.id}").get_data(as_text=True)
    assert "Not sent yet: the email is queued" in page and "Waiting for an answer" not in page


def test_bad_input_keeps_what_was_typed_and_names_the_field(world, db, as_user, riverside):
    browser = as_user(world.client.user)
    response = browser.post(
        f"{BASE}/clients/{world.client.id}/request",
        data=request_data(riverside, world, subject="  ", body="My carefully typed words?"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="subject-error"' in page
    assert "My carefully typed words?</textarea>" in page

    no_address = browser.post(
        f"{BASE}/clients/{world.client.id}/request",
        data=request_data(riverside, world, office="career", body="Kept?"),
    )
    assert no_address.status_code == 302  # Riverside has a career centre address
    services.update_institution(
        coach_scope(world, db), riverside.id, {"name": riverside.name, "alumni_email": ALUMNI_ADDRESS}
    )
    refused = browser.post(
        f"{BASE}/clients/{world.client.id}/request",
        data=request_data(riverside, world, office="career", body="Kept again?"),
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="office-error"' in page
    assert "has no career centre address in the directory yet" in page and "Kept again?</textarea>" in page
    assert (
        db.scalar(select(IntroductionRequest.id).where(IntroductionRequest.office == Office.ALUMNI)) is None
    )

    other_theme = world.other_client.themes[0]
    stolen = browser.post(
        f"{BASE}/clients/{world.client.id}/request",
        data=request_data(riverside, world, theme_id=str(other_theme.id)),
    )
    assert stolen.status_code == 422 and b'id="theme_id-error"' in stolen.data


def test_a_coach_cannot_draft_or_send_a_request(world, db, as_user, affiliation):
    browser = as_user(world.coach)
    base = f"{BASE}/clients/{world.client.id}/request"
    assert browser.get(base).status_code == 403
    assert browser.post(base, data=request_data(affiliation.institution, world)).status_code == 403
    assert browser.post(f"{base}/check", data=request_data(affiliation.institution, world)).status_code == 403
    with pytest.raises(Forbidden):
        services.send_request(
            coach_scope(world, db), world.client.id, service_data(affiliation.institution, world)
        )
    assert db.scalar(select(IntroductionRequest.id)) is None
    assert db.scalar(select(OutreachMessage.id).where(OutreachMessage.channel == "alumni_office")) is None
    page = browser.get(f"{BASE}/clients/{world.client.id}").get_data(as_text=True)
    assert "Request an introduction" not in page


# -- what came of it --------------------------------------------------------------------------------


def test_marking_answered_and_closing_can_be_undone(world, db, as_user, riverside):
    sent = sent_request(world, db, riverside)
    browser = as_user(world.client.user)
    answered = browser.post(
        f"{BASE}/requests/{sent.id}/answered",
        data={"note": "Grace will forward it to three graduates."},
        follow_redirects=True,
    )
    page = answered.get_data(as_text=True)
    assert "Marked answered." in page and f'action="{BASE}/requests/{sent.id}/reopen"' in page
    assert "GMT" in page  # times in the viewer's own zone (Europe/London)
    db.refresh(sent)
    assert sent.status == RequestStatus.ANSWERED and sent.note == "Grace will forward it to three graduates."

    browser.post(f"{BASE}/requests/{sent.id}/reopen")  # the undo
    db.refresh(sent)
    assert (sent.status, sent.answered_at) == (RequestStatus.SENT, None)

    browser.post(f"{BASE}/requests/{sent.id}/close")
    db.refresh(sent)
    assert sent.status == RequestStatus.CLOSED
    refused = browser.post(f"{BASE}/requests/{sent.id}/answered", data={})
    assert refused.status_code == 422 and b"reopen it first" in refused.data
    browser.post(f"{BASE}/requests/{sent.id}/reopen")
    db.refresh(sent)
    assert sent.status == RequestStatus.SENT

    assert as_user(world.coach).post(f"{BASE}/requests/{sent.id}/close").status_code == 403
    assert as_user(world.coach).get(f"{BASE}/requests/{sent.id}").status_code == 200


def test_an_introduction_becomes_an_alumni_contact_linked_to_the_request(world, db, as_user, affiliation):
    sent = sent_request(world, db, affiliation.institution)
    browser = as_user(world.client.user)
    bad = browser.post(
        f"{BASE}/requests/{sent.id}/introductions",
        data={"name": "Hannah Osei", "linkedin_url": "https://example.com/hannah"},
    )
    assert (
        bad.status_code == 422
        and b'id="intro-linkedin_url-error"' in bad.data
        and b'value="Hannah Osei"' in bad.data
    )
    assert db.scalar(select(Contact.id).where(Contact.name == "Hannah Osei")) is None

    added = browser.post(
        f"{BASE}/requests/{sent.id}/introductions",
        data={
            "name": "Hannah Osei",
            "email": "hannah@longread.example",
            "position": "Features Editor",
            "organisation": "The Long Read Quarterly",
            "linkedin_url": "https://www.linkedin.com/in/hannah-osei",
        },
        follow_redirects=True,
    )
    assert b"Hannah Osei is now one of your contacts." in added.data
    contact = db.scalar(select(Contact).where(Contact.name == "Hannah Osei"))
    assert contact.source == ContactSource.ALUMNI and contact.client_id == world.client.id
    assert [t.id for t in contact.themes] == [world.client.themes[0].id]
    assert "Introduced by the Riverside University alumni office." in contact.research_notes
    link = db.scalar(select(Introduction))
    assert (link.request_id, link.contact_id, link.client_id) == (sent.id, contact.id, world.client.id)
    assert services.introduced_by(client_scope(world, db), contact).id == sent.id
    db.refresh(sent)
    assert sent.status == RequestStatus.ANSWERED  # an introduction is an answer

    listing = browser.get(f"{BASE}/clients/{world.client.id}").get_data(as_text=True)
    assert "1 of 3 hoped for" in listing and "Answered" in listing
    assert browser.get(f"/contacts/{contact.id}").status_code == 200
    assert b"Alumni office" in browser.get(f"/clients/{world.client.id}/contacts?source=alumni_office").data
    not_undone = browser.post(f"{BASE}/requests/{sent.id}/reopen", follow_redirects=True)
    assert b"it did answer" in not_undone.data
    assert (
        as_user(world.coach)
        .post(f"{BASE}/requests/{sent.id}/introductions", data={"name": "Coach's friend"})
        .status_code
        == 403
    )


# -- the channel in the core's pages -----------------------------------------------------------------


def test_the_core_compose_page_sends_introductions_to_the_plugins_page(world, db, as_user):
    contact = make_contact(db, world.client, "Sam Okafor", email="sam@riverside.example")
    db.commit()
    page = as_user(world.client.user).get(f"/contacts/{contact.id}/write").get_data(as_text=True)
    assert "Alumni or career office" in page
    assert "Introductions are asked of an office, not of a person you already know." in page
    assert f'<a href="{BASE}/clients/{world.client.id}">Ask an alumni or career office</a>' in page


def test_coaches_find_the_channel_in_the_template_editor(world, db, as_user):
    browser = as_user(world.coach)
    assert b"Alumni or career office" in browser.get("/templates").data
    editor = browser.get("/templates/alumni_office/introduction_request")
    assert editor.status_code == 200 and b"{{ institution.name }} {{ office }}" in editor.data
    make_contact(db, world.client, "Sam Okafor")
    db.commit()
    preview = browser.post(
        "/templates/alumni_office/introduction_request/preview",
        data={"subject": "To {{ institution.name }}", "body": "{{ hoped_for }} alumni in {{ theme }}?"},
    )
    assert preview.json == {"subject": "To Riverside University", "body": "3 alumni in magazine editing?"}


def test_a_coach_saves_the_channels_template_with_its_own_variables(world, as_user):
    response = as_user(world.coach).post(
        "/templates/alumni_office/introduction_request",
        data={"subject": "To {{ institution.name }}", "body": "{{ hoped_for }} alumni, please?"},
    )
    assert response.status_code == 302


# -- menus, and the switch per practice -----------------------------------------------------------------


def test_the_menus_link_to_the_plugins_pages(world, as_user):
    caseload = as_user(world.coach).get("/coach/").get_data(as_text=True)
    assert f'href="{BASE}/institutions"' in caseload
    home = as_user(world.client.user).get("/me/").get_data(as_text=True)
    assert f'href="{BASE}/clients/{world.client.id}"' in home and f'href="{BASE}/institutions"' not in home
    contacts = as_user(world.coach).get(f"/clients/{world.client.id}/contacts").get_data(as_text=True)
    assert f'href="{BASE}/clients/{world.client.id}" >Alumni offices</a>' in contacts


def test_switching_the_plugin_off_removes_its_pages_menus_and_channel(world, db, as_user, riverside):
    sent = sent_request(world, db, riverside)
    contact = make_contact(db, world.client, "Sam Okafor")
    db.commit()
    set_plugin_enabled(Scope(db, world.owner), "alumni_offices", False, installed={"alumni_offices"})
    coach, client = as_user(world.coach), as_user(world.client.user)
    for browser, url in (
        (coach, f"{BASE}/institutions"),
        (coach, f"{BASE}/institutions/{riverside.id}"),
        (coach, f"{BASE}/clients/{world.client.id}"),
        (client, f"{BASE}/clients/{world.client.id}"),
        (client, f"{BASE}/clients/{world.client.id}/request"),
        (client, f"{BASE}/requests/{sent.id}"),
    ):
        assert browser.get(url).status_code == 404, url
    assert client.post(f"{BASE}/requests/{sent.id}/close").status_code == 404
    assert (
        client.post(
            f"{BASE}/clients/{world.client.id}/request", data=request_data(riverside, world)
        ).status_code
        == 404
    )
    assert BASE.encode() not in coach.get("/coach/").data
    assert BASE.encode() not in client.get("/me/").data
    assert b"Alumni or career office" not in coach.get("/templates").data
    assert b"Alumni or career office" not in client.get(f"/contacts/{contact.id}/write").data
    # Other practices keep it.
    assert as_user(world.stranger_owner).get(f"{BASE}/institutions").status_code == 200


# -- isolation -----------------------------------------------------------------------------------------


def test_another_practices_owner_coach_and_client_get_404_on_every_alumni_route(world, db, app, as_user):
    """The isolation sweep covers these too; here the plugin's routes are named on their own."""
    services.create_institution(coach_scope(world, db), {"name": "Riverside University"})
    stranger_coach = make_user(db, world.stranger_practice, "coach@b.example", Role.COACH)
    db.commit()
    sweep = IsolationSweep(app)
    routes = sweep.routes(plugins=["alumni_offices"])
    assert len(routes) >= 16
    cases = [
        (actor.email, actor, world.client)
        for actor in (world.stranger_owner, stranger_coach, world.stranger_client.user)
    ]
    failures = sweep.refusals(cases, as_user, routes)
    assert not failures, "\n".join(failures)
    assert db.scalar(select(Institution.name)) == "Riverside University"


def test_scope_keeps_each_practices_rows_apart(world, db, riverside, affiliation):
    sent = sent_request(world, db, riverside)
    stranger = Scope(db, world.stranger_owner)
    for model, row_id in (
        (Institution, riverside.id),
        (Affiliation, affiliation.id),
        (IntroductionRequest, sent.id),
    ):
        with pytest.raises(NotFound):
            stranger.get(model, row_id)
    assert services.directory(Scope(db, world.stranger_client.user)) == []
    other_client = Scope(db, world.other_client.user)
    with pytest.raises(NotFound):
        services.request_for(other_client, sent.id)


# -- demo rows -----------------------------------------------------------------------------------------


def test_demo_rows_for_the_first_client_once(world, db):
    load_demo(db, world.practice, [world.client, world.other_client])
    load_demo(db, world.practice, [world.client])  # a second load changes nothing
    assert db.query(Institution).filter_by(practice_id=world.practice.id).count() == 2
    assert {a.client_id for a in db.query(Affiliation)} == {world.client.id}
    [demo_request] = db.query(IntroductionRequest).all()
    assert demo_request.status == RequestStatus.ANSWERED and demo_request.message.status == MessageStatus.SENT
    [introduced] = demo_request.introductions
    assert introduced.contact.source == ContactSource.ALUMNI
    assert "Dear Riverside University alumni office" in demo_request.message.body


def test_the_demo_practice_gets_the_plugins_rows_through_the_hook(db):
    from crossroads.core.demo import CLIENT_EMAIL
    from crossroads.core.demo import load_demo as load_core_demo

    practice = load_core_demo(db)
    [demo_request] = db.query(IntroductionRequest).filter_by(practice_id=practice.id).all()
    assert demo_request.client.email == CLIENT_EMAIL and len(demo_request.introductions) == 1


# -- the plugin's own migration branch ---------------------------------------------------------------


def _up_down_up(url: str) -> None:
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        assert set(inspect(engine).get_table_names()) >= PLUGIN_TABLES
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert [d for d in diff if d[0] != "modify_type" and not search_index.outside_the_models(d)] == []

        config = migrate.alembic_config(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "alumni_offices@base")
        tables = set(inspect(engine).get_table_names())
        assert not PLUGIN_TABLES & tables and "outreach_message" in tables  # the core's stay
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                types = set(
                    connection.scalars(text("SELECT typname FROM pg_type WHERE typname LIKE 'alumni%'"))
                )
            assert types == set()
        assert "alumni_0001" not in migrate.current_revisions(engine)
        assert migrate.missing_revisions(engine) == {"alumni_0001"}  # only this branch went down

        migrate.upgrade(engine)
        assert set(inspect(engine).get_table_names()) >= PLUGIN_TABLES
        assert "alumni_0001" in migrate.current_revisions(engine)
        assert migrate.missing_revisions(engine) == set()
    finally:
        engine.dispose()


def test_the_plugins_migrations_go_up_down_and_up_again_on_sqlite(tmp_path):
    _up_down_up(f"sqlite:///{tmp_path / 'alumni.sqlite3'}")


@pytest.mark.skipif(
    not os.environ.get("CROSSROADS_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="set CROSSROADS_TEST_DATABASE_URL to a PostgreSQL database to run this",
)
def test_the_plugins_migrations_go_up_down_and_up_again_on_postgresql():
    import psycopg

    configured = make_url(os.environ["CROSSROADS_TEST_DATABASE_URL"])
    scratch = f"cr_alumni_{uuid.uuid4().hex[:12]}"
    admin = configured.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{scratch}"')
    try:
        _up_down_up(configured.set(database=scratch).render_as_string(hide_password=False))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
