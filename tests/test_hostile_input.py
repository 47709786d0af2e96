"""Input nobody types on purpose gets a clear answer, never a server error."""

from __future__ import annotations

import csv
import html
import io

import pytest
from sqlalchemy import func, select

from crossroads.core.models import Contact, PrepQuestion, QuestionBank
from crossroads.core.schemas import NUL_MESSAGE, SURROGATE_MESSAGE
from crossroads.testing import make_contact

from .exports import connection_rows, make_export


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


def test_a_lone_surrogate_in_autosaved_notes_is_refused_on_the_notes_field(world, db, as_user):
    question = db.scalars(select(PrepQuestion).where(PrepQuestion.client_id == world.client.id)).first()
    response = as_user(world.client.user).post(
        f"/prep-questions/{question.id}/notes",
        data='{"notes": "Deadlines \\ud800 drive everything"}',
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.get_json()["errors"]["notes"] == [SURROGATE_MESSAGE]
    db.expire_all()
    assert db.get(PrepQuestion, question.id).notes == ""


@pytest.mark.parametrize(
    ("escape", "message"),
    [("\\u0000", NUL_MESSAGE), ("\\udc00", SURROGATE_MESSAGE)],
    ids=["nul", "surrogate"],
)
def test_a_bank_file_with_an_unstorable_character_is_refused_naming_the_question(
    world, db, as_user, escape, message
):
    document = (
        '{"format": "crossroads-question-bank", "version": 1, "name": "Shared",\n'
        ' "questions": [\n'
        '  {"text": "What do you do all day?", "category": "day_to_day"},\n'
        f'  {{"text": "What surprised you{escape}?", "category": "background"}}\n'
        " ]}\n"
    )
    response = as_user(world.coach).post(
        "/banks/import",
        data={"file": (io.BytesIO(document.encode()), "bank.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert f"questions[2].text: {message}" in html.unescape(response.get_data(as_text=True))
    assert db.scalar(select(QuestionBank).where(QuestionBank.name == "Shared")) is None


def test_a_nul_byte_in_a_bank_file_is_refused_with_its_line(world, as_user):
    document = (
        b'{"format": "crossroads-question-bank",\n "version": 1, "name": "Sha\x00red", "questions": []}'
    )
    response = as_user(world.coach).post(
        "/banks/import",
        data={"file": (io.BytesIO(document), "bank.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "at line 2, column" in response.get_data(as_text=True)


def test_a_linkedin_file_whose_first_line_outgrows_the_csv_field_limit_is_refused_with_its_line(
    world, db, as_user
):
    data = b"x" * (csv.field_size_limit() + 10) + b"\r\n" + make_export(connection_rows(3))
    response = as_user(world.client.user).post(
        f"/clients/{world.client.id}/import",
        data={"file": (io.BytesIO(data), "Connections.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    contacts = db.scalar(select(func.count()).where(Contact.client_id == world.client.id))
    assert contacts - len(world.contacts) == 3  # the three connections: the long first line is skipped
    alone = b"x" * (csv.field_size_limit() + 10) + b"\r\n"
    # Nothing to recognise: the page asks for the format; with the format chosen, line 1 is named.
    unknown = as_user(world.client.user).post(
        f"/clients/{world.client.id}/import",
        data={"file": (io.BytesIO(alone), "Connections.csv")},
        content_type="multipart/form-data",
    )
    assert unknown.status_code == 422 and "choose its format" in unknown.get_data(as_text=True)
    refused = as_user(world.client.user).post(
        f"/clients/{world.client.id}/import",
        data={"file": (io.BytesIO(alone), "Connections.csv"), "format": "linkedin_connections"},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "Line 1:" in refused.get_data(as_text=True)
