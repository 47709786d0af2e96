"""A client's conversation from scheduling to a shared reflection, and what her coach sees of it.

Clara schedules a conversation with a contact who has replied, prepares it (questions from the
starter bank and one of her own, goals, pitch, the calendar file), holds it in the timed view
with notes saved as she types (and kept on screen when the connection drops), reflects and
shares the reflection. A second reflection stays private. Colin, her coach, sees and comments
on the shared one, and sees that the private one has not been shared.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from crossroads.core.models import Conversation, Stage
from crossroads.testing import PASSWORD, make_contact, make_conversation

from .conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

CONTACT = "Maya Lindqvist"
PRIVATE_CONTACT = "Pavel Novak"
THEME = "Magazine editing"
STARTER = "Crossroads starter bank"
BANK_QUESTIONS = [
    (
        "Day-to-day responsibilities",
        "Could you walk me through your last ordinary workday, from the first thing you did to the last?",
    ),
    (
        "Skills and qualifications",
        "Which skill has mattered most in your work that you never saw in a job description?",
    ),
    (
        "Industry and company insights",
        "What is something about this field that people on the outside usually get wrong?",
    ),
]
OWN_QUESTION = "How does a features editor decide which pitch gets a yes?"
SPARE_QUESTIONS = ["What would you tell a newcomer on their first day?", "What do you read for pleasure?"]
GOALS = "Learn what a features editor's week looks like, and whether freelancing first is usual."
LIKELY = "Q: Why leave teaching?\nA: I want to shape stories, not only teach them."
LINK = "https://meet.example/maya-clara"
FIRST_NOTE = "Mornings are pitches and edits; afternoons are meetings."
OFFLINE_NOTE = " Fridays are for long reads."
SHARED_INSIGHT = "Editing is mostly negotiation: with writers, with space, with deadlines."
LESS_SHINY = "Weekend deadlines twice a month, and pay is lower than teaching at first."
PRIVATE_INSIGHT = "I was nervous the whole time; I am not sure this is for me."
COMMENT = "Good noticing on the negotiation side. Which part of it drew you in?"


def notice(page: Page):
    return page.locator(".notices")


def prep_warning(page: Page):
    return page.locator("#questions .warning")


def test_a_conversation_from_scheduling_to_a_shared_reflection(page: Page, new_page, server, world, db):
    clara = world.client
    theme = next(t for t in clara.themes if t.title == THEME)
    contact = make_contact(db, clara, CONTACT, "Harbour Quarterly", "Features editor", stage=Stage.REPLIED)
    past = make_contact(db, clara, PRIVATE_CONTACT, "City Weekly", "Sub-editor", stage=Stage.TALKED)
    private = make_conversation(db, past, starts_at=datetime.now(UTC) - timedelta(days=2))
    private.theme = theme
    db.commit()
    contact_id, private_id, clara_id = contact.id, private.id, clara.id

    # Clara's clock is under the test's control, so the 20-minute timer takes no 20 minutes.
    page.clock.install()

    # -- scheduling, from the contact's page --------------------------------------------------
    sign_in(page, clara.user.email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Clara Client")
    page.get_by_role("navigation", name="Clara Client's workspace").get_by_role(
        "link", name="Contacts"
    ).click()
    page.get_by_role("link", name=CONTACT, exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(CONTACT)
    expect(page).to_have_url(re.compile(rf"/contacts/{contact_id}$"))
    page.get_by_role("link", name="Schedule a conversation").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Schedule a conversation with {CONTACT}")
    expect(page.get_by_text("In your time zone, Europe/London.")).to_be_visible()
    minutes = page.get_by_role("spinbutton", name="Length in minutes")
    expect(minutes).to_have_value("20")
    london = ZoneInfo("Europe/London")
    starts = (datetime.now(london) + timedelta(days=3)).replace(hour=14, minute=30, second=0, microsecond=0)
    page.get_by_label("Date and time").fill(starts.strftime("%Y-%m-%dT%H:%M"))
    minutes.fill("20")
    page.get_by_role("combobox", name="How").select_option(label="Video call")
    page.get_by_role("textbox", name="Link or place").fill(LINK)
    page.get_by_role("combobox", name="Theme").select_option(label=THEME)
    page.get_by_role("button", name="Schedule").click()

    # -- the prep sheet -----------------------------------------------------------------------
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Conversation with {CONTACT}")
    expect(notice(page)).to_contain_text(f"Conversation with {CONTACT} scheduled. Prepare it here.")
    conversation_id = int(re.search(r"/conversations/(\d+)$", page.url).group(1))
    lead = page.locator("p.lead")
    expect(lead).to_contain_text(starts.strftime("%A %d %B %Y, 14:30"))
    expect(lead).to_contain_text(f"20 minutes, Video call: {LINK}")
    expect(lead).to_contain_text(f"theme: {THEME}")
    expect(lead.locator(".badge")).to_have_text("scheduled")
    expect(page.get_by_text("No questions yet.")).to_be_visible()
    expect(prep_warning(page)).to_have_text("0 questions so far: three to five fit a 20-minute conversation.")

    bank_select = page.get_by_role("combobox", name="From a question bank")
    questions = page.locator("ol.prep-questions > li")
    add = page.get_by_role("button", name="Add question")
    for count, (category, text) in enumerate(BANK_QUESTIONS, start=1):
        group = bank_select.locator(f'optgroup[label="{STARTER} · {category}"]')
        expect(group.locator("option", has_text=text)).to_have_count(1)
        bank_select.select_option(label=text)
        add.click()
        expect(questions).to_have_count(count)
        expect(questions.nth(count - 1)).to_contain_text(text)
        expect(questions.nth(count - 1).locator(".tag")).to_have_text(category)
        if count < 3:
            expect(prep_warning(page)).to_have_text(
                f"{count} question{'s' if count > 1 else ''} so far: "
                "three to five fit a 20-minute conversation."
            )
        else:
            expect(prep_warning(page)).to_have_count(0)
    page.get_by_role("textbox", name="Or write your own").fill(OWN_QUESTION)
    add.click()
    expect(questions).to_have_count(4)
    expect(questions.nth(3)).to_have_text(re.compile(rf"^\s*{re.escape(OWN_QUESTION)}\s+remove\s*$"))
    expect(prep_warning(page)).to_have_count(0)

    # Past five, the gentle warning comes back; removing the extras quiets it again.
    for text in SPARE_QUESTIONS:
        page.get_by_role("textbox", name="Or write your own").fill(text)
        add.click()
        expect(questions.last).to_contain_text(text)
    expect(questions).to_have_count(6)
    expect(prep_warning(page)).to_have_text(
        "6 questions: more than five rarely fit. Mark the ones you would drop if time runs short."
    )
    for text in SPARE_QUESTIONS:
        questions.filter(has_text=text).get_by_role("button", name="remove").click()
        expect(notice(page)).to_contain_text(f"Removed “{text}”.")
    expect(questions).to_have_count(4)
    expect(prep_warning(page)).to_have_count(0)

    pitch = page.get_by_role("textbox", name="Who I am and why I'm interested")
    expect(pitch).to_have_value(re.compile("I'm not looking for a job"))
    page.get_by_role("textbox", name="What I want from this conversation").fill(GOALS)
    pitch.fill(
        "I teach English and have edited our school magazine for six years. I'm exploring magazine "
        "editing and would love to hear how it looks from the inside. I'm not looking for a job."
    )
    page.get_by_role("textbox", name="Questions they may ask me").fill(LIKELY)
    page.get_by_role("button", name="Save prep sheet").click()
    expect(notice(page)).to_contain_text("Prep sheet saved.")
    expect(page.get_by_role("textbox", name="What I want from this conversation")).to_have_value(GOALS)
    expect(page.get_by_role("textbox", name="Questions they may ask me")).to_have_value(LIKELY)
    page.get_by_role("heading", level=1).click()  # no focus ring in the docs picture
    screenshot(page, "conversation-prep")

    # The calendar file: one event, published, at the agreed time in UTC.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to my calendar (.ics)").click()
    download = download_info.value
    assert download.suggested_filename == "conversation-maya-lindqvist.ics"
    ics = download.path().read_text(encoding="utf-8")
    assert "BEGIN:VCALENDAR" in ics
    assert "METHOD:PUBLISH" in ics
    assert ics.count("BEGIN:VEVENT") == 1
    assert f"DTSTART:{starts.astimezone(UTC):%Y%m%dT%H%M%S}Z" in ics
    assert f"DTEND:{(starts + timedelta(minutes=20)).astimezone(UTC):%Y%m%dT%H%M%S}Z" in ics
    assert f"LOCATION:{LINK}" in ics
    assert f"SUMMARY:Conversation with {CONTACT}" in ics

    # -- the timed conversation view -------------------------------------------------------------
    page.get_by_role("link", name="Start the conversation").click()
    expect(page).to_have_url(re.compile(rf"/conversations/{conversation_id}/live$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(CONTACT)
    time_left = page.get_by_role("status", name="Time left")
    time_up = page.locator("#time-up")
    expect(time_left).to_have_text("20:00")
    expect(time_up).to_have_attribute("hidden", "")  # on the page, not yet shown
    notes = page.locator("ol.live-questions > li")
    expect(notes).to_have_count(4)
    for index, (_category, text) in enumerate(BANK_QUESTIONS):
        expect(notes.nth(index).locator("label")).to_have_text(text)
    expect(notes.nth(3).locator("label")).to_have_text(OWN_QUESTION)

    page.get_by_role("button", name="Start timer").click()
    expect(page.get_by_role("button", name="Timer running")).to_be_disabled()
    page.clock.fast_forward("01:00")
    expect(time_left).to_have_text(re.compile(r"^(19:00|18:5\d)$"))

    first_note = page.get_by_role("textbox", name=BANK_QUESTIONS[0][1])
    first_state = notes.nth(0).locator(".save-state")
    first_note.fill(FIRST_NOTE)
    expect(first_state).to_have_text("Saved")
    page.get_by_role("heading", level=1).click()
    screenshot(page, "conversation-live")

    page.clock.fast_forward("19:01")
    expect(time_up).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text(
        "Time is up. Thank them, and ask if it is all right to run over."
    )
    expect(time_left).to_have_text("0:00")

    page.reload()
    expect(page.get_by_role("textbox", name=BANK_QUESTIONS[0][1])).to_have_value(FIRST_NOTE)
    expect(time_up).to_have_attribute("hidden", "")

    # The connection drops: the failed save is announced and the text stays where it was typed.
    save_status = page.locator("#save-status")
    page.context.set_offline(True)
    first_note.fill(FIRST_NOTE + OFFLINE_NOTE)
    expect(first_state).to_have_text("Not saved")
    expect(save_status).to_have_text(
        "Saving failed: your notes are still here. They will be saved when the connection is back."
    )
    expect(first_note).to_have_value(FIRST_NOTE + OFFLINE_NOTE)
    # Back online, the note is saved without another keystroke.
    page.context.set_offline(False)
    expect(first_state).to_have_text("Saved")
    expect(save_status).to_have_text("")
    page.reload()
    expect(first_note).to_have_value(FIRST_NOTE + OFFLINE_NOTE)

    # -- the reflection, shared ---------------------------------------------------------------
    # Marked held only once it has started: let the three days pass.
    db.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(starts_at=datetime.now(UTC) - timedelta(minutes=25))
    )
    db.commit()
    page.get_by_role("button", name="Done: reflect now").click()
    expect(page).to_have_url(re.compile(rf"/conversations/{conversation_id}/reflection$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"After talking with {CONTACT}")
    expect(notice(page)).to_contain_text("Marked as held. Reflect now, while it is fresh;")
    share = page.get_by_role("checkbox", name="Share this reflection with Colin Coach")
    expect(share).not_to_be_checked()  # private by default
    page.get_by_role("radio", name="Energising", exact=True).check()
    page.get_by_role("radio", name="4", exact=True).check()
    page.get_by_role("textbox", name="What surprised you?").fill("How much of the job is saying no kindly.")
    page.get_by_role("textbox", name="The less shiny parts").fill(LESS_SHINY)
    page.get_by_role("textbox", name="Key insights").fill(SHARED_INSIGHT)
    page.get_by_role("textbox", name="Next steps").fill("Pitch one short piece to City Weekly.")
    share.check()
    page.get_by_role("button", name="Save reflection").click()
    expect(notice(page)).to_contain_text("Reflection saved and shared with your coach.")
    expect(share).to_be_checked()
    expect(page.get_by_role("radio", name="Energising", exact=True)).to_be_checked()
    expect(page.get_by_role("radio", name="4", exact=True)).to_be_checked()
    expect(page.get_by_role("textbox", name="Key insights")).to_have_value(SHARED_INSIGHT)
    expect(page.get_by_role("heading", name="Comments")).to_be_visible()
    expect(page.get_by_text("No comments yet.")).to_be_visible()

    # -- a second reflection, kept private ------------------------------------------------------
    page.goto(f"/conversations/{private_id}/reflection")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"After talking with {PRIVATE_CONTACT}")
    expect(share).not_to_be_checked()
    page.get_by_role("radio", name="Draining", exact=True).check()
    page.get_by_role("radio", name="2", exact=True).check()
    page.get_by_role("textbox", name="Key insights").fill(PRIVATE_INSIGHT)
    page.get_by_role("button", name="Save reflection").click()
    expect(notice(page)).to_contain_text("Reflection saved. Only you can see it.")
    expect(share).not_to_be_checked()
    expect(page.get_by_role("heading", name="Comments")).to_have_count(0)

    page.get_by_role("navigation", name="Clara Client's workspace").get_by_role(
        "link", name="Conversations"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your conversations")
    shared_row = page.get_by_role("row").filter(has_text=CONTACT)
    private_row = page.get_by_role("row").filter(has_text=PRIVATE_CONTACT)
    expect(shared_row).to_contain_text("Energising, fit 4/5")
    expect(shared_row.locator("td").last).to_contain_text("shared")
    expect(private_row).to_contain_text("Draining, fit 2/5")
    expect(private_row.locator("td").last).to_contain_text("private")

    # -- the coach sees the shared reflection, and not the private one ---------------------------
    coach = new_page()
    sign_in(coach, world.coach.email, PASSWORD)
    expect(coach.get_by_role("heading", level=1)).to_have_text("Your caseload")
    coach.get_by_role("link", name="Clara Client", exact=True).click()
    expect(coach.get_by_role("heading", level=1)).to_have_text("Clara Client")
    workspace = coach.get_by_role("navigation", name="Clara Client's workspace")
    workspace.get_by_role("link", name="Conversations").click()
    expect(coach.get_by_role("heading", level=1)).to_have_text("Clara Client: conversations")
    coach_shared_row = coach.get_by_role("row").filter(has_text=CONTACT)
    coach_private_row = coach.get_by_role("row").filter(has_text=PRIVATE_CONTACT)
    expect(coach_shared_row.locator("td").last).not_to_contain_text("shared")
    expect(coach_private_row.locator("td").last).to_have_text("—")
    expect(coach_private_row.get_by_role("link", name=re.compile("fit"))).to_have_count(0)

    # The private one: reachable through its prep sheet, but its reflection is not shown.
    coach_private_row.get_by_role("link").first.click()
    expect(coach.get_by_role("heading", level=1)).to_have_text(f"Conversation with {PRIVATE_CONTACT}")
    coach.get_by_role("link", name="The reflection").click()
    expect(coach).to_have_url(re.compile(rf"/conversations/{private_id}/reflection$"))
    expect(coach.get_by_role("heading", level=1)).to_have_text(f"After talking with {PRIVATE_CONTACT}")
    expect(
        coach.get_by_text(
            "Clara Client has not shared a reflection on this conversation. "
            "Reflections are private until the client shares them."
        )
    ).to_be_visible()
    expect(coach.get_by_text(PRIVATE_INSIGHT)).to_have_count(0)
    expect(coach.get_by_text("Draining", exact=True)).to_have_count(0)
    expect(coach.get_by_role("textbox", name="Your comment")).to_have_count(0)
    expect(coach.get_by_role("button", name="Save reflection")).to_have_count(0)

    # The shared one: its insights and less shiny parts, and a comment.
    workspace.get_by_role("link", name="Conversations").click()
    coach_shared_row.get_by_role("link", name="Energising, fit 4/5").click()
    expect(coach).to_have_url(re.compile(rf"/conversations/{conversation_id}/reflection$"))
    reflection = coach.get_by_role("article")
    expect(reflection.get_by_role("heading", level=2)).to_have_text(re.compile(r"^Shared by Clara Client "))
    expect(reflection).to_contain_text("Energising · fit with the theme 4/5")
    expect(reflection.get_by_role("heading", name="Key insights")).to_be_visible()
    expect(reflection.get_by_text(SHARED_INSIGHT)).to_be_visible()
    expect(reflection.get_by_text(LESS_SHINY)).to_be_visible()
    expect(coach.get_by_role("button", name="Save reflection")).to_have_count(0)
    coach.get_by_role("textbox", name="Your comment").fill(COMMENT)
    coach.get_by_role("button", name="Add comment").click()
    expect(notice(coach)).to_contain_text("Comment added.")
    comments = coach.locator(".comments .comment")
    expect(comments).to_have_count(1)
    expect(comments).to_contain_text("Colin Coach")
    expect(comments).to_contain_text(COMMENT)
    coach.get_by_role("heading", level=1).click()
    screenshot(coach, "conversation-reflection")

    # The coach's synthesis is built from shared reflections only.
    workspace.get_by_role("link", name="Themes side by side").click()
    expect(coach.get_by_role("heading", level=1)).to_have_text("Clara Client: themes side by side")
    coach_column = coach.locator(".theme-column").filter(has=coach.get_by_role("heading", name=THEME))
    expect(coach_column).to_contain_text("2 of 5 conversations held")
    expect(coach_column).to_contain_text("Energy: 1.0")
    expect(coach_column).to_contain_text("Fit: 4.0")
    expect(coach_column).to_contain_text(SHARED_INSIGHT)
    expect(coach_column).not_to_contain_text(PRIVATE_INSIGHT)

    # -- Clara sees the comment, and her themes side by side -------------------------------------
    page.goto(f"/conversations/{conversation_id}/reflection")
    clara_comments = page.locator(".comments .comment")
    expect(clara_comments).to_have_count(1)
    expect(clara_comments).to_contain_text("Colin Coach")
    expect(clara_comments).to_contain_text(COMMENT)
    expect(page.get_by_role("textbox", name="Your comment")).to_have_count(0)

    page.get_by_role("navigation", name="Clara Client's workspace").get_by_role(
        "link", name="Themes side by side"
    ).click()
    expect(page).to_have_url(re.compile(rf"/clients/{clara_id}/synthesis$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your themes side by side")
    column = page.locator(".theme-column").filter(has=page.get_by_role("heading", name=THEME))
    expect(column).to_contain_text("2 of 5 conversations held")
    expect(column).to_contain_text("Energy: 0.0")  # energising and draining
    expect(column).to_contain_text("Fit: 3.0")
    expect(column).to_contain_text(SHARED_INSIGHT)
    expect(column).to_contain_text(PRIVATE_INSIGHT)  # her own view includes what she has not shared
    page.get_by_role("heading", level=1).click()
    screenshot(page, "conversation-synthesis")


def test_at_0_00_the_timer_button_says_time_is_up_and_starts_the_timer_again(page: Page, server, world, db):
    clara = world.client
    contact = make_contact(db, clara, CONTACT, "Harbour Quarterly", "Features editor", stage=Stage.REPLIED)
    conversation = make_conversation(db, contact, starts_at=datetime.now(UTC))
    db.commit()
    conversation_id, minutes = conversation.id, conversation.minutes

    page.clock.install()
    sign_in(page, clara.user.email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Clara Client")
    page.goto(f"/conversations/{conversation_id}/live")
    time_left = page.get_by_role("status", name="Time left")
    time_up = page.locator("#time-up")
    page.get_by_role("button", name="Start timer").click()
    expect(page.get_by_role("button", name="Timer running")).to_be_disabled()

    page.clock.fast_forward(f"{minutes:02d}:01")
    expect(time_left).to_have_text("0:00")
    expect(time_up).to_be_visible()
    # Not "Timer running" at 0:00: the button says the time is up and offers to start again.
    expect(page.get_by_role("button", name="Timer running")).to_have_count(0)
    restart = page.get_by_role("button", name="Time is up: restart timer")
    expect(restart).to_be_enabled()

    restart.click()
    expect(page.get_by_role("button", name="Timer running")).to_be_disabled()
    expect(time_up).to_be_hidden()
    expect(time_left).to_have_text(f"{minutes}:00")
