"""The owner's pages: the practice's settings and follow-up rhythm, its email server and reply
mailbox, the audit log, erasure, and the demo's Sent mail page.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from ..models import MailSecurity
from .base import Email, Id, InputSchema, Name, Text, TimeZone


class PracticeSettingsSchema(InputSchema):
    name = Name(required=True)
    timezone = TimeZone(required=True)


class DemoMailQuerySchema(InputSchema):
    """The demo's Sent mail page: which page of the caught messages."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1))


class CadenceSchema(InputSchema):
    """The practice's follow-up rhythm, in business days."""

    second_person_after_days = fields.Integer(
        required=True, validate=validate.Range(min=1, max=30, error="Use {min} to {max} business days.")
    )
    follow_up_after_days = fields.Integer(
        required=True, validate=validate.Range(min=2, max=60, error="Use {min} to {max} business days.")
    )

    @validates_schema
    def second_person_first(self, data: dict[str, Any], **kwargs) -> None:
        if data.get("second_person_after_days", 0) >= data.get("follow_up_after_days", 99):
            raise ValidationError(
                "The second-person hint comes before the follow-up.", field_name="second_person_after_days"
            )


class MailSettingsSchema(InputSchema):
    """The SMTP server a practice sends through. A blank password keeps the stored one."""

    host = Text(
        required=True,
        validate=[
            validate.Length(max=253),
            validate.Regexp(
                r"^[A-Za-z0-9._:\[\]-]+$", error="Give the server's name, such as smtp.example.com."
            ),
        ],
    )
    port = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=1, max=65535, error="Give a port from {min} to {max}, such as 587."),
        error_messages={"invalid": "Give a port number, such as 587."},
    )
    security = fields.Enum(
        MailSecurity,
        by_value=True,
        load_default=MailSecurity.STARTTLS,
        error_messages={"unknown": "Choose STARTTLS, TLS or none."},
    )
    username = Text(load_default="", validate=validate.Length(max=254))
    password = fields.String(load_default="", validate=validate.Length(max=1000))
    from_address = Email(required=True, validate=validate.Length(max=254))


class ReplySettingsSchema(InputSchema):
    """Where answers to clients' emails come back: a reply address (blank: straight to the client)
    and whether to write a plus address per message."""

    reply_address = Email(
        load_default="",
        validate=[
            validate.Length(max=200),
            validate.Regexp(r"^[^+]*$", error="Give the address without a + part; Crossroads adds it."),
        ],
        error_messages={"invalid": "Give an email address, such as replies@your-practice.example."},
    )
    plus_addressing = fields.Boolean(load_default=False)

    @pre_load
    def _blank_is_off(self, data: Any, **kwargs: Any) -> Any:
        value = data.get("reply_address") if isinstance(data, dict) else None
        if isinstance(value, str) and not value.strip():
            data = {key: v for key, v in data.items() if key != "reply_address"}
        return data


class MailboxSettingsSchema(InputSchema):
    """The IMAP mailbox replies arrive in. A blank password keeps the stored one."""

    host = Text(
        required=True,
        validate=[
            validate.Length(max=253),
            validate.Regexp(
                r"^[A-Za-z0-9._:\[\]-]+$", error="Give the server's name, such as imap.example.com."
            ),
        ],
    )
    port = fields.Integer(
        load_default=993,
        strict=False,
        validate=validate.Range(min=1, max=65535, error="Give a port from {min} to {max}, such as 993."),
        error_messages={"invalid": "Give a port number, such as 993."},
    )
    security = fields.Enum(
        MailSecurity,
        by_value=True,
        load_default=MailSecurity.TLS,
        error_messages={"unknown": "Choose TLS, STARTTLS or none."},
    )
    username = Text(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(load_default="", validate=validate.Length(max=1000))
    folder = Text(
        load_default="INBOX",
        validate=[
            validate.Length(min=1, max=200),
            validate.Regexp(r"^[^\x00-\x1f\x7f]+$", error="Give the folder's name, such as INBOX."),
        ],
    )


class AuditQuerySchema(InputSchema):
    """The audit log's filters and page, from the query string."""

    client_id = Id(load_default=None)
    actor_id = Id(load_default=None)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=10, max=200))


class EraseClientSchema(InputSchema):
    """The owner's confirmation of an erasure: the client's name, typed as shown."""

    confirm_name = Text(required=True, validate=validate.Length(max=200))
