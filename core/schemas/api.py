"""The JSON API's own inputs (tokens, webhooks, a page of a list) and the shapes it answers with.

A resource's input is the form's schema (``ThemeSchema``, ``ContactSchema``...); the shapes below
only dump. Webhook payloads use the same shapes, so a subscriber reads what the API returns.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from ..models import (
    ClientStatus,
    ConversationStatus,
    DeliveryState,
    GoalMetric,
    GoalPeriod,
    Medium,
    MessageKind,
    MessageStatus,
    Reach,
    Role,
    Stage,
    ThemeStatus,
    TokenAccess,
)
from .base import InputSchema, Text
from .contacts import ContactQuerySchema

# -- inputs -----------------------------------------------------------------------------------------


class ApiTokenSchema(InputSchema):
    """A new personal access token: the user's name for it and what it may do."""

    name = Text(required=True, validate=validate.Length(min=1, max=100))
    access = fields.Enum(TokenAccess, by_value=True, load_default=TokenAccess.READ)


class PageQuerySchema(InputSchema):
    """A page of a list: ``limit`` items after the opaque ``cursor`` of the page before."""

    cursor = fields.String(load_default=None, validate=validate.Length(max=100))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class StageMoveSchema(InputSchema):
    """Move a contact along the pipeline."""

    stage = fields.Enum(Stage, by_value=True, required=True)


class SharedSchema(InputSchema):
    shared = fields.Boolean(required=True)


class PluginStateSchema(InputSchema):
    enabled = fields.Boolean(required=True)


# -- shapes -----------------------------------------------------------------------------------------


def _enum(cls) -> fields.Enum:
    return fields.Enum(cls, by_value=True)


class ProblemShape(Schema):
    """An error, as RFC 9457 problem details; ``errors`` names the fields at fault."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class UserShape(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()
    role = _enum(Role)
    timezone = fields.String()
    practice_id = fields.Integer()
    client_id = fields.Integer(allow_none=True, attribute="client.id")


class ClientShape(Schema):
    id = fields.Integer()
    name = fields.String(attribute="user.name")
    email = fields.String(attribute="user.email")
    status = _enum(ClientStatus)
    coach_id = fields.Integer()
    joined = fields.Function(lambda client: client.user.password_hash is not None)
    created_at = fields.AwareDateTime()
    last_activity_at = fields.AwareDateTime(allow_none=True)


class InvitationShape(Schema):
    """An invitation sent: the same answer whether the address is new or has an account elsewhere."""

    name = fields.String()
    email = fields.String()
    invitation_url = fields.String()


class ThemeShape(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    title = fields.String()
    description = fields.String()
    target_conversations = fields.Integer()
    status = _enum(ThemeStatus)
    position = fields.Integer()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class StageChangeShape(Schema):
    id = fields.Integer()
    from_stage = fields.Enum(Stage, by_value=True, allow_none=True)
    to_stage = _enum(Stage)
    note = fields.String()
    at = fields.AwareDateTime()


class ContactShape(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    name = fields.String()
    email = fields.String()
    linkedin_url = fields.String(allow_none=True)
    organisation = fields.String()
    position = fields.String()
    source = fields.String()
    stage = _enum(Stage)
    stage_changed_at = fields.AwareDateTime()
    research_notes = fields.String()
    tags = fields.List(fields.String())
    theme_ids = fields.Function(lambda contact: [theme.id for theme in contact.themes])
    referred_by_id = fields.Integer(allow_none=True)
    connected_on = fields.Date(allow_none=True)
    follow_ups_sent = fields.Integer()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class ContactDetailShape(ContactShape):
    history = fields.List(fields.Nested(StageChangeShape))


class PrepQuestionShape(Schema):
    id = fields.Integer()
    text = fields.String()
    category = fields.String(allow_none=True)
    notes = fields.String()


class ConversationShape(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    contact_id = fields.Integer()
    theme_id = fields.Integer(allow_none=True)
    starts_at = fields.AwareDateTime()
    minutes = fields.Integer()
    medium = _enum(Medium)
    location = fields.String()
    status = _enum(ConversationStatus)
    held_at = fields.AwareDateTime(allow_none=True)
    goals = fields.String()
    pitch = fields.String()
    likely_questions = fields.List(fields.Dict(keys=fields.String(), values=fields.String()))
    questions = fields.List(fields.Nested(PrepQuestionShape))
    updated_at = fields.AwareDateTime()


class CommentShape(Schema):
    id = fields.Integer()
    author_id = fields.Integer(allow_none=True)
    text = fields.String()
    created_at = fields.AwareDateTime()


class ReflectionShape(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    conversation_id = fields.Integer()
    energy = fields.Integer()
    fit = fields.Integer()
    body = fields.String()
    thoughts = fields.String()
    feelings = fields.String()
    surprises = fields.String()
    less_shiny = fields.String()
    insights = fields.String()
    open_questions = fields.String()
    next_steps = fields.String()
    shared_at = fields.AwareDateTime(allow_none=True)
    updated_at = fields.AwareDateTime()
    comments = fields.List(fields.Nested(CommentShape))


class MessageShape(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    contact_id = fields.Integer(allow_none=True)
    conversation_id = fields.Integer(allow_none=True)
    channel = fields.String()
    kind = _enum(MessageKind)
    subject = fields.String()
    body = fields.String()
    to_name = fields.String()
    status = _enum(MessageStatus)
    error = fields.String()
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)
    replied_at = fields.AwareDateTime(allow_none=True)


class GoalShape(Schema):
    period = _enum(GoalPeriod)
    metric = _enum(GoalMetric)
    target = fields.Integer(allow_none=True)
    done = fields.Integer()
    start = fields.Date()
    end = fields.Date()


class QuestionShape(Schema):
    id = fields.Integer()
    text = fields.String()
    category = fields.String()
    tags = fields.List(fields.String())


class BankShape(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    reach = _enum(Reach)
    owner_id = fields.Integer()
    retired = fields.Function(lambda bank: bank.retired_at is not None)
    questions = fields.Function(
        lambda bank: QuestionShape(many=True).dump([q for q in bank.questions if q.retired_at is None]),
        metadata={"type": "array", "items": {"type": "object"}},
    )


class FiguresShape(Schema):
    """A client's progress over a period: the same figures as the progress report."""

    client_id = fields.Integer()
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()
    requests = fields.Integer()
    replied = fields.Integer()
    follow_ups = fields.Integer()
    follow_ups_on_time = fields.Integer()
    thank_yous = fields.Integer()
    thank_yous_on_time = fields.Integer()
    conversations = fields.Integer()
    steps = fields.Integer()


class PluginStateShape(Schema):
    name = fields.String()
    enabled = fields.Boolean()


class ApiTokenShape(Schema):
    id = fields.Integer()
    name = fields.String()
    access = _enum(TokenAccess)
    prefix = fields.String()
    created_at = fields.AwareDateTime()
    last_used_at = fields.AwareDateTime(allow_none=True)


class WebhookShape(Schema):
    id = fields.Integer()
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String()
    active = fields.Boolean()
    failing_since = fields.AwareDateTime(allow_none=True)
    disabled_at = fields.AwareDateTime(allow_none=True)
    disabled_reason = fields.String()
    created_at = fields.AwareDateTime()


class WebhookEventShape(Schema):
    name = fields.String()
    description = fields.String()


class NewWebhookShape(WebhookShape):
    """A new subscription, with the secret that verifies its deliveries (shown this once)."""

    secret = fields.String()


class DeliveryShape(Schema):
    id = fields.Integer()
    subscription_id = fields.Integer()
    message_id = fields.String()
    event = fields.String()
    state = _enum(DeliveryState)
    attempts = fields.Integer()
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    last_status = fields.Integer(allow_none=True)
    last_error = fields.String()
    created_at = fields.AwareDateTime()
    delivered_at = fields.AwareDateTime(allow_none=True)
    payload = fields.Dict()


class ContactListQuerySchema(ContactQuerySchema, PageQuerySchema):
    """The contact list's filters (the page's own ``ContactQuerySchema``) on a cursor page."""

    class Meta:
        exclude = ("sort", "page", "per_page")
        unknown = EXCLUDE


class FiguresQuerySchema(InputSchema):
    """The period of a client's figures: the last ``days`` days, up to now."""

    days = fields.Integer(load_default=28, validate=validate.Range(min=1, max=366))


class WebhookSchema(InputSchema):
    """A webhook subscription: where to deliver, which events (or ``*``), and a note."""

    url = fields.String(required=True, validate=validate.Length(min=8, max=2000))
    events = fields.List(
        fields.String(validate=validate.Length(max=100)),
        required=True,
        validate=validate.Length(min=1, max=50),
    )
    description = Text(load_default="", validate=validate.Length(max=200))
    active = fields.Boolean(load_default=True)
