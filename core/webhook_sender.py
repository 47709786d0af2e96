"""The worker's side of webhooks: send each due delivery, signed by the Standard Webhooks scheme,
retry with exponential backoff over a day, and switch off a subscription that fails for days.

A delivery is claimed (a lease on the row, committed) before it is sent and recorded after, one at
a time: a worker killed mid-send leaves only that one delivery claimed, and another worker sends it
again once the lease has passed, with the same ``webhook-id`` so the receiver can tell. Deliveries
recorded as done are never sent again.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from .db import utcnow
from .models import DeliveryState, NotificationKind, Role, User, WebhookDelivery, WebhookSubscription
from .services.notifications import notify
from .services.webhooks import url_problem

log = logging.getLogger(__name__)

#: After the first attempt, wait this long before each next one (about 28 hours in all).
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
#: A subscription whose deliveries have failed this long without a success is switched off.
DISABLE_AFTER = timedelta(days=3)
#: A claim older than this is a worker that died: the delivery is sent again.
LEASE = timedelta(minutes=2)
TIMEOUT_SECONDS = 10.0
USER_AGENT = "Crossroads-Webhooks/1"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect is an answer, not a place to go
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def sign(secret: str, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers of one delivery."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def post(url: str, body: str, headers: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """POST the delivery: the status (None when there was no answer) and what went wrong, if anything."""
    request = urllib.request.Request(
        url,
        data=body.encode(),
        method="POST",
        headers={**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT},
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"The receiver answered {exc.code}."
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"No answer: {reason}"[:500]


def _claim(session: Session, delivery_id: int, now: datetime) -> bool:
    claimed = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.state == DeliveryState.PENDING,
            or_(WebhookDelivery.claimed_at.is_(None), WebhookDelivery.claimed_at < now - LEASE),
        )
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return claimed.rowcount == 1


def due(session: Session, now: datetime, limit: int) -> list[int]:
    """Ids of deliveries to send now, oldest first."""
    return list(
        session.scalars(
            select(WebhookDelivery.id)
            .join(WebhookSubscription)
            .where(
                WebhookDelivery.state == DeliveryState.PENDING,
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.claimed_at.is_(None), WebhookDelivery.claimed_at < now - LEASE),
                WebhookSubscription.active.is_(True),
            )
            .order_by(WebhookDelivery.id)
            .limit(limit)
        )
    )


def deliver_due(
    session: Session,
    now: datetime | None = None,
    allow_private: bool = False,
    timeout: float = TIMEOUT_SECONDS,
    limit: int = 100,
) -> int:
    """Send every due delivery (at most ``limit``), one at a time; returns how many were sent
    successfully. Commits as it goes."""
    sent = 0
    for delivery_id in due(session, now or utcnow(), limit):
        started = utcnow() if now is None else now
        if not _claim(session, delivery_id, started):
            continue  # another worker has it
        sent += send_one(session, delivery_id, started, allow_private, timeout)
    return sent


def send_one(session: Session, delivery_id: int, now: datetime, allow_private: bool, timeout: float) -> bool:
    """Send one claimed delivery and record what happened; True when the receiver took it."""
    row = session.get(WebhookDelivery, delivery_id)
    sub = row.subscription
    body = json.dumps(row.payload, separators=(",", ":"), sort_keys=True)
    problem = url_problem(sub.url, allow_private)
    if problem:
        status, error = None, problem
    else:
        status, error = post(sub.url, body, sign(sub.secret, row.message_id, now, body), timeout)
    row.attempts += 1
    row.last_status = status
    row.claimed_at = None
    finished = utcnow() if now is None else now
    if status is not None and 200 <= status < 300:
        row.state, row.delivered_at, row.last_error, row.next_attempt_at = (
            DeliveryState.SUCCEEDED,
            finished,
            "",
            None,
        )
        sub.failing_since = None
        session.commit()
        return True
    row.last_error = error or f"The receiver answered {status}."
    if row.attempts >= MAX_ATTEMPTS:
        row.state, row.next_attempt_at = DeliveryState.FAILED, None
    else:
        row.next_attempt_at = finished + RETRY_DELAYS[row.attempts - 1]
    log.warning("webhook delivery %s attempt %s: %s", row.id, row.attempts, row.last_error)
    sub.failing_since = sub.failing_since or finished
    if finished - sub.failing_since >= DISABLE_AFTER:
        switch_off(session, sub, finished)
    session.commit()
    return False


def switch_off(session: Session, sub: WebhookSubscription, now: datetime) -> None:
    """Switch off a subscription that has failed for days, and tell the practice's owners."""
    days = (now - sub.failing_since).days
    sub.active = False
    sub.disabled_at = now
    sub.disabled_reason = f"Every delivery failed for {days} days; switched off by Crossroads."
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == sub.id, WebhookDelivery.state == DeliveryState.PENDING)
        .values(
            state=DeliveryState.FAILED, next_attempt_at=None, last_error="The subscription was switched off."
        )
        .execution_options(synchronize_session=False)
    )
    owners = session.scalars(
        select(User).where(User.practice_id == sub.practice_id, User.role == Role.OWNER, User.is_active)
    ).all()
    for owner in owners:
        notify(
            session,
            owner,
            NotificationKind.WEBHOOK_DISABLED,
            f"The webhook to {sub.url} failed for {days} days and is switched off. "
            "Fix the receiver, then switch it on again through the API.",
            "/account",
        )
