"""Marshmallow schemas: every form field, API body, and command-line input is loaded through one.

Errors come back keyed by field name, which is how the web layer shows them
next to the field and how the CLI names the option at fault.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates,
    validates_schema,
)

from .errors import InvalidInput
from .linkedin import normalise_profile_url
from .models import (
    SOURCE_NAME,
    Category,
    ClientStatus,
    Delivery,
    GoalMetric,
    GoalPeriod,
    MailSecurity,
    Medium,
    MessageKind,
    MessageStatus,
    Reach,
    Stage,
    ThemeStatus,
)
from .text import name_problem


@cache
def timezone_names() -> frozenset[str]:
    return frozenset(available_timezones())


class Text(fields.String):
    """A string with surrounding whitespace removed; blank counts as missing when required."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if self.required and not text:
            raise ValidationError("This field is required.")
        return text


class Name(Text):
    """A person's or a practice's name: it goes into email headers, so it cannot look like an address."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("validate", validate.Length(max=200))
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if problem := name_problem(text):
            raise ValidationError(problem)
        return text


def no_line_breaks(value: str) -> None:
    """A one-line field (a subject) cannot hold line breaks or other control characters."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValidationError("Keep this on one line, without line breaks or control characters.")


class Version(fields.AwareDateTime):
    """An edit form's hidden ``version``: the row's ``updated_at`` when the form was shown, so a save
    over a newer one is refused (``locking.refuse_stale``); missing or blank is not checked."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("error_messages", {"invalid": "Reload the page."})
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr, data, **kwargs):
        if value == "":
            return None
        return super()._deserialize(value, attr, data, **kwargs)


class Email(fields.Email):
    def _deserialize(self, value: Any, attr, data, **kwargs) -> str:
        if isinstance(value, str):
            value = value.strip().lower()
        return super()._deserialize(value, attr, data, **kwargs)


class TimeZone(fields.String):
    """An IANA time zone name such as ``Europe/London``; blank means "not given" when optional."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> str:
        name = super()._deserialize(value, attr, data, **kwargs).strip()
        if not name and not self.required:
            return None
        if name not in timezone_names():
            raise ValidationError("Choose a time zone from the list, such as Europe/London.")
        return name


MAX_ID = 2**31 - 1  # the largest id a PostgreSQL integer column holds


#: Neither is ever typed on purpose: PostgreSQL refuses NUL in text, and a lone surrogate (which
#: only a JSON escape such as "\\ud800" can make) cannot be encoded for either database.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
NUL_MESSAGE = "Remove the invisible control character."
SURROGATE_MESSAGE = "Remove the broken character (half of a character pair); type it again."


def unstorable_text(value: Any) -> str | None:
    """Why the string ``value`` (or a string in the list ``value``) cannot be stored, if it cannot."""
    for text in value if isinstance(value, list) else [value]:
        if isinstance(text, str) and (found := _UNSTORABLE.search(text)):
            return NUL_MESSAGE if found.group() == "\x00" else SURROGATE_MESSAGE
    return None


class CleanSchema(Schema):
    """Base of every schema that loads text from outside: a field whose value holds a NUL or a
    lone surrogate is refused by name, before any field reads it (nested schemas check their own)."""

    @pre_load
    def refuse_unstorable_text(self, data: Any, **kwargs) -> Any:
        if hasattr(data, "items"):
            errors = {k: [m] for k, v in data.items() if (m := unstorable_text(v))}
            if errors:
                raise ValidationError(errors)
        return data


class Id(fields.Integer):
    """A row id: a positive integer a database column can hold."""

    def __init__(self, **kwargs: Any):
        super().__init__(validate=validate.Range(min=1, max=MAX_ID, error="Choose from the list."), **kwargs)


class InputSchema(CleanSchema):
    """Base of input schemas.

    Ignores fields it does not know (such as a CSRF token), and treats a field
    left blank like one not sent at all: an optional field takes its default
    (an empty "Any status" filter, a target left empty), a required one is
    reported as required.
    """

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def blanks_are_missing(self, data: Any, **kwargs) -> Any:
        if not hasattr(data, "items"):
            return data
        return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}


def load(schema: Schema, data: Any) -> dict[str, Any]:
    """Validate ``data`` with ``schema``; raise :class:`InvalidInput` naming each bad field."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise InvalidInput(
            {
                k: [MISSING_MESSAGE if m == "Missing data for required field." else m for m in v]
                if isinstance(v, list)
                else [str(v)]
                for k, v in messages.items()
            }
        ) from exc


MISSING_MESSAGE = "This field is required."
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


class PracticeSettingsSchema(InputSchema):
    name = Name(required=True)
    timezone = TimeZone(required=True)


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


class DemoMailQuerySchema(InputSchema):
    """The demo's Sent mail page: which page of the caught messages."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1))


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


# -- contacts -----------------------------------------------------------------------------


class IdList(fields.Field):
    """Ids from a multi-select: one value or a list of them; blank entries are ignored."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> list[int]:
        values = value if isinstance(value, list) else [value]
        try:
            ids = sorted({int(v) for v in values if str(v).strip()})
        except (TypeError, ValueError):
            raise ValidationError("Choose from the list.") from None
        if any(not 1 <= i <= MAX_ID for i in ids):
            raise ValidationError("Choose from the list.")
        return ids


class Tags(fields.Field):
    """Comma-separated tags, such as "warm, alumni"; trimmed, lowercased, without duplicates."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> list[str]:
        parts = value if isinstance(value, list) else str(value or "").split(",")
        tags = []
        for part in parts:
            tag = " ".join(str(part).split()).lower()
            if len(tag) > 40:
                raise ValidationError("Keep each tag under 40 characters.")
            if "|" in tag:
                raise ValidationError("A tag cannot contain “|”.")
            if tag and tag not in tags:
                tags.append(tag)
        if len(tags) > 20:
            raise ValidationError("Use at most 20 tags.")
        return tags


class ProfileUrl(fields.String):
    """A LinkedIn profile address, stored in one spelling; blank means none."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> str | None:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            return None
        url = normalise_profile_url(text)
        if url is None:
            raise ValidationError("Use a LinkedIn profile address such as https://www.linkedin.com/in/name.")
        return url


class OptionalEmail(fields.String):
    def _deserialize(self, value: Any, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        if text:
            validate.Email(error="Not a valid email address.")(text)
        return text


class ContactSchema(InputSchema):
    """A contact as the client (or coach) types it in."""

    name = Name(required=True)
    email = OptionalEmail(load_default="", validate=validate.Length(max=254))
    linkedin_url = ProfileUrl(load_default=None, allow_none=True)
    organisation = Text(load_default="", validate=validate.Length(max=200))
    position = Text(load_default="", validate=validate.Length(max=200))
    research_notes = Text(load_default="", validate=validate.Length(max=10000))
    tags = Tags(load_default=list)
    theme_ids = IdList(load_default=list)
    version = Version()


class NewContactSchema(ContactSchema):
    """Adding a contact by hand: where the client found this person."""

    source = fields.String(
        load_default="manual",
        validate=validate.OneOf(
            ["manual", "alumni_office", "association"], error="Choose where you found them."
        ),
    )


class ImportSchema(InputSchema):
    """The import page's format: an importer's name, or ``auto`` (the one that recognises the file)."""

    format = fields.String(
        load_default="auto", validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$", error="Choose a format.")
    )


CONTACT_SORT_KEYS = ("name", "organisation", "stage", "updated", "connected")
CONTACT_SORTS = tuple(f"{sign}{key}" for key in CONTACT_SORT_KEYS for sign in ("", "-"))


class ContactQuerySchema(InputSchema):
    """Search, filters, sort and page of a client's contact list, from the query string."""

    q = Text(load_default="", validate=validate.Length(max=200))
    stage = fields.String(load_default=None)
    source = fields.String(load_default=None)
    theme_id = Id(load_default=None)
    tag = Text(load_default="", validate=validate.Length(max=40))
    sort = fields.String(load_default="name", validate=validate.OneOf(CONTACT_SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=10, max=200))

    @validates("stage")
    def known_stage(self, value: str | None, **kwargs) -> None:
        if value and value not in {s.value for s in Stage}:
            raise ValidationError("Unknown stage.")

    @validates("source")
    def known_source(self, value: str | None, **kwargs) -> None:
        if value and SOURCE_NAME.fullmatch(value) is None:
            raise ValidationError("Unknown source.")


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


# -- banks, conversations, reflections, goals ---------------------------------------------


class BankSchema(InputSchema):
    name = Text(required=True, validate=validate.Length(max=120))
    description = Text(load_default="", validate=validate.Length(max=2000))
    reach = fields.Enum(Reach, by_value=True, load_default=Reach.PRACTICE)
    client_ids = IdList(load_default=list)


class QuestionSchema(InputSchema):
    text = Text(required=True, validate=validate.Length(max=500))
    category = fields.Enum(
        Category, by_value=True, required=True, error_messages={"unknown": "Choose a category."}
    )
    tags = Tags(load_default=list)


class LocalDateTime(fields.Field):
    """A ``datetime-local`` value such as ``2026-12-01T14:30``, in the viewer's own time zone."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> datetime:
        try:
            moment = datetime.strptime(str(value).strip()[:16], "%Y-%m-%dT%H:%M")
        except ValueError:
            raise ValidationError("Give a date and time, such as 2026-12-01 14:30.") from None
        if not 2000 <= moment.year <= 2100:
            raise ValidationError("Give a date between the years 2000 and 2100.")
        return moment


class ScheduleSchema(InputSchema):
    """Scheduling or rescheduling a conversation."""

    starts_at = LocalDateTime(required=True)
    minutes = fields.Integer(
        load_default=20, validate=validate.Range(min=5, max=120, error="Between {min} and {max} minutes.")
    )
    medium = fields.Enum(Medium, by_value=True, load_default=Medium.VIDEO)
    location = Text(load_default="", validate=validate.Length(max=500))
    theme_id = Id(load_default=None)
    #: The answer to "that time has passed: record a conversation that already happened?".
    already_happened = fields.Boolean(load_default=False)


class PrepSchema(InputSchema):
    """The prep sheet's own text: goals, pitch, and likely questions with short answers."""

    goals = Text(load_default="", validate=validate.Length(max=5000))
    pitch = Text(load_default="", validate=validate.Length(max=5000))
    likely_questions = Text(load_default="", validate=validate.Length(max=10000))
    version = Version()


class PrepQuestionSchema(InputSchema):
    """A question added to a prep sheet: from a bank (``bank_question``) or written fresh (``text``)."""

    bank_question = fields.String(load_default=None, validate=validate.Length(max=40))
    text = Text(load_default="", validate=validate.Length(max=500))

    @validates_schema
    def one_of_them(self, data: dict[str, Any], **kwargs) -> None:
        if not data.get("bank_question") and not data.get("text"):
            raise ValidationError("Pick a question from a bank or write one.", field_name="text")


class NoteSchema(InputSchema):
    notes = fields.String(load_default="", validate=validate.Length(max=20000))


class ReflectionSchema(InputSchema):
    energy = fields.Integer(
        required=True, validate=validate.Range(min=-2, max=2, error="Choose from draining to energising.")
    )
    fit = fields.Integer(required=True, validate=validate.Range(min=1, max=5, error="Choose 1 to 5."))
    body = Text(load_default="", validate=validate.Length(max=5000))
    thoughts = Text(load_default="", validate=validate.Length(max=5000))
    feelings = Text(load_default="", validate=validate.Length(max=5000))
    surprises = Text(load_default="", validate=validate.Length(max=5000))
    less_shiny = Text(load_default="", validate=validate.Length(max=5000))
    insights = Text(load_default="", validate=validate.Length(max=5000))
    open_questions = Text(load_default="", validate=validate.Length(max=5000))
    next_steps = Text(load_default="", validate=validate.Length(max=5000))
    referrals = Text(load_default="", validate=validate.Length(max=5000))
    share = fields.Boolean(load_default=False)


class CommentSchema(InputSchema):
    text = Text(required=True, validate=validate.Length(max=5000))


class GoalSchema(InputSchema):
    period = fields.Enum(GoalPeriod, by_value=True, required=True)
    metric = fields.Enum(GoalMetric, by_value=True, required=True)
    target = fields.Integer(required=True, validate=validate.Range(min=0, max=200, error="Use 0 to 200."))


class DecisionSchema(InputSchema):
    decision = fields.Enum(ThemeStatus, by_value=True, required=True)
    note = Text(load_default="", validate=validate.Length(max=2000))


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


# -- the practice's email server ----------------------------------------------------------


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


# -- notifications --------------------------------------------------------------------------


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
