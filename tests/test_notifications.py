"""Notifications: each kind reaches the right person and nobody else, is listed until read, opens
only for its own user, and reaches a coach by email, in the digest or only in Crossroads as chosen."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crossroads.core.db import make_sessionmaker, utcnow
from crossroads.core.mail.outbox import deliver
from crossroads.core.models import (
    Delivery,
    InvitationPurpose,
    MessageStatus,
    Notification,
    NotificationKind,
    NotificationPreference,
    OutboxEmail,
    OutreachMessage,
    PracticeMail,
    Role,
    WebhookSubscription,
)
from crossroads.core.schemas import InviteClientSchema, NewContactSchema, load
from crossroads.core.scoping import Scope
from crossroads.core.security import LinkSigner
from crossroads.core.services import contacts, export, invitations, notifications, reflections
from crossroads.core.services.erasure import erase_client
from crossroads.core.webhook_sender import switch_off
from crossroads.plugins.progress_report.digest import send_digests
from crossroads.plugins.progress_report.models import DigestSubscription
from crossroads.testing import TEST_SECRET_KEY, make_contact, make_conversation, make_user
from tests.mailserver import configure_mail

SECRET = TEST_SECRET_KEY


def told(db) -> Counter:
    """(user id, kind) of every notification made, counted."""
    db.expire_all()
    return Counter((n.user_id, n.kind) for n in db.scalars(select(Notification)))


def message_of(db, client) -> OutreachMessage:
    return db.scalar(select(OutreachMessage).where(OutreachMessage.client_id == client.id))


def unshared_reflection(db, client):
    contact = make_contact(db, client, "Rhea Reflected", "Harbour Trust", "Planner")
    conversation = make_conversation(db, contact, shared_reflection=False)
    db.commit()
    return conversation.reflection


def stall(db, client, days: int = 20) -> None:
    client.last_activity_at = utcnow() - timedelta(days=days)
    db.commit()


def next_monday_noon() -> datetime:
    """Monday 12:00 UTC after today: the digest goes from 07:00 on Mondays (London, here)."""
    now = utcnow()
    days = (7 - now.weekday()) % 7 or 7
    return (now + timedelta(days=days)).replace(hour=12, minute=0, second=0, microsecond=0)


# -- each kind, to whom ------------------------------------------------------------------------


def test_a_reply_tells_the_client_and_their_coach_and_nobody_else(world, db):
    notifications.notify_reply(db, message_of(db, world.client))
    db.commit()
    assert told(db) == Counter(
        {(world.client.user_id, NotificationKind.REPLY): 1, (world.coach.id, NotificationKind.REPLY): 1}
    )
    texts = {n.user_id: n.text for n in db.scalars(select(Notification))}
    assert texts[world.coach.id].startswith("Clara Client: Ada Editor replied")


def test_sharing_a_reflection_tells_the_clients_coach_only(world, db):
    reflection = unshared_reflection(db, world.client)
    reflections.set_shared(Scope(db, world.client.user), reflection.id, True)
    reflections.set_shared(Scope(db, world.client.user), reflection.id, True)  # already shared: once
    assert told(db) == Counter({(world.coach.id, NotificationKind.REFLECTION_SHARED): 1})


def test_a_coachs_comment_tells_the_client_only(world, db):
    reflection = db.get(type(unshared_reflection(db, world.client)), _shared_reflection_id(db, world.client))
    reflections.comment(Scope(db, world.coach), reflection.id, "What gave you energy?")
    assert told(db) == Counter({(world.client.user_id, NotificationKind.COMMENT): 1})


def _shared_reflection_id(db, client) -> int:
    from crossroads.core.models import Reflection

    return db.scalar(
        select(Reflection.id).where(Reflection.client_id == client.id, Reflection.shared_at.is_not(None))
    )


def test_a_suggested_contact_tells_the_client_and_a_clients_own_contact_tells_nobody(world, db):
    data = load(NewContactSchema(), {"name": "Sol Suggested", "organisation": "Port Authority"})
    contacts.create_contact(Scope(db, world.coach), world.client.id, data)
    contacts.create_contact(Scope(db, world.client.user), world.client.id, {**data, "name": "Own Contact"})
    assert told(db) == Counter({(world.client.user_id, NotificationKind.SUGGESTION): 1})
    assert "Colin Coach suggested a contact: Sol Suggested at Port Authority." in told_texts(db)


def told_texts(db) -> set[str]:
    return set(db.scalars(select(Notification.text)))


def test_an_accepted_invitation_tells_the_coach_and_the_inviting_owner(world, db):
    signer = LinkSigner(SECRET)
    data = load(
        InviteClientSchema(), {"name": "Nina New", "email": "nina@a.example", "coach_id": world.coach.id}
    )
    invited = invitations.invite_client(Scope(db, world.owner), signer, data)
    assert told(db) == Counter()  # invited is not yet accepted
    invitations.accept(db, signer, invited.token, InvitationPurpose.INVITE, "a long enough password")
    assert told(db) == Counter(
        {
            (world.coach.id, NotificationKind.INVITATION_ACCEPTED): 1,
            (world.owner.id, NotificationKind.INVITATION_ACCEPTED): 1,
        }
    )
    assert told_texts(db) == {"Nina New accepted the invitation and joined Crossroads."}


def test_a_stalled_client_is_told_to_their_coach_once_per_stall(world, db):
    stall(db, world.client)
    now = utcnow()
    assert notifications.notify_stalled(db, now) == 1
    db.commit()
    assert notifications.notify_stalled(db, now + timedelta(hours=1)) == 0  # the next hour: remembered
    db.commit()
    assert told(db) == Counter({(world.coach.id, NotificationKind.STALLED): 1})
    assert told_texts(db) == {"Clara Client has stalled: no activity of their own in 20 days."}
    # Active again, then quiet for long enough: a new stall, told again.
    world.client.last_activity_at = now + timedelta(days=1)
    db.commit()
    assert notifications.notify_stalled(db, now + timedelta(days=5)) == 0
    notifications.notify_stalled(db, now + timedelta(days=16))  # everyone who joined today, too
    db.commit()
    about_clara = select(func.count(Notification.id)).where(Notification.client_id == world.client.id)
    assert db.scalar(about_clara) == 2
    assert notifications.notify_stalled(db, now + timedelta(days=17)) == 0


def test_the_stalled_job_is_the_mail_workers_and_tells_once(settings, plugins, world, db):
    from crossroads.core.mail.queue import make_queue

    stall(db, world.client)
    queue = make_queue(settings, plugins)
    try:
        job = queue.jobs["job:core:stalled_clients"]
        job()  # in the worker's own session, committed
        job()
    finally:
        queue.close()
    assert told(db) == Counter({(world.coach.id, NotificationKind.STALLED): 1})


def test_each_link_opens_its_page_for_the_person_told(world, db, as_user):
    notifications.notify_reply(db, message_of(db, world.client))
    reflection = unshared_reflection(db, world.client)
    reflections.set_shared(Scope(db, world.client.user), reflection.id, True)
    reflections.comment(Scope(db, world.coach), reflection.id, "Which part surprised you?")
    data = load(NewContactSchema(), {"name": "Sol Suggested"})
    contacts.create_contact(Scope(db, world.coach), world.client.id, data)
    stall(db, world.client)
    notifications.notify_stalled(db, utcnow())
    failing = WebhookSubscription(
        practice_id=world.practice.id,
        url="https://hooks.example.org/x",
        events=["*"],
        secret="whsec_dGVzdA==",
        failing_since=utcnow() - timedelta(days=3),
    )
    db.add(failing)
    switch_off(db, failing, utcnow())
    db.commit()
    users = {
        world.coach.id: world.coach,
        world.client.user_id: world.client.user,
        world.owner.id: world.owner,
    }
    kinds = set()
    for row in db.scalars(select(Notification)).all():
        browser = as_user(users[row.user_id])
        opened = browser.get(f"/notifications/{row.id}")
        assert opened.status_code == 302 and opened.location.endswith(row.link), row.text
        assert browser.get(row.link).status_code == 200, row.link
        kinds.add(row.kind)
    assert kinds == set(NotificationKind) - {NotificationKind.INVITATION_ACCEPTED}


# -- the list, the count, and reading ----------------------------------------------------------------


def test_the_list_counts_unread_and_marks_read_on_opening_and_all_at_once(world, db, as_user):
    browser = as_user(world.client.user)
    empty = browser.get("/notifications/").get_data(as_text=True)
    assert "Nothing yet." in empty and "unread)" not in empty
    for n in range(3):
        notifications.notify(
            db, world.client.user, NotificationKind.COMMENT, f"Note {n}", "/me/", world.client
        )
    db.commit()
    page = browser.get("/notifications/").get_data(as_text=True)
    assert 'Notifications <span class="nav-count">(3<span class="visually-hidden"> unread</span>)' in page
    assert page.index("Note 2") < page.index("Note 1") < page.index("Note 0")  # newest first
    assert page.count(">New<") == 3
    first = db.scalar(select(Notification).where(Notification.text == "Note 0"))
    assert browser.get(f"/notifications/{first.id}").location.endswith("/me/")
    assert notifications.unread_count(Scope(db, world.client.user)) == 2
    marked = browser.post("/notifications/read", follow_redirects=True).get_data(as_text=True)
    assert "2 notifications marked read." in marked and ">New<" not in marked
    assert notifications.unread_count(Scope(db, world.client.user)) == 0
    assert notifications.unread_count(Scope(db, world.coach)) == 0


def test_the_list_is_paginated(world, db, as_user):
    for n in range(30):
        notifications.notify(db, world.coach, NotificationKind.STALLED, f"Item {n:02d}", "/coach/")
    db.commit()
    browser = as_user(world.coach)
    first = browser.get("/notifications/").get_data(as_text=True)
    second = browser.get("/notifications/?page=2").get_data(as_text=True)
    assert "Item 29" in first and "Item 04" not in first
    assert "Item 04" in second and "Item 29" not in second
    assert browser.get("/notifications/?page=nonsense").status_code == 200


def test_a_notification_opens_only_for_its_own_user(world, db, as_user):
    colleague = make_user(db, world.practice, "colleague@a.example", Role.COACH, "Cora Colleague")
    for_client = notifications.notify(
        db, world.client.user, NotificationKind.COMMENT, "Yours", "/me/", world.client
    )
    for_coach = notifications.notify(
        db, world.coach, NotificationKind.STALLED, "Coach's", "/coach/", world.client
    )
    db.commit()
    refused = [
        (world.coach, for_client),  # the client's own coach
        (world.owner, for_client),  # the practice's owner
        (world.other_client.user, for_client),  # another client
        (colleague, for_coach),  # another coach of the practice
        (world.owner, for_coach),
        (world.client.user, for_coach),  # the client it is about
        (world.stranger_owner, for_coach),  # another practice
    ]
    for user, row in refused:
        assert as_user(user).get(f"/notifications/{row.id}").status_code == 404, (user.email, row.text)
    db.expire_all()
    assert db.get(Notification, for_client.id).read_at is None
    assert db.get(Notification, for_coach.id).read_at is None
    assert "Yours" not in as_user(world.coach).get("/notifications/").get_data(as_text=True)


def test_a_notification_never_links_off_the_site(world, db):
    for link in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        with pytest.raises(ValueError):
            notifications.notify(db, world.coach, NotificationKind.STALLED, "x", link)


def test_long_or_multiline_text_is_kept_on_one_bounded_line(world, db):
    row = notifications.notify(db, world.coach, NotificationKind.STALLED, "a\r\nb" + "x" * 500, "/coach/")
    assert row.text.startswith("a b") and len(row.text) == notifications.MAX_TEXT and row.text.endswith("…")


# -- the coach's choices -----------------------------------------------------------------------------


def test_at_once_emails_the_coach_for_real_and_in_crossroads_only_sends_nothing(
    world, db, engine, smtp_server, as_user
):
    configure_mail(db, world.practice.id, smtp_server)
    notifications.notify_reply(db, message_of(db, world.client))  # replies: at once, by default
    db.commit()
    [email] = db.scalars(select(OutboxEmail)).all()  # to the coach; the client's stays in Crossroads
    assert email.to_address == world.coach.email and email.client_id == world.client.id
    status = deliver(make_sessionmaker(engine), email.id, SECRET, allow_private=True)
    assert status == MessageStatus.SENT
    [received] = smtp_server.received
    message = received.message
    assert message["To"].addresses[0].addr_spec == world.coach.email
    assert message["Subject"] == "A contact replied: Clara Client"
    body = message.get_body(("plain",)).get_content()
    coach_row = db.scalar(select(Notification).where(Notification.user_id == world.coach.id))
    assert f"/notifications/{coach_row.id}" in body and "Ada Editor replied" in body
    assert coach_row.emailed_at is not None

    saved = as_user(world.coach).post(
        "/account/notifications",
        data={
            "reply": "in_app",
            "reflection_shared": "at_once",
            "invitation_accepted": "in_app",
            "stalled": "digest",
        },
    )
    assert saved.status_code == 302
    notifications.notify_reply(db, message_of(db, world.client))
    db.commit()
    assert db.scalar(select(func.count(OutboxEmail.id))) == 1  # nothing more queued
    assert told(db)[(world.coach.id, NotificationKind.REPLY)] == 2  # but listed in Crossroads


def test_without_an_email_server_at_once_stays_in_crossroads(world, db):
    row = notifications.notify_reply(db, message_of(db, world.client))[1]
    db.commit()
    assert row.delivery == Delivery.AT_ONCE and row.emailed_at is None
    assert db.scalar(select(func.count(OutboxEmail.id))) == 0


def test_the_account_page_shows_the_choices_and_names_a_bad_one(world, db, as_user):
    coach = as_user(world.coach)
    page = coach.get("/account").get_data(as_text=True)
    assert "Notifications" in page and "no email server set up yet" in page
    refused = coach.post("/account/notifications", data={"reply": "sometimes", "stalled": "digest"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Choose at once by email, in the weekly digest, or only in Crossroads." in text
    assert db.scalar(select(func.count(NotificationPreference.id))) == 0
    client_page = as_user(world.client.user).get("/account").get_data(as_text=True)
    assert "notifications-heading" not in client_page
    assert (
        as_user(world.client.user).post("/account/notifications", data={"reply": "at_once"}).status_code
        == 404
    )


def test_the_digest_lists_digest_notifications_once(world, db):
    db.add(PracticeMail(practice_id=world.practice.id, host="mail.example", from_address="hi@a.example"))
    db.add(DigestSubscription(practice_id=world.practice.id, user_id=world.coach.id))
    db.commit()
    stall(db, world.client)  # stalled: in the digest, by default
    notifications.notify_stalled(db, utcnow())
    notifications.notify_reply(db, message_of(db, world.client))  # at once: not in the digest
    db.commit()
    monday = next_monday_noon()
    assert send_digests(db, monday) == 1
    db.commit()
    body = db.scalar(select(OutboxEmail.body).where(OutboxEmail.subject.like("Your caseload%")))
    assert "Since last week:\n- Clara Client has stalled" in body
    assert "replied" not in body.split("Since last week:")[1].split("\n\n")[0]
    assert send_digests(db, monday + timedelta(days=7)) == 1
    db.commit()
    later = db.scalars(
        select(OutboxEmail.body).where(OutboxEmail.subject.like("Your caseload%")).order_by(OutboxEmail.id)
    ).all()[-1]
    assert "Since last week:" not in later  # told once
    assert db.scalar(select(Notification.digested_at).where(Notification.kind == NotificationKind.STALLED))


# -- the client's data ---------------------------------------------------------------------------------


def test_a_clients_notifications_are_exported_and_erased_with_them(world, db, plugins):
    notifications.notify_reply(db, message_of(db, world.client))
    notifications.notify_reply(db, message_of(db, world.other_client))
    db.commit()
    [kind] = [k for k in export.KINDS if k.name == "notifications"]
    rows = kind.rows(Scope(db, world.client.user), world.client)
    assert [(r["user_id"], r["told"]) for r in rows] == [
        (world.client.user_id, "you"),
        (world.coach.id, "your coach"),
    ]
    client_id = world.client.id
    erase_client(Scope(db, world.owner), client_id, "Clara Client", plugins)
    left = db.scalars(select(Notification)).all()
    assert {n.client_id for n in left} == {world.other_client.id}  # the coach's about Clara: gone too
    assert len(left) == 2


def test_times_are_shown_in_the_viewers_zone(world, db, as_user):
    row = notifications.notify(db, world.coach, NotificationKind.STALLED, "Zoned", "/coach/")
    row.created_at = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    world.coach.timezone = "America/New_York"
    db.commit()
    assert "01 Jul 2026, 08:00" in as_user(world.coach).get("/notifications/").get_data(as_text=True)
