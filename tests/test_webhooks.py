"""Webhooks against a real local HTTP receiver: signed by the Standard Webhooks scheme (checked with
the library's own verifier), retried after 500s and timeouts with backoff over a day, switched off
after days of failure, never a private reflection, and no delivery sent twice after a worker is
killed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from crossroads.core.db import utcnow
from crossroads.core.models import (
    DeliveryState,
    Notification,
    NotificationKind,
    WebhookDelivery,
    WebhookSubscription,
)
from crossroads.core.services.api_tokens import issue_for
from crossroads.core.webhook_sender import DISABLE_AFTER, LEASE, MAX_ATTEMPTS, RETRY_DELAYS, deliver_due
from tests import webhook_receiver


@pytest.fixture
def receiver():
    found, server = webhook_receiver.start()
    yield found
    server.shutdown()


@pytest.fixture
def private_allowed(app):
    """The deployment allows subscribers on private addresses (the receiver is on 127.0.0.1)."""
    app.extensions["crossroads"].settings.webhooks_allow_private = True


def _headers(db, user):
    return {"Authorization": f"Bearer {issue_for(db, user)}"}


def _subscribe(http, db, world, url, events=("theme.decided",)):
    answer = http.post(
        "/api/v1/webhooks", json={"url": url, "events": list(events)}, headers=_headers(db, world.owner)
    )
    assert answer.status_code == 201, answer.json
    return answer.json


def _decide_theme(http, db, world):
    """The client chooses their theme through the API: a ``theme.decided`` event."""
    answer = http.patch(
        f"/api/v1/themes/{world.theme.id}", json={"status": "chosen"}, headers=_headers(db, world.client.user)
    )
    assert answer.status_code == 200, answer.json
    return answer.json


def test_a_delivery_is_signed_and_verified_by_the_librarys_own_verifier(
    http, db, world, receiver, private_allowed
):
    subscription = _subscribe(http, db, world, receiver.url)
    theme = _decide_theme(http, db, world)
    assert receiver.requests == []  # the page did not wait for the subscriber
    assert deliver_due(db, allow_private=True) == 1
    [request] = receiver.requests
    payload = Webhook(subscription["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "theme.decided"
    assert payload["data"] == theme  # the API's own shape of the theme
    with pytest.raises(Exception, match="(?i)signature"):
        Webhook(subscription["secret"]).verify(request.body.replace(b"chosen", b"dropped"), request.headers)


def test_the_owner_reads_the_log_and_replays_a_delivery(http, db, world, receiver, private_allowed):
    subscription = _subscribe(http, db, world, receiver.url)
    _decide_theme(http, db, world)
    deliver_due(db, allow_private=True)
    owner = _headers(db, world.owner)
    log = http.get(f"/api/v1/webhooks/{subscription['id']}/deliveries", headers=owner).json["items"]
    assert [(d["event"], d["state"], d["last_status"]) for d in log] == [("theme.decided", "succeeded", 200)]
    replayed = http.post(
        f"/api/v1/webhooks/{subscription['id']}/deliveries/{log[0]['id']}/replay", headers=owner
    )
    assert replayed.status_code == 201
    deliver_due(db, allow_private=True)
    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body
    assert len(set(receiver.ids())) == 2
    coach = http.get(f"/api/v1/webhooks/{subscription['id']}/deliveries", headers=_headers(db, world.coach))
    assert coach.status_code == 404  # the owner's alone


def test_retries_after_a_500_and_a_timeout_with_the_same_webhook_id(
    http, db, world, receiver, private_allowed
):
    _subscribe(http, db, world, receiver.url)
    _decide_theme(http, db, world)
    receiver.plan = [500, ("sleep", 2, 200)]
    now = utcnow()
    assert deliver_due(db, now, allow_private=True) == 0
    row = db.scalars(select(WebhookDelivery)).one()
    assert (row.attempts, row.last_status, row.state) == (1, 500, DeliveryState.PENDING)
    assert row.next_attempt_at == now + RETRY_DELAYS[0]
    assert deliver_due(db, now + timedelta(seconds=30), allow_private=True) == 0  # not due yet
    now += RETRY_DELAYS[0]
    assert deliver_due(db, now, allow_private=True, timeout=0.5) == 0  # the receiver is too slow
    db.refresh(row)
    assert row.attempts == 2 and row.last_status is None and "No answer" in row.last_error
    now += RETRY_DELAYS[1]
    assert deliver_due(db, now, allow_private=True) == 1
    db.refresh(row)
    assert row.state == DeliveryState.SUCCEEDED and row.attempts == 3
    deadline = time.monotonic() + 10
    while len(receiver.ids()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # the timed-out request is kept once the receiver wakes up
    assert len(set(receiver.ids())) == 1 and len(receiver.ids()) == 3
    subscription = db.scalars(select(WebhookSubscription)).one()
    assert subscription.failing_since is None  # a success forgets the failures


def test_backoff_spans_a_day_then_the_delivery_fails_and_days_of_failure_switch_it_off(
    http, db, world, receiver, private_allowed
):
    assert timedelta(hours=24) <= sum(RETRY_DELAYS, timedelta()) <= timedelta(hours=36)
    _subscribe(http, db, world, receiver.url)
    _decide_theme(http, db, world)
    receiver.plan = [500] * 100
    now = utcnow()
    for delay in (timedelta(0), *RETRY_DELAYS):
        now += delay
        deliver_due(db, now, allow_private=True)
    row = db.scalars(select(WebhookDelivery)).one()
    assert (row.attempts, row.state) == (MAX_ATTEMPTS, DeliveryState.FAILED)
    subscription = db.scalars(select(WebhookSubscription)).one()
    assert subscription.active  # a bit over a day of failure: not yet
    _decide_theme_again = http.patch(
        f"/api/v1/themes/{world.theme.id}",
        json={"status": "dropped"},
        headers=_headers(db, world.client.user),
    )
    assert _decide_theme_again.status_code == 200
    deliver_due(db, subscription.failing_since + DISABLE_AFTER, allow_private=True)
    db.refresh(subscription)
    assert not subscription.active and "failed for 3 days" in subscription.disabled_reason
    told = db.scalars(
        select(Notification).where(Notification.kind == NotificationKind.WEBHOOK_DISABLED)
    ).all()
    assert [n.user_id for n in told] == [world.owner.id]
    later = _decide_theme(http, db, world)
    assert later["status"] == "chosen"
    assert db.scalar(select(WebhookDelivery).where(WebhookDelivery.state == DeliveryState.PENDING)) is None


def test_a_private_reflection_is_never_delivered_and_a_shared_one_is(
    http, db, world, receiver, private_allowed
):
    from crossroads.testing import make_conversation

    _subscribe(http, db, world, receiver.url, events=("*",))
    conversation = make_conversation(db, world.contacts[0], shared_reflection=None)
    db.commit()
    client = _headers(db, world.client.user)
    body = {"energy": 1, "fit": 4, "insights": "Only for me", "share": False}
    assert (
        http.put(f"/api/v1/conversations/{conversation.id}/reflection", json=body, headers=client).status_code
        == 200
    )
    deliver_due(db, allow_private=True)
    assert b"Only for me" not in b"".join(r.body for r in receiver.requests)
    shared = http.put(
        f"/api/v1/conversations/{conversation.id}/reflection", json={**body, "share": True}, headers=client
    )
    assert shared.status_code == 200
    deliver_due(db, allow_private=True)
    events = [json.loads(r.body)["type"] for r in receiver.requests]
    assert events.count("reflection.shared") == 1


def test_loopback_and_private_subscribers_are_refused_unless_the_deployment_allows_them(http, db, world):
    owner = _headers(db, world.owner)
    for url in (
        "https://127.0.0.1/hooks",
        "https://10.1.2.3/hooks",
        "https://[::1]/hooks",
        "http://example.org/x",
    ):
        answer = http.post("/api/v1/webhooks", json={"url": url, "events": ["*"]}, headers=owner)
        assert answer.status_code == 422 and "url" in answer.json["errors"], url


def test_no_delivery_is_sent_twice_after_a_worker_is_killed(
    http, db, world, receiver, private_allowed, database_url
):
    _subscribe(http, db, world, receiver.url, events=("*",))
    for status in ("chosen", "dropped", "chosen"):
        assert (
            http.patch(
                f"/api/v1/themes/{world.theme.id}",
                json={"status": status},
                headers=_headers(db, world.client.user),
            ).status_code
            == 200
        )
    ids = db.scalars(select(WebhookDelivery.message_id).order_by(WebhookDelivery.id)).all()
    assert len(ids) == 3
    receiver.plan = [200, ("sleep", 30, 200)]  # the worker is killed while the second waits for its answer
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                from crossroads.core.db import make_engine, make_sessionmaker
                from crossroads.core.webhook_sender import deliver_due
                with make_sessionmaker(make_engine({database_url!r}))() as session:
                    deliver_due(session, allow_private=True, timeout=60)
                """
            ),
        ]
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            db.expire_all()
            sending = db.scalar(
                select(WebhookDelivery.id).where(
                    WebhookDelivery.message_id == ids[1], WebhookDelivery.claimed_at.is_not(None)
                )
            )
            if sending is not None and len(receiver.requests) >= 1:
                break
            time.sleep(0.05)
        worker.kill()
    finally:
        worker.wait()
    assert receiver.ids() == [ids[0]]  # the first delivered; the second claimed, in flight when killed
    db.expire_all()
    assert deliver_due(db, allow_private=True) == 1  # the third; the second's claim is still leased
    assert deliver_due(db, utcnow() + LEASE + timedelta(seconds=1), allow_private=True) == 1
    db.expire_all()
    states = db.scalars(select(WebhookDelivery.state).order_by(WebhookDelivery.id)).all()
    assert states == [DeliveryState.SUCCEEDED] * 3
    received = receiver.ids()
    assert received.count(ids[0]) == 1 and received.count(ids[2]) == 1  # done ones never again
    assert sorted(set(received)) == sorted(ids)


def test_an_invited_client_who_joins_is_two_events_in_the_apis_shape(
    http, db, world, receiver, private_allowed
):
    from crossroads.core.models import InvitationPurpose
    from crossroads.core.schemas import InviteClientSchema, load
    from crossroads.core.scoping import Scope
    from crossroads.core.security import LinkSigner
    from crossroads.core.services import invitations
    from crossroads.testing import TEST_SECRET_KEY

    subscription = _subscribe(http, db, world, receiver.url, events=("client.invited", "client.joined"))
    signer = LinkSigner(TEST_SECRET_KEY)
    data = load(InviteClientSchema(), {"name": "Jo Joiner", "email": "jo@example.org"})
    invited = invitations.invite_client(Scope(db, world.coach), signer, data)
    invitations.accept(db, signer, invited.token, InvitationPurpose.INVITE, "a long enough password")
    deliver_due(db, allow_private=True)
    events = [Webhook(subscription["secret"]).verify(r.body, r.headers) for r in receiver.requests]
    assert [e["type"] for e in events] == ["client.invited", "client.joined"]
    shown = http.get(f"/api/v1/clients/{invited.client.id}", headers=_headers(db, world.coach)).json
    assert events[1]["data"] == shown and shown["joined"] is True
