"""The caseload's recent replies: replies that came in over the last 7 days, counted by the one rule
of an answer in core/figures.py, the same as the progress report's replies for the same period."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from crossroads.core import figures
from crossroads.core.db import utcnow
from crossroads.core.models import OutboxEmail, OutreachMessage, Stage, StageChange
from crossroads.core.reports import Period, PeriodChoice
from crossroads.core.schemas import CaseloadQuerySchema, load
from crossroads.core.scoping import Scope
from crossroads.core.services import clients, contacts
from crossroads.plugins.progress_report.figures import client_figures
from crossroads.testing import make_contact
from tests import test_inbox_process as inbox
from tests.test_inbox_process import incoming, send_request, take, values_for

#: The reply path's fixtures: the practice's email server and reply address, and a contact, Zoë.
practice_mail, zoe = inbox.practice_mail, inbox.zoe

REPORT = "/plugins/progress_report/clients/{id}/report"


def replies_cell(html: str, client_id: int) -> tuple[int, str]:
    """The caseload row's replies cell: its count and its text."""
    row = re.search(rf'<a href="/coach/clients/{client_id}">.*?</tr>', html, re.S).group(0)
    cell = re.search(r'<td data-label="Replies, last 7 days" data-replies="(\d+)">(.*?)</td>', row, re.S)
    return int(cell.group(1)), re.sub(r"<[^>]+>", "", cell.group(2))


def report_replied(browser, client_id: int, period: Period) -> int:
    html = browser.get(
        REPORT.format(id=client_id),
        query_string={
            "period": "custom",
            "start": period.start.isoformat(),
            "end": str(period.end - timedelta(1)),
        },
    ).get_data(as_text=True)
    return int(re.search(r'data-figure="replied">(\d+)<', html).group(1))


def last_days(world, days: int) -> Period:
    """The last ``days`` whole days to today, in the coach's zone (a custom report period)."""
    today = utcnow().astimezone(ZoneInfo(world.coach.timezone)).date()
    return Period.of(PeriodChoice.CUSTOM, world.coach.timezone, start=today - timedelta(days - 1), end=today)


def backdate_request(db, message: OutreachMessage, days: int) -> None:
    """The request went ``days`` ago: the message, its outbox email and the contact's move."""
    then = utcnow() - timedelta(days=days)
    message.created_at = message.sent_at = then
    db.execute(
        update(OutboxEmail).where(OutboxEmail.id == message.outbox_id).values(created_at=then, sent_at=then)
    )
    db.execute(update(StageChange).where(StageChange.contact_id == message.contact_id).values(at=then))
    db.commit()


def test_a_reply_by_email_shows_on_the_caseload_with_its_date_and_agrees_with_the_report(
    db, world, zoe, practice_mail, as_user
):
    # Clara: Zoë emailed and answered by email; Cat asked and answered by hand; Dan asked, silent.
    message = send_request(db, world, zoe)
    take(db, world, incoming("reply_in_reply_to.eml", **values_for(message)))
    scope = Scope(db, world.client.user)
    cat = make_contact(db, world.client, "Cat Hand", "Acme", "Writer")
    dan = make_contact(db, world.client, "Dan Silent", "Acme", "Writer")
    db.commit()
    for person in (cat, dan):
        contacts.move_to_stage(scope, person.id, Stage.REQUESTED)
    contacts.move_to_stage(scope, cat.id, Stage.REPLIED)
    # Otto: one request answered; the owner's own client: nothing.
    eve = make_contact(db, world.other_client, "Eve Other", "Acme", "Writer")
    db.commit()
    other = Scope(db, world.other_client.user)
    contacts.move_to_stage(other, eve.id, Stage.REQUESTED)
    contacts.move_to_stage(other, eve.id, Stage.SCHEDULED)

    browser = as_user(world.coach)
    html = browser.get("/coach/").get_data(as_text=True)
    count, text = replies_cell(html, world.client.id)
    today = utcnow().astimezone(ZoneInfo(world.coach.timezone)).strftime("%d %b")
    assert count == 2 and text == f"2, latest {today}"
    assert replies_cell(html, world.other_client.id) == (1, "1, latest " + today)
    assert (
        '<th scope="col" aria-sort="none"><a href="/coach/?sort=replies">Replies, last 7 days</a></th>'
        in html
    )

    # The same number from core/figures.py and from the progress report, for the same clients and period.
    period = last_days(world, 7)
    coach = Scope(db, world.coach)
    ids = [world.client.id, world.other_client.id]
    received = figures.replies_received(coach, ids, period.since, period.until)
    for client_id, expected in zip(ids, (2, 1), strict=True):
        assert received[client_id].count == expected
        assert client_figures(coach, client_id, period).replied == expected
        assert report_replied(browser, client_id, period) == expected


def test_a_reply_to_an_older_request_shows_as_come_in_while_the_report_counts_it_with_its_request(
    db, world, zoe, practice_mail, as_user
):
    message = send_request(db, world, zoe)
    backdate_request(db, message, 10)
    take(db, world, incoming("reply_in_reply_to.eml", **values_for(message)))

    browser = as_user(world.coach)
    assert replies_cell(browser.get("/coach/").get_data(as_text=True), world.client.id)[0] == 1
    # The report's "replies" are of the period's requests (the reply rate): none made this week,
    # and the request made ten days ago is replied, whenever the answer came.
    assert report_replied(browser, world.client.id, last_days(world, 7)) == 0
    assert report_replied(browser, world.client.id, last_days(world, 14)) == 1
    coach = Scope(db, world.coach)
    fortnight = last_days(world, 14)
    assert (
        figures.replies_received(coach, [world.client.id], fortnight.since, fortnight.until)[
            world.client.id
        ].count
        == 1
    )


def test_replies_older_than_7_days_a_colleagues_forward_and_an_undone_move_are_not_on_the_caseload(
    db, world, zoe, practice_mail, as_user
):
    scope = Scope(db, world.client.user)
    old = make_contact(db, world.client, "Old Answer", "Acme", "Writer")
    db.commit()
    contacts.move_to_stage(scope, old.id, Stage.REQUESTED, utcnow() - timedelta(days=20))
    contacts.move_to_stage(scope, old.id, Stage.REPLIED, utcnow() - timedelta(days=8))
    slip = make_contact(db, world.client, "Mis Click", "Acme", "Writer")
    db.commit()
    contacts.move_to_stage(scope, slip.id, Stage.REQUESTED)
    _, change = contacts.move_to_stage(scope, slip.id, Stage.REPLIED)
    contacts.undo_stage_change(scope, slip.id, change.id)
    message = send_request(db, world, zoe)
    take(db, world, incoming("forwarded_by_colleague.eml", **values_for(message)))
    db.refresh(zoe)
    assert zoe.stage == Stage.REQUESTED  # kept on the thread, but not the contact's answer

    html = as_user(world.coach).get("/coach/").get_data(as_text=True)
    assert replies_cell(html, world.client.id) == (0, "0")


def test_the_caseload_sorts_by_and_filters_on_new_replies(db, world):
    def asked_and_answered(client, name: str, days_ago: float) -> None:
        person = make_contact(db, client, name, "Acme", "Writer")
        db.commit()
        scope = Scope(db, client.user)
        contacts.move_to_stage(scope, person.id, Stage.REQUESTED, utcnow() - timedelta(days=days_ago + 1))
        contacts.move_to_stage(scope, person.id, Stage.REPLIED, utcnow() - timedelta(days=days_ago))

    asked_and_answered(world.other_client, "One", 3)
    asked_and_answered(world.other_client, "Two", 2)
    asked_and_answered(world.owners_client, "Three", 1)
    asked_and_answered(world.client, "Four", 9)  # too long ago for the caseload's 7 days

    def names(**params) -> list[str]:
        page = clients.caseload(Scope(db, world.owner), load(CaseloadQuerySchema(), params))
        return [c.name for c in page.items]

    assert names(sort="-replies") == ["Otto Other", "Ola Owned", "Clara Client"]
    assert names(sort="replies")[0] == "Clara Client"
    assert names(new_replies="true", sort="name") == ["Ola Owned", "Otto Other"]
    assert names(new_replies="false") == ["Clara Client"]
    assert names(new_replies="true", sort="-replies", q="ola") == ["Ola Owned"]
    # Two clients with one reply each: the latest reply first.
    asked_and_answered(world.client, "Five", 0.5)
    assert names(sort="-replies") == ["Otto Other", "Clara Client", "Ola Owned"]
