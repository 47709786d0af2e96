"""The owner's webhook subscriptions and their delivery log (read, and replayed)."""

from __future__ import annotations

from typing import Any

from flask import url_for

from crossroads.core.models import WebhookDelivery, WebhookSubscription
from crossroads.core.schemas.api import (
    DeliveryShape,
    NewWebhookShape,
    PageQuerySchema,
    WebhookEventShape,
    WebhookSchema,
    WebhookShape,
)
from crossroads.core.services import webhooks

from ..context import crossroads
from .conventions import api_scope, cursor_page, idempotent, page_shape, require_fresh
from .strict import ApiBlueprint as Blueprint

bp = Blueprint(
    "api_webhooks",
    __name__,
    description="Webhooks (the practice's owner): subscriptions, signed deliveries, the delivery log.",
)


def _installed() -> set[str]:
    return {info.name for info in crossroads().plugins.plugins()}


def _allow_private() -> bool:
    return crossroads().settings.webhooks_allow_private


@bp.route("/webhooks", methods=["GET"])
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, page_shape(WebhookShape))
def list_webhooks(page: dict[str, Any]):
    return cursor_page(webhooks.subscriptions_query(api_scope()), WebhookSubscription, page)


@bp.route("/webhooks", methods=["POST"])
@idempotent
@bp.arguments(WebhookSchema)
@bp.response(201, NewWebhookShape)
def subscribe(data: dict[str, Any]):
    """Subscribe a URL to events; the answer holds the signing secret, shown this once."""
    row = webhooks.subscribe(api_scope(), data, _allow_private(), _installed())
    return row, 201, {"Location": url_for("api_webhooks.show_webhook", webhook_id=row.id)}


@bp.route("/webhook-events", methods=["GET"])
@bp.response(200, WebhookEventShape(many=True))
def list_events():
    """The events a subscription may name (plugins add ``plugin.<name>.<event>``)."""
    webhooks.subscriptions_query(api_scope())  # the owner's
    return [{"name": name, "description": text} for name, text in webhooks.EVENTS.items()]


@bp.route("/webhooks/<int:webhook_id>", methods=["GET"])
@bp.response(200, WebhookShape)
def show_webhook(webhook_id: int):
    return webhooks.subscription(api_scope(), webhook_id)


@bp.route("/webhooks/<int:webhook_id>", methods=["PATCH"])
@bp.arguments(WebhookSchema(partial=True))
@bp.response(200, WebhookShape)
def update_webhook(data: dict[str, Any], webhook_id: int):
    """Change the URL, events or description; ``active`` switches it on (forgetting failures) or off."""
    scope = api_scope()
    require_fresh(WebhookShape(), webhooks.subscription(scope, webhook_id))
    return webhooks.update(scope, webhook_id, data, _allow_private(), _installed())


@bp.route("/webhooks/<int:webhook_id>", methods=["DELETE"])
@bp.response(204)
def remove_webhook(webhook_id: int):
    webhooks.unsubscribe(api_scope(), webhook_id)
    return None


@bp.route("/webhooks/<int:webhook_id>/deliveries", methods=["GET"])
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, page_shape(DeliveryShape))
def list_deliveries(page: dict[str, Any], webhook_id: int):
    """The delivery log: each event sent, its attempts, and what the receiver answered."""
    return cursor_page(webhooks.deliveries_query(api_scope(), webhook_id), WebhookDelivery, page)


@bp.route("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>", methods=["GET"])
@bp.response(200, DeliveryShape)
def show_delivery(webhook_id: int, delivery_id: int):
    return webhooks.delivery(api_scope(), webhook_id, delivery_id)


@bp.route("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/replay", methods=["POST"])
@bp.response(201, DeliveryShape)
def replay_delivery(webhook_id: int, delivery_id: int):
    """Send a logged delivery's payload again (a new delivery, with its own ``webhook-id``)."""
    return webhooks.replay(api_scope(), webhook_id, delivery_id), 201
