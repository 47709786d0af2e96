"""Webhooks: the owner's subscriptions, and the deliveries that events leave for the worker.

An event (a message sent, a conversation held...) becomes one :class:`WebhookDelivery` per
active subscription that wants it, in the same transaction as the change itself: a page never
waits for a subscriber. The worker sends them (:mod:`crossroads.core.webhook_sender`). Payloads
carry ids and the API's own shapes (``crossroads.core.schemas.api``), of what the practice's
owner may read through the API: never a reflection its client has not shared.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
import socket
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from marshmallow import Schema
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import InvalidInput, NotFound
from ..models import (
    DeliveryState,
    Role,
    WebhookDelivery,
    WebhookSubscription,
)
from ..schemas import api as shapes
from ..scoping import Scope

#: The core's events a subscription may name, and what each says happened.
EVENTS: dict[str, str] = {
    "client.invited": "a client was invited",
    "client.joined": "a client accepted their invitation",
    "message.sent": "a message was sent",
    "message.replied": "a contact replied to a message",
    "message.failed": "a message could not be sent",
    "conversation.scheduled": "a conversation was scheduled",
    "conversation.held": "a conversation took place",
    "conversation.cancelled": "a conversation was cancelled",
    "reflection.shared": "a client shared a reflection",
    "theme.decided": "a theme was chosen or dropped",
}
#: A plugin's own event: ``plugin.<plugin name>.<event>`` (see :func:`record_plugin_event`).
PLUGIN_EVENT = re.compile(r"^plugin\.[a-z][a-z0-9_]{0,49}\.[a-z][a-z0-9_.]{0,49}$")
#: Every event, present and future.
ALL = "*"
MAX_SUBSCRIPTIONS = 20

#: The core's hooks (``events.fire``) that are webhook events: hook -> (event, argument, shape).
FROM_HOOKS: dict[str, tuple[str, str, type[Schema]]] = {
    "client_invited": ("client.invited", "client", shapes.ClientShape),
    "message_sent": ("message.sent", "message", shapes.MessageShape),
    "message_replied": ("message.replied", "message", shapes.MessageShape),
    "conversation_scheduled": ("conversation.scheduled", "conversation", shapes.ConversationShape),
    "conversation_held": ("conversation.held", "conversation", shapes.ConversationShape),
    "conversation_cancelled": ("conversation.cancelled", "conversation", shapes.ConversationShape),
    "reflection_shared": ("reflection.shared", "reflection", shapes.ReflectionShape),
    "theme_decided": ("theme.decided", "theme", shapes.ThemeShape),
}


# -- subscriptions ----------------------------------------------------------------------------------


def _owner(scope: Scope) -> None:
    if scope.user.role != Role.OWNER:
        raise NotFound("webhooks are the owner's")


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def url_problem(
    url: str, allow_private: bool, resolve: Callable[..., Any] = socket.getaddrinfo
) -> str | None:
    """Why Crossroads will not deliver to ``url``, or None: HTTPS only (plain HTTP too where private
    addresses are allowed), and no loopback, private or link-local address unless allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "Give an address that starts with https://."
    if parts.scheme == "http" and not allow_private:
        return "Use https://: deliveries are signed, but their contents must not travel in clear."
    if parts.username or parts.password:
        return "Leave the user name and password out of the address."
    if allow_private:
        return None
    try:
        infos = resolve(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return f"{parts.hostname} cannot be found."
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).partition("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            return (
                f"{parts.hostname} is on a loopback, private or link-local address, which Crossroads does "
                "not deliver to unless the administrator allows it (CROSSROADS_WEBHOOKS_ALLOW_PRIVATE)."
            )
    return None


def _check_events(scope: Scope, names: list[str], installed: set[str]) -> list[str]:
    unknown = [
        n
        for n in names
        if n != ALL and n not in EVENTS and not (PLUGIN_EVENT.match(n) and n.split(".")[1] in installed)
    ]
    if unknown:
        raise InvalidInput({"events": [f"Unknown event: {', '.join(unknown)}."]})
    if not names:
        raise InvalidInput({"events": ["Choose at least one event, or * for all of them."]})
    return sorted(set(names))


def subscribe(
    scope: Scope, data: dict[str, Any], allow_private: bool, installed: set[str]
) -> WebhookSubscription:
    """The owner subscribes a URL to events (data from ``WebhookSchema``); the row has its secret."""
    _owner(scope)
    if problem := url_problem(data["url"], allow_private):
        raise InvalidInput({"url": [problem]})
    count = len(scope.session.scalars(scope.select(WebhookSubscription)).all())
    if count >= MAX_SUBSCRIPTIONS:
        raise InvalidInput({"url": [f"A practice has at most {MAX_SUBSCRIPTIONS} subscriptions."]})
    row = WebhookSubscription(
        practice_id=scope.practice_id,
        url=data["url"],
        events=_check_events(scope, data["events"], installed),
        description=data.get("description", ""),
        secret=new_secret(),
        active=True,
    )
    scope.session.add(row)
    scope.session.commit()
    return row


def update(
    scope: Scope, webhook_id: int, data: dict[str, Any], allow_private: bool, installed: set[str]
) -> WebhookSubscription:
    """Change a subscription's URL, events, description, or switch it on or off (which forgets failures)."""
    _owner(scope)
    row = scope.get(WebhookSubscription, webhook_id)
    if "url" in data and data["url"] != row.url:
        if problem := url_problem(data["url"], allow_private):
            raise InvalidInput({"url": [problem]})
        row.url = data["url"]
    if "events" in data:
        row.events = _check_events(scope, data["events"], installed)
    if "description" in data:
        row.description = data["description"]
    if "active" in data and data["active"] != row.active:
        row.active = data["active"]
        row.failing_since = None
        row.disabled_at = None if row.active else utcnow()
        row.disabled_reason = "" if row.active else "Switched off by the owner."
    scope.session.commit()
    return row


def unsubscribe(scope: Scope, webhook_id: int) -> None:
    """Delete a subscription and its delivery log."""
    _owner(scope)
    row = scope.get(WebhookSubscription, webhook_id)
    scope.session.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == row.id))
    scope.session.delete(row)
    scope.session.commit()


def subscription(scope: Scope, webhook_id: int) -> WebhookSubscription:
    _owner(scope)
    return scope.get(WebhookSubscription, webhook_id)


def subscriptions_query(scope: Scope):
    _owner(scope)
    return scope.select(WebhookSubscription)


def deliveries_query(scope: Scope, webhook_id: int):
    """A subscription's delivery log (the owner's)."""
    row = subscription(scope, webhook_id)
    return select(WebhookDelivery).where(WebhookDelivery.subscription_id == row.id)


def delivery(scope: Scope, webhook_id: int, delivery_id: int) -> WebhookDelivery:
    row = subscription(scope, webhook_id)
    found = scope.session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == row.id
        )
    )
    if found is None:
        raise NotFound(f"WebhookDelivery {delivery_id}")
    return found


def replay(scope: Scope, webhook_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a logged delivery's payload again, as a new delivery (with its own ``webhook-id``)."""
    original = delivery(scope, webhook_id, delivery_id)
    if not original.subscription.active:
        raise InvalidInput({"_schema": ["Switch the subscription on before replaying its deliveries."]})
    again = _new_delivery(original.subscription, original.event, original.payload)
    scope.session.add(again)
    scope.session.commit()
    return again


# -- recording events -------------------------------------------------------------------------------


def _new_delivery(sub: WebhookSubscription, event: str, payload: dict[str, Any]) -> WebhookDelivery:
    message_id = f"msg_{uuid.uuid4().hex}"
    return WebhookDelivery(
        practice_id=sub.practice_id,
        subscription=sub,
        message_id=message_id,
        event=event,
        payload=payload,
        state=DeliveryState.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
    )


def _subscribers(session: Session, practice_id: int, event: str) -> list[WebhookSubscription]:
    subs = session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.practice_id == practice_id, WebhookSubscription.active.is_(True)
        )
    ).all()
    return [s for s in subs if ALL in s.events or event in s.events]


def record(session: Session, practice_id: int, event: str, data: dict[str, Any] | Callable[[], dict]) -> int:
    """Leave a delivery of ``event`` for each active subscription of the practice that wants it;
    flushes, no commit (it commits with the change it reports). ``data`` may be a function, called
    (after a flush, so the row is as saved) only when someone subscribes. Returns how many."""
    wanted = _subscribers(session, practice_id, event)
    if not wanted:
        return 0
    if callable(data):
        session.flush()
        data = data()
    payload = {"type": event, "timestamp": utcnow().isoformat(), "data": data}
    for sub in wanted:
        session.add(_new_delivery(sub, event, payload))
    session.flush()
    return len(wanted)


def record_hook(session: Session, hook_name: str, practice_id: int, kwargs: dict[str, Any]) -> None:
    """From :func:`crossroads.core.events.fire`: the hooks that are webhook events leave deliveries."""
    if hook_name not in FROM_HOOKS:
        return
    event, argument, shape = FROM_HOOKS[hook_name]
    row = kwargs.get(argument)
    if row is None:
        return
    if event == "reflection.shared" and row.shared_at is None:
        return  # never a private reflection
    record(session, practice_id, event, lambda: shape().dump(row))


def record_row(session: Session, practice_id: int, event: str, row: Any) -> None:
    """Record ``event`` about ``row`` (a client, a message) in the API's shape for it."""
    shape = {"client.joined": shapes.ClientShape, "message.failed": shapes.MessageShape}[event]
    record(session, practice_id, event, lambda: shape().dump(row))


def record_plugin_event(session: Session, practice_id: int, plugin: str, event: str, data: dict) -> int:
    """A plugin's own webhook event ``plugin.<plugin>.<event>``: ``data`` must be ids and what the
    owner's API token could read. Flushes, no commit."""
    name = f"plugin.{plugin}.{event}"
    if not PLUGIN_EVENT.match(name):
        raise ValueError(f"{name!r} is not a webhook event name (lowercase letters, digits, _ and .)")
    return record(session, practice_id, name, data)
