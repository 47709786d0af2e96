"""Signing in, passwords and one's own account (profile, calendar feed, reminders).

Also the commands that make a practice and its people by hand.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from .base import CleanSchema, Email, Id, InputSchema, Name, TimeZone

PASSWORD = validate.Length(min=10, max=256, error="Use between {min} and {max} characters.")


class LoginSchema(InputSchema):
    email = Email(required=True)
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))
    next = fields.String(load_default="")


class NewPasswordSchema(InputSchema):
    """Setting a password from an invitation or reset link."""

    password = fields.String(required=True, validate=PASSWORD)
    confirm = fields.String(required=True)

    @validates_schema
    def passwords_match(self, data: dict[str, Any], **kwargs) -> None:
        if data.get("password") != data.get("confirm"):
            raise ValidationError("The two passwords differ.", field_name="confirm")


class ChangePasswordSchema(NewPasswordSchema):
    current = fields.String(required=True)


class ProfileSchema(InputSchema):
    name = Name(required=True)
    timezone = TimeZone(required=True)


class CalendarFeedSchema(InputSchema):
    """Making a calendar feed, or changing what it holds: follow-ups due too, or not (a checkbox)."""

    follow_ups = fields.Boolean(load_default=False)


class FeedTokenSchema(CleanSchema):
    """The secret in a calendar feed's address: what ``security.new_link_secret`` makes, nothing else."""

    token = fields.String(
        required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{20,100}$", error="Not a feed address.")
    )


class ReminderSettingsSchema(InputSchema):
    """A client's daily reminder: on or off (an unticked box sends nothing: off), and its local hour."""

    reminders_on = fields.Boolean(load_default=False)
    reminder_hour = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=0, max=23, error="Choose an hour between 00:00 and 23:00."),
        error_messages={"invalid": "Choose an hour between 00:00 and 23:00."},
    )


class ResetRequestSchema(InputSchema):
    email = Email(required=True)


class CreatePracticeSchema(InputSchema):
    """``crossroads create-practice``: a practice and its owner."""

    name = Name(required=True)
    timezone = TimeZone(load_default="UTC")
    owner_email = Email(required=True)
    owner_name = Name(required=True)
    owner_password = fields.String(required=True, validate=PASSWORD)


class CreateUserSchema(InputSchema):
    """``crossroads create-user``: a coach or owner with a password, for practices set up by hand."""

    practice_id = Id(required=True)
    email = Email(required=True)
    name = Name(required=True)
    role = fields.String(required=True, validate=validate.OneOf(["owner", "coach"]))
    password = fields.String(required=True, validate=PASSWORD)
