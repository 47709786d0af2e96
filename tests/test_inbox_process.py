"""What an incoming email does: replies, automatic replies, delivery failures, spam and the rest,
from real and realistic messages (tests/data/inbox/), through the real outbox and SMTP server."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crossroads.core import events
from crossroads.core.db import make_sessionmaker
from crossroads.core.inbox import Incoming, receive, record
from crossroads.core.inbox.classify import return_date
from crossroads.core.mail.outbox import deliver
from crossroads.core.models import (
    Contact,
    InboundKind,
    InboundMail,
    MessageKind,
    MessageStatus,
    Notification,
    NotificationKind,
    OutboxEmail,
    OutreachMessage,
    PracticeMail,
    Stage,
)
from crossroads.core.outreach import service as outreach
from crossroads.core.outreach.followups import add_business_days, due_for
from crossroads.core.plugins import PluginManager
from crossroads.core.scoping import Scope
from crossroads.plugins.email_channel import CHANNEL as EMAIL
from crossroads.testing import TEST_SECRET_KEY, make_contact
from tests.mailserver import configure_mail

DATA = Path(__file__).parent / "data" / "inbox"
SECRET = TEST_SECRET_KEY  # the settings fixture's key
ZOE = "zoe.ng@acme.example"
SUBJECT = "A question about magazine editing"


def incoming(name: str, **values: str) -> bytes:
    """A fixture message with its placeholders filled in (``{ORIGINAL_ID}``, ``{TOKEN}`` …)."""
    raw = (DATA / name).read_bytes()
    for key, value in values.items():
        raw = raw.replace(("{" + key.upper() + "}").encode(), value.encode())
    return raw


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


@pytest.fixture
def practice_mail(world, db, smtp_server):
    settings = configure_mail(db, world.practice.id, smtp_server, from_address="hello@northbridge.example")
    settings.reply_address = "replies@northbridge.example"
    settings.plus_addressing = True
    db.commit()
    return settings


@pytest.fixture
def zoe(world, db):
    contact = make_contact(db, world.client, "Zoë Ng", "Acme Magazines", "Managing Editor", email=ZOE)
    contact.themes.append(world.client.themes[0])
    db.commit()
    return contact


def send_request(db, world, contact, subject: str = SUBJECT) -> OutreachMessage:
    """The client emails ``contact`` through the real email channel; the worker then sent it."""
    events.attach(db, PluginManager())
    message = outreach.send(
        Scope(db, world.client.user),
        {"email": EMAIL},
        contact.id,
        {
            "channel": "email",
            "kind": "first_request",
            "subject": subject,
            "body": "Would you have 20 minutes?",
        },
    )
    message.status = message.outbox.status = MessageStatus.SENT
    message.sent_at = message.outbox.sent_at = message.created_at
    db.commit()
    return message


def values_for(message: OutreachMessage, **extra: str) -> dict[str, str]:
    return {
        "original_id": message.outbox.message_id,
        "token": message.reply_token or "",
        "subject": message.subject,
        "recipient": message.to_address,
        **extra,
    }


def take(db, world, raw: bytes, practice=None) -> InboundMail:
    mail, _ = receive(db, (practice or world.practice).id, raw, source="post")
    db.commit()
    return mail


def today_for(world) -> date:
    return datetime.now(ZoneInfo(world.client.user.timezone)).date()


# -- outgoing: the reply address -------------------------------------------------------------


def test_outreach_email_says_reply_to_the_plus_address_of_its_own_message(
    db, world, zoe, practice_mail, sessions, smtp_server
):
    message = send_request(db, world, zoe)
    assert message.reply_token and len(message.reply_token) == 20
    assert message.outbox.reply_to == f"replies+{message.reply_token}@northbridge.example"
    message.outbox.status = MessageStatus.QUEUED
    db.commit()
    assert deliver(sessions, message.outbox_id, SECRET, allow_private=True) == MessageStatus.SENT
    sent = message_from_bytes(smtp_server.received[-1].data, policy=policy.default)
    assert str(sent["Reply-To"]) == f"replies+{message.reply_token}@northbridge.example"


def test_without_plus_addressing_it_is_the_plain_reply_address_and_without_one_the_client(
    db, world, zoe, practice_mail
):
    practice_mail.plus_addressing = False
    db.commit()
    assert send_request(db, world, zoe).outbox.reply_to == "replies@northbridge.example"
    practice_mail.reply_address = ""
    db.commit()
    assert send_request(db, world, zoe, "Another question").outbox.reply_to == world.client.user.email


# -- replies -----------------------------------------------------------------------------------


def test_a_reply_moves_the_contact_to_replied_and_no_follow_up_is_due_any_more(db, world, zoe, practice_mail):
    message = send_request(db, world, zoe)
    later = add_business_days(today_for(world), 12)
    assert due_for(zoe, world.practice, ZoneInfo("UTC"), later) is not None
    mail = take(db, world, incoming("reply_in_reply_to.eml", **values_for(message)))
    db.refresh(zoe)
    assert mail.kind == InboundKind.REPLY and mail.outreach_message_id == message.id
    assert (mail.contact_id, mail.client_id) == (zoe.id, world.client.id)
    assert "Happy to talk" in mail.text and "Would you have 20 minutes" not in mail.text
    assert "+44 20" not in mail.text  # the signature is trimmed; the original stays in raw
    assert b"+44 20" in mail.raw
    assert message.replied_at is not None and zoe.stage == Stage.REPLIED and zoe.quiet_until is None
    assert due_for(zoe, world.practice, ZoneInfo("UTC"), later) is None


def test_the_client_gets_the_reply_in_their_own_inbox_reply_to_the_contact(
    db, world, zoe, practice_mail, sessions, smtp_server
):
    message = send_request(db, world, zoe)
    take(db, world, incoming("reply_in_reply_to.eml", **values_for(message)))
    copy = db.scalar(select(OutboxEmail).where(OutboxEmail.to_address == world.client.user.email))
    assert deliver(sessions, copy.id, SECRET, allow_private=True) == MessageStatus.SENT
    received = smtp_server.received[-1]
    parsed = message_from_bytes(received.data, policy=policy.default)
    assert parsed["To"].addresses[0].addr_spec == world.client.user.email
    assert parsed["Reply-To"] is None or parsed["Reply-To"].addresses[0].addr_spec == ZOE
    assert "evil" not in "".join(f"{name}: {value}" for name, value in parsed.items() if name != "Subject")
    assert "\n" not in str(parsed["Subject"]) and "\r" not in str(parsed["Subject"])
    assert str(parsed["Subject"]) == f"Zoë Ng replied: Re: {SUBJECT}"
    body = parsed.get_body(preferencelist=("plain",)).get_content()
    assert "Happy to talk" in body and "Would you have 20 minutes" not in body


def test_a_reply_notifies_the_client_and_their_coach_in_crossroads_and_a_forward_notifies_nobody(
    db, world, zoe, practice_mail
):
    message = send_request(db, world, zoe)
    take(db, world, incoming("forwarded_by_colleague.eml", **values_for(message)))
    assert db.scalar(select(func.count()).select_from(Notification)) == 0
    take(db, world, incoming("reply_in_reply_to.eml", **values_for(message)))
    told = db.execute(select(Notification.user_id, Notification.kind, Notification.link)).all()
    assert sorted(told) == sorted(
        [
            (world.client.user_id, NotificationKind.REPLY, f"/messages/{message.id}"),
            (world.coach.id, NotificationKind.REPLY, f"/messages/{message.id}"),
        ]
    )


def test_a_reply_without_in_reply_to_is_matched_by_the_senders_address(db, world, zoe, practice_mail):
    message = send_request(db, world, zoe)
    mail = take(db, world, incoming("reply_without_in_reply_to.eml", **values_for(message)))
    assert mail.kind == InboundKind.REPLY and mail.outreach_message_id == message.id
    assert "happy to talk" in mail.text and "alert" not in mail.text and "color" not in mail.text
    db.refresh(zoe)
    assert zoe.stage == Stage.REPLIED


def test_a_reply_from_another_address_of_the_same_person_is_matched_by_name_and_subject(
    db, world, zoe, practice_mail
):
    message = send_request(db, world, zoe)
    mail = take(db, world, incoming("reply_other_address.eml", **values_for(message)))
    assert mail.kind == InboundKind.REPLY and mail.outreach_message_id == message.id
    assert "name and subject" in mail.reason
    db.refresh(zoe)
    assert zoe.stage == Stage.REPLIED


def test_a_colleagues_forward_is_kept_on_the_thread_but_is_not_the_contacts_reply(
    db, world, zoe, practice_mail
):
    message = send_request(db, world, zoe)
    mail = take(db, world, incoming("forwarded_by_colleague.eml", **values_for(message)))
    db.refresh(zoe)
    assert mail.kind == InboundKind.REPLY and mail.outreach_message_id == message.id
    assert "not counted" in mail.reason
    assert message.replied_at is None and zoe.stage == Stage.REQUESTED
    copy = db.scalar(select(OutboxEmail).where(OutboxEmail.to_address == world.client.user.email))
    assert copy.reply_to == "sam.lee@acme.example" and copy.subject.startswith("Sam Lee replied:")


def test_a_reply_to_an_office_marks_the_introduction_request_answered(db, world, practice_mail):
    from crossroads.core.inbox.addresses import ensure_reply_token
    from crossroads.core.mail.outbox import queue_email
    from crossroads.plugins.alumni_offices.models import IntroductionRequest, Office, RequestStatus
    from crossroads.plugins.alumni_offices.route_ids import crossroads_route_ids

    events.attach(db, PluginManager())
    message = OutreachMessage(
        practice_id=world.practice.id,
        client_id=world.client.id,
        channel="alumni_offices",
        kind=MessageKind.INTRODUCTION_REQUEST,
        subject="Introductions to alumni in publishing",
        to_name="University alumni office",
        to_address="alumni@university.example",
        status=MessageStatus.SENT,
    )
    ensure_reply_token(message)
    message.outbox = queue_email(
        db,
        practice_id=world.practice.id,
        client_id=world.client.id,
        sender_name="Clara",
        reply_to="x",
        to_address=message.to_address,
        subject=message.subject,
        body="Hello",
    )
    request = IntroductionRequest(
        practice_id=world.practice.id,
        client_id=world.client.id,
        institution_id=next(r for r in crossroads_route_ids if r.param == "institution_id").resolve(
            db, world.client
        ),
        office=Office.ALUMNI,
        message=message,
    )
    db.add_all([message, request])
    db.commit()
    mail = take(db, world, incoming("office_reply.eml", **values_for(message)))
    db.refresh(request)
    assert mail.kind == InboundKind.REPLY and message.replied_at is not None
    assert request.status == RequestStatus.ANSWERED and request.answered_at is not None


# -- automatic replies -----------------------------------------------------------------------


def test_an_out_of_office_shifts_the_follow_up_to_after_the_return_date(db, world, zoe, practice_mail):
    message = send_request(db, world, zoe)
    back = add_business_days(today_for(world), 10)
    while back.weekday() != 0:  # a Monday, written as Outlook users write it
        back += timedelta(days=1)
    words = f"{back:%A} {back.day} {back:%B %Y}"
    mail = take(db, world, incoming("auto_reply_outlook.eml", **values_for(message, back=words)))
    db.refresh(zoe)
    assert mail.kind == InboundKind.AUTO_REPLY and mail.away_until == back
    assert zoe.stage == Stage.REQUESTED and message.replied_at is None
    assert zoe.quiet_until == add_business_days(back, 1)
    assert due_for(zoe, world.practice, ZoneInfo("UTC"), back) is None
    item = due_for(zoe, world.practice, ZoneInfo("UTC"), zoe.quiet_until)
    assert item is not None and item.due_on == zoe.quiet_until  # shifted, not stopped


def test_a_vacation_reply_without_a_date_quiets_the_follow_up_for_a_few_business_days(
    db, world, zoe, practice_mail
):
    message = send_request(db, world, zoe)
    mail = take(db, world, incoming("auto_reply_gmail_vacation.eml", **values_for(message)))
    db.refresh(zoe)
    assert mail.kind == InboundKind.AUTO_REPLY and mail.away_until is None
    assert zoe.quiet_until == add_business_days(today_for(world), 3) and zoe.stage == Stage.REQUESTED


def test_return_dates_are_read_from_common_phrasings_and_never_in_the_past():
    today = date.today()
    ahead = today + timedelta(days=20)
    assert return_date(f"I will be back on {ahead.day} {ahead:%B}.", today) == ahead
    assert return_date(f"Returning {ahead:%A} {ahead.day} {ahead:%B %Y}", today) == ahead
    assert return_date(f"Out of the office until {ahead.isoformat()}", today) == ahead
    past = today - timedelta(days=20)
    assert return_date(f"back on {past.day} {past:%B %Y}", today) is None
    assert return_date("Happy to talk for 20 minutes at 10am", today) is None


# -- delivery failures -----------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["bounce_gmail.eml", "bounce_office365.eml"])
def test_a_standard_bounce_marks_the_message_failed_and_flags_the_address(
    db, world, zoe, practice_mail, fixture
):
    message = send_request(db, world, zoe)
    mail = take(db, world, incoming(fixture, **values_for(message)))
    db.refresh(zoe)
    assert mail.kind == InboundKind.BOUNCE and mail.outreach_message_id == message.id
    assert message.status == MessageStatus.FAILED and message.outbox.status == MessageStatus.FAILED
    assert "5.1.1" in message.error or "5.1.10" in message.error
    assert zoe.email_problem.startswith("The address bounced") and zoe.email_problem_at is not None


@pytest.mark.parametrize(
    ("fixture", "address"),
    [
        ("bounce_postfix_flufl.eml", "xxxxx@local.ie"),
        ("bounce_exim_flufl.eml", "userx@its.example.nl"),
        ("bounce_exchange_flufl.eml", "userx@example.com"),
        ("bounce_dsn_flufl.eml", "userx@example.com"),
    ],
)
def test_real_bounces_of_other_servers_are_matched_by_the_failed_address(
    db, world, practice_mail, fixture, address
):
    contact = make_contact(db, world.client, "Uma Userx", "Elsewhere", email=address)
    db.commit()
    message = send_request(db, world, contact)
    mail = take(db, world, incoming(fixture))
    db.refresh(contact)
    assert mail.kind == InboundKind.BOUNCE
    assert message.status == MessageStatus.FAILED and contact.email_problem


# -- left alone --------------------------------------------------------------------------------


def test_spam_and_unrelated_mail_are_left_alone_and_counted(db, world, zoe, practice_mail):
    message = send_request(db, world, zoe)
    spam = take(db, world, incoming("spam.eml", **values_for(message)))
    other = take(db, world, incoming("unrelated_newsletter.eml"))
    db.refresh(zoe)
    assert (spam.kind, other.kind) == (InboundKind.SPAM, InboundKind.UNRELATED)
    assert zoe.stage == Stage.REQUESTED and message.replied_at is None
    counted = dict(db.execute(select(InboundMail.kind, func.count()).group_by(InboundMail.kind)).all())
    assert counted == {InboundKind.SPAM: 1, InboundKind.UNRELATED: 1}


def test_the_owner_sees_what_came_in_by_kind_and_another_practice_sees_none_of_it(
    db, world, zoe, practice_mail, as_user
):
    message = send_request(db, world, zoe)
    take(db, world, incoming("spam.eml", **values_for(message)))
    take(db, world, incoming("unrelated_newsletter.eml"))
    take(db, world, incoming("reply_in_reply_to.eml", **values_for(message)))
    html = as_user(world.owner).page("/practice/email").html
    rows = dict(re.findall(r'<tr data-kind="(\w+)"><td>[^<]*</td><td class="num">(\d+)</td>', html))
    assert rows == {"reply": "1", "unrelated": "1", "spam": "1"}
    assert "Read in the last 30 days" in html
    elsewhere = as_user(world.stranger_owner).page("/practice/email").html
    assert 'id="incoming-counts"' not in elsewhere


def test_a_message_for_practice_as_token_taken_by_practice_b_changes_nothing(db, world, zoe, practice_mail):
    message = send_request(db, world, zoe)
    db.add(
        PracticeMail(
            practice_id=world.stranger_practice.id,
            host="smtp.b.example",
            from_address="hello@b.example",
            reply_address="replies@northbridge.example",  # even the same reply address
            plus_addressing=True,
        )
    )
    db.commit()
    mail = take(db, world, incoming("reply_in_reply_to.eml", **values_for(message)), world.stranger_practice)
    db.refresh(zoe)
    assert mail.kind == InboundKind.UNRELATED and mail.outreach_message_id is None and mail.client_id is None
    assert zoe.stage == Stage.REQUESTED and message.replied_at is None
    assert (
        db.scalar(
            select(func.count())
            .select_from(OutboxEmail)
            .where(OutboxEmail.to_address == world.client.user.email)
        )
        == 0
    )


def test_a_hostile_subject_and_sender_cannot_add_headers_to_the_forwarded_email(
    db, world, zoe, practice_mail, sessions, smtp_server
):
    message = send_request(db, world, zoe)
    raw = incoming("reply_in_reply_to.eml", **values_for(message))
    raw = raw.replace(
        f"Subject: Re: {SUBJECT}".encode(), b"Subject: =?utf-8?q?Re:_x=0D=0ABcc:_victim@evil.example=0D=0A?="
    ).replace(
        b"From: =?utf-8?q?Zo=C3=AB_Ng?=",
        b"From: =?utf-8?q?Zoe=0D=0ABcc:_spy@evil.example=0D=0AX-Evil:_1?=",
    )
    take(db, world, raw)
    copy = db.scalar(select(OutboxEmail).where(OutboxEmail.to_address == world.client.user.email))
    assert deliver(sessions, copy.id, SECRET, allow_private=True) == MessageStatus.SENT
    received = smtp_server.received[-1]
    parsed = message_from_bytes(received.data, policy=policy.default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert received.rcpt_tos == [world.client.user.email]
    assert parsed["Reply-To"] is None or parsed["Reply-To"].addresses[0].addr_spec == ZOE
    assert "evil" not in "".join(f"{name}: {value}" for name, value in parsed.items() if name != "Subject")
    assert "\n" not in str(parsed["Subject"]) and "\r" not in str(parsed["Subject"])


# -- cost ------------------------------------------------------------------------------------


def test_every_reply_processed_runs_the_same_few_statements(db, world, practice_mail):
    """The worker processes a recorded batch message by message, each in its own transaction: each
    reply costs the same statements, however many come (no look-up grows with the batch)."""
    from crossroads.core.inbox.pending import Outcome, claim, process_claimed

    from .test_caseload import count_queries

    messages = []
    for n in range(6):
        contact = make_contact(db, world.client, f"Person {n}", "Acme", "Editor", email=f"p{n}@acme.example")
        db.commit()
        messages.append(send_request(db, world, contact, subject=f"{SUBJECT} ({n})"))
    raws = [
        incoming("reply_in_reply_to.eml", **values_for(m)).replace(b"CAzoe-reply-0001", b"reply-%d" % n)
        for n, m in enumerate(messages)
    ]
    assert len(record(db, world.practice.id, [Incoming(raw, "imap") for raw in raws])) == 6
    db.commit()
    per_reply = []
    for mail_id, attempt in claim(db, limit=10):
        with count_queries() as statements:
            assert process_claimed(db, mail_id, attempt) == Outcome.PROCESSED
        per_reply.append(len(statements))
    kinds = db.scalars(select(InboundMail.kind).order_by(InboundMail.id)).all()
    assert kinds == [InboundKind.REPLY] * 6
    assert per_reply == [per_reply[0]] * 6 and per_reply[0] <= 26, per_reply


# -- the same messages, read from a real IMAP server ----------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "kind", "stage"),
    [
        ("reply_in_reply_to.eml", InboundKind.REPLY, Stage.REPLIED),
        ("reply_without_in_reply_to.eml", InboundKind.REPLY, Stage.REPLIED),
        ("reply_other_address.eml", InboundKind.REPLY, Stage.REPLIED),
        ("forwarded_by_colleague.eml", InboundKind.REPLY, Stage.REQUESTED),
        ("auto_reply_outlook.eml", InboundKind.AUTO_REPLY, Stage.REQUESTED),
        ("bounce_gmail.eml", InboundKind.BOUNCE, Stage.REQUESTED),
        ("spam.eml", InboundKind.SPAM, Stage.REQUESTED),
    ],
)
def test_each_kind_of_message_read_from_the_imap_mailbox_does_what_it_does_by_post(
    db, world, zoe, practice_mail, settings, mailbox_user, fixture, kind, stage
):
    from crossroads.core.inbox.imap import poll
    from crossroads.core.inbox.pending import process_pending
    from tests.imapserver import configure_mailbox

    configure_mailbox(db, world.practice.id, mailbox_user, settings.secret_key)
    poll(db, world.practice.id, settings.secret_key, allow_private=True, timeout=10)  # from now on
    message = send_request(db, world, zoe)
    mailbox_user.append([incoming(fixture, **values_for(message))])
    result = poll(db, world.practice.id, settings.secret_key, allow_private=True, timeout=10)
    assert result.received == 1 and not result.error
    bound = make_sessionmaker(db.get_bind())
    assert process_pending(bound, world.practice.id).processed == 1
    db.expire_all()
    mail = db.scalar(select(InboundMail).where(InboundMail.practice_id == world.practice.id))
    assert (mail.source, mail.kind) == ("imap", kind)
    assert db.get(Contact, zoe.id).stage == stage
