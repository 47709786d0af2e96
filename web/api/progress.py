"""A client's goals and the figures of their progress report, and their messages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from crossroads.core import figures
from crossroads.core.db import utcnow
from crossroads.core.models import Client, OutreachMessage
from crossroads.core.schemas import GoalSchema
from crossroads.core.schemas.api import (
    FiguresQuerySchema,
    FiguresShape,
    GoalShape,
    MessageShape,
    PageQuerySchema,
)
from crossroads.core.services import goals as goal_service

from .conventions import api_scope, cursor_page, page_shape
from .strict import ApiBlueprint as Blueprint

bp = Blueprint("api_progress", __name__, description="Goals, progress figures and outreach messages.")


@bp.route("/clients/<int:client_id>/goals", methods=["GET"])
@bp.response(200, GoalShape(many=True))
def list_goals(client_id: int):
    """This week's and this quarter's targets, with what is done against each."""
    return goal_service.progress(api_scope(), client_id)


@bp.route("/clients/<int:client_id>/goals", methods=["PUT"])
@bp.arguments(GoalSchema)
@bp.response(200, GoalShape(many=True))
def set_goal(data: dict[str, Any], client_id: int):
    """Set a target for a period and metric; a target of 0 removes it."""
    goal_service.set_goal(api_scope(), client_id, data)
    return goal_service.progress(api_scope(), client_id)


@bp.route("/clients/<int:client_id>/figures", methods=["GET"])
@bp.arguments(FiguresQuerySchema, location="query")
@bp.response(200, FiguresShape)
def client_figures(params: dict[str, Any], client_id: int):
    """The progress report's figures for the last ``days`` days (one definition: core/figures.py)."""
    scope = api_scope()
    client = scope.get(Client, client_id)
    until = utcnow()
    since = until - timedelta(days=params["days"])
    counted = figures.figures_for(scope, [client], since, until)[client.id]
    return {
        "client_id": client.id,
        "since": since,
        "until": until,
        **{name: getattr(counted, name) for name in FiguresShape._declared_fields if hasattr(counted, name)},
    }


@bp.route("/clients/<int:client_id>/messages", methods=["GET"])
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, page_shape(MessageShape))
def list_messages(page: dict[str, Any], client_id: int):
    """A client's outreach messages and their state (drafted, sent, replied, failed...)."""
    scope = api_scope()
    scope.get(Client, client_id)
    query = scope.select(OutreachMessage).where(OutreachMessage.client_id == client_id)
    return cursor_page(query, OutreachMessage, page)


@bp.route("/messages/<int:message_id>", methods=["GET"])
@bp.response(200, MessageShape)
def show_message(message_id: int):
    return api_scope().get(OutreachMessage, message_id)
