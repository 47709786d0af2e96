"""Outreach: which draft to write, the message sent or previewed, the message list's query, templates."""

from __future__ import annotations

from marshmallow import fields, validate

from ..models import MessageKind, MessageStatus
from .base import InputSchema, Text, no_line_breaks

CHANNEL_NAME = validate.Regexp(r"^[a-z][a-z0-9_]{0,49}$", error="Unknown channel.")


FORMAT_NAME = validate.Regexp(r"^[a-z0-9_]{0,30}$", error="Unknown format.")


class DraftQuerySchema(InputSchema):
    """Which channel, kind and format a client is writing in, from the query string."""

    channel = fields.String(load_default="", validate=validate.Regexp(r"^([a-z][a-z0-9_]{0,49})?$"))
    kind = fields.Enum(MessageKind, by_value=True, load_default=None)
    format = fields.String(load_default="", validate=FORMAT_NAME)


class OutreachSchema(InputSchema):
    """A message the client sends, or previews while writing it."""

    channel = fields.String(required=True, validate=CHANNEL_NAME)
    kind = fields.Enum(MessageKind, by_value=True, required=True)
    format = fields.String(load_default="", validate=FORMAT_NAME)
    subject = Text(load_default="", validate=[validate.Length(max=300), no_line_breaks])
    body = Text(required=True, validate=validate.Length(max=20_000))


class OutreachPreviewSchema(OutreachSchema):
    body = Text(load_default="", validate=validate.Length(max=20_000))


class MessageQuerySchema(InputSchema):
    """Filters and page of a client's message list."""

    status = fields.Enum(MessageStatus, by_value=True, load_default=None)
    channel = fields.String(load_default="", validate=validate.Regexp(r"^([a-z][a-z0-9_]{0,49})?$"))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=10, max=200))


class TemplateSchema(InputSchema):
    """A practice's wording for one channel, kind and format."""

    subject = fields.String(load_default="", validate=[validate.Length(max=300), no_line_breaks])
    body = fields.String(required=True, validate=validate.Length(min=1, max=5000))
