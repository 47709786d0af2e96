"""The coach's portal: the caseload, one client's page, and inviting clients."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crossroads.core import figures
from crossroads.core.db import utcnow
from crossroads.core.errors import InvalidInput
from crossroads.core.models import Client, ClientStatus, GoalMetric, GoalPeriod, Role
from crossroads.core.outreach import service as outreach
from crossroads.core.schemas import (
    CaseloadQuerySchema,
    ClientUpdateSchema,
    InviteClientSchema,
    load,
)
from crossroads.core.services import clients, contacts, goals, invitations

from .context import crossroads, require_role, scope
from .forms import Form, submit
from .navigation import back, external_url
from .notices import notify
from .plugin_ui import caseload_columns, client_panels, due_entries

bp = Blueprint("coach", __name__, url_prefix="/coach")
log = logging.getLogger(__name__)


@bp.before_request
@login_required
def staff_only():
    require_role(Role.OWNER, Role.COACH)


def invitation_url(token: str) -> str:
    """The invitation link to pass on, on the public address."""
    return external_url("auth.accept_invitation", token=token)


@bp.get("/")
def caseload():
    try:
        params = load(CaseloadQuerySchema(), request.args)
        errors = {}
    except InvalidInput as exc:
        params, errors = load(CaseloadQuerySchema(), {}), exc.errors
    threshold = figures.stalled_days(scope().session, scope().practice_id)
    now = utcnow()  # one moment for the sort, the filters and the figures shown
    page = clients.caseload(scope(), params, now=now, threshold=threshold)
    overdue = contacts.overdue_counts(scope(), list(page.items))
    details = clients.caseload_details(scope(), list(page.items), now=now, threshold=threshold)
    # Only the owner filters by coach.
    coaches = scope().session.scalars(scope().coaches()).all() if current_user.role == Role.OWNER else []
    return render_template(
        "coach/caseload.html",
        page=page,
        overdue=overdue,
        details=details,
        params=params,
        query_errors=errors,
        statuses=list(ClientStatus),
        coaches=coaches,
        invite_form=Form({"coach_id": current_user.id}),
        reply_days=clients.RECENT_REPLY_DAYS,
        plugin_columns=caseload_columns(list(page.items), now),
    )


@bp.post("/invite")
def invite_client():
    ext = crossroads()
    result, form = submit(
        InviteClientSchema(), lambda data: invitations.invite_client(scope(), ext.signer, data)
    )
    if result is None:
        coaches = scope().session.scalars(scope().coaches()).all()
        return render_template("coach/invite.html", form=form, coaches=coaches), 422
    # The same answer whether the address is new or has an account elsewhere (see the service).
    url = invitation_url(result.token)
    log.warning("invitation link for %s: %s", result.email, url)
    notify(f"{result.name} is invited. Send them this link; it works once, for 7 days.", link=url)
    return redirect(url_for("coach.caseload"))


@bp.get("/invite")
def invite_form():
    coaches = scope().session.scalars(scope().coaches()).all()
    return render_template("coach/invite.html", form=Form({"coach_id": current_user.id}), coaches=coaches)


def render_client_page(client: Client, status: int = 200, **forms):
    """The coach's page about one client; ``forms`` carry a failed submit back onto it."""
    coaches = scope().session.scalars(scope().coaches()).all()
    return render_template(
        "coach/client.html",
        client=client,
        coaches=coaches,
        statuses=list(ClientStatus),
        panels=client_panels(client),
        client_form=forms.get("client_form")
        or Form({"status": client.status.value, "coach_id": client.coach_id}),
        theme_form=forms.get("theme_form") or Form(),
        edit_forms=forms.get("edit_forms") or {},
        pending=[i for i in invitations.pending_invitations(scope()) if i.user_id == client.user_id],
        due=contacts.due_for_client(scope(), client.id),
        due_entries=due_entries(client),
        recent_replies=outreach.recent_replies(scope(), client.id),
        progress=goals.progress(scope(), client.id),
        periods=list(GoalPeriod),
        metrics=list(GoalMetric),
        METRIC_LABELS=goals.METRIC_LABELS,
    ), status


@bp.get("/clients/<int:client_id>")
def client_page(client_id: int):
    return render_client_page(scope().get(Client, client_id))


@bp.post("/clients/<int:client_id>")
def update_client(client_id: int):
    client = scope().get(Client, client_id)
    updated, form = submit(ClientUpdateSchema(), lambda data: clients.update_client(scope(), client_id, data))
    if updated is None:
        return render_client_page(client, 422, client_form=form)
    notify(f"Saved: {updated.name} is {updated.status.value}, coached by {updated.coach.name}.")
    if not scope().session.scalar(scope().select(Client).where(Client.id == client_id)):
        return redirect(url_for("coach.caseload"))  # handed to another coach: no longer ours to show
    return redirect(url_for("coach.client_page", client_id=client_id))


@bp.post("/people/<int:user_id>/reinvite")
def reinvite(user_id: int):
    ext = crossroads()
    try:
        link = invitations.reissue_invitation(scope(), ext.signer, user_id)
    except InvalidInput as exc:
        notify(" ".join(exc.errors.get("_schema", [])), level="error")
        return back(url_for("coach.caseload"))
    url = invitation_url(link.token)
    log.warning("invitation link for %s: %s", link.invitation.user.email, url)
    notify(f"A new link for {link.invitation.user.name}; the old one no longer works.", link=url)
    return back(url_for("coach.caseload"))


@bp.post("/people/<int:user_id>/revoke")
def revoke(user_id: int):
    try:
        user = invitations.revoke_invitations(scope(), user_id)
    except InvalidInput as exc:
        notify(" ".join(exc.errors.get("_schema", [])), level="error")
    else:
        notify(f"The invitation for {user.name} is withdrawn; their link no longer works.")
    return back(url_for("coach.caseload"))
