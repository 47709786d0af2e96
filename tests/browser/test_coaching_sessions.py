"""A coaching session end to end: the coach schedules it, opens the drafted agenda, writes private
notes and a shared summary with two action items; the client sees the summary and the actions in
their due list and ticks one off; the coach's caseload and the client's report show one done, one
open. The pages are photographed for the user guide."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from crossroads.core.db import utcnow
from crossroads.testing import PASSWORD

from .conftest import screenshot, sign_in, sign_out

pytestmark = pytest.mark.browser

FIRST = "Write to three people in policy analysis"
SECOND = "Read two job ads in magazine editing"
PRIVATE = "Energy drops when she talks about policy work."
SUMMARY = "We agreed on two small steps for this week."


def test_a_coach_runs_a_session_and_the_client_ticks_off_an_action(page: Page, server, world):
    coach, client = world.coach, world.client
    zone = ZoneInfo(coach.timezone)
    soon = utcnow().astimezone(zone) + timedelta(hours=1)
    today = utcnow().astimezone(ZoneInfo(client.timezone)).date().isoformat()

    # The coach schedules a session from the client's "Sessions" tab.
    sign_in(page, coach.email, PASSWORD)
    page.goto(f"/coach/clients/{client.id}")
    page.get_by_role("navigation", name=f"{client.name}'s workspace").get_by_role(
        "link", name="Sessions"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sessions with {client.name}")
    page.get_by_label("Starts").fill(soon.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Minutes").fill("45")
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_role("status")).to_contain_text(f"Session with {client.name} scheduled")

    # The drafted agenda.
    expect(page.get_by_role("heading", name="Drafted agenda")).to_be_visible()
    agenda = page.locator(".agenda")
    for part in ("replies", "conversations", "reflections", "overdue", "themes", "goals"):
        expect(agenda.locator(f'[data-part="{part}"]')).to_be_visible()

    # Private notes and a shared summary, then two action items for the client.
    page.get_by_label("Private notes").fill(PRIVATE)
    page.get_by_label(f"Summary for {client.name}").fill(SUMMARY)
    page.get_by_label(f"Share the summary with {client.name}").check()
    page.get_by_label("The session was held").check()
    page.get_by_role("button", name="Save notes").click()
    expect(page.get_by_role("status")).to_contain_text(f"The summary is shared with {client.name}")
    for text in (FIRST, SECOND):
        page.locator("#action-text").fill(text)
        page.locator("#action-due_on").fill(today)
        page.get_by_role("button", name="Add the action").click()
        expect(page.get_by_role("status")).to_contain_text("Action added")
    expect(page.locator(".action-items li")).to_have_count(2)
    screenshot(page, "coaching-session")
    sign_out(page)

    # The client: the summary on their home page, the actions in their due list; one ticked off.
    sign_in(page, client.user.email, PASSWORD)
    expect(page.get_by_text(SUMMARY)).to_be_visible()
    expect(page.get_by_text(PRIVATE)).to_have_count(0)
    due = page.locator(".due-list")
    expect(due.locator('[data-kind="coaching_action"]')).to_have_count(2)
    due.locator("li", has_text=FIRST).get_by_role("button", name="Done").click()
    expect(page.get_by_role("status")).to_contain_text(f"Done: {FIRST}")
    expect(due.locator('[data-kind="coaching_action"]')).to_have_count(1)
    expect(due.get_by_text(SECOND)).to_be_visible()
    screenshot(page, "coaching-client-home")
    sign_out(page)

    # The coach's caseload and the client's report: one done, one open.
    sign_in(page, coach.email, PASSWORD)
    page.goto("/coach/")
    row = page.locator("table.caseload tr", has_text=client.name)
    expect(row.locator('td[data-column="coaching_actions"]')).to_have_text("1 open, 1 done")
    page.goto(f"/plugins/progress_report/clients/{client.id}/report")
    section = page.locator('section[data-section="actions_done_on_time"]')
    expect(section).to_contain_text("1 done, 1 open")
    expect(section.locator("tr", has_text=FIRST)).to_contain_text("done on time")
    expect(section.locator("tr", has_text=SECOND)).to_contain_text("open")
    expect(page).to_have_url(re.compile(rf"/clients/{client.id}/report$"))
