"""A client drafts a LinkedIn connection note in the real page: the live counter counts as LinkedIn
does, the Copy button warns before copying a note that does not fit, and a note that fits is copied
to the clipboard; then it is saved, handed off with a profile link, and marked sent."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from crossroads.core.models import ContactSource
from crossroads.testing import PASSWORD, make_contact

from .conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

PROFILE = "https://www.linkedin.com/in/sam-okafor"
# 224 characters with one line break (counted once). No emoji here: chromium's screenshot has no emoji font.
TOO_LONG = (
    "Hi Sam,\nMy coach suggested I write. I'm exploring magazine editing and your years as managing "
    "editor at Riverside Press are exactly what I hope to learn from. Could we talk for 20 minutes "
    "next week? Not a job request at all."
)
SHORT = (
    "Hi Sam,\nMy coach suggested I write. I'm exploring magazine editing: could we talk for 20 minutes? 🙂"
)


def clipboard(page: Page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


@pytest.fixture
def sam(world, db):
    contact = make_contact(
        db,
        world.client,
        "Sam Okafor",
        "Riverside Press",
        "Managing Editor",
        source=ContactSource.COACH,
        linkedin_url=PROFILE,
    )
    contact.themes.append(world.client.themes[0])
    db.commit()
    return contact


def test_a_client_drafts_a_connection_note_that_the_counter_and_copy_button_keep_within_200(
    new_page, server, world, sam
):
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    sign_in(page, world.client.email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {world.client.name}")
    expect(page.locator('[data-plugin="linkedin"]')).to_contain_text(
        "LinkedIn: 0 of about 5 personalised notes used this month."
    )

    # Open the contact, write to them, choose LinkedIn's first request: a connection note.
    page.goto(f"/contacts/{sam.id}")
    page.get_by_role("link", name="Write to Sam Okafor").click()
    linkedin = page.locator(".choice").filter(has=page.get_by_role("heading", name="LinkedIn"))
    linkedin.get_by_role("link", name="First request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^First request to Sam Okafor"))
    expect(
        page.get_by_role("navigation", name="Format").get_by_role("link", name="Connection note")
    ).to_have_attribute("aria-current", "page")
    body = page.get_by_role("textbox", name="Message")
    counter = page.locator("#body-counter")
    copy = page.locator("button[data-copy=body]")
    expect(counter).to_contain_text("LinkedIn allows 200 characters in a note on a free account")
    expect(counter.locator("output")).to_contain_text("left)")  # the default draft fits

    # Over the limit: the counter says it does not fit and by how much (the emoji counts as two).
    page.evaluate("navigator.clipboard.writeText('nothing copied yet')")
    body.fill(TOO_LONG)
    expect(counter.locator("output")).to_have_text("224 / 200 characters: 24 over the limit, it does not fit")
    expect(page.locator('#warnings li[data-code="body_too_long"]')).to_contain_text(
        "Does not fit: 24 characters over the 200"
    )
    expect(copy).to_have_text("Too long by 24: copy anyway?")

    # The first click warns instead of copying.
    copy.click()
    expect(copy).to_have_text("It is 24 characters too long. Click again to copy anyway")
    assert clipboard(page) == "nothing copied yet"
    screenshot(page, "linkedin-note")

    # Shortened, it fits: the counter shows what is left and Copy copies at once.
    body.fill(SHORT)
    expect(counter.locator("output")).to_have_text("100 / 200 characters (100 left)")
    expect(copy).to_have_text("Copy message")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert clipboard(page) == SHORT
    expect(page.locator('#warnings li[data-code="body_too_long"]')).to_have_count(0)

    # Saved, it waits for the client: copy it, open Sam's profile, and mark it sent.
    page.get_by_role("button", name="Save: I'll send it myself").click()
    expect(page.locator(".notices")).to_contain_text(
        "Saved. Send it to Sam Okafor yourself, then mark it sent."
    )
    expect(page.locator("p.status")).to_contain_text("Waiting for you to send it")
    expect(page.get_by_role("link", name="Open Sam's LinkedIn profile")).to_have_attribute("href", PROFILE)
    expect(page.get_by_role("button", name="Copy message")).to_be_visible()
    page.get_by_role("button", name="I sent it").click()
    expect(page.locator(".notices")).to_contain_text("Marked as sent.")
    expect(page.locator("p.status")).to_contain_text("Sent")

    page.goto(f"/contacts/{sam.id}")
    expect(page.locator(".badge.stage-requested").first).to_be_visible()
    page.goto("/me/")
    expect(page.locator('[data-plugin="linkedin"]')).to_contain_text(
        "LinkedIn: 1 of about 5 personalised notes used this month."
    )
