"""Notifications: the list's query and a coach's delivery choices."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from ..models import Delivery
from .base import InputSchema


class NotificationQuerySchema(InputSchema):
    """The page of one's notifications, from the query string."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=10, max=100))


def _delivery(**kwargs: Any) -> fields.Enum:
    return fields.Enum(
        Delivery,
        by_value=True,
        required=True,
        error_messages={"unknown": "Choose at once by email, in the weekly digest, or only in Crossroads."},
        **kwargs,
    )


class NotificationPreferencesSchema(InputSchema):
    """A coach's delivery for each kind of notification they receive (the names are the kinds)."""

    reply = _delivery()
    reflection_shared = _delivery()
    invitation_accepted = _delivery()
    stalled = _delivery()
