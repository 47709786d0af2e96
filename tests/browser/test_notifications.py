"""Notifications in a real browser at 390 px: the menu announces the unread count in words, the
list has no accessibility violation and does not scroll sideways, and opening one marks it read."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from crossroads.core.models import NotificationKind
from crossroads.core.services.notifications import notify
from crossroads.testing import PASSWORD

from .conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


def test_a_client_reads_notifications_on_a_phone(phone_page: Page, world, db):
    client = world.client
    for text in (
        "Colin Coach commented on your reflection.",
        "Colin Coach suggested a contact: Sol Suggested.",
    ):
        notify(db, client.user, NotificationKind.COMMENT, text, "/me/", client)
    db.commit()
    page = phone_page
    sign_in(page, client.email, PASSWORD)
    menu = page.get_by_role("navigation", name="Main")
    link = menu.get_by_role("link", name=re.compile(r"^Notifications \(2 unread\s*\)$"))
    expect(link).to_be_visible()
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    violations = Axe().run(page).response["violations"]
    assert not violations, [v["id"] for v in violations]
    screenshot(page, "notifications-phone")
    page.get_by_role("link", name="Colin Coach suggested a contact: Sol Suggested.").click()
    expect(page).to_have_url(re.compile(r"/me/$"))
    one_unread = menu.get_by_role("link", name=re.compile(r"^Notifications \(1 unread\s*\)$"))
    expect(one_unread).to_be_visible()
    one_unread.click()
    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_role("status")).to_contain_text("1 notification marked read.")
    expect(menu.get_by_role("link", name="Notifications", exact=True)).to_be_visible()
