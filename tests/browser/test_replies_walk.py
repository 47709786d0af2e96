"""Issue 15's walk, in a real browser with real mail servers: a client sends a first request; the
contact's reply arrives through the real IMAP server (Dovecot) to the practice's plus address; the
contact moves to Replied, the follow-up leaves the client's due list, the client and the coach are
notified, and the next day's reminder email (received by a real SMTP server) does not list it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from crossroads.core.db import utcnow
from crossroads.core.inbox.imap import poll
from crossroads.core.models import Client, Contact, OutreachMessage, Stage
from crossroads.core.services.reminders import send_reminders
from crossroads.testing import PASSWORD, make_contact
from tests.imapserver import configure_mailbox
from tests.mailserver import configure_mail

from .conftest import screenshot, sign_in, sign_out
from .test_email_outreach import business_days_before

pytestmark = pytest.mark.browser

REPLY_ADDRESS = "replies@northbridge.example"
ZOE = ("Zoë Ng", "Riverside Press", "zoe.ng@riverside.example")
RAVI = ("Ravi Menon", "Lantern Books", "ravi.menon@lantern.example")
SUBJECT = "A question about magazine editing"
REPLY_TEXT = "Happy to talk. Would Thursday at 3pm suit you for a short call?"


# -- helpers ---------------------------------------------------------------------------------


def set_up_replies(db, practice_id: int, smtp_server, mailbox_user, secret_key: str) -> None:
    """The practice sends through the test SMTP server, with a plus-addressed reply address read
    over IMAP from the test Dovecot; the poller's first connection reads from now on."""
    settings = configure_mail(db, practice_id, smtp_server)
    settings.reply_address, settings.plus_addressing = REPLY_ADDRESS, True
    db.commit()
    configure_mailbox(db, practice_id, mailbox_user, secret_key)
    first = poll(db, practice_id, secret_key, allow_private=True, timeout=10)
    assert first.first_connection and not first.error


def write_first_request(page: Page, contact: Contact) -> None:
    """The client writes and sends a first request by email in the real compose page."""
    page.goto(f"/contacts/{contact.id}/write?channel=email&kind=first_request")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(rf"^First request to {contact.name}")
    )
    page.get_by_role("textbox", name="Subject").fill(SUBJECT)
    page.get_by_role("textbox", name="Message").fill(
        "Dear Zoë,\n\nI am exploring magazine editing and would love to hear how you came to it. "
        "Would you have 20 minutes next week for a short call?\n\nBest wishes,\nClara"
    )
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".notices")).to_contain_text(f"Your message to {contact.name} is on its way.")


def contact_reply(request: EmailMessage) -> bytes:
    """Zoë's answer as her mail program writes it: to the request's Reply-To, threaded under it."""
    name, _, address = ZOE
    reply = EmailMessage()
    reply["From"] = f"{name} <{address}>"
    reply["To"] = str(request["Reply-To"])
    reply["Subject"] = f"Re: {request['Subject']}"
    reply["Date"] = format_datetime(utcnow())
    reply["Message-ID"] = make_msgid(domain="riverside.example")
    reply["In-Reply-To"] = str(request["Message-ID"])
    reply["References"] = str(request["Message-ID"])
    quoted = "\n".join(f"> {line}" for line in request.get_content().splitlines())
    reply.set_content(f"Hi Clara,\n\n{REPLY_TEXT}\n\nZoë\n\nOn Tuesday, Clara wrote:\n{quoted}\n")
    return bytes(reply)


def due_item(page: Page, name: str):
    return page.locator(".due-list li").filter(has_text=name)


def notifications_link(page: Page, unread: int):
    menu = page.get_by_role("navigation", name="Main")
    return menu.get_by_role("link", name=re.compile(rf"^Notifications \({unread} unread\s*\)$"))


def next_day_at_reminder_hour(hour: int, zone: str) -> datetime:
    """The client's tomorrow at ``hour`` o'clock, their time, as a UTC moment (computed from now)."""
    local = utcnow().astimezone(ZoneInfo(zone))
    tomorrow = (local + timedelta(days=1)).replace(hour=hour, minute=2, second=0, microsecond=0)
    return tomorrow.astimezone(ZoneInfo("UTC"))


# -- the walk --------------------------------------------------------------------------------


def test_a_reply_read_over_imap_moves_the_contact_notifies_both_and_leaves_the_next_reminder(
    page, server, world, db, smtp_server, mailbox_user, wait_until
):
    client, coach, practice = world.client, world.coach, world.practice
    secret_key = server.app.config["SECRET_KEY"]
    queue = server.app.extensions["crossroads"].queue
    set_up_replies(db, practice.id, smtp_server, mailbox_user, secret_key)
    zoe = make_contact(db, client, ZOE[0], ZOE[1], "Managing Editor", email=ZOE[2])
    ravi = make_contact(  # asked long ago, never answered: due in any case
        db,
        client,
        RAVI[0],
        RAVI[1],
        "Publisher",
        stage=Stage.REQUESTED,
        email=RAVI[2],
        stage_changed_at=business_days_before(utcnow(), 10),
    )
    db.commit()

    # 1. The client sends a first request; it reaches the SMTP server with a plus-addressed Reply-To.
    sign_in(page, client.email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {client.name}")
    write_first_request(page, zoe)
    queue.sweep_now()
    wait_until(lambda: len(smtp_server.received) >= 1, message="the first request did not arrive")
    [sent] = smtp_server.received
    request = sent.message
    message = db.scalar(select(OutreachMessage).where(OutreachMessage.contact_id == zoe.id))
    assert (
        message.reply_token
        and str(request["Reply-To"]) == f"replies+{message.reply_token}@northbridge.example"
    )
    assert sent.rcpt_tos == [ZOE[2]] and str(request["Message-ID"]) == message.outbox.message_id

    # 2. Days pass without an answer: the follow-up is due on the client's home.
    db.expire_all()
    contact = db.get(Contact, zoe.id)
    contact.stage_changed_at = business_days_before(contact.stage_changed_at, 10)
    db.commit()
    page.goto("/me/")
    expect(due_item(page, ZOE[0])).to_contain_text("Send a polite follow-up")
    expect(due_item(page, RAVI[0])).to_contain_text("Send a polite follow-up")

    # 3. Zoë answers; her reply lands in the practice's mailbox, one real poll records it, and the
    # worker's task (woken by that commit) processes it.
    mailbox_user.append([contact_reply(request)])
    result = poll(db, practice.id, secret_key, allow_private=True, timeout=10)
    assert (result.received, result.error) == (1, "")
    assert queue.process_inbox(practice.id).processed == 1

    # 4. The client's pages: Replied, the reply on the thread, nothing due for Zoë, one notification.
    page.goto("/me/")
    expect(due_item(page, RAVI[0])).to_be_visible()
    expect(due_item(page, ZOE[0])).to_have_count(0)
    page.goto(f"/contacts/{zoe.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Replied")
    page.goto(f"/messages/{message.id}")
    replies = page.locator("section").filter(has=page.get_by_role("heading", name="Replies that came back"))
    expect(replies).to_contain_text(REPLY_TEXT)
    expect(replies).not_to_contain_text("Clara wrote")  # the quoted request is trimmed off
    screenshot(page, "reply-thread")
    notifications_link(page, 1).click()
    expect(page.get_by_role("link", name=f"{ZOE[0]} replied to your first request.")).to_be_visible()
    sign_out(page)

    # 5. The coach: their own notification, and the reply on the client's page.
    sign_in(page, coach.email, PASSWORD)
    notifications_link(page, 1).click()
    expect(
        page.get_by_role("link", name=f"{client.name}: {ZOE[0]} replied to their first request.")
    ).to_be_visible()
    page.goto(f"/coach/clients/{client.id}")
    recent = page.locator("section").filter(has=page.get_by_role("heading", name="Recent replies"))
    recent.get_by_role("link", name=ZOE[0]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"First request to {ZOE[0]}")
    expect(page.locator(".thread")).to_contain_text(REPLY_TEXT)

    # 6. The client's next day at their reminder hour: the reminder lists Ravi, not Zoë.
    db.expire_all()
    client = db.get(Client, client.id)
    moment = next_day_at_reminder_hour(client.reminder_hour, client.timezone)
    assert send_reminders(db, moment, secret_key, server.url) == 1
    queue.sweep_now()

    def reminders() -> list[EmailMessage]:
        return [
            r.message
            for r in smtp_server.received
            if str(r.message["Subject"]).startswith("Crossroads today")
        ]

    wait_until(lambda: reminders(), message="the reminder email did not arrive")
    [reminder] = reminders()
    assert reminder["To"].addresses[0].addr_spec == client.email
    body = reminder.get_content()
    assert f"Send a polite follow-up: {RAVI[0]}, {RAVI[1]}." in body
    assert f"/contacts/{ravi.id}" in body
    assert ZOE[0] not in body and f"/contacts/{zoe.id}" not in body
