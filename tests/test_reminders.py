"""The daily reminder email to clients, its hour and zone, once a day, and its signed links.

Delivered through the real test SMTP server (tests/mailserver.py) by the mail queue's sweep, as
the worker delivers; times are computed from now, in the client's zone (Asia/Tokyo: no DST).
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from email import message_from_bytes
from email import policy as email_policy
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, select

from crossroads.core.db import make_sessionmaker, utcnow
from crossroads.core.mail.queue import make_queue
from crossroads.core.models import (
    Contact,
    Conversation,
    ConversationStatus,
    OutboxEmail,
    Stage,
)
from crossroads.core.outreach.followups import DueKind
from crossroads.core.services import reminders
from crossroads.core.services.reminders import (
    Action,
    _claim_days,
    link_token,
    ready_clients,
    reminder_signer,
    send_reminders,
)
from crossroads.testing import TEST_SECRET_KEY, make_contact
from tests.mailserver import configure_mail

SECRET = TEST_SECRET_KEY
BASE = "http://localhost:5000"
TOKYO = ZoneInfo("Asia/Tokyo")
CLIENT_ADDRESS = "clara@client.example"


def tokyo(hour: int, minute: int = 0, days: int = 0) -> datetime:
    """A moment given in Tokyo's wall clock on today's Tokyo date (plus ``days``), as UTC."""
    day = utcnow().astimezone(TOKYO).date() + timedelta(days=days)
    return datetime.combine(day, clock(hour, minute), TOKYO).astimezone(UTC)


def tokyo_today(days: int = 0) -> date:
    return utcnow().astimezone(TOKYO).date() + timedelta(days=days)


def requested(db, client, name: str, organisation: str = "Acme", days_ago: int = 20, **values) -> Contact:
    """A request sent ``days_ago`` days ago with no reply: a follow-up is due."""
    return make_contact(
        db,
        client,
        name,
        organisation,
        stage=Stage.REQUESTED,
        stage_changed_at=utcnow() - timedelta(days=days_ago),
        **values,
    )


@pytest.fixture
def clara(world, db, smtp_server):
    """The world's client, in Tokyo, with one follow-up due; the practice can send email."""
    configure_mail(db, world.practice.id, smtp_server)
    world.client.user.timezone = "Asia/Tokyo"
    requested(db, world.client, "Zoë Ng")
    db.commit()
    return world.client


def deliver_all(settings) -> None:
    queue = make_queue(settings)
    try:
        queue.sweep_now()
    finally:
        queue.close()


def received_for(smtp_server, address: str = CLIENT_ADDRESS):
    return [r for r in smtp_server.received if address in r.rcpt_tos]


def outbox_count(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count(OutboxEmail.id)))


def links(body: str) -> list[str]:
    return re.findall(r"https?://\S+", body)


def path(url: str) -> str:
    return urlsplit(url).path


# -- when it goes -------------------------------------------------------------------------


def test_the_reminder_arrives_at_the_clients_hour_in_their_zone_and_not_before(
    clara, db, settings, smtp_server
):
    assert send_reminders(db, tokyo(7, 59), SECRET, BASE) == 0
    db.expire_all()
    assert clara.last_reminded_on is None  # not claimed before the hour
    assert send_reminders(db, tokyo(8, 2), SECRET, BASE) == 1
    deliver_all(settings)
    [received] = received_for(smtp_server)
    mail = received.message
    assert str(mail["Subject"]) == "Crossroads today: 1 thing to do"
    assert mail.get_content_type() == "text/plain"
    body = mail.get_content()
    assert "Send a polite follow-up: Zoë Ng, Acme. Due" in body and "(overdue)" in body
    contact = db.scalar(select(Contact).where(Contact.name == "Zoë Ng"))
    found = links(body)
    assert all(url.startswith(BASE + "/") for url in found)
    assert sum("/reminders/" in url for url in found) == 2
    assert f"{BASE}/contacts/{contact.id}" in found and f"{BASE}/account" in found
    assert "08:00 your time (Asia/Tokyo)" in body
    db.expire_all()
    assert clara.last_reminded_on == tokyo_today()


def test_the_chosen_hour_and_switching_off_are_saved_from_the_account_page(clara, db, as_user):
    browser = as_user(clara.user)
    page = browser.get("/account").get_data(as_text=True)
    assert "Daily reminder" in page and 'name="reminders_on" value="1" checked' in page
    refused = browser.post("/account/reminders", data={"reminders_on": "1", "reminder_hour": "24"})
    assert refused.status_code == 422
    assert "Choose an hour between 00:00 and 23:00." in refused.get_data(as_text=True)
    assert (
        browser.post("/account/reminders", data={"reminders_on": "1", "reminder_hour": "6"}).status_code
        == 302
    )
    db.expire_all()
    assert (clara.reminders_on, clara.reminder_hour) == (True, 6)
    assert send_reminders(db, tokyo(5, 59), SECRET, BASE) == 0
    assert send_reminders(db, tokyo(6, 2), SECRET, BASE) == 1


def test_a_client_who_switched_it_off_gets_none_and_their_coach_sees_it(clara, world, db, as_user):
    browser = as_user(clara.user)
    browser.post("/account/reminders", data={"reminder_hour": "8"})  # the box unticked
    db.expire_all()
    assert clara.reminders_on is False
    assert send_reminders(db, tokyo(9), SECRET, BASE) == 0
    assert outbox_count(db) == 0
    coach = as_user(world.coach)
    caseload = coach.get("/coach/").get_data(as_text=True)
    assert caseload.count('data-reminders="off"') == 1 and "reminders off" in caseload
    page = coach.get(f"/coach/clients/{clara.id}").get_data(as_text=True)
    assert "Clara Client has switched off the daily reminder email." in page
    other = coach.get(f"/coach/clients/{world.other_client.id}").get_data(as_text=True)
    assert "Daily reminder email: on, from 08:00 their time." in other


def test_staff_have_no_reminder_settings(world, as_user):
    coach = as_user(world.coach)
    assert "Daily reminder" not in coach.get("/account").get_data(as_text=True)
    assert coach.post("/account/reminders", data={"reminder_hour": "8"}).status_code == 404


def test_nothing_due_means_no_email(clara, db):
    contact = db.scalar(select(Contact).where(Contact.name == "Zoë Ng"))
    contact.stage = Stage.REPLIED
    db.commit()
    assert send_reminders(db, tokyo(8, 2), SECRET, BASE) == 0
    assert outbox_count(db) == 0


def test_no_email_without_the_practices_email_server(world, db):
    world.client.user.timezone = "Asia/Tokyo"
    requested(db, world.client, "Zoë Ng")
    db.commit()
    assert send_reminders(db, tokyo(8, 2), SECRET, BASE) == 0
    db.expire_all()
    assert world.client.last_reminded_on is None  # it goes the same day once email is set up


def test_at_most_one_a_day_even_when_the_job_runs_again(clara, db):
    assert send_reminders(db, tokyo(8, 2), SECRET, BASE) == 1
    assert send_reminders(db, tokyo(9, 2), SECRET, BASE) == 0
    assert send_reminders(db, tokyo(23, 2), SECRET, BASE) == 0
    assert outbox_count(db) == 1
    assert send_reminders(db, tokyo(8, 2, days=1), SECRET, BASE) == 1  # the next day, still due
    assert outbox_count(db) == 2


def test_a_worker_that_was_down_at_the_hour_sends_later_the_same_day(clara, db):
    assert send_reminders(db, tokyo(15, 2), SECRET, BASE) == 1
    assert outbox_count(db) == 1


def test_a_second_worker_that_read_the_client_before_the_claim_sends_nothing(clara, db, engine):
    other_worker = make_sessionmaker(engine)()
    try:
        [seen] = [c for c in ready_clients(other_worker, tokyo(8, 2)) if c.id == clara.id]
        assert send_reminders(db, tokyo(8, 2), SECRET, BASE) == 1
        assert _claim_days(other_worker, [seen.id], tokyo_today()) == set()
        other_worker.rollback()
    finally:
        other_worker.close()
    assert outbox_count(db) == 1


def test_two_workers_running_at_once_queue_one_email(clara, db, engine):
    sessions = make_sessionmaker(engine)
    barrier = threading.Barrier(2)
    results: list[int] = []

    def worker() -> None:
        with sessions() as session:
            barrier.wait()
            results.append(send_reminders(session, tokyo(8, 2), SECRET, BASE))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]
    assert outbox_count(db) == 1


def test_the_reminder_is_a_core_job_of_the_mail_worker(clara, db, settings, plugins):
    clara.reminder_hour = 0  # its hour has come whatever the time now
    db.commit()
    queue = make_queue(settings, plugins)
    try:
        job = queue.jobs["job:core:daily_reminders"]
        job()  # in the worker's own session, committed
        job()
    finally:
        queue.close()
    assert outbox_count(db) == 1
    db.expire_all()
    assert clara.last_reminded_on == tokyo_today()


# -- what it lists ---------------------------------------------------------------------------


def test_replied_and_snoozed_contacts_are_not_listed(clara, db):
    replied = requested(db, clara, "Yann Replied")
    replied.stage = Stage.REPLIED
    requested(db, clara, "Xia Snoozed", quiet_until=tokyo_today(2))
    db.commit()
    assert send_reminders(db, tokyo(8, 2), SECRET, BASE) == 1
    body = db.scalar(select(OutboxEmail.body))
    assert "Zoë Ng" in body and "Yann" not in body and "Xia" not in body


def test_tomorrows_conversation_is_listed_with_its_prep_sheet(clara, db, settings, smtp_server):
    db.scalar(select(Contact).where(Contact.name == "Zoë Ng")).stage = Stage.REPLIED  # nothing else due
    contact = make_contact(db, clara, "Wen Talks", "Globex", stage=Stage.SCHEDULED)
    conversations = [
        Conversation(
            practice_id=clara.practice_id,
            client_id=clara.id,
            contact=contact,
            starts_at=tokyo(14, 0, days=days),
            uid=f"reminder-{days}@test",
            status=ConversationStatus.SCHEDULED,
        )
        for days in (1, 2)
    ]
    db.add_all(conversations)
    db.commit()
    assert send_reminders(db, tokyo(8, 2), SECRET, BASE) == 1
    deliver_all(settings)
    body = received_for(smtp_server)[0].message.get_content()
    assert "Tomorrow at 14:00: your conversation with Wen Talks (20 minutes)." in body
    assert f"Prep sheet: {BASE}/conversations/{conversations[0].id}" in body
    assert f"/conversations/{conversations[1].id}" not in body  # the day after tomorrow


def test_a_long_list_is_cut_short_with_a_link_to_the_rest(clara, db):
    for n in range(reminders.MAX_ITEMS + 2):
        requested(db, clara, f"Person {n:02d}")
    db.commit()
    assert send_reminders(db, tokyo(8, 2), SECRET, BASE) == 1
    email = db.scalar(select(OutboxEmail))
    assert email.subject == f"Crossroads today: {reminders.MAX_ITEMS + 3} things to do"
    assert email.body.count("Snooze it 3 days") == reminders.MAX_ITEMS
    assert f"And 3 more in your workspace: {BASE}/me/" in email.body


def test_a_hostile_contact_name_cannot_add_headers_or_break_the_email(clara, db, settings, smtp_server):
    requested(
        db,
        clara,
        "Eve\r\nBcc: victim@evil.example\r\n\r\nInjected",
        organisation="Acme\nSubject: free money",
    )
    db.commit()
    assert send_reminders(db, tokyo(8, 2), SECRET, BASE) == 1
    deliver_all(settings)
    [received] = smtp_server.received
    assert received.rcpt_tos == [CLIENT_ADDRESS]
    mail = message_from_bytes(received.data, policy=email_policy.strict)
    assert "Bcc" not in mail and str(mail["Subject"]) == "Crossroads today: 2 things to do"
    body = mail.get_content()
    assert "Eve Bcc: victim@evil.example Injected, Acme Subject: free money." in body
    assert not any(line.startswith(("Bcc:", "Subject:")) for line in body.splitlines())


# -- the links -------------------------------------------------------------------------------


@pytest.fixture
def email_links(clara, db, settings, smtp_server):
    """The done and snooze links of Clara's delivered reminder, as paths."""
    send_reminders(db, tokyo(8, 2), SECRET, BASE)
    deliver_all(settings)
    body = received_for(smtp_server)[0].message.get_content()
    done = re.search(r"Mark it done: (\S+)", body).group(1)
    snooze = re.search(r"Snooze it 3 days: (\S+)", body).group(1)
    return path(done), path(snooze)


def zoe(db) -> Contact:
    db.expire_all()
    return db.scalar(select(Contact).where(Contact.name == "Zoë Ng"))


def test_done_works_without_signing_in_once_and_can_be_undone(email_links, db, http):
    done, _ = email_links
    for _ in range(2):  # a mail scanner's fetch and the person's click: neither changes anything
        page = http.get(done)
        assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
        assert "Sent it another way? Mark it done" in page.get_data(as_text=True)
    assert zoe(db).follow_ups_sent == 0
    answer = http.post(done).get_data(as_text=True)
    assert "Follow-up to Zoë Ng recorded." in answer and "Undo" in answer
    assert zoe(db).follow_ups_sent == 1
    again = http.post(done).get_data(as_text=True)
    assert "Nothing to do" in again and zoe(db).follow_ups_sent == 1
    undo = re.search(r'action="([^"]*/reminders/undo/[^"]+)"', answer).group(1)
    assert "Undone" in http.post(undo).get_data(as_text=True)
    assert zoe(db).follow_ups_sent == 0
    assert "nothing was undone" in http.post(undo).get_data(as_text=True)


def test_snooze_quiets_the_contact_three_days_and_can_be_undone(email_links, db, as_user, clara):
    _, snooze = email_links
    browser = as_user(clara.user)  # signed in works as well as signed out
    assert browser.get(snooze).status_code == 200 and zoe(db).quiet_until is None
    answer = browser.post(snooze).get_data(as_text=True)
    assert "Snoozed: Zoë Ng is quiet until" in answer
    contact = zoe(db)
    assert contact.quiet_until == tokyo_today(3)
    assert send_reminders(db, tokyo(8, 2, days=1), SECRET, BASE) == 0  # not listed tomorrow
    undo = re.search(r'action="([^"]*/reminders/undo/[^"]+)"', answer).group(1)
    assert "Undone" in browser.post(undo).get_data(as_text=True)
    assert zoe(db).quiet_until is None


def test_a_link_posts_without_a_session_csrf_token(email_links, app, http, db):
    app.config["WTF_CSRF_ENABLED"] = True
    done, _ = email_links
    assert http.post(done).status_code == 200
    assert zoe(db).follow_ups_sent == 1


def test_a_tampered_link_is_refused_and_changes_nothing(email_links, http, db):
    done, _ = email_links
    token = done.rsplit("/", 1)[1]
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), token[:20], "x"):
        for method in (http.get, http.post):
            answer = method(f"/reminders/{bad}")
            assert answer.status_code == 400
            assert "This link is not valid" in answer.get_data(as_text=True)
    assert zoe(db).follow_ups_sent == 0


def test_an_expired_link_is_refused_and_changes_nothing(clara, db, http, monkeypatch):
    contact = zoe(db)
    with monkeypatch.context() as patch:
        week_ago = int(time.time()) - reminders.LINK_DAYS * 86400 - 60
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: week_ago)
        token = link_token(reminder_signer(SECRET), contact, Action.DONE, DueKind.FOLLOW_UP)
    answer = http.post(f"/reminders/{token}")
    assert answer.status_code == 410 and "This link has expired" in answer.get_data(as_text=True)
    assert zoe(db).follow_ups_sent == 0


def test_a_link_for_another_clients_contact_or_account_is_refused(clara, world, db, http, as_user):
    theirs = requested(db, world.other_client, "Otto's Contact")
    db.commit()
    # A token naming Clara as the client but another client's contact.
    forged = reminder_signer(SECRET).sign_values([clara.id, theirs.id, "done", "follow_up"])
    assert http.post(f"/reminders/{forged}").status_code == 400
    db.expire_all()
    assert theirs.follow_ups_sent == 0
    # Clara's own link, used while someone else is signed in.
    token = link_token(reminder_signer(SECRET), zoe(db), Action.DONE, DueKind.FOLLOW_UP)
    answer = as_user(world.other_client.user).post(f"/reminders/{token}")
    assert answer.status_code == 403 and "This link is for another account" in answer.get_data(as_text=True)
    assert zoe(db).follow_ups_sent == 0


def test_a_thank_you_done_marks_the_contact_thanked(clara, db, http):
    talked = make_contact(
        db, clara, "Tom Talked", stage=Stage.TALKED, stage_changed_at=utcnow() - timedelta(days=3)
    )
    db.commit()
    token = link_token(reminder_signer(SECRET), talked, Action.DONE, DueKind.THANK_YOU)
    assert "is marked thanked" in http.post(f"/reminders/{token}").get_data(as_text=True)
    db.expire_all()
    assert talked.stage == Stage.THANKED


def test_the_open_links_are_the_apps_own_routes(app, clara):
    with app.app_context():
        from crossroads.web.navigation import external_url

        assert external_url("contacts.show", contact_id=7) == BASE + reminders.CONTACT_PATH.format(id=7)
        assert external_url("conversations.prep", conversation_id=7) == BASE + reminders.PREP_PATH.format(
            id=7
        )
        assert external_url("auth.account") == BASE + reminders.SETTINGS_PATH
        assert external_url("client.home") == BASE + reminders.HOME_PATH


def test_the_open_link_asks_a_signed_out_visitor_to_sign_in(clara, db, http):
    answer = http.get(f"/contacts/{zoe(db).id}")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_noted_hides_the_second_person_hint_until_the_follow_up_is_due(clara, db, http):
    from zoneinfo import ZoneInfo

    from crossroads.core.outreach.followups import first_follow_up_on

    young = requested(db, clara, "Sam Second", days_ago=6)  # 3 to 5 business days: before 7
    db.commit()
    token = link_token(reminder_signer(SECRET), young, Action.DONE, DueKind.SECOND_PERSON)
    assert "hide this until the follow-up is due" in http.get(f"/reminders/{token}").get_data(as_text=True)
    assert "Noted. Sam Second is quiet until" in http.post(f"/reminders/{token}").get_data(as_text=True)
    db.expire_all()
    assert young.quiet_until == first_follow_up_on(young, clara.practice, ZoneInfo("Asia/Tokyo"))
