"""The inbound endpoint and the owner's "Replies" settings: only the practice's own secret posts
mail for it, never for another practice; bodies are bounded; the secret is shown once, kept hashed."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select

from crossroads.core.inbox.inbound import secret_hash
from crossroads.core.inbox.pending import process_pending
from crossroads.core.mail.outbox import deliver
from crossroads.core.models import InboundKind, InboundMail, MessageStatus, OutboxEmail, PracticeMail, Stage
from crossroads.core.scoping import Scope
from crossroads.core.services import mail_settings
from tests import test_inbox_process as inbox

SECRET, ZOE, incoming, send_request, values_for = (
    inbox.SECRET,
    inbox.ZOE,
    inbox.incoming,
    inbox.send_request,
    inbox.values_for,
)
# The fixtures of tests/test_inbox_process.py, shared.
practice_mail, sessions, zoe = inbox.practice_mail, inbox.sessions, inbox.zoe


@pytest.fixture
def secret(world, db, practice_mail) -> str:
    return mail_settings.new_inbound_secret(Scope(db, world.owner))


def post(http, practice_id: int, raw: bytes, secret: str = "", **headers):
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    return http.post(f"/inbound/{practice_id}/mail", data=raw, headers=headers, content_type="message/rfc822")


def count(db) -> int:
    return db.scalar(select(func.count()).select_from(InboundMail))


def test_the_secret_is_kept_hashed_and_a_new_one_replaces_the_old(world, db, practice_mail, secret):
    db.refresh(practice_mail)
    assert (
        practice_mail.inbound_secret_hash == secret_hash(secret)
        and secret not in practice_mail.inbound_secret_hash
    )
    renewed = mail_settings.new_inbound_secret(Scope(db, world.owner))
    db.refresh(practice_mail)
    assert renewed != secret and practice_mail.inbound_secret_hash == secret_hash(renewed)


def test_a_reply_posted_with_the_secret_is_taken_and_reaches_the_client_with_a_link(
    world, db, http, zoe, practice_mail, secret, sessions, smtp_server
):
    message = send_request(db, world, zoe)
    raw = incoming("reply_in_reply_to.eml", **values_for(message))
    response = post(http, world.practice.id, raw, secret)
    # Recorded in the request, processed by the worker right after.
    assert response.status_code == 202 and response.json["kind"] == "pending" and response.json["new"]
    assert post(http, world.practice.id, raw, secret).json["new"] is False  # a provider's retry
    assert process_pending(sessions).processed == 1
    db.expire_all()
    assert count(db) == 1 and db.get(type(zoe), zoe.id).stage == Stage.REPLIED
    assert db.get(InboundMail, response.json["id"]).kind == InboundKind.REPLY
    copy = db.scalar(select(OutboxEmail).where(OutboxEmail.to_address == world.client.user.email))
    assert deliver(sessions, copy.id, SECRET, allow_private=True) == MessageStatus.SENT
    forwarded = message_from_bytes(smtp_server.received[-1].data, policy=policy.default)
    body = forwarded.get_body(preferencelist=("plain",)).get_content()
    assert f"/messages/{message.id}" in body and body.count("http") == 1


def test_a_wrong_or_missing_secret_is_refused(world, db, http, secret):
    raw = incoming("unrelated_newsletter.eml")
    assert post(http, world.practice.id, raw, "not-the-secret").status_code == 401
    response = post(http, world.practice.id, raw)
    assert response.status_code == 401 and response.json == {
        "errors": {"authorization": ["Send the practice's inbound secret as a Bearer token."]}
    }
    assert post(http, 999999, raw, secret).status_code == 401  # no such practice: the same answer
    assert count(db) == 0


def test_another_practices_secret_posts_nothing_for_this_one(world, db, http, secret):
    db.add(
        PracticeMail(
            practice_id=world.stranger_practice.id, host="smtp.b.example", from_address="b@b.example"
        )
    )
    db.commit()
    theirs = mail_settings.new_inbound_secret(Scope(db, world.stranger_owner))
    assert post(http, world.practice.id, incoming("unrelated_newsletter.eml"), theirs).status_code == 401
    assert (
        post(http, world.stranger_practice.id, incoming("unrelated_newsletter.eml"), secret).status_code
        == 401
    )
    assert count(db) == 0


def test_an_oversized_body_is_refused_before_it_is_read(world, db, http, secret):
    raw = b"Subject: big\r\n\r\n" + b"x" * (10 * 1024 * 1024 + 1)
    response = post(http, world.practice.id, raw, secret)
    assert response.status_code == 413 and "body" in response.json["errors"]
    assert count(db) == 0


def test_a_message_for_practice_a_posted_to_practice_b_changes_nothing(
    world, db, http, zoe, practice_mail, sessions
):
    message = send_request(db, world, zoe)
    db.add(
        PracticeMail(
            practice_id=world.stranger_practice.id, host="smtp.b.example", from_address="b@b.example"
        )
    )
    db.commit()
    theirs = mail_settings.new_inbound_secret(Scope(db, world.stranger_owner))
    raw = incoming("reply_in_reply_to.eml", **values_for(message))
    response = post(http, world.stranger_practice.id, raw, theirs)
    assert response.status_code == 202 and process_pending(sessions).processed == 1
    db.expire_all()
    assert db.get(InboundMail, response.json["id"]).kind == InboundKind.UNRELATED
    assert db.get(type(zoe), zoe.id).stage == Stage.REQUESTED
    assert db.get(type(message), message.id).replied_at is None


def test_the_owner_sets_the_reply_address_and_errors_name_the_field(world, db, as_user, practice_mail):
    owner = as_user(world.owner)
    response = owner.post("/practice/email/replies", data={"reply_address": "not an address"})
    assert response.status_code == 422 and b'id="reply-reply_address-error"' in response.data
    response = owner.post("/practice/email/replies", data={"reply_address": "replies+x@northbridge.example"})
    assert response.status_code == 422
    response = owner.post(
        "/practice/email/replies",
        data={"reply_address": "Replies@Northbridge.example", "plus_addressing": "1"},
    )
    assert response.status_code == 302
    db.refresh(practice_mail)
    assert (practice_mail.reply_address, practice_mail.plus_addressing) == (
        "replies@northbridge.example",
        True,
    )
    page = owner.post("/practice/email/inbound-secret")
    assert page.status_code == 200 and b'id="inbound-secret"' in page.data
    assert b'id="inbound-secret"' not in owner.get("/practice/email").data  # shown once


def test_editing_a_bounced_address_clears_the_warning(world, db, as_user, zoe, practice_mail):
    message = send_request(db, world, zoe)
    inbox.take(db, world, incoming("bounce_gmail.eml", **values_for(message)))
    client = as_user(world.client.user)
    assert b"came back" in client.get(f"/contacts/{zoe.id}").data
    from crossroads.core.services import contacts

    data = {"name": zoe.name, "email": "zoe@acme-new.example", "organisation": zoe.organisation}
    contacts.update_contact(Scope(db, world.client.user), zoe.id, {**data, "theme_ids": []})
    db.refresh(zoe)
    assert zoe.email_problem == "" and zoe.email_problem_at is None
