"""Conversations with their prep sheets, and reflections (staff see shared ones only, as on the pages)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy.orm import selectinload

from crossroads.core.models import Client, Conversation, Reflection
from crossroads.core.schemas import CommentSchema, PrepSchema, ReflectionSchema, ScheduleSchema
from crossroads.core.schemas.api import (
    ConversationShape,
    PageQuerySchema,
    ReflectionShape,
    SharedSchema,
)
from crossroads.core.services import conversations as conversation_service
from crossroads.core.services import reflections as reflection_service

from .conventions import api_scope, cursor_page, idempotent, page_shape, require_fresh
from .strict import ApiBlueprint as Blueprint

bp = Blueprint(
    "api_conversations",
    __name__,
    description="Informational interviews, their prep sheets, and the client's reflections on them.",
)


@bp.route("/clients/<int:client_id>/conversations", methods=["GET"])
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, page_shape(ConversationShape))
def list_conversations(page: dict[str, Any], client_id: int):
    scope = api_scope()
    scope.get(Client, client_id)
    query = (
        scope.select(Conversation)
        .where(Conversation.client_id == client_id)
        .options(selectinload(Conversation.questions))
    )
    return cursor_page(query, Conversation, page)


@bp.route("/contacts/<int:contact_id>/conversations", methods=["POST"])
@idempotent
@bp.arguments(ScheduleSchema)
@bp.response(201, ConversationShape)
def schedule_conversation(data: dict[str, Any], contact_id: int):
    """Schedule a conversation; ``starts_at`` is in the token user's own time zone, as on the page."""
    conversation = conversation_service.schedule(api_scope(), contact_id, data)
    location = url_for("api_conversations.show_conversation", conversation_id=conversation.id)
    return conversation, 201, {"Location": location}


@bp.route("/conversations/<int:conversation_id>", methods=["GET"])
@bp.response(200, ConversationShape)
def show_conversation(conversation_id: int):
    """A conversation with its prep sheet (goals, pitch, likely questions, questions to ask)."""
    return api_scope().get(Conversation, conversation_id)


@bp.route("/conversations/<int:conversation_id>/prep", methods=["PATCH"])
@bp.arguments(PrepSchema(partial=True))
@bp.response(200, ConversationShape)
def update_prep(data: dict[str, Any], conversation_id: int):
    """Change the prep sheet's goals, pitch or likely questions (one per line, "question | answer")."""
    scope = api_scope()
    conversation = scope.get(Conversation, conversation_id)
    require_fresh(ConversationShape(), conversation)
    current = {
        "goals": conversation.goals,
        "pitch": conversation.pitch,
        "likely_questions": conversation_service.format_likely(conversation.likely_questions),
    }
    data.pop("version", None)
    return conversation_service.update_prep(scope, conversation_id, {**current, **data})


@bp.route("/conversations/<int:conversation_id>/held", methods=["POST"])
@bp.response(200, ConversationShape)
def mark_held(conversation_id: int):
    """The client records that the conversation took place."""
    return conversation_service.mark_held(api_scope(), conversation_id)


@bp.route("/conversations/<int:conversation_id>/cancel", methods=["POST"])
@bp.response(200, ConversationShape)
def cancel_conversation(conversation_id: int):
    """The client cancels a conversation that has not happened."""
    return conversation_service.cancel(api_scope(), conversation_id)


# -- reflections ------------------------------------------------------------------------------------


@bp.route("/clients/<int:client_id>/reflections", methods=["GET"])
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, page_shape(ReflectionShape))
def list_reflections(page: dict[str, Any], client_id: int):
    """A client's reflections: all of them for the client, only the shared ones for staff."""
    scope = api_scope()
    scope.get(Client, client_id)
    query = (
        scope.select(Reflection)
        .where(Reflection.client_id == client_id)
        .options(selectinload(Reflection.comments))
    )
    return cursor_page(query, Reflection, page)


@bp.route("/reflections/<int:reflection_id>", methods=["GET"])
@bp.response(200, ReflectionShape)
def show_reflection(reflection_id: int):
    return api_scope().get(Reflection, reflection_id)


@bp.route("/conversations/<int:conversation_id>/reflection", methods=["PUT"])
@bp.arguments(ReflectionSchema)
@bp.response(200, ReflectionShape)
def save_reflection(data: dict[str, Any], conversation_id: int):
    """The client writes (or rewrites) their reflection; ``share`` shares it with their coach."""
    scope = api_scope()
    existing = scope.get(Conversation, conversation_id).reflection
    if existing is not None:
        require_fresh(ReflectionShape(), existing)
    return reflection_service.save(scope, conversation_id, data)


@bp.route("/reflections/<int:reflection_id>/shared", methods=["PUT"])
@bp.arguments(SharedSchema)
@bp.response(200, ReflectionShape)
def set_shared(data: dict[str, Any], reflection_id: int):
    """The client shares a reflection with their coach, or takes it back."""
    return reflection_service.set_shared(api_scope(), reflection_id, data["shared"])


@bp.route("/reflections/<int:reflection_id>/comments", methods=["POST"])
@idempotent
@bp.arguments(CommentSchema)
@bp.response(201, ReflectionShape)
def comment(data: dict[str, Any], reflection_id: int):
    """A coach comments on a shared reflection."""
    scope = api_scope()
    reflection_service.comment(scope, reflection_id, data["text"])
    return scope.get(Reflection, reflection_id), 201
