"""Every page of the demo practice, as its owner, a coach and a client, checked by axe-core (no
accessibility violation), at 320 and 390 px (nothing scrolls sideways), under the Content-Security-
Policy (the ``new_page`` fixture fails a test on any violation); and a failed submit takes focus to
its error summary."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from crossroads.core import demo
from crossroads.core.models import Contact, User
from tests.checked_pages import Visitor, demo_pages

from .conftest import sign_in, watch_csp

pytestmark = pytest.mark.browser

AXE = Axe()
PHONE_WIDTHS = (320, 390)


@pytest.fixture
def visitors(server, db, monkeypatch) -> list[Visitor]:
    return demo_pages(server.app, db, monkeypatch)


def describe(violation: dict) -> str:
    nodes = "; ".join(" ".join(n["target"]) + " " + n.get("failureSummary", "").replace("\n", " ")
                      for n in violation["nodes"][:3])  # fmt: skip
    return f"{violation['id']} ({violation['impact']}): {violation['help']}: {nodes}"


def test_no_page_has_an_accessibility_violation(new_page: Callable[..., Page], visitors):
    problems = []
    for visitor in visitors:
        page = new_page()
        sign_in(page, visitor.user.email, demo.DEMO_PASSWORD)
        for url in visitor.urls:
            page.goto(url)
            for violation in AXE.run(page).response["violations"]:
                problems.append(f"{visitor.role} {url}: {describe(violation)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", PHONE_WIDTHS)
def test_no_page_scrolls_sideways_on_a_narrow_phone(new_page: Callable[..., Page], visitors, width):
    wide = []
    for visitor in visitors:
        page = new_page(viewport={"width": width, "height": 800}, is_mobile=True, has_touch=True)
        sign_in(page, visitor.user.email, demo.DEMO_PASSWORD)
        for url in visitor.urls:
            page.goto(url)
            # Against the screen's width: a phone's layout viewport (innerWidth) grows to wide content.
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > width:
                wide.append(f"{visitor.role} {url}: {scroll}px wide")
    assert not wide, "\n".join(wide)


def test_a_failed_submit_takes_focus_to_the_error_summary(new_page: Callable[..., Page], visitors, db):
    owner = db.scalar(select(User).where(User.email == demo.OWNER_EMAIL))
    priya = db.scalar(select(User).where(User.email == demo.CLIENT_EMAIL)).client
    contact = db.scalars(select(Contact).where(Contact.client_id == priya.id).order_by(Contact.id)).first()
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    sign_in(page, owner.email, demo.DEMO_PASSWORD)
    page.goto(f"/contacts/{contact.id}")
    form = page.locator("form").filter(has=page.get_by_role("button", name="Save", exact=True))
    form.get_by_label("Name").fill("")
    form.get_by_role("button", name="Save", exact=True).click()

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    # The summary is far down the page, below the contact's history: focus did not stay at the top.
    assert page.evaluate("window.scrollY") > 400
    assert not [describe(v) for v in AXE.run(page).response["violations"]]
    link = summary.get_by_role("link")
    expect(link).to_have_count(1)
    link.click()
    expect(form.get_by_label("Name")).to_be_focused()


def test_the_csp_watch_reports_an_inline_script(browser, server):
    """The check the ``new_page`` fixture relies on: a page whose inline script the policy blocks."""
    context: BrowserContext = browser.new_context(base_url=server.url)
    try:
        violations = watch_csp(context)
        html = "<!doctype html><title>x</title><p>x</p><script>document.title = 'ran'</script>"
        context.route(
            re.compile(r".*/csp-probe$"),
            lambda route: route.fulfill(
                status=200,
                content_type="text/html",
                body=html,
                headers={"Content-Security-Policy": "script-src 'self'"},
            ),
        )
        page = context.new_page()
        page.goto("/csp-probe")
        expect(page).to_have_title("x")
        page.wait_for_timeout(200)
        assert violations and "script-src" in violations[0]
    finally:
        context.close()


BACKDROP = """(el) => {
  for (let node = el.parentElement; node; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor;
    if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") return colour;
  }
  return "rgb(255, 255, 255)";
}"""


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two ``rgb(r, g, b)`` colours."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_focus_ring_stands_out_on_the_page_and_in_the_header(page: Page, server):
    page.goto("/login")
    for target in (
        page.get_by_role("link", name="Forgot your password?"),
        page.get_by_role("link", name="Crossroads"),
    ):
        page.keyboard.press("Tab")  # keyboard use: the ring shows on :focus-visible
        target.focus()
        style = target.evaluate(
            "(el) => [getComputedStyle(el).outlineStyle, getComputedStyle(el).outlineColor]"
        )
        assert style[0] != "none"
        behind = target.evaluate(BACKDROP)
        assert contrast(style[1], behind) >= 3, f"{target}: ring {style[1]} on {behind}"
