"""The audit log: recording coaches' and owners' access to a client's pages, and the owner's page to read it.

Recording happens here, once for the whole app, rather than in each view: before a staff
member's request, the client it concerns is looked up from the route's id (through the
scope, so nothing outside it is ever logged; looked up first because a removal leaves no row
to look at after); during it, every row of a client's the view reads one by one through the
scope (``Scope.get``, a plugin's own models included) adds that client. After it, a page shown
(GET, 200) is logged as "viewed" and a change made (POST, below 400) as "changed", or as
"viewed" for a POST route marked :func:`reads` (a preview, a check). A plugin's pages are
thus recorded without the plugin doing anything. The same page by the same person within ten
minutes is logged once. A client's use of their own workspace is not logged. Exports and
erasures are recorded by their services.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, g, render_template, request
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from crossroads.core.db import wrote_anything
from crossroads.core.errors import InvalidInput, NotFound
from crossroads.core.models import (
    AUDIT_ACTION_LABELS,
    AuditAction,
    CareerTheme,
    Client,
    Contact,
    Conversation,
    OutreachMessage,
    PrepQuestion,
    Reflection,
    Role,
    User,
)
from crossroads.core.schemas import AuditQuerySchema, load
from crossroads.core.services import audit

from .context import db, require_role, scope

bp = Blueprint("audit", __name__, url_prefix="/practice/audit")
log = logging.getLogger(__name__)

#: Route parameters that name a client's row, and the row's model.
ID_MODELS: dict[str, Any] = {
    "client_id": Client,
    "contact_id": Contact,
    "conversation_id": Conversation,
    "reflection_id": Reflection,
    "message_id": OutreachMessage,
    "prep_question_id": PrepQuestion,
    "theme_id": CareerTheme,
}
#: How the log names a page; other pages are named after their endpoint. Never a name or an email.
LABELS = {
    "coach.client_page": "client page",
    "coach.update_client": "status or coach",
    "contacts.index": "contacts page",
    "contacts.new": "new contact form",
    "contacts.show": "contact {contact_id}",
    "contacts.import_form": "LinkedIn import page",
    "contacts.warm_leads": "warm leads page",
    "conversations.index": "conversations page",
    "conversations.prep": "prep sheet of conversation {conversation_id}",
    "conversations.live": "live notes of conversation {conversation_id}",
    "conversations.reflection": "reflection on conversation {conversation_id}",
    "conversations.calendar": "calendar file of conversation {conversation_id}",
    "conversations.schedule_form": "scheduling form for contact {contact_id}",
    "conversations.synthesis_page": "themes side by side",
    "conversations.comment": "comment on reflection {reflection_id}",
    "outreach.index": "messages page",
    "outreach.show": "message {message_id}",
    "outreach.compose": "message draft to contact {contact_id}",
    "outreach.preview_template": "template preview ({channel_name}, {kind})",
    "demo_mail.show": "demo's sent mail {mail_id}",
}
#: Blueprints that record for themselves (exports, erasures) or hold no client's data.
NOT_RECORDED = {"audit", "client_data", "auth", "practice", "banks", "static"}


def reads(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a POST route that only shows a client's data (a preview, a check): logged as viewed."""
    view.audit_reads = True  # type: ignore[attr-defined]
    return view


def label(endpoint: str, args: dict[str, Any]) -> str:
    """``"contact 12"``, ``"contacts page"``; ``"progress report: client report"`` for a page not listed."""
    if endpoint in LABELS:
        return LABELS[endpoint].format(**args)
    text = endpoint.replace("_", " ").replace(".", ": ")
    ids = [f"{name.removesuffix('_id').replace('_', ' ')} {value}" for name, value in args.items()]
    return " ".join([text, *[i for i in ids if not i.startswith("client ")]])


def _target_client(args: dict[str, Any]) -> int | None:
    """The client whose row the route names, if the signed-in user may see it."""
    for name, model in ID_MODELS.items():
        if name not in args:
            continue
        try:  # the same look-up as the view's own (Scope.get remembers it: asked once a request)
            row = scope().get(model, args[name])
        except NotFound:
            return None
        return row.id if model is Client else row.client_id
    return None


@bp.before_app_request
def note_target() -> None:
    """Before a staff member's request about a client's row: which client (looked up before a removal)."""
    if request.blueprint in NOT_RECORDED or not request.view_args or request.method not in ("GET", "POST"):
        return
    if not current_user.is_authenticated or not current_user.is_staff:
        return
    try:
        g.audit_client_id = _target_client(request.view_args)
    except SQLAlchemyError:
        log.exception("audit: could not look up the client of %s", request.path)
        db().rollback()


@bp.after_app_request
def record_access(response: Response) -> Response:
    """After it: log the page shown or the change made, if it went through, for each client it concerned."""
    client_id = g.pop("audit_client_id", None)
    if request.endpoint is None or request.blueprint in NOT_RECORDED or "scope" not in g:
        return response
    if not current_user.is_authenticated or not current_user.is_staff:
        return response
    clients = sorted(scope().reached | ({client_id} if client_id is not None else set()))
    if not clients:
        return response
    view = current_app.view_functions.get(request.endpoint)
    if request.method == "GET" and response.status_code == 200:
        action = AuditAction.VIEWED
    elif request.method == "POST" and response.status_code < 400:
        action = AuditAction.VIEWED if getattr(view, "audit_reads", False) else AuditAction.CHANGED
    else:
        return response
    what = label(request.endpoint, request.view_args or {})
    try:
        # Whatever the view left uncommitted would be dropped at teardown: drop it now, not commit
        # it. A view that wrote nothing (nothing flushed, nothing pending) has nothing to drop, and
        # its loaded rows (the user among them) stay loaded.
        if wrote_anything(db()):
            db().rollback()
        for each in clients:
            audit.record(scope(), each, action, what, ip=request.remote_addr)
        db().commit()
    except SQLAlchemyError:
        log.exception("audit: could not record %s %s", request.method, request.path)
        db().rollback()
    return response


# -- the owner's page ---------------------------------------------------------------------------


@bp.before_request
@login_required
def owner_only():
    require_role(Role.OWNER)


@bp.get("/")
def index():
    try:
        params, errors = load(AuditQuerySchema(), request.args), {}
    except InvalidInput as exc:
        params, errors = load(AuditQuerySchema(), {}), exc.errors
    page = audit.events(scope(), params)
    clients = (
        scope()
        .session.scalars(scope().select(Client).join(User, Client.user_id == User.id).order_by(User.name))
        .all()
    )
    names = {c.id: c.name for c in clients}
    names.update(audit.client_names(scope(), {e.client_id for e in page.items}))
    return render_template(
        "practice/audit.html",
        page=page,
        params=params,
        query_errors=errors,
        clients=clients,
        client_names=names,
        actors=audit.actors(scope()),
        action_labels=AUDIT_ACTION_LABELS,
        filtered=bool(params["client_id"] or params["actor_id"]),
    )
