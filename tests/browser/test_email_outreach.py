"""A client writes a first request by email in the real page: the live checks flag a sentence that
asks for a job and clear once it is gone; the email reaches the practice's SMTP server from "<client>
via <practice>" with the client as Reply-To; when the follow-up falls due, the follow-up written from
the client's home is threaded onto the first email."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from crossroads.core.models import Contact
from crossroads.testing import PASSWORD, make_contact
from tests.mailserver import configure_mail

from .conftest import sign_in

pytestmark = pytest.mark.browser

CONTACT_EMAIL = "zoe.ng@riverside.example"
ASKS_FOR_A_JOB = "Do you have a job for me?"
OPENING = (
    "Dear Zoë,\n\nMy coach Colin suggested I write to you. I am exploring magazine editing and would "
    "love to hear how you came to it."
)
CLOSING = "Would you have 20 minutes next week for a short call?\n\nBest wishes,\nClara"


def business_days_before(moment, days: int):
    """``moment`` moved back ``days`` weekdays (Saturday and Sunday skipped)."""
    while days > 0:
        moment -= timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment


def send_email(page: Page, contact_name: str) -> None:
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".notices")).to_contain_text(f"Your message to {contact_name} is on its way.")


@pytest.fixture
def zoe(world, db, smtp_server):
    configure_mail(db, world.practice.id, smtp_server)
    contact = make_contact(
        db, world.client, "Zoë Ng", "Riverside Press", "Managing Editor", email=CONTACT_EMAIL
    )
    db.commit()
    return contact


def test_a_client_emails_a_first_request_without_asking_for_a_job_and_the_follow_up_threads_onto_it(
    page, server, world, db, zoe, smtp_server, wait_until
):
    queue = server.app.extensions["crossroads"].queue
    sign_in(page, world.client.email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {world.client.name}")

    # Open the contact, then the compose page for an email first request.
    page.goto(f"/contacts/{zoe.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Zoë Ng")
    page.goto(f"/contacts/{zoe.id}/write?channel=email&kind=first_request")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^First request to Zoë Ng"))
    page.get_by_role("textbox", name="Subject").fill("A question about magazine editing")
    body = page.get_by_role("textbox", name="Message")
    job_warning = page.locator('#warnings li[data-code="job_request"]')

    # Asking for a job: the check appears while typing.
    body.fill(f"{OPENING} {ASKS_FOR_A_JOB}\n\n{CLOSING}")
    expect(job_warning).to_have_count(1)
    expect(job_warning).to_contain_text("job")

    # Without that sentence, it goes away.
    body.fill(f"{OPENING}\n\n{CLOSING}")
    expect(job_warning).to_have_count(0)

    send_email(page, "Zoë Ng")
    queue.sweep_now()
    wait_until(lambda: len(smtp_server.received) >= 1, message="the first email did not arrive")
    assert len(smtp_server.received) == 1
    [first] = smtp_server.received
    assert first.reply == "250 OK"
    mail = first.message
    assert f"{world.client.name} via {world.practice.name}" in str(mail["From"])
    assert str(mail["Reply-To"]) == world.client.email
    [to] = mail["To"].addresses
    assert to.addr_spec == CONTACT_EMAIL
    assert first.rcpt_tos == [CONTACT_EMAIL]
    assert mail["Message-ID"] and mail["Date"]
    assert ASKS_FOR_A_JOB not in mail.get_content()
    first_id = first.message_id

    # Ten business days without a reply: the follow-up is due.
    db.expire_all()
    contact = db.get(Contact, zoe.id)
    assert contact.follow_ups_sent == 0
    contact.stage_changed_at = business_days_before(contact.stage_changed_at, 10)
    db.commit()

    page.goto("/me/")
    due = page.locator(".due-list li").filter(has_text="Zoë Ng")
    expect(due).to_contain_text("Send a polite follow-up")
    due.get_by_role("link", name="Write").click()
    email = page.locator(".choice").filter(has=page.get_by_role("heading", name="Email", exact=True))
    email.get_by_role("link", name="Follow-up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Follow-up to Zoë Ng"))
    expect(body).not_to_have_value("")
    send_email(page, "Zoë Ng")

    queue.sweep_now()
    wait_until(lambda: len(smtp_server.received) >= 2, message="the follow-up did not arrive")
    assert len(smtp_server.received) == 2
    follow_up = smtp_server.received[1].message
    assert str(follow_up["To"]).endswith(f"<{CONTACT_EMAIL}>") or CONTACT_EMAIL in str(follow_up["To"])
    assert str(follow_up["In-Reply-To"]) == first_id
    assert first_id in str(follow_up["References"]).split()
    assert str(follow_up["Message-ID"]) != first_id
