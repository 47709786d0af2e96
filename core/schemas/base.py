"""The pieces every input schema is built from: the bases, the fields, and ``load``."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from ..errors import InvalidInput
from ..linkedin import normalise_profile_url
from ..text import name_problem


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
