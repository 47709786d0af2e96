"""The calendar feed through the real account page: the address is made, copied with its button,
fetched by a calendar, renewed (the old one then answers 404) and turned off."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from crossroads.testing import PASSWORD

from .conftest import sign_in

pytestmark = pytest.mark.browser


def test_a_client_copies_their_calendar_address_and_renewing_retires_the_old_one(new_page, server, world):
    page: Page = new_page(permissions=["clipboard-read", "clipboard-write"])
    page.on("dialog", lambda dialog: dialog.accept())  # the renew and turn-off confirmations
    sign_in(page, world.client.email, PASSWORD)
    page.goto("/account")
    section = page.get_by_role("region", name="Your calendar feed")
    section.get_by_label("Show follow-ups and thank-yous due, as all-day items").check()
    section.get_by_role("button", name="Make my calendar address").click()

    expect(page.get_by_role("status")).to_contain_text("Your calendar address is ready")
    address = page.get_by_role("textbox", name="Calendar address")
    expect(address).to_have_value(re.compile(rf"^{re.escape(server.url)}/calendar/[\w-]{{43}}\.ics$"))
    old = address.input_value()
    webcal = page.get_by_role("link", name="Open in your calendar app")
    expect(webcal).to_have_attribute("href", "webcal://" + old.split("://", 1)[1])
    page.get_by_role("button", name="Copy address").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == old

    fetched = page.request.get(old)
    assert fetched.status == 200 and fetched.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "Conversation with Ada Editor" in fetched.text()

    page.reload()  # shown once: the address is gone from the page, the follow-ups choice kept
    expect(page.get_by_role("textbox", name="Calendar address")).to_have_count(0)
    expect(page.get_by_label("Show follow-ups and thank-yous due, as all-day items")).to_be_checked()
    page.get_by_role("button", name="Renew the address").click()
    expect(page.get_by_role("status")).to_contain_text("the old one no longer works")
    new = page.get_by_role("textbox", name="Calendar address").input_value()
    assert new != old
    assert page.request.get(old).status == 404 and page.request.get(new).status == 200

    page.get_by_role("button", name="Turn off").click()
    expect(page.get_by_role("button", name="Make my calendar address")).to_be_visible()
    assert page.request.get(new).status == 404
