"""Conversations and what surrounds them: question banks, scheduling, prep sheets, notes.

Also reflections, their comments, and goals.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from ..models import Category, GoalMetric, GoalPeriod, Medium, Reach
from .base import Id, IdList, InputSchema, LocalDateTime, Tags, Text, Version


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
