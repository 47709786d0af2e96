"""Clients and their themes: invitations, a client's status, the caseload's query, themes.

The decision log (``DecisionSchema``) is a theme's too.
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates

from ..models import ClientStatus, ThemeStatus
from .base import Email, Id, InputSchema, Name, Text, TimeZone, Version


class InviteClientSchema(InputSchema):
    name = Name(required=True)
    email = Email(required=True)
    timezone = TimeZone(load_default=None)
    # Owners may hand the client to another coach; coaches invite to their own caseload.
    coach_id = Id(load_default=None, allow_none=True)


class InviteCoachSchema(InputSchema):
    name = Name(required=True)
    email = Email(required=True)


class ClientUpdateSchema(InputSchema):
    status = fields.Enum(ClientStatus, by_value=True, required=True)
    coach_id = Id(required=True)


class ThemeSchema(InputSchema):
    title = Text(required=True, validate=validate.Length(max=120))
    description = Text(load_default="", validate=validate.Length(max=2000))
    target_conversations = fields.Integer(
        load_default=5,
        validate=validate.Range(min=1, max=50, error="Choose a target between {min} and {max}."),
    )
    status = fields.Enum(ThemeStatus, by_value=True, load_default=ThemeStatus.EXPLORING)


class ThemeEditSchema(ThemeSchema):
    """A theme's edit form: the theme as shown, with its ``version``."""

    version = Version()


SORTS = (
    *("name", "-name", "status", "-status", "activity", "-activity", "coach", "-coach"),
    *("stalled", "-stalled", "replies", "-replies"),
)


class CaseloadQuerySchema(InputSchema):
    """The caseload page's search, filter, sort and page, from the query string."""

    q = Text(load_default="", validate=validate.Length(max=200))
    status = fields.Enum(ClientStatus, by_value=True, load_default=None)
    coach_id = Id(load_default=None)
    #: Only the stalled clients (true) or only the others (false).
    stalled = fields.Boolean(load_default=None)
    #: Only the clients with replies in the last ``RECENT_REPLY_DAYS`` (true) or only the others (false).
    new_replies = fields.Boolean(load_default=None)
    sort = fields.String(load_default="-activity", validate=validate.OneOf(SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=5, max=100))

    @validates("q")
    def no_control_chars(self, value: str, **kwargs) -> None:
        if any(ord(ch) < 32 for ch in value):
            raise ValidationError("Search text cannot contain control characters.")


class DecisionSchema(InputSchema):
    decision = fields.Enum(ThemeStatus, by_value=True, required=True)
    note = Text(load_default="", validate=validate.Length(max=2000))
