"""Input schemas for every form and query of the alumni offices plugin (built on the core's fields)."""

from __future__ import annotations

from marshmallow import fields, validate

from crossroads.plugin import Id, InputSchema, OptionalEmail, ProfileUrl, Text

from .models import Office

INSTITUTION_SORT_KEYS = ("name", "added", "updated")
INSTITUTION_SORTS = tuple(f"{sign}{key}" for key in INSTITUTION_SORT_KEYS for sign in ("", "-"))
YEAR = validate.Range(min=1940, max=2100, error="Give a year between {min} and {max}, such as 2012.")
HOPED_FOR = validate.Range(min=1, max=20, error="Ask for between {min} and {max} introductions.")


class InstitutionSchema(InputSchema):
    """An institution in the practice's directory, as a coach types it in."""

    name = Text(required=True, validate=validate.Length(max=200))
    alumni_email = OptionalEmail(load_default="", validate=validate.Length(max=254))
    career_email = OptionalEmail(load_default="", validate=validate.Length(max=254))
    notes = Text(load_default="", validate=validate.Length(max=5000))


class InstitutionQuerySchema(InputSchema):
    """Search, sort and page of the directory; ``removed`` lists the removed institutions instead."""

    q = Text(load_default="", validate=validate.Length(max=200))
    sort = fields.String(load_default="name", validate=validate.OneOf(INSTITUTION_SORTS))
    removed = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=5, max=100))


class AffiliationSchema(InputSchema):
    """Where a client studied or trained: institution, programme, and the year they finished."""

    institution_id = Id(required=True)
    programme = Text(load_default="", validate=validate.Length(max=200))
    year = fields.Integer(load_default=None, allow_none=True, validate=YEAR)


class RequestChoiceSchema(InputSchema):
    """What a request is about (from the query string while drafting): all optional until sent."""

    institution_id = Id(load_default=None)
    office = fields.Enum(Office, by_value=True, load_default=Office.ALUMNI)
    theme_id = Id(load_default=None)
    hoped_for = fields.Integer(load_default=3, validate=HOPED_FOR)


class RequestSchema(RequestChoiceSchema):
    """An introduction request as the client sends it."""

    institution_id = Id(required=True)
    office = fields.Enum(
        Office,
        by_value=True,
        required=True,
        error_messages={"unknown": "Choose the alumni office or career centre."},
    )
    subject = Text(required=True, validate=validate.Length(max=300))
    body = Text(required=True, validate=validate.Length(max=20_000))


class RequestPreviewSchema(RequestSchema):
    """The live check while typing: an empty subject or body is checked, not refused."""

    subject = Text(load_default="", validate=validate.Length(max=300))
    body = Text(load_default="", validate=validate.Length(max=20_000))


class AnswerSchema(InputSchema):
    """Marking a request answered, with what the office said."""

    note = Text(load_default="", validate=validate.Length(max=5000))


class IntroductionSchema(InputSchema):
    """A person the office introduced: they become one of the client's contacts."""

    name = Text(required=True, validate=validate.Length(max=200))
    email = OptionalEmail(load_default="", validate=validate.Length(max=254))
    position = Text(load_default="", validate=validate.Length(max=200))
    organisation = Text(load_default="", validate=validate.Length(max=200))
    linkedin_url = ProfileUrl(load_default=None, allow_none=True)
