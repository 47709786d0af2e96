"""Question banks: the starter bank, coaches' own banks and questions, who may see and change them,
and the JSON exchange format with its refusals."""

from __future__ import annotations

import html
import io
import json
import re

import pytest
from sqlalchemy import func, select
from werkzeug.http import parse_options_header

from crossroads.core.models import Category, Question, QuestionBank, Reach, Role
from crossroads.core.scoping import Scope
from crossroads.core.services import banks
from crossroads.testing import make_bank, make_client, make_practice, make_user


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def bank_count(db) -> int:
    return db.scalar(select(func.count()).select_from(QuestionBank))


def bank_named(db, name: str) -> QuestionBank:
    return db.scalars(select(QuestionBank).where(QuestionBank.name == name)).one()


def texts(bank: QuestionBank) -> list[str]:
    return [q.text for q in bank.live_questions]


def download_name(response) -> str:
    kind, options = parse_options_header(response.headers["Content-Disposition"])
    assert kind == "attachment"
    return options["filename"]


def post_actions(response) -> set[str]:
    """The addresses of the page's POST forms under /banks/."""
    return set(re.findall(r'action="(/banks/[^"]*)"', response.get_data(as_text=True)))


def bank_with_questions(db, owner, name, *questions, reach=Reach.PRACTICE) -> QuestionBank:
    """A bank holding exactly ``questions``: (text, category) pairs, in this order."""
    bank = QuestionBank(practice_id=owner.practice_id, owner=owner, name=name, reach=reach)
    for position, (text, category) in enumerate(questions, 1):
        bank.questions.append(
            Question(practice_id=owner.practice_id, text=text, category=category, position=position)
        )
    db.add(bank)
    db.commit()
    return bank


def upload(browser, content: bytes, filename: str = "bank.json"):
    return browser.post(
        "/banks/import",
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def bank_file(**changes) -> bytes:
    document = {
        "format": "crossroads-question-bank",
        "version": 1,
        "name": "Shared by a colleague",
        "description": "",
        "questions": [
            {"text": "What did your first week look like?", "category": "day_to_day", "tags": []},
            {"text": "Who do you learn the most from?", "category": "mentorship", "tags": ["people"]},
            {"text": "What changed in your field this year?", "category": "future"},
        ],
    }
    document.update(changes)
    return json.dumps(document).encode()


# -- the starter bank -------------------------------------------------------------------------


def test_the_starter_bank_has_at_least_sixty_distinct_questions_in_all_ten_categories():
    starter = banks.starter_bank()
    assert len(starter.questions) >= 60
    assert {q.category for q in starter.questions} == set(Category)
    assert len({q.text for q in starter.questions}) == len(starter.questions)
    assert len({q.id for q in starter.questions}) == len(starter.questions)


def test_the_starter_bank_page_groups_every_question_under_its_category(world, as_user):
    starter = banks.starter_bank()
    page = page_text(as_user(world.coach).get("/banks/starter"))
    assert "Read-only" in page
    for question in starter.questions:
        assert question.text in page
    assert page.index("Background and career path") < page.index("Closing")
    first_closing = next(q for q in starter.questions if q.category == Category.CLOSING)
    assert page.index("Closing") < page.index(first_closing.text)


def test_the_starter_bank_has_no_route_that_changes_it(app, world, as_user):
    starter_rules = [r for r in app.url_map.iter_rules() if "starter" in r.rule]
    changing = {r.rule for r in starter_rules if "POST" in r.methods}
    assert changing == {"/banks/starter/copy"}  # copying is the only thing to do with it
    browser = as_user(world.owner)
    assert post_actions(browser.get("/banks/starter")) == {"/banks/starter/copy"}
    assert browser.post("/banks/starter", data={"name": "Mine now"}).status_code == 405
    assert browser.post("/banks/starter/questions", data={"text": "x"}).status_code == 404


def test_copying_the_starter_bank_gives_the_coach_a_private_copy_to_edit(world, db, as_user):
    browser = as_user(world.coach)
    response = browser.post("/banks/starter/copy")
    copy = bank_named(db, "Crossroads starter bank (copy)")
    assert response.location.endswith(f"/banks/{copy.id}")
    assert (copy.owner_id, copy.reach) == (world.coach.id, Reach.OWNER)
    starter = banks.starter_bank()
    assert texts(copy) == [q.text for q in starter.questions]
    assert [q.category for q in copy.live_questions] == [q.category for q in starter.questions]

    first = copy.live_questions[0]
    browser.post(f"/banks/questions/{first.id}", data={"text": "Adapted", "category": "closing"})
    db.refresh(first)
    assert (first.text, first.category) == ("Adapted", Category.CLOSING)


# -- coaches manage banks and questions -------------------------------------------------------


def test_the_list_shows_the_starter_bank_first_then_each_bank_with_owner_reach_count_and_state(
    world, db, as_user
):
    own = bank_with_questions(
        db, world.coach, "Aardvark questions", ("One?", Category.SKILLS), ("Two?", Category.SKILLS)
    )
    retired = make_bank(db, world.owner, "Old bank")
    retired.retired_at = retired.created_at
    db.commit()
    page = page_text(as_user(world.coach).get("/banks/"))
    assert page.index("Crossroads starter bank") < page.index("Aardvark questions")
    row = page[page.index(f'data-bank="{own.id}"') :].split("</tr>")[0]
    assert "You" in row and "Whole practice" in row and ">2<" in row and "In use" in row
    retired_row = page[page.index(f'data-bank="{retired.id}"') :].split("</tr>")[0]
    assert "Olivia Owner" in retired_row and "Retired" in retired_row
    assert "Copy to adapt" in page


def test_a_coach_creates_a_bank_for_chosen_clients_and_changes_its_settings(world, db, as_user):
    browser = as_user(world.coach)
    response = browser.post(
        "/banks/",
        data={
            "name": "Career changers",
            "description": "For people leaving teaching",
            "reach": "clients",
            "client_ids": [str(world.client.id)],
        },
    )
    bank = bank_named(db, "Career changers")
    assert response.location.endswith(f"/banks/{bank.id}")
    assert (bank.owner_id, bank.reach, [c.id for c in bank.clients]) == (
        world.coach.id, Reach.CLIENTS, [world.client.id],
    )  # fmt: skip
    assert "No questions yet" in page_text(browser.get(f"/banks/{bank.id}"))

    browser.post(f"/banks/{bank.id}", data={"name": "Leaving teaching", "reach": "practice"})
    db.refresh(bank)
    assert (bank.name, bank.description, bank.reach, bank.clients) == (
        "Leaving teaching", "", Reach.PRACTICE, [],
    )  # fmt: skip


def test_a_bank_shared_with_the_whole_practice_keeps_no_chosen_clients(world, db, as_user):
    as_user(world.coach).post(
        "/banks/", data={"name": "Everyone's", "reach": "practice", "client_ids": [str(world.client.id)]}
    )
    assert bank_named(db, "Everyone's").clients == []


def test_a_coach_adds_edits_and_reorders_questions(world, db, as_user):
    bank = make_bank(db, world.coach, "Ordered", Reach.OWNER)
    db.commit()
    browser = as_user(world.coach)
    for text in ("Second?", "Third?"):
        response = browser.post(f"/banks/{bank.id}/questions", data={"text": text, "category": "skills"})
        assert response.status_code == 302
    db.refresh(bank)
    first, second, third = bank.questions
    assert response.location.endswith(f"/banks/{bank.id}#q-{third.id}")

    browser.post(
        f"/banks/questions/{second.id}",
        data={"text": "  Which skill took longest?  ", "category": "career_advice", "tags": "Skills, hard"},
    )
    db.refresh(second)
    assert (second.text, second.category, second.tags) == (
        "Which skill took longest?", Category.CAREER_ADVICE, ["skills", "hard"],
    )  # fmt: skip

    browser.post(f"/banks/questions/{third.id}/move/up")
    db.expire_all()
    assert [q.id for q in bank.questions] == [first.id, third.id, second.id]
    browser.post(f"/banks/questions/{first.id}/move/down")
    browser.post(f"/banks/questions/{second.id}/move/down")  # already last: stays there
    db.expire_all()
    assert [q.id for q in bank.questions] == [third.id, first.id, second.id]
    page = page_text(browser.get(f"/banks/{bank.id}"))
    assert page.index("Third?") < page.index(first.text) < page.index("Which skill took longest?")


def test_moving_a_question_steps_over_retired_ones(world, db):
    bank = bank_with_questions(
        db, world.coach, "Gaps", ("A?", Category.SKILLS), ("B?", Category.SKILLS), ("C?", Category.SKILLS)
    )
    scope = Scope(db, world.coach)
    a, b, c = bank.questions
    banks.set_question_retired(scope, b.id, True)
    banks.move_question(scope, c.id, -1)
    db.expire_all()
    assert texts(bank) == ["C?", "A?"]
    assert [q.text for q in bank.questions] == ["C?", "B?", "A?"]


def test_retiring_a_question_hides_it_from_clients_and_undo_restores_it(world, db, as_user):
    bank = bank_with_questions(
        db, world.coach, "Shared", ("Keep me?", Category.SKILLS), ("Retire me?", Category.SKILLS)
    )
    question = bank.questions[1]
    coach = as_user(world.coach)
    page = page_text(coach.post(f"/banks/questions/{question.id}/retire/on", follow_redirects=True))
    assert "Retired the question “Retire me?”." in page
    assert f'action="/banks/questions/{question.id}/retire/off"' in page  # the Undo button
    assert "Retired questions (1)" in page
    assert "Retire me?" not in page_text(as_user(world.client.user).get(f"/banks/{bank.id}"))

    coach.post(f"/banks/questions/{question.id}/retire/off")
    db.refresh(question)
    assert question.retired_at is None
    assert "Retire me?" in page_text(as_user(world.client.user).get(f"/banks/{bank.id}"))


def test_retiring_a_bank_hides_it_from_clients_and_undo_brings_it_back(world, db, as_user):
    bank = make_bank(db, world.coach, "Seasonal", Reach.PRACTICE)
    db.commit()
    coach, client = as_user(world.coach), as_user(world.client.user)
    assert "Seasonal" in page_text(client.get("/banks/"))
    page = page_text(coach.post(f"/banks/{bank.id}/retire/on", follow_redirects=True))
    assert "Retired “Seasonal”." in page and f'action="/banks/{bank.id}/retire/off"' in page
    assert client.get(f"/banks/{bank.id}").status_code == 404
    assert "Seasonal" not in page_text(client.get("/banks/"))
    assert "Seasonal" in page_text(coach.get("/banks/"))  # the coach keeps it, to bring it back

    coach.post(f"/banks/{bank.id}/retire/off")
    assert client.get(f"/banks/{bank.id}").status_code == 200


# -- who sees and changes what ----------------------------------------------------------------


def test_a_practice_bank_reaches_every_coach_and_client_of_the_practice_only(world, db, as_user):
    bank = make_bank(db, world.owner, "For everyone", Reach.PRACTICE)
    db.commit()
    for user in (world.coach, world.client.user, world.other_client.user, world.owners_client.user):
        browser = as_user(user)
        assert "For everyone" in page_text(browser.get("/banks/")), user.email
        assert browser.get(f"/banks/{bank.id}").status_code == 200, user.email
    for user in (world.stranger_owner, world.stranger_client.user):
        browser = as_user(user)
        assert "For everyone" not in page_text(browser.get("/banks/"))
        assert browser.get(f"/banks/{bank.id}").status_code == 404


def test_an_owner_only_bank_is_hidden_from_colleagues_and_clients(world, db, as_user):
    bank = make_bank(db, world.coach, "My drafts", Reach.OWNER)
    db.commit()
    assert as_user(world.coach).get(f"/banks/{bank.id}").status_code == 200
    for user in (world.owner, world.client.user):
        browser = as_user(user)
        assert "My drafts" not in page_text(browser.get("/banks/"))
        assert browser.get(f"/banks/{bank.id}").status_code == 404
        assert browser.get(f"/banks/{bank.id}/export.json").status_code == 404


def test_a_chosen_clients_bank_reaches_only_the_clients_chosen_for_it(world, db, as_user):
    bank = make_bank(db, world.coach, "Just for Clara", Reach.CLIENTS, clients=[world.client])
    db.commit()
    assert "Just for Clara" in page_text(as_user(world.client.user).get("/banks/"))
    assert as_user(world.client.user).get(f"/banks/{bank.id}").status_code == 200
    for user in (world.other_client.user, world.owner):
        assert "Just for Clara" not in page_text(as_user(user).get("/banks/"))
        assert as_user(user).get(f"/banks/{bank.id}").status_code == 404


def test_clients_browse_shared_banks_without_any_form_to_change_or_copy_them(world, db, as_user):
    bank = make_bank(db, world.coach, "Browse me", Reach.PRACTICE)
    db.commit()
    question = bank.questions[0]
    client = as_user(world.client.user)
    page = client.get(f"/banks/{bank.id}")
    assert question.text in page_text(page) and "Background and career path" in page_text(page)
    assert post_actions(page) == set()
    assert post_actions(client.get("/banks/")) == set()
    refused = [
        client.post("/banks/", data={"name": "Mine"}),
        client.post(f"/banks/{bank.id}/copy"),
        client.post("/banks/starter/copy"),
        client.post(f"/banks/{bank.id}", data={"name": "Renamed"}),
        client.post(f"/banks/questions/{question.id}", data={"text": "Changed", "category": "closing"}),
        client.get(f"/banks/{bank.id}/export.json"),
        upload(client, bank_file()),
    ]
    assert [r.status_code for r in refused] == [404] * len(refused)
    db.refresh(bank)
    assert bank.name == "Browse me" and bank_count(db) == 5  # the world's four, and this one


def test_a_colleague_reads_and_copies_a_practice_bank_but_cannot_change_it(world, db, as_user):
    bank = bank_with_questions(db, world.owner, "Owner's bank", ("Untouched?", Category.SKILLS))
    question = bank.questions[0]
    coach = as_user(world.coach)
    page = coach.get(f"/banks/{bank.id}")
    assert post_actions(page) == {f"/banks/{bank.id}/copy"}
    attempts = [
        coach.post(f"/banks/{bank.id}", data={"name": "Hijacked", "reach": "owner"}),
        coach.post(f"/banks/{bank.id}", data={"name": ""}),
        coach.post(f"/banks/{bank.id}/retire/on"),
        coach.post(f"/banks/{bank.id}/questions", data={"text": "Extra?", "category": "skills"}),
        coach.post(f"/banks/questions/{question.id}", data={"text": "Hijacked?", "category": "skills"}),
        coach.post(f"/banks/questions/{question.id}/move/down"),
        coach.post(f"/banks/questions/{question.id}/retire/on"),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    db.expire_all()
    assert (bank.name, bank.reach, bank.retired_at, texts(bank)) == (
        "Owner's bank", Reach.PRACTICE, None, ["Untouched?"],
    )  # fmt: skip

    coach.post(f"/banks/{bank.id}/copy")
    copy = bank_named(db, "Owner's bank (copy)")
    assert (copy.owner_id, texts(copy)) == (world.coach.id, ["Untouched?"])


def test_the_practice_owner_edits_a_coachs_practice_bank(world, db, as_user):
    bank = make_bank(db, world.coach, "Coach's bank", Reach.PRACTICE)
    db.commit()
    browser = as_user(world.owner)
    assert f"/banks/{bank.id}/questions" in post_actions(browser.get(f"/banks/{bank.id}"))
    browser.post(f"/banks/{bank.id}/questions", data={"text": "Added by the owner?", "category": "closing"})
    db.refresh(bank)
    assert texts(bank)[-1] == "Added by the owner?"


# -- export and import ------------------------------------------------------------------------


def test_export_then_import_reproduces_the_questions(world, db, as_user):
    bank = bank_with_questions(
        db,
        world.coach,
        "Round trip",
        ("Où avez-vous commencé ?", Category.BACKGROUND),
        ("Retired one?", Category.SKILLS),
        ("What would you tell your younger self?", Category.CAREER_ADVICE),
    )
    bank.description = "Line one\nline two"
    bank.questions[0].tags = ["français", "origins"]
    bank.questions[1].retired_at = bank.created_at
    db.commit()
    browser = as_user(world.coach)
    exported = browser.get(f"/banks/{bank.id}/export.json")
    assert exported.status_code == 200 and exported.mimetype == "application/json"
    assert download_name(exported) == "round-trip.json"

    response = upload(browser, exported.data, "round-trip.json")
    assert response.status_code == 302
    imported = db.scalars(select(QuestionBank).where(QuestionBank.id > bank.id)).one()
    assert response.location.endswith(f"/banks/{imported.id}")
    assert (imported.name, imported.description, imported.owner_id, imported.reach) == (
        "Round trip", "Line one\nline two", world.coach.id, Reach.OWNER,
    )  # fmt: skip
    assert [(q.text, q.category, q.tags) for q in imported.live_questions] == [
        ("Où avez-vous commencé ?", Category.BACKGROUND, ["français", "origins"]),
        ("What would you tell your younger self?", Category.CAREER_ADVICE, []),
    ]


def test_the_starter_bank_exports_and_imports_whole(world, db, as_user):
    browser = as_user(world.coach)
    exported = browser.get("/banks/starter/export.json")
    assert download_name(exported) == "crossroads-starter-bank.json"
    upload(browser, exported.data)
    imported = bank_named(db, "Crossroads starter bank")
    assert [(q.text, q.category, q.tags) for q in imported.live_questions] == [
        (q.text, q.category, q.tags) for q in banks.starter_bank().questions
    ]


def test_an_export_is_named_after_the_bank_in_any_alphabet(world, db, as_user):
    browser = as_user(world.coach)
    plain = make_bank(db, world.coach, "Product & design: Q3 / 2026")
    accented = make_bank(db, world.coach, "Économie sociale")
    db.commit()
    assert download_name(browser.get(f"/banks/{plain.id}/export.json")) == "product-design-q3-2026.json"
    accented_export = browser.get(f"/banks/{accented.id}/export.json")
    assert download_name(accented_export) == "économie-sociale.json"
    assert "filename*=UTF-8''%C3%A9conomie-sociale.json" in accented_export.headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("content", "reasons"),
    [
        pytest.param(
            b'{"format": "crossroads-question-bank",\n  "version": 1,,\n}',
            ["Not JSON: Expecting property name enclosed in double quotes at line 2, column 16."],
            id="not-json",
        ),
        pytest.param(
            bank_file(format="someone-elses-bank", version=2),
            ["format: must be 'crossroads-question-bank'", "version: only version 1 is known"],
            id="wrong-format-marker",
        ),
        pytest.param(
            bank_file(
                questions=[
                    {"text": "Fine?", "category": "skills"},
                    {"text": "Fine too?", "category": "closing"},
                    {"text": "Odd?", "category": "gossip"},
                    {"text": " ", "category": "skills"},
                    "just a string",
                ]
            ),
            [
                "questions[3].category: Must be one of: background, industry",
                "questions[4].text: This field is required.",
                "questions[5]: Invalid input type.",
            ],
            id="bad-questions-named-by-place",
        ),
        pytest.param(bank_file(questions=[]), ["questions: Length must be between 1 and 500."], id="empty"),
        pytest.param(
            bank_file(description="x" * (banks.MAX_IMPORT_BYTES + 1)),
            ["The file is larger than 1 MB."],
            id="too-large",
        ),
        pytest.param(b"[" * 100_000, ["The file is nested too deeply"], id="nested-too-deep"),
        pytest.param("{}".encode("utf-16"), ["The file is not UTF-8 text."], id="not-utf8"),
        pytest.param(b"[]", ["The file must hold one JSON object"], id="not-an-object"),
    ],
)
def test_a_bad_file_is_refused_whole_with_every_reason(world, db, as_user, content, reasons):
    before = bank_count(db)
    response = upload(as_user(world.coach), content)
    assert response.status_code == 422
    page = page_text(response)
    assert "Nothing was imported" in page and 'id="file-error"' in page
    for reason in reasons:
        assert reason in page
    assert bank_count(db) == before


def test_an_import_without_a_file_asks_for_one(world, db, as_user):
    response = as_user(world.coach).post("/banks/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose a .json file to upload." in page_text(response)


# -- failed forms -----------------------------------------------------------------------------


def test_a_failed_new_bank_keeps_what_was_typed_and_names_the_field(world, db, as_user):
    before = bank_count(db)
    response = as_user(world.coach).post(
        "/banks/",
        data={
            "name": "  ",
            "description": "For clients moving into policy work",
            "reach": "clients",
            "client_ids": [str(world.client.id)],
        },
    )
    assert response.status_code == 422
    page = page_text(response)
    assert 'id="new-name-error"' in page and "This field is required." in page
    assert "For clients moving into policy work</textarea>" in page
    assert '<option value="clients" selected>' in page
    assert re.search(rf'value="{world.client.id}"\s+checked', page)
    assert bank_count(db) == before


def test_a_bank_cannot_be_shared_with_another_coachs_client(world, db, as_user):
    bank = make_bank(db, world.coach, "Mine", Reach.OWNER)
    db.commit()
    response = as_user(world.coach).post(
        f"/banks/{bank.id}",
        data={"name": "Renamed", "reach": "clients", "client_ids": [str(world.owners_client.id)]},
    )
    assert response.status_code == 422
    page = page_text(response)
    assert 'id="client_ids-error"' in page and "Choose clients from your caseload." in page
    assert 'value="Renamed"' in page
    db.refresh(bank)
    assert (bank.name, bank.reach, bank.clients) == ("Mine", Reach.OWNER, [])


def test_a_failed_question_keeps_what_was_typed_and_names_the_field(world, db, as_user):
    bank = make_bank(db, world.coach, "Questions", Reach.OWNER)
    db.commit()
    question = bank.questions[0]
    browser = as_user(world.coach)

    added = browser.post(
        f"/banks/{bank.id}/questions", data={"text": "Half-written?", "category": "", "tags": "draft"}
    )
    assert added.status_code == 422
    page = page_text(added)
    assert 'id="new-category-error"' in page and "This field is required." in page
    assert "Half-written?</textarea>" in page and 'value="draft"' in page

    edited = browser.post(
        f"/banks/questions/{question.id}", data={"text": "", "category": "future", "tags": "kept, typed"}
    )
    assert edited.status_code == 422
    page = page_text(edited)
    assert f'id="q{question.id}-text-error"' in page and 'value="kept, typed"' in page
    assert '<option value="future" selected>' in page
    db.refresh(question)
    assert question.text == f"What surprised you most, {bank.name}?"
    assert len(bank.questions) == 1


# -- empty states -----------------------------------------------------------------------------


def test_empty_states_tell_a_new_coach_and_their_client_what_to_do(db, as_user):
    practice = make_practice(db, "Fresh Start")
    coach = make_user(db, practice, "coach@fresh.example", Role.COACH)
    client = make_client(db, coach, "client@fresh.example")
    db.commit()
    page = as_user(coach).get("/banks/")
    assert "Copy the starter bank to adapt it" in page_text(page)
    assert "/banks/starter/copy" in post_actions(page)
    page = page_text(as_user(client.user).get("/banks/"))
    assert "has not shared a bank of their own with you yet" in page
    assert "Crossroads starter bank" in page
