"""An invitation from coach to client to first login, through the real pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from crossroads.testing import PASSWORD

from .conftest import screenshot, sign_in, sign_out

pytestmark = pytest.mark.browser

NEW_NAME = "Nadia Newcomer"
NEW_EMAIL = "nadia@newcomer.example"
NEW_PASSWORD = "a lantern by the quiet harbour"
THEME = "Science communication"


def test_invitation_from_coach_to_first_login(page: Page, server, world):
    # The coach invites a client.
    sign_in(page, world.coach.email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your caseload")
    page.get_by_role("link", name="Invite a client").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite a client")
    page.get_by_role("textbox", name="Name", exact=True).fill(NEW_NAME)
    page.get_by_role("textbox", name="Email", exact=True).fill(NEW_EMAIL)
    page.get_by_role("heading", level=1).click()  # no focus ring in the docs picture
    screenshot(page, "invite")
    page.get_by_role("button", name="Invite").click()

    # Back on the caseload (the same answer for any address), the notice shows the link to pass on.
    expect(page.get_by_role("heading", level=1)).to_have_text("Your caseload")
    notice = page.get_by_role("status")
    expect(notice).to_contain_text(f"{NEW_NAME} is invited.")
    link_field = page.get_by_test_id("notice-link")
    expect(link_field).to_be_visible()
    expect(link_field).to_have_value(re.compile(r"^http://localhost:\d+/invitation/\S+$"))
    link = link_field.input_value()
    assert link.startswith(server.url + "/invitation/")

    # The caseload lists the newcomer as invited; their page says they have not accepted.
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=NEW_NAME))
    expect(row.locator(".badge-invited")).to_have_text("invited")
    row.get_by_role("link", name=NEW_NAME).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(NEW_NAME)
    expect(page.get_by_text(f"{NEW_NAME} has not accepted the invitation yet.")).to_be_visible()

    sign_out(page)

    # The client opens the link and sets a password.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome to Northbridge Coaching, {NEW_NAME}")
    expect(page.get_by_text("Colin Coach invited you.")).to_be_visible()
    expect(page.get_by_text(f"Signing in as {NEW_EMAIL}.")).to_be_visible()
    page.get_by_role("textbox", name="New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("textbox", name="The same password again", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password and sign in").click()

    # Straight into the workspace, signed in.
    expect(page).to_have_url(re.compile(r"/me/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {NEW_NAME}")
    expect(page.get_by_role("status")).to_contain_text(f"Welcome, {NEW_NAME}. Your password is set.")
    expect(page.get_by_text("Your coach is Colin Coach.")).to_be_visible()
    expect(page.get_by_text("No themes yet.")).to_be_visible()

    # A first career theme.
    page.get_by_text("Add a theme", exact=True).click()
    add_form = page.locator("details.add-theme")
    add_form.get_by_role("textbox", name="Title", exact=True).fill(THEME)
    add_form.get_by_role("textbox", name="What draws you to it", exact=True).fill(
        "Explaining research to people outside the lab."
    )
    add_form.get_by_role("spinbutton", name="Target number of conversations").fill("4")
    add_form.get_by_role("button", name="Add theme").click()

    expect(page.get_by_role("status")).to_contain_text(f"Added the theme “{THEME}”.")
    card = page.locator(".theme-card").filter(has=page.get_by_role("heading", name=THEME))
    expect(card).to_be_visible()
    expect(card).to_contain_text("Explaining research to people outside the lab.")
    expect(card).to_contain_text("Target: 4 conversations")
    expect(page.get_by_role("heading", name="Career themes")).to_contain_text("(1 of 3 active)")
    screenshot(page, "client-home")

    # Sign out, and back in with the new password.
    sign_out(page)
    sign_in(page, NEW_EMAIL, NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/me/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {NEW_NAME}")
    expect(page.get_by_role("heading", name=THEME)).to_be_visible()

    # The link was spent when the password was set.
    sign_out(page)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Link not usable")
    expect(page.get_by_text("This link has expired or has already been used.")).to_be_visible()
    expect(page.get_by_role("textbox", name="New password", exact=True)).to_have_count(0)


def test_a_spent_invitation_link_is_refused_in_another_browser(page: Page, new_page, server, world):
    """The client sets a password from the link; the same link opened in a second browser is refused."""
    sign_in(page, world.coach.email, PASSWORD)
    page.goto("/coach/invite")
    page.get_by_role("textbox", name="Name", exact=True).fill(NEW_NAME)
    page.get_by_role("textbox", name="Email", exact=True).fill(NEW_EMAIL)
    page.get_by_role("button", name="Invite").click()
    link = page.get_by_test_id("notice-link").input_value()
    page.get_by_role("link", name=NEW_NAME).first.click()
    expect(page.get_by_text(f"{NEW_NAME} has not accepted the invitation yet.")).to_be_visible()

    client_page = new_page()
    client_page.goto(link)
    client_page.get_by_role("textbox", name="New password", exact=True).fill(NEW_PASSWORD)
    client_page.get_by_role("textbox", name="The same password again", exact=True).fill(NEW_PASSWORD)
    client_page.get_by_role("button", name="Set password and sign in").click()
    expect(client_page.get_by_role("heading", level=1)).to_have_text(f"Hello, {NEW_NAME}")

    second = new_page()
    response = second.goto(link)
    assert response is not None and response.status == 404
    expect(second.get_by_role("heading", level=1)).to_have_text("Link not usable")
    expect(second.get_by_role("textbox", name="New password", exact=True)).to_have_count(0)

    # The coach's view now shows the client as having accepted.
    page.reload()
    expect(page.get_by_text(f"{NEW_NAME} has not accepted the invitation yet.")).to_have_count(0)


def test_a_theme_added_without_a_target_gets_the_default_of_five(page: Page, server, world):
    sign_in(page, world.client.email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Clara Client")
    page.get_by_text("Add a theme", exact=True).click()
    add_form = page.locator("details.add-theme")
    add_form.get_by_role("textbox", name="Title", exact=True).fill(THEME)
    add_form.get_by_role("button", name="Add theme").click()

    expect(page.get_by_role("status")).to_contain_text(f"Added the theme “{THEME}”.", timeout=3_000)
    card = page.locator(".theme-card").filter(has=page.get_by_role("heading", name=THEME))
    expect(card).to_contain_text("Target: 5 conversations")


def test_the_theme_target_field_offers_five_and_limits_to_one_to_fifty(page: Page, server, world):
    sign_in(page, world.client.email, PASSWORD)
    page.get_by_text("Add a theme", exact=True).click()
    add_form = page.locator("details.add-theme")
    target = add_form.get_by_role("spinbutton", name="Target number of conversations")
    expect(target).to_be_visible()
    expect(target).to_have_attribute("placeholder", "5", timeout=2_000)
    expect(target).to_have_attribute("min", "1", timeout=2_000)
    expect(target).to_have_attribute("max", "50", timeout=2_000)
