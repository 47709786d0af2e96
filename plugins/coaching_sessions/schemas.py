"""What the plugin's forms accept, checked by marshmallow (errors name their field)."""

from __future__ import annotations

from marshmallow import fields, validate

from crossroads.plugin import Id, InputSchema, LocalDateTime, Text, Version

from .models import Assignee


class ScheduleSchema(InputSchema):
    """Scheduling a session with a client."""

    #: In the coach's own time zone (``datetime-local``, such as ``2026-12-01T14:30``).
    starts_at = LocalDateTime(required=True)
    minutes = fields.Integer(
        load_default=50, validate=validate.Range(min=10, max=180, error="Between {min} and {max} minutes.")
    )
    location = Text(load_default="", validate=validate.Length(max=500))
    #: Email the client an invitation with the calendar file (when the practice has email).
    invite = fields.Boolean(load_default=False)


class NotesSchema(InputSchema):
    """The coach's private notes and the summary for the client; ``share`` shares the summary."""

    private_notes = Text(load_default="", validate=validate.Length(max=20000))
    summary = Text(load_default="", validate=validate.Length(max=10000))
    share = fields.Boolean(load_default=False)
    held = fields.Boolean(load_default=False)
    version = Version()


class ActionSchema(InputSchema):
    """An action item agreed in a session."""

    text = Text(required=True, validate=validate.Length(max=500))
    assignee = fields.Enum(Assignee, by_value=True, load_default=Assignee.CLIENT)
    due_on = fields.Date(required=True, error_messages={"invalid": "Give a date, such as 2026-12-08."})
    theme_id = Id(load_default=None)
    contact_id = Id(load_default=None)
    bank_id = Id(load_default=None)


class PreferencesSchema(InputSchema):
    """A client's choice: session summaries by email, or only on their home page."""

    email_summaries = fields.Boolean(load_default=False)
