"""Conversations: scheduling, the prep sheet, the timed conversation view, reflections, goals, synthesis."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from flask import Blueprint, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from crossroads.core.errors import Forbidden, InvalidInput
from crossroads.core.models import (
    CATEGORY_LABELS,
    CareerTheme,
    Client,
    Contact,
    Conversation,
    ConversationStatus,
    GoalMetric,
    GoalPeriod,
    Medium,
    Reflection,
    ThemeStatus,
)
from crossroads.core.schemas import (
    CommentSchema,
    DecisionSchema,
    GoalSchema,
    NoteSchema,
    PrepQuestionSchema,
    PrepSchema,
    ReflectionSchema,
    ScheduleSchema,
    load,
)
from crossroads.core.services import banks, conversations, goals, reflections, synthesis
from crossroads.core.text import slug

from .context import scope
from .forms import Form, submit
from .navigation import back
from .notices import notify
from .plugin_ui import conversation_panels

bp = Blueprint("conversations", __name__)

MEDIUM_LABELS = {Medium.VIDEO: "Video call", Medium.PHONE: "Phone", Medium.IN_PERSON: "In person"}


@bp.before_request
@login_required
def signed_in():
    """Every page here needs a user; which client's data they reach is up to the scope."""


@bp.app_context_processor
def labels():
    return {
        "MEDIUM_LABELS": MEDIUM_LABELS,
        "MEDIUM_OPTIONS": [(m.value, label) for m, label in MEDIUM_LABELS.items()],
        "CATEGORY_LABELS": CATEGORY_LABELS,
        "ENERGY_LABELS": reflections.ENERGY_LABELS,
        "shown_status": conversations.shown_status,
    }


def local_input(conversation: Conversation) -> str:
    """The start time as a ``datetime-local`` value in the viewer's zone."""
    return conversation.starts_at.astimezone(ZoneInfo(current_user.timezone)).strftime("%Y-%m-%dT%H:%M")


def schedule_values(conversation: Conversation) -> dict:
    return {
        "starts_at": local_input(conversation),
        "minutes": conversation.minutes,
        "medium": conversation.medium.value,
        "location": conversation.location,
        "theme_id": conversation.theme_id or "",
    }


# -- scheduling -------------------------------------------------------------------------------


def render_schedule(contact: Contact, form: Form, status: int = 200):
    themes = [t for t in contact.client.themes if t.is_active]
    asks_past = conversations.PAST_QUESTION in form.errors.get("starts_at", [])
    return render_template(
        "conversations/schedule.html", contact=contact, form=form, themes=themes, asks_past=asks_past
    ), status


@bp.get("/contacts/<int:contact_id>/schedule")
def schedule_form(contact_id: int):
    contact = scope().get(Contact, contact_id)
    theme_id = contact.themes[0].id if contact.themes else ""
    return render_schedule(contact, Form({"minutes": 20, "medium": "video", "theme_id": theme_id}))


@bp.post("/contacts/<int:contact_id>/conversations")
def schedule(contact_id: int):
    contact = scope().get(Contact, contact_id)
    conversation, form = submit(
        ScheduleSchema(), lambda data: conversations.schedule(scope(), contact.id, data)
    )
    if conversation is None:
        return render_schedule(contact, form, 422)
    if conversation.status == ConversationStatus.HELD:
        notify(f"Recorded your conversation with {contact.name} as held. Reflect now, while you remember it.")
        return redirect(url_for("conversations.reflection", conversation_id=conversation.id))
    notify(f"Conversation with {contact.name} scheduled. Prepare it here.")
    return redirect(url_for("conversations.prep", conversation_id=conversation.id))


@bp.get("/clients/<int:client_id>/conversations")
def index(client_id: int):
    client = scope().get(Client, client_id)
    return render_template(
        "conversations/index.html", client=client, conversations=conversations.for_client(scope(), client.id)
    )


# -- the prep sheet ---------------------------------------------------------------------------


def render_prep(conversation: Conversation, status: int = 200, **forms):
    """The prep sheet; ``forms`` carry a failed submit back onto it."""
    prep_values = {
        "goals": conversation.goals,
        "pitch": conversation.pitch,
        "likely_questions": conversations.format_likely(conversation.likely_questions),
        "version": conversation.updated_at.isoformat(),
    }
    return render_template(
        "conversations/prep.html",
        conversation=conversation,
        contact=conversation.contact,
        client=conversation.client,
        warning=conversations.question_count_warning(conversation),
        banks=[banks.starter_bank(), *banks.visible_banks(scope())],
        themes=[t for t in conversation.client.themes if t.is_active],
        prep_form=forms.get("prep_form") or Form(prep_values),
        question_form=forms.get("question_form") or Form(),
        schedule_form=forms.get("schedule_form") or Form(schedule_values(conversation)),
        panels=conversation_panels(conversation),
    ), status


@bp.get("/conversations/<int:conversation_id>")
def prep(conversation_id: int):
    return render_prep(scope().get(Conversation, conversation_id))


@bp.post("/conversations/<int:conversation_id>")
def save_prep(conversation_id: int):
    conversation = scope().get(Conversation, conversation_id)
    saved, form = submit(PrepSchema(), lambda data: conversations.update_prep(scope(), conversation.id, data))
    if saved is None:
        return render_prep(conversation, 409 if form.saved else 422, prep_form=form)
    notify("Prep sheet saved.")
    return redirect(url_for("conversations.prep", conversation_id=conversation.id))


@bp.post("/conversations/<int:conversation_id>/reschedule")
def reschedule(conversation_id: int):
    conversation = scope().get(Conversation, conversation_id)
    saved, form = submit(
        ScheduleSchema(), lambda data: conversations.reschedule(scope(), conversation.id, data)
    )
    if saved is None:
        return render_prep(conversation, 422, schedule_form=form)
    notify("Rescheduled. Download the calendar file again: it updates the same event.")
    return redirect(url_for("conversations.prep", conversation_id=conversation.id))


@bp.post("/conversations/<int:conversation_id>/questions")
def add_question(conversation_id: int):
    conversation = scope().get(Conversation, conversation_id)
    added, form = submit(
        PrepQuestionSchema(), lambda data: conversations.add_prep_question(scope(), conversation.id, data)
    )
    if added is None:
        return render_prep(conversation, 422, question_form=form)
    return redirect(url_for("conversations.prep", conversation_id=conversation.id) + "#questions")


@bp.post("/prep-questions/<int:prep_question_id>/remove")
def remove_question(prep_question_id: int):
    question = conversations.remove_prep_question(scope(), prep_question_id)
    notify(f"Removed “{question.text[:60]}”.")
    return redirect(url_for("conversations.prep", conversation_id=question.conversation_id) + "#questions")


@bp.get("/conversations/<int:conversation_id>/calendar.ics")
def calendar(conversation_id: int):
    conversation = scope().get(Conversation, conversation_id)
    body = conversations.ics(conversation, conversation.client.name)
    return send_file(
        io.BytesIO(body),
        mimetype="text/calendar",
        as_attachment=True,
        download_name=f"conversation-{slug(conversation.contact.name, 'contact')}.ics",
    )


# -- during and after ---------------------------------------------------------------------------


@bp.get("/conversations/<int:conversation_id>/live")
def live(conversation_id: int):
    conversation = scope().get(Conversation, conversation_id)
    return render_template("conversations/live.html", conversation=conversation, contact=conversation.contact)


@bp.post("/prep-questions/<int:prep_question_id>/notes")
def save_note(prep_question_id: int):
    """Autosave from the conversation view: JSON in, JSON out, errors in the one error format."""
    try:
        data = load(NoteSchema(), request.get_json(silent=True) or request.form)
        question = conversations.save_note(scope(), prep_question_id, data["notes"])
    except InvalidInput as exc:
        return jsonify({"errors": exc.errors}), 422
    except Forbidden:
        return jsonify({"errors": {"_schema": ["Only the client takes notes here."]}}), 403
    return jsonify({"saved_at": question.notes_saved_at.isoformat()})


@bp.post("/conversations/<int:conversation_id>/held")
def held(conversation_id: int):
    try:
        conversation = conversations.mark_held(scope(), conversation_id)
    except InvalidInput as exc:
        notify(" ".join(sum(exc.errors.values(), [])), level="error")
        return redirect(url_for("conversations.prep", conversation_id=conversation_id))
    notify(
        f"Marked as held. Reflect now, while it is fresh; "
        f"then thank {conversation.contact.name} within a day."
    )
    return redirect(url_for("conversations.reflection", conversation_id=conversation.id))


@bp.post("/conversations/<int:conversation_id>/cancel")
def cancel(conversation_id: int):
    conversation = conversations.cancel(scope(), conversation_id)
    notify(f"Cancelled the conversation with {conversation.contact.name}.")
    return redirect(url_for("conversations.index", client_id=conversation.client_id))


def reflection_values(reflection: Reflection | None) -> dict:
    if reflection is None:
        return {"fit": "3", "energy": "0"}
    values = {name: getattr(reflection, name) for name in reflections.FIELDS}
    values["share"] = "1" if reflection.is_shared else ""
    return values


def render_reflection(conversation: Conversation, status: int = 200, form: Form | None = None, comment=None):
    return render_template(
        "conversations/reflection.html",
        conversation=conversation,
        contact=conversation.contact,
        client=conversation.client,
        reflection=conversation.reflection if not current_user.is_staff or _shared(conversation) else None,
        form=form or Form(reflection_values(conversation.reflection)),
        comment_form=comment or Form(),
    ), status


def _shared(conversation: Conversation) -> bool:
    return conversation.reflection is not None and conversation.reflection.is_shared


@bp.route("/conversations/<int:conversation_id>/reflection", methods=["GET", "POST"])
def reflection(conversation_id: int):
    conversation = scope().get(Conversation, conversation_id)
    if request.method == "GET":
        return render_reflection(conversation)
    saved, form = submit(ReflectionSchema(), lambda data: reflections.save(scope(), conversation.id, data))
    if saved is None:
        return render_reflection(conversation, 422, form=form)
    notify(
        "Reflection saved" + (" and shared with your coach." if saved.is_shared else ". Only you can see it.")
    )
    return redirect(url_for("conversations.reflection", conversation_id=conversation.id))


@bp.post("/reflections/<int:reflection_id>/comments")
def comment(reflection_id: int):
    entry, form = submit(
        CommentSchema(), lambda data: reflections.comment(scope(), reflection_id, data["text"])
    )
    if entry is None:
        reflection = scope().get(Reflection, reflection_id)
        return render_reflection(reflection.conversation, 422, comment=form)
    notify("Comment added.")
    reflection = scope().get(Reflection, reflection_id)
    return redirect(url_for("conversations.reflection", conversation_id=reflection.conversation_id))


# -- goals and synthesis ------------------------------------------------------------------------


@bp.post("/clients/<int:client_id>/goals")
def set_goal(client_id: int):
    client = scope().get(Client, client_id)
    goal, form = submit(GoalSchema(), lambda data: goals.set_goal(scope(), client.id, data) or False)
    if form:
        notify(" ".join(sum(form.errors.values(), [])), level="error")
    elif goal is False:
        notify("Goal removed.")
    else:
        notify(f"Goal set: {goal.target} {goals.METRIC_LABELS[goal.metric]} per {goal.period.value}.")
    return back(url_for("conversations.synthesis_page", client_id=client.id))


@bp.get("/clients/<int:client_id>/synthesis")
def synthesis_page(client_id: int):
    client = scope().get(Client, client_id)
    return render_template(
        "conversations/synthesis.html",
        client=client,
        summaries=synthesis.synthesis(scope(), client.id),
        progress=goals.progress(scope(), client.id),
        periods=list(GoalPeriod),
        metrics=list(GoalMetric),
        METRIC_LABELS=goals.METRIC_LABELS,
        decisions=[ThemeStatus.CHOSEN, ThemeStatus.EXPLORING, ThemeStatus.PARKED, ThemeStatus.DROPPED],
    )


@bp.post("/themes/<int:theme_id>/decision")
def decide(theme_id: int):
    theme = scope().get(CareerTheme, theme_id)
    try:
        entry = synthesis.decide(scope(), theme.id, load(DecisionSchema(), request.form))
    except InvalidInput as exc:
        notify(" ".join(sum(exc.errors.values(), [])), level="error")
    else:
        notify(f"Decision logged: “{theme.title}” is {entry.decision.value}.")
    return redirect(url_for("conversations.synthesis_page", client_id=theme.client_id))
