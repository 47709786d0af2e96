"""Conversations: scheduling across time zones, calendar files, prep sheets, notes, reflections,
goals and the side-by-side synthesis."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from crossroads.core.errors import Forbidden
from crossroads.core.models import (
    Contact,
    ContactSource,
    Conversation,
    GoalMetric,
    GoalPeriod,
    Reflection,
    Stage,
    StageChange,
    ThemeStatus,
)
from crossroads.core.schemas import GoalSchema, load
from crossroads.core.scoping import Scope
from crossroads.core.services import banks, conversations, goals, reflections, synthesis
from crossroads.testing import make_bank, make_contact, make_conversation


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def tokyo_client(world, db):
    """Clara lives in Tokyo; her coach Colin in New York."""
    world.client.user.timezone = "Asia/Tokyo"
    world.coach.timezone = "America/New_York"
    db.commit()
    return world.client


def schedule(browser, contact, **data):
    form = {
        "starts_at": "2027-12-01T09:00",
        "minutes": "20",
        "medium": "video",
        "location": "https://meet.example",
    }
    return browser.post(f"/contacts/{contact.id}/conversations", data={**form, **data})


def test_a_client_in_tokyo_schedules_and_a_coach_in_new_york_sees_their_own_time(
    tokyo_client, world, db, as_user
):
    contact = make_contact(db, tokyo_client, "Ada", stage=Stage.REPLIED)
    db.commit()
    response = schedule(as_user(tokyo_client.user), contact)
    assert response.status_code == 302
    conversation = db.query(Conversation).filter_by(contact_id=contact.id).one()
    assert conversation.starts_at == datetime(2027, 12, 1, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
    db.refresh(contact)
    assert contact.stage == Stage.SCHEDULED
    coach_page = text(as_user(world.coach).get(f"/conversations/{conversation.id}"))
    assert "Tuesday 30 November 2027, 19:00 EST" in coach_page  # the evening before, in New York
    client_page = text(as_user(tokyo_client.user).get(f"/conversations/{conversation.id}"))
    assert "Wednesday 01 December 2027, 09:00 JST" in client_page


def test_a_bad_schedule_keeps_what_was_typed(world, db, as_user):
    contact = make_contact(db, world.client, "Ada")
    db.commit()
    response = schedule(
        as_user(world.client.user), contact, starts_at="tomorrow", minutes="300", location="Café Nero"
    )
    assert response.status_code == 422
    page = text(response)
    assert "Give a date and time" in page and "Between 5 and 120 minutes." in page
    assert 'value="Café Nero"' in page


def test_the_calendar_file_keeps_its_uid_and_raises_its_sequence_on_reschedule(world, db, as_user):
    contact = make_contact(db, world.client, "Ada")
    db.commit()
    browser = as_user(world.client.user)
    schedule(browser, contact)
    conversation = db.query(Conversation).filter_by(contact_id=contact.id).one()
    first = Calendar.from_ical(browser.get(f"/conversations/{conversation.id}/calendar.ics").data)
    browser.post(
        f"/conversations/{conversation.id}/reschedule",
        data={"starts_at": "2027-12-02T10:30", "minutes": "30", "medium": "phone", "location": "+44 20 0000"},
    )
    response = browser.get(f"/conversations/{conversation.id}/calendar.ics")
    assert response.mimetype == "text/calendar" and "attachment" in response.headers["Content-Disposition"]
    second = Calendar.from_ical(response.data)
    assert first["METHOD"] == second["METHOD"] == "PUBLISH"
    one, two = first.walk("VEVENT")[0], second.walk("VEVENT")[0]
    assert str(one["UID"]) == str(two["UID"])
    assert (int(one["SEQUENCE"]), int(two["SEQUENCE"])) == (0, 1)
    assert two.decoded("DTSTART") == datetime(2027, 12, 2, 10, 30, tzinfo=UTC)  # the client is in London
    assert two.decoded("DTEND") - two.decoded("DTSTART") == timedelta(minutes=30)


def test_prep_sheet_questions_are_copies_that_survive_a_bank_edit(world, db):
    bank = make_bank(db, world.coach, "Colin's questions")
    db.commit()
    conversation = make_conversation(db, make_contact(db, world.client, "Ada"))
    db.commit()
    scope = Scope(db, world.client.user)
    from_bank = conversations.add_prep_question(
        scope, conversation.id, {"bank_question": str(bank.questions[0].id)}
    )
    starter = banks.starter_bank().questions[0]
    from_starter = conversations.add_prep_question(scope, conversation.id, {"bank_question": starter.id})
    original = from_bank.text
    banks.update_question(Scope(db, world.coach), bank.questions[0].id, {"text": "Rewritten entirely"})
    db.refresh(from_bank)
    assert from_bank.text == original and from_starter.text == starter.text
    assert from_starter.category == starter.category


def test_a_client_cannot_add_a_question_from_a_bank_not_shared_with_them(world, db):
    private = make_bank(db, world.owner, "Owner only", reach="owner")
    conversation = make_conversation(db, make_contact(db, world.client, "Ada"))
    db.commit()
    from crossroads.core.errors import NotFound

    with pytest.raises(NotFound):
        conversations.add_prep_question(
            Scope(db, world.client.user), conversation.id, {"bank_question": str(private.questions[0].id)}
        )


def test_the_prep_sheet_warns_gently_outside_three_to_five_questions(world, db, as_user):
    conversation = make_conversation(db, make_contact(db, world.client, "Ada"))
    db.commit()
    browser = as_user(world.client.user)
    assert "1 question so far: three to five" in text(browser.get(f"/conversations/{conversation.id}"))
    for i in range(5):
        browser.post(f"/conversations/{conversation.id}/questions", data={"text": f"Fresh question {i}?"})
    page = text(browser.get(f"/conversations/{conversation.id}"))
    assert "6 questions: more than five rarely fit." in page and "Fresh question 4?" in page


def test_an_empty_question_is_refused_by_name(world, db, as_user):
    conversation = make_conversation(db, make_contact(db, world.client, "Ada"))
    db.commit()
    response = as_user(world.client.user).post(
        f"/conversations/{conversation.id}/questions", data={"text": ""}
    )
    assert response.status_code == 422 and "Pick a question from a bank or write one." in text(response)


def test_prep_sheet_saves_goals_pitch_and_likely_questions(world, db, as_user):
    conversation = make_conversation(db, make_contact(db, world.client, "Ada"))
    db.commit()
    as_user(world.client.user).post(
        f"/conversations/{conversation.id}",
        data={
            "goals": "Learn the daily rhythm",
            "pitch": "Not a job request.",
            "likely_questions": (
                "Q: Why editing?\nA: I love shaping stories.\n\nQ: Why now?\nA: Time for a change."
            ),
        },
    )
    db.refresh(conversation)
    assert conversation.goals == "Learn the daily rhythm"
    assert conversation.likely_questions == [
        {"question": "Why editing?", "answer": "I love shaping stories."},
        {"question": "Why now?", "answer": "Time for a change."},
    ]


def test_notes_are_saved_as_the_client_types_and_failures_answer_in_the_error_format(world, db, as_user):
    conversation = make_conversation(db, make_contact(db, world.client, "Ada"))
    db.commit()
    question = conversation.questions[0]
    browser = as_user(world.client.user)
    page = text(browser.get(f"/conversations/{conversation.id}/live"))
    assert 'id="time-left"' in page and f'data-save-url="/prep-questions/{question.id}/notes"' in page
    saved = browser.post(f"/prep-questions/{question.id}/notes", json={"notes": "Deadlines drive everything"})
    assert saved.status_code == 200 and "saved_at" in saved.get_json()
    db.refresh(question)
    assert question.notes == "Deadlines drive everything"
    too_long = browser.post(f"/prep-questions/{question.id}/notes", json={"notes": "x" * 20001})
    assert too_long.status_code == 422 and "notes" in too_long.get_json()["errors"]
    coach = as_user(world.coach).post(f"/prep-questions/{question.id}/notes", json={"notes": "coach edit"})
    assert coach.status_code == 403
    db.refresh(question)
    assert question.notes == "Deadlines drive everything"


def test_marking_held_moves_the_contact_and_asks_for_a_reflection(world, db, as_user):
    contact = make_contact(db, world.client, "Ada", stage=Stage.SCHEDULED)
    conversation = make_conversation(db, contact)
    conversation.status = "scheduled"
    db.commit()
    response = as_user(world.client.user).post(f"/conversations/{conversation.id}/held")
    assert response.location.endswith(f"/conversations/{conversation.id}/reflection")
    db.refresh(contact)
    assert contact.stage == Stage.TALKED
    assert "Send a thank-you note" in text(as_user(world.client.user).get("/me/"))


def reflect(browser, conversation, **data):
    form = {"energy": "2", "fit": "4", "insights": "Editing is mostly negotiation", "surprises": "The pace"}
    return browser.post(f"/conversations/{conversation.id}/reflection", data={**form, **data})


def test_a_reflection_is_private_until_shared_then_the_coach_sees_and_comments(world, db, as_user):
    conversation = make_conversation(db, make_contact(db, world.client, "Ada"))
    db.commit()
    client, coach = as_user(world.client.user), as_user(world.coach)
    reflect(client, conversation)
    assert "Editing is mostly negotiation" not in text(
        coach.get(f"/conversations/{conversation.id}/reflection")
    )
    assert (
        db.scalars(
            Scope(db, world.coach).select(Reflection).filter_by(conversation_id=conversation.id)
        ).first()
        is None
    )
    reflect(client, conversation, share="1")
    page = text(coach.get(f"/conversations/{conversation.id}/reflection"))
    assert "Editing is mostly negotiation" in page and "Very energising" in page
    reflection = (
        conversation.reflection or db.query(Reflection).filter_by(conversation_id=conversation.id).one()
    )
    coach.post(f"/reflections/{reflection.id}/comments", data={"text": "Worth a second conversation."})
    assert "Worth a second conversation." in text(client.get(f"/conversations/{conversation.id}/reflection"))
    with pytest.raises(Forbidden):
        reflections.comment(
            Scope(db, world.client.user), reflection.id, "Clients write the reflection itself"
        )


def test_a_bad_reflection_keeps_the_text_and_names_the_fields(world, db, as_user):
    conversation = make_conversation(db, make_contact(db, world.client, "Ada"))
    db.commit()
    response = reflect(
        as_user(world.client.user), conversation, energy="9", fit="", less_shiny="Long evenings"
    )
    assert response.status_code == 422
    page = text(response)
    assert 'id="energy-error"' in page and 'id="fit-error"' in page and "Long evenings" in page


def test_people_named_in_a_reflection_become_referrals_of_that_contact(world, db, as_user):
    contact = make_contact(db, world.client, "Ada", "Vogue")
    conversation = make_conversation(db, contact)
    db.commit()
    reflect(as_user(world.client.user), conversation, referrals="Bea Bright, Condé Nast\nCy Clear")
    referred = db.query(Contact).filter_by(referred_by_id=contact.id).order_by(Contact.name).all()
    assert [(c.name, c.organisation, c.source) for c in referred] == [
        ("Bea Bright", "Condé Nast", ContactSource.REFERRAL),
        ("Cy Clear", "", ContactSource.REFERRAL),
    ]


def test_only_the_client_writes_their_reflection(world, db):
    conversation = make_conversation(db, make_contact(db, world.client, "Ada"))
    db.commit()
    with pytest.raises(Forbidden):
        reflections.save(Scope(db, world.coach), conversation.id, {"energy": 0, "fit": 3, "share": False})


def test_synthesis_shows_themes_side_by_side_and_the_coach_sees_only_shared_reflections(world, db, as_user):
    theme = world.client.themes[0]
    for energy, fit, shared in ((2, 5, True), (-2, 1, False)):
        conversation = make_conversation(db, make_contact(db, world.client, f"E{energy}"))
        conversation.theme = theme
        db.flush()
        conversation_reflection = Reflection(
            practice_id=world.practice.id, client_id=world.client.id, conversation=conversation,
            energy=energy, fit=fit, insights=f"insight {energy}",
            shared_at=datetime.now(UTC) if shared else None,
        )  # fmt: skip
        db.add(conversation_reflection)
    db.commit()
    mine = {s.theme.id: s for s in synthesis.synthesis(Scope(db, world.client.user), world.client.id)}[
        theme.id
    ]
    coachs = {s.theme.id: s for s in synthesis.synthesis(Scope(db, world.coach), world.client.id)}[theme.id]
    assert (mine.held, mine.average_energy, mine.average_fit) == (2, 0.0, 3.0)
    assert (coachs.held, coachs.average_energy, coachs.average_fit) == (2, 2.0, 5.0)
    assert [i for _, i in coachs.insights] == ["insight 2"]
    page = text(as_user(world.coach).get(f"/clients/{world.client.id}/synthesis"))
    assert "insight 2" in page and "insight -2" not in page


def test_a_decision_changes_the_theme_and_is_logged_with_its_note(world, db, as_user):
    theme = world.client.themes[0]
    as_user(world.client.user).post(
        f"/themes/{theme.id}/decision", data={"decision": "chosen", "note": "It fits"}
    )
    db.refresh(theme)
    assert theme.status == ThemeStatus.CHOSEN
    page = text(as_user(world.coach).get(f"/clients/{world.client.id}/synthesis"))
    assert "It fits" in page and "by Clara Client" in page


def test_goal_progress_counts_this_week_in_the_clients_own_calendar(world, db):
    world.client.user.timezone = "Asia/Tokyo"
    ada, bo = make_contact(db, world.client, "Ada"), make_contact(db, world.client, "Bo")
    db.commit()
    scope = Scope(db, world.client.user)
    goals.set_goal(
        scope, world.client.id, load(GoalSchema(), {"period": "week", "metric": "requests", "target": "4"})
    )
    # Sunday 29 Nov 2026, 15:30 UTC is already Monday 30 Nov in Tokyo: the new week.
    for contact, at in (
        (ada, datetime(2026, 11, 29, 15, 30, tzinfo=UTC)),
        (bo, datetime(2026, 11, 29, 14, 0, tzinfo=UTC)),
    ):
        db.add(StageChange(practice_id=world.practice.id, client_id=world.client.id, contact_id=contact.id,
                           from_stage=Stage.IDENTIFIED, to_stage=Stage.REQUESTED, at=at))  # fmt: skip
    db.commit()
    rows = goals.progress(scope, world.client.id, today=date(2026, 12, 2))
    week = next(r for r in rows if (r.period, r.metric) == (GoalPeriod.WEEK, GoalMetric.REQUESTS))
    assert (week.target, week.done, week.start) == (4, 1, date(2026, 11, 30))
    quarter = next(r for r in rows if (r.period, r.metric) == (GoalPeriod.QUARTER, GoalMetric.REQUESTS))
    assert (quarter.done, quarter.start, quarter.end) == (2, date(2026, 10, 1), date(2027, 1, 1))


def test_a_coach_suggests_a_goal_the_client_sees_on_their_home(world, db, as_user):
    as_user(world.coach).post(
        f"/clients/{world.client.id}/goals",
        data={"period": "quarter", "metric": "conversations", "target": "6"},
    )
    page = text(as_user(world.client.user).get("/me/"))
    assert "of 6" in page and "Conversations held" in page


@pytest.mark.parametrize(
    "url", ["/clients/{client}/conversations", "/clients/{client}/synthesis", "/banks/", "/me/"]
)
def test_pages_run_the_same_number_of_queries_for_few_or_many_conversations(world, db, as_user, engine, url):
    from .test_caseload import count_queries

    theme = world.client.themes[0]
    for conversation in db.scalars(select(Conversation).where(Conversation.client_id == world.client.id)):
        conversation.theme = theme  # so "few" loads themes too: the count is about how many
    db.commit()
    browser = as_user(world.client.user)
    target = url.format(client=world.client.id)
    browser.get(target)
    with count_queries() as few:
        assert browser.get(target).status_code == 200
    for i in range(12):
        conversation = make_conversation(
            db, make_contact(db, world.client, f"Person {i}"), shared_reflection=i % 2 == 0
        )
        conversation.theme = theme
        make_bank(db, world.coach, f"Bank {i}")
    db.commit()
    with count_queries() as many:
        assert browser.get(target).status_code == 200
    assert few, "no statement was seen: the count would prove nothing"
    assert len(many) == len(few), "\n".join(many)


def test_saving_a_reflection_again_does_not_add_its_referrals_twice(world, db, as_user):
    contact = make_contact(db, world.client, "Ada", "Vogue")
    conversation = make_conversation(db, contact)
    db.commit()
    browser = as_user(world.client.user)
    reflect(browser, conversation, referrals="Dee Dale, Acme")
    reflect(browser, conversation, referrals="dee dale, Acme\nEve East")
    names = sorted(c.name for c in db.query(Contact).filter_by(referred_by_id=contact.id))
    assert names == ["Dee Dale", "Eve East"]


def test_no_particular_theme_means_none_and_a_reschedule_can_set_one_and_revive_a_cancelled_one(
    world, db, as_user
):
    theme = world.client.themes[0]
    contact = make_contact(db, world.client, "Ada", themes=[theme])
    db.commit()
    browser = as_user(world.client.user)
    schedule(browser, contact, theme_id="")
    conversation = db.query(Conversation).filter_by(contact_id=contact.id).one()
    assert conversation.theme_id is None
    browser.post(f"/conversations/{conversation.id}/cancel")
    browser.post(
        f"/conversations/{conversation.id}/reschedule",
        data={"starts_at": "2027-12-03T10:00", "minutes": "20", "medium": "video", "theme_id": str(theme.id)},
    )
    db.refresh(conversation)
    assert (conversation.theme_id, conversation.status.value, conversation.sequence) == (
        theme.id,
        "scheduled",
        2,
    )


def test_the_calendar_file_name_is_safe_whatever_the_contacts_name(world, db, as_user):
    contact = make_contact(db, world.client, 'Łukasz "Luke" Nowak')
    conversation = make_conversation(db, contact)
    db.commit()
    response = as_user(world.client.user).get(f"/conversations/{conversation.id}/calendar.ics")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and '"Luke"' not in disposition
    assert "conversation-" in disposition and ".ics" in disposition


def test_a_goal_of_zero_removes_it(world, db, as_user):
    browser = as_user(world.client.user)
    browser.post(
        f"/clients/{world.client.id}/goals", data={"period": "week", "metric": "requests", "target": "3"}
    )
    assert text(browser.get("/me/")).count("(no goal)") == 5
    response = browser.post(
        f"/clients/{world.client.id}/goals",
        data={"period": "week", "metric": "requests", "target": "0"},
        follow_redirects=True,
    )
    assert "Goal removed." in text(response)
    assert text(browser.get("/me/")).count("(no goal)") == 6


def test_the_coach_sees_the_clients_goals_on_the_client_overview(world, db, as_user):
    as_user(world.client.user).post(
        f"/clients/{world.client.id}/goals", data={"period": "week", "metric": "thank_yous", "target": "2"}
    )
    page = text(as_user(world.coach).get(f"/coach/clients/{world.client.id}"))
    assert "Thank-yous sent" in page and "of 2" in page


def test_only_the_client_records_held_or_cancelled_and_a_held_one_cannot_be_cancelled(world, db, as_user):
    contact = make_contact(db, world.client, "Ada")
    conversation = make_conversation(db, contact)
    db.commit()
    assert as_user(world.coach).post(f"/conversations/{conversation.id}/cancel").status_code == 403
    response = as_user(world.client.user).post(
        f"/conversations/{conversation.id}/cancel", follow_redirects=True
    )
    assert response.status_code == 422 and "already happened" in text(response)
    db.refresh(conversation)
    assert conversation.status.value == "held"


def test_a_decision_and_its_log_entry_are_saved_together(world, db):
    from crossroads.core.errors import InvalidInput

    for title in ("Two", "Three"):
        make_contact(db, world.client, title)  # unrelated rows, to show nothing else changes
    theme_two = synthesis_theme(db, world, "Two")
    synthesis_theme(db, world, "Three")
    parked = synthesis_theme(db, world, "Parked", status=ThemeStatus.PARKED)
    db.commit()
    with pytest.raises(InvalidInput):  # a fourth active theme: refused, and no log entry either
        synthesis.decide(
            Scope(db, world.client.user), parked.id, {"decision": ThemeStatus.EXPLORING, "note": "x"}
        )
    db.rollback()
    from crossroads.core.models import ThemeDecision

    assert db.query(ThemeDecision).count() == 0
    assert theme_two.status == ThemeStatus.EXPLORING


def synthesis_theme(db, world, title, status=ThemeStatus.EXPLORING):
    from crossroads.core.models import CareerTheme

    theme = CareerTheme(practice_id=world.practice.id, client=world.client, title=title, status=status)
    db.add(theme)
    db.flush()
    return theme


def test_scheduling_a_time_that_has_passed_asks_then_records_a_held_conversation(world, db, as_user):
    contact = make_contact(db, world.client, "Ada", stage=Stage.REPLIED)
    db.commit()
    browser = as_user(world.client.user)
    asked = schedule(browser, contact, starts_at="2020-03-02T10:00", location="Café Nero")
    assert asked.status_code == 422
    page = text(asked)
    assert "That time has passed — record a conversation that already happened?" in page
    assert 'value="2020-03-02T10:00"' in page and 'value="Café Nero"' in page
    assert 'name="already_happened"' in page
    assert db.query(Conversation).filter_by(contact_id=contact.id).count() == 0
    by_coach = schedule(as_user(world.coach), contact, starts_at="2020-03-02T10:00", already_happened="1")
    assert by_coach.status_code == 422 and 'name="already_happened"' not in text(by_coach)  # the client's say
    recorded = schedule(browser, contact, starts_at="2020-03-02T10:00", already_happened="1")
    conversation = db.query(Conversation).filter_by(contact_id=contact.id).one()
    assert recorded.location.endswith(f"/conversations/{conversation.id}/reflection")
    assert conversation.status.value == "held"
    assert conversation.held_at == conversation.starts_at == datetime(2020, 3, 2, 10, 0, tzinfo=UTC)
    db.refresh(contact)
    assert contact.stage == Stage.TALKED


def test_a_conversation_cannot_be_held_before_it_starts_nor_count_toward_the_week(world, db, as_user):
    from crossroads.core.errors import InvalidInput

    contact = make_contact(db, world.client, "Ada", stage=Stage.SCHEDULED)
    conversation = make_conversation(db, contact, starts_at=datetime.now(UTC) + timedelta(days=2))
    conversation.status, conversation.held_at = "scheduled", None
    db.commit()
    scope = Scope(db, world.client.user)
    goal = {"period": "week", "metric": "conversations", "target": "1"}
    goals.set_goal(scope, world.client.id, load(GoalSchema(), goal))
    with pytest.raises(InvalidInput) as refused:
        conversations.mark_held(scope, conversation.id)
    assert "has not started yet" in refused.value.errors["held_at"][0]
    db.rollback()
    browser = as_user(world.client.user)
    response = browser.post(f"/conversations/{conversation.id}/held", follow_redirects=True)
    assert "has not started yet" in text(response)
    db.refresh(conversation)
    assert (conversation.status.value, conversation.held_at) == ("scheduled", None)
    week = next(r for r in goals.progress(scope, world.client.id) if r.period == GoalPeriod.WEEK)
    assert week.done == 0


def test_a_scheduled_conversation_whose_time_has_passed_shows_as_to_record(world, db, as_user):
    contact = make_contact(db, world.client, "Ada", stage=Stage.SCHEDULED)
    conversation = make_conversation(db, contact, starts_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    conversation.status, conversation.held_at = "scheduled", None
    db.commit()
    page = text(as_user(world.client.user).get(f"/clients/{world.client.id}/conversations"))
    assert ">to record<" in page and ">scheduled<" not in page
    assert "Did it happen?" in text(as_user(world.client.user).get(f"/conversations/{conversation.id}"))


def test_rescheduling_into_the_past_is_refused_by_name(world, db, as_user):
    contact = make_contact(db, world.client, "Ada")
    db.commit()
    browser = as_user(world.client.user)
    schedule(browser, contact)
    conversation = db.query(Conversation).filter_by(contact_id=contact.id).one()
    response = browser.post(
        f"/conversations/{conversation.id}/reschedule",
        data={"starts_at": "2021-01-04T10:00", "minutes": "20", "medium": "video"},
    )
    assert response.status_code == 422 and "That time has passed" in text(response)
    db.refresh(conversation)
    assert conversation.starts_at == datetime(2027, 12, 1, 9, 0, tzinfo=UTC)
