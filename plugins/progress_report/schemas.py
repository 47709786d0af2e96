"""Input schemas for every query and form of the progress report plugin (built on the core's fields)."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from crossroads.plugin import MAX_DAYS, Id, InputSchema, PeriodChoice, Text, Version

from .figures import CASELOAD_SORTS

DAY = validate.Range(min=date(2000, 1, 1), max=date(2100, 12, 31), error="Give a date between 2000 and 2100.")
FORMAT_NAME = validate.Regexp(r"^[a-z0-9_]{1,30}$", error="Unknown format.")


class PeriodSchema(InputSchema):
    """Which period a report covers: a named one, or a custom range of dates (both inclusive)."""

    period = fields.Enum(PeriodChoice, by_value=True, load_default=PeriodChoice.THIS_MONTH)
    start = fields.Date(load_default=None, validate=DAY)
    end = fields.Date(load_default=None, validate=DAY)

    @validates_schema
    def custom_range(self, data: dict[str, Any], **kwargs) -> None:
        if data.get("period") != PeriodChoice.CUSTOM:
            return
        start, end = data.get("start"), data.get("end")
        if start is None:
            raise ValidationError("Give the first day of the range.", field_name="start")
        if end is None:
            raise ValidationError("Give the last day of the range.", field_name="end")
        if end < start:
            raise ValidationError("The range must end on or after its first day.", field_name="end")
        if (end - start).days + 1 > MAX_DAYS:
            raise ValidationError(f"Choose at most {MAX_DAYS} days.", field_name="end")


class DownloadSchema(PeriodSchema):
    format = fields.String(required=True, validate=FORMAT_NAME)


class CaseloadQuerySchema(PeriodSchema):
    """The caseload report's period, sort order and (for the owner) one coach's clients."""

    period = fields.Enum(PeriodChoice, by_value=True, load_default=PeriodChoice.THIS_WEEK)
    sort = fields.String(load_default="-idle", validate=validate.OneOf(CASELOAD_SORTS))
    coach_id = Id(load_default=None)


class CaseloadDownloadSchema(CaseloadQuerySchema):
    format = fields.String(required=True, validate=FORMAT_NAME)


class NoteSchema(PeriodSchema):
    """A coach's note on a client's period; an empty note removes it."""

    body = Text(load_default="", validate=validate.Length(max=5000))
    version = Version()


class DigestSchema(InputSchema):
    subscribe = fields.Boolean(load_default=False)


class SettingsSchema(InputSchema):
    stalled_days = fields.Integer(
        required=True, validate=validate.Range(min=1, max=365, error="Use 1 to 365 days.")
    )
