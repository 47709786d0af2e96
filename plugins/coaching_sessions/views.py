"""The coaching sessions' pages, mounted by the core at ``/plugins/coaching_sessions``.

Staff pages (a client's sessions, one session with its agenda and notes, today's sessions) look
the client or session up through the services, which answer 404 to a client and to anyone
outside the scope. The client's own routes: ticking an action item off (and undoing it), and
their choice of summaries by email. The core's audit log records staff views by itself.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from crossroads.plugin import (
    Client,
    Form,
    InvalidInput,
    NotFound,
    can_send_email,
    localtime,
    notify,
    scope,
    submit,
    utcnow,
)

from . import agenda, services
from .calendar import session_ics
from .models import STATUS_LABELS, Assignee, CoachingSession
from .schemas import ActionSchema, NotesSchema, PreferencesSchema, ScheduleSchema

bp = Blueprint("coaching_sessions", __name__)


@bp.app_context_processor
def labels():
    return {"SESSION_STATUS_LABELS": STATUS_LABELS}


def _error_text(exc: InvalidInput) -> str:
    return " ".join(m for ms in exc.errors.values() for m in ms)


def _back(default: str):
    """Back to the page the form was on, when it is one of ours or the client's home (never elsewhere)."""
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(default)


# -- a client's sessions -----------------------------------------------------------------------


def render_history(client: Client, form: Form | None = None, status: int = 200):
    return render_template(
        "coaching_sessions/history.html",
        client=client,
        sessions=services.history(scope(), client.id),
        form=form or Form({"minutes": 50, "invite": "y"}),
        can_email=can_send_email(scope()),
    ), status


@bp.get("/clients/<int:client_id>")
def history(client_id: int):
    return render_history(services.client_for_staff(scope(), client_id))


@bp.post("/clients/<int:client_id>")
def schedule(client_id: int):
    client = services.client_for_staff(scope(), client_id)
    row, form = submit(ScheduleSchema(), lambda data: services.schedule(scope(), client.id, data))
    if row is None:
        return render_history(client, form, 422)
    when = localtime(row.starts_at, "%a %d %b, %H:%M")
    invited = " An invitation is on its way to them." if getattr(row, "invited", False) else ""
    notify(f"Session with {client.name} scheduled for {when}.{invited}")
    return redirect(url_for("coaching_sessions.show", session_id=row.id))


# -- one session --------------------------------------------------------------------------------


def notes_form(row: CoachingSession) -> Form:
    return Form(
        {
            "private_notes": row.private_notes,
            "summary": row.summary,
            "share": "y" if row.is_shared else "",
            "version": row.updated_at.isoformat(),
        }
    )


def render_session(row: CoachingSession, status: int = 200, **forms):
    client = row.client
    return render_template(
        "coaching_sessions/session.html",
        row=row,
        client=client,
        agenda=agenda.draft(scope(), row),
        notes=forms.get("notes") or notes_form(row),
        action_form=forms.get("action_form") or Form({"assignee": Assignee.CLIENT.value}),
        themes=client.active_themes,
        contacts=services.client_contacts(scope(), client.id),
        banks=scope().session.scalars(scope().banks()).all(),
        assignees=list(Assignee),
    ), status


@bp.get("/sessions/<int:session_id>")
def show(session_id: int):
    return render_session(services.session_for_staff(scope(), session_id))


@bp.post("/sessions/<int:session_id>/notes")
def save_notes(session_id: int):
    row = services.session_for_staff(scope(), session_id)
    saved, form = submit(NotesSchema(), lambda data: services.save_notes(scope(), row.id, data))
    if saved is None:
        return render_session(row, 422, notes=form)
    message = "Notes saved."
    if saved.is_shared:
        message += f" The summary is shared with {saved.client.name}."
        if getattr(saved, "emailed", False):
            message += " It is on its way to them by email."
    notify(message)
    return redirect(url_for("coaching_sessions.show", session_id=row.id))


@bp.post("/sessions/<int:session_id>/held")
def held(session_id: int):
    try:
        row = services.mark_held(scope(), session_id)
    except InvalidInput as exc:
        notify(_error_text(exc), level="error")
        return redirect(url_for("coaching_sessions.show", session_id=session_id))
    notify(f"Marked held: your session with {row.client.name}.")
    return redirect(url_for("coaching_sessions.show", session_id=row.id))


@bp.post("/sessions/<int:session_id>/cancel")
def cancel(session_id: int):
    try:
        row = services.cancel(scope(), session_id)
    except InvalidInput as exc:
        notify(_error_text(exc), level="error")
        return redirect(url_for("coaching_sessions.show", session_id=session_id))
    notify(f"Cancelled: your session with {row.client.name}.")
    return redirect(url_for("coaching_sessions.history", client_id=row.client_id))


@bp.get("/sessions/<int:session_id>/calendar.ics")
def calendar(session_id: int):
    row = services.session_for_staff(scope(), session_id)
    return (
        session_ics(row),
        200,
        {
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": f'attachment; filename="coaching-session-{row.id}.ics"',
        },
    )


@bp.post("/sessions/<int:session_id>/actions")
def add_action(session_id: int):
    row = services.session_for_staff(scope(), session_id)
    item, form = submit(ActionSchema(), lambda data: services.add_action(scope(), row.id, data))
    if item is None:
        return render_session(row, 422, action_form=form)
    notify(f"Action added, due {item.due_on:%a %d %b}.")
    return redirect(url_for("coaching_sessions.show", session_id=row.id) + "#actions")


# -- ticking action items off (the client, or their coach) --------------------------------------


def _after_tick(item) -> str:
    if scope().user.is_staff:
        return url_for("coaching_sessions.show", session_id=item.session_id) + "#actions"
    return url_for("client.home")


@bp.post("/actions/<int:action_id>/done")
def complete_action(action_id: int):
    item, changed = services.complete_action(scope(), action_id)
    notify(
        f"Done: {item.text}" if changed else f"Already done: {item.text}",
        undo_url=url_for("coaching_sessions.reopen_action", action_id=item.id) if changed else None,
    )
    return _back(_after_tick(item))


@bp.post("/actions/<int:action_id>/reopen")
def reopen_action(action_id: int):
    item, changed = services.reopen_action(scope(), action_id)
    notify(f"Open again: {item.text}" if changed else f"Still open: {item.text}")
    return _back(_after_tick(item))


# -- the coach's day, and the client's choice ----------------------------------------------------


@bp.get("/today")
def today():
    rows = services.sessions_today(scope(), utcnow())
    return render_template(
        "coaching_sessions/today.html",
        agendas=[agenda.draft(scope(), row) for row in rows],
    )


@bp.post("/preferences")
def preferences():
    if scope().own_client_id is None:
        raise NotFound("only a client has this choice")
    chosen, form = submit(PreferencesSchema(), lambda data: services.set_preferences(scope(), data))
    if chosen is None:
        notify(" ".join(" ".join(m) for m in form.errors.values()), level="error")
    elif chosen:
        notify("Session summaries will also come to you by email.")
    else:
        notify("Session summaries will be on your home page only.")
    return redirect(url_for("client.home"))
