"""A coach signs in through the login form and works from their caseload, on a desktop and a phone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from crossroads.core import demo
from crossroads.core.db import utcnow
from crossroads.core.models import Stage
from crossroads.core.scoping import Scope
from crossroads.core.services import contacts
from crossroads.testing import PASSWORD, make_contact

from .conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


def caseload_row(page: Page, name: str):
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))


def test_coach_signs_in_and_sees_only_their_clients(page: Page, server, world):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    screenshot(page, "login")

    sign_in(page, world.coach.email, PASSWORD)

    expect(page).to_have_url(re.compile(r"/coach/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your caseload")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Colin Coach")).to_be_visible()
    expect(nav.get_by_role("button", name="Sign out")).to_be_visible()

    table = page.get_by_role("table")
    expect(table.get_by_role("caption")).to_have_text("1–2 of 2 clients")
    expect(caseload_row(page, "Clara Client")).to_contain_text("Magazine editing")
    expect(caseload_row(page, "Otto Other")).to_contain_text("Urban planning")
    # Another practice's client, and a colleague's client, are not on this coach's caseload.
    expect(page.get_by_text("Bea Beyond")).to_have_count(0)
    expect(page.get_by_text("Systems analysis")).to_have_count(0)
    expect(page.get_by_text("Ola Owned")).to_have_count(0)

    # The session rides on a Secure, HttpOnly cookie, and it works: a reload stays signed in.
    cookies = page.context.cookies()
    session_cookie = next(c for c in cookies if c["name"] == "session")
    assert session_cookie["secure"] and session_cookie["httpOnly"]
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your caseload")


def test_wrong_password_keeps_the_coach_on_the_login_form(page: Page, server, world):
    sign_in(page, world.coach.email, "not the password at all")

    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator(".field-error")).to_be_visible()
    expect(page.get_by_role("textbox", name="Email", exact=True)).to_have_value(world.coach.email)
    expect(page.get_by_role("textbox", name="Password", exact=True)).to_have_value("")
    expect(page.get_by_role("navigation", name="Main").get_by_role("button", name="Sign out")).to_have_count(
        0
    )


def test_a_login_form_with_a_forged_csrf_token_is_refused(page: Page, server, world):
    page.goto("/login")
    page.locator("input[name=csrf_token]").evaluate("field => { field.value = 'forged' }")
    page.get_by_role("textbox", name="Email", exact=True).fill(world.coach.email)
    page.get_by_role("textbox", name="Password", exact=True).fill(PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as posted:
        page.get_by_role("button", name="Sign in").click()

    assert posted.value.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("Form expired")
    page.goto("/coach/")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_demo_caseload_on_desktop(page: Page, server, db):
    demo.load_demo(db)
    sign_in(page, demo.COACH_EMAIL, demo.DEMO_PASSWORD)

    expect(page.get_by_role("heading", level=1)).to_have_text("Your caseload")
    for name in ("Kenji Watanabe", "Aisha Bello", "Liam O'Connor", "Elena Petrova"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    # The owner's own clients are hers, not on Tom's caseload.
    expect(page.get_by_role("link", name="Priya Raman")).to_have_count(0)
    expect(caseload_row(page, "Liam O'Connor").locator(".badge-invited")).to_have_text("invited")
    expect(page.get_by_role("link", name="Invite a client")).to_be_visible()
    screenshot(page, "caseload")


def test_caseload_is_usable_on_a_phone(phone_page: Page, server, db):
    page = phone_page
    demo.load_demo(db)
    sign_in(page, demo.COACH_EMAIL, demo.DEMO_PASSWORD)

    expect(page.get_by_role("heading", level=1)).to_have_text("Your caseload")
    link = page.get_by_role("link", name="Aisha Bello", exact=True)
    expect(link).to_be_visible()
    expect(link).to_be_in_viewport()
    # Nothing is wider than the phone: no sideways scrolling to reach a column.
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, f"the caseload is {scroll_width}px wide on a 390px screen"
    screenshot(page, "caseload-phone")

    link.tap()

    expect(page).to_have_url(re.compile(r"/coach/clients/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Aisha Bello")
    expect(page.get_by_role("heading", name="Data journalism")).to_be_visible()
    expect(page.get_by_role("link", name="← Caseload")).to_be_visible()


def test_coach_searches_the_caseload_by_name(page: Page, server, world):
    sign_in(page, world.coach.email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your caseload")

    search = page.get_by_role("search", name="Search the caseload")
    search.get_by_role("searchbox", name="Search").fill("Clara")
    search.get_by_role("button", name="Apply").click()

    expect(page).to_have_url(re.compile(r"[?&]q=Clara"))
    expect(page.get_by_text("Some filters were not understood")).to_have_count(0, timeout=3_000)
    expect(page.get_by_role("link", name="Clara Client", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Otto Other", exact=True)).to_have_count(0, timeout=3_000)


def test_a_coach_finds_new_replies_on_the_caseload_on_a_phone(phone_page: Page, server, world, db):
    """A reply to a request from 12 days ago: on the card at 390 px, axe clean, and filtered on."""
    person = make_contact(db, world.client, "Rosa Lindgren", "Riverside Press", "Editor")
    db.commit()
    scope = Scope(db, world.client.user)
    contacts.move_to_stage(scope, person.id, Stage.REQUESTED, utcnow() - timedelta(days=12))
    contacts.move_to_stage(scope, person.id, Stage.REPLIED)
    page = phone_page
    sign_in(page, world.coach.email, PASSWORD)

    cell = caseload_row(page, "Clara Client").locator('td[data-label="Replies, last 7 days"]')
    expect(cell).to_have_text(re.compile(r"^1, latest \d\d \w{3}$"))
    expect(caseload_row(page, "Otto Other").locator("td[data-replies]")).to_have_text("0")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    violations = Axe().run(page).response["violations"]
    assert not violations, [v["id"] for v in violations]

    search = page.get_by_role("search", name="Search the caseload")
    search.get_by_role("combobox", name="New replies").select_option("true")
    search.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"[?&]new_replies=true"))
    expect(page.get_by_role("link", name="Clara Client", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Otto Other", exact=True)).to_have_count(0)
    # Once the page has laid out (its stylesheet applied), it fits the phone: waited for, since a
    # loaded machine may measure before the style is in; it fails if the page never fits.
    page.wait_for_function("document.documentElement.scrollWidth <= 390", timeout=10_000)
