"""The alumni offices plugin's pages, mounted by the core at ``/plugins/alumni_offices``.

The core's guard signs users in and answers 404 to a practice that has switched the plugin
off. Each view looks its object up through the scope first (404 outside it), then checks
the role: coaches keep the directory, clients act on their own affiliations and requests
(403 for their coach, as in the core's outreach pages).
"""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from crossroads.plugin import (
    Client,
    Draft,
    Forbidden,
    Form,
    InvalidInput,
    MessageStatus,
    MessageWarning,
    Role,
    db,
    load_input,
    notify,
    plugin_manager,
    require_role,
    scope,
    submit,
)

from . import services
from .channel import IntroductionContext
from .models import OFFICE_LABELS, REQUEST_STATUS_LABELS, Affiliation, Institution, Office, RequestStatus
from .schemas import (
    AffiliationSchema,
    AnswerSchema,
    InstitutionQuerySchema,
    InstitutionSchema,
    IntroductionSchema,
    RequestChoiceSchema,
    RequestPreviewSchema,
    RequestSchema,
)

bp = Blueprint("alumni_offices", __name__)


@bp.app_context_processor
def labels():
    return {
        "OFFICE_LABELS": OFFICE_LABELS,
        "REQUEST_STATUS_LABELS": REQUEST_STATUS_LABELS,
        "request_state": services.request_state,
    }


def staff_only() -> None:
    """The directory's pages do not exist for clients (404)."""
    require_role(Role.OWNER, Role.COACH)


def client_only() -> None:
    """Requests and affiliations are the client's own: their coach reads them (403)."""
    if current_user.role != Role.CLIENT:
        raise Forbidden("only the client does this")


def plugin_checks(draft: Draft) -> list[MessageWarning]:
    """Warnings from the ``message_checks`` hook of the plugins on for the practice, as the core adds them."""
    manager = plugin_manager()
    results = manager.call(
        "message_checks",
        manager.enabled_for(db(), current_user.practice_id),
        expect=MessageWarning,
        draft=draft,
    )
    return [warning for result in results for warning in result.items]


def error_text(exc: InvalidInput) -> str:
    return " ".join(m for ms in exc.errors.values() for m in ms)


# -- the directory, for coaches -------------------------------------------------------------


def render_directory(form: Form | None = None, status: int = 200):
    try:
        params, errors = load_input(InstitutionQuerySchema(), request.args), {}
    except InvalidInput as exc:
        params, errors = load_input(InstitutionQuerySchema(), {}), exc.errors
    return render_template(
        "alumni_offices/institutions.html",
        params=params,
        query_errors=errors,
        page=services.search_institutions(scope(), params),
        removed_count=services.removed_count(scope()),
        form=form or Form(),
    ), status


@bp.get("/institutions")
def institutions():
    staff_only()
    return render_directory()


@bp.post("/institutions")
def create_institution():
    staff_only()
    institution, form = submit(InstitutionSchema(), lambda data: services.create_institution(scope(), data))
    if institution is None:
        return render_directory(form, 422)
    notify(f"Added {institution.name} to the directory.")
    return redirect(url_for("alumni_offices.institutions", q=institution.name))


def institution_values(institution: Institution) -> dict:
    return {
        "name": institution.name,
        "alumni_email": institution.alumni_email,
        "career_email": institution.career_email,
        "notes": institution.notes,
    }


def render_institution(institution: Institution, form: Form | None = None, status: int = 200):
    return render_template(
        "alumni_offices/institution.html",
        institution=institution,
        usage=services.usage(scope(), institution),
        form=form or Form(institution_values(institution)),
    ), status


@bp.get("/institutions/<int:institution_id>")
def edit_institution(institution_id: int):
    return render_institution(services.institution_for_staff(scope(), institution_id))


@bp.post("/institutions/<int:institution_id>")
def update_institution(institution_id: int):
    institution = services.institution_for_staff(scope(), institution_id)
    saved, form = submit(
        InstitutionSchema(), lambda data: services.update_institution(scope(), institution.id, data)
    )
    if saved is None:
        db().rollback()
        return render_institution(institution, form, 422)
    notify(f"Saved {saved.name}.")
    return redirect(url_for("alumni_offices.edit_institution", institution_id=saved.id))


@bp.post("/institutions/<int:institution_id>/remove")
def remove_institution(institution_id: int):
    try:
        institution = services.set_institution_removed(scope(), institution_id, True)
    except InvalidInput as exc:
        notify(error_text(exc), level="error")
        return redirect(url_for("alumni_offices.institutions"))
    notify(
        f"Removed {institution.name} from the directory. Clients' affiliations and requests keep it.",
        undo_url=url_for("alumni_offices.restore_institution", institution_id=institution.id),
    )
    return redirect(url_for("alumni_offices.institutions"))


@bp.post("/institutions/<int:institution_id>/restore")
def restore_institution(institution_id: int):
    try:
        institution = services.set_institution_removed(scope(), institution_id, False)
    except InvalidInput as exc:
        notify(error_text(exc), level="error")
        return redirect(url_for("alumni_offices.institutions"))
    notify(f"{institution.name} is back in the directory.")
    return redirect(url_for("alumni_offices.edit_institution", institution_id=institution.id))


# -- a client's alumni offices page -----------------------------------------------------------


def render_client_page(client: Client, form: Form | None = None, status: int = 200):
    return render_template(
        "alumni_offices/client.html",
        client=client,
        affiliations=services.affiliations(scope(), client.id),
        requests=services.requests_for(scope(), client.id),
        directory=services.directory(scope()),
        form=form or Form(),
    ), status


@bp.get("/clients/<int:client_id>")
def client_page(client_id: int):
    """A client's affiliations and introduction requests; their coach reads along."""
    return render_client_page(scope().get(Client, client_id))


@bp.post("/clients/<int:client_id>/affiliations")
def add_affiliation(client_id: int):
    client = scope().get(Client, client_id)
    client_only()
    affiliation, form = submit(
        AffiliationSchema(), lambda data: services.add_affiliation(scope(), client.id, data)
    )
    if affiliation is None:
        return render_client_page(client, form, 422)
    notify(f"Added {affiliation.institution.name} to your affiliations.")
    return redirect(url_for("alumni_offices.client_page", client_id=client.id))


def _set_affiliation(affiliation_id: int, removed: bool):
    affiliation = scope().get(Affiliation, affiliation_id)
    target = url_for("alumni_offices.client_page", client_id=affiliation.client_id)
    try:
        services.set_affiliation_removed(scope(), affiliation.id, removed)
    except InvalidInput as exc:
        notify(error_text(exc), level="error")
        return redirect(target)
    if removed:
        notify(
            f"Removed {affiliation.institution.name} from your affiliations.",
            undo_url=url_for("alumni_offices.restore_affiliation", affiliation_id=affiliation.id),
        )
    else:
        notify(f"{affiliation.institution.name} is back among your affiliations.")
    return redirect(target)


@bp.post("/affiliations/<int:affiliation_id>/remove")
def remove_affiliation(affiliation_id: int):
    return _set_affiliation(affiliation_id, True)


@bp.post("/affiliations/<int:affiliation_id>/restore")
def restore_affiliation(affiliation_id: int):
    return _set_affiliation(affiliation_id, False)


# -- writing a request ----------------------------------------------------------------------------


def render_request_form(client: Client, form: Form, context: IntroductionContext | None, status: int = 200):
    """The request page: what it is about (institution, office, theme, how many), then the message."""
    channel = services.CHANNEL
    warnings, reason, fmt = [], None, None
    if context is not None:
        fmt = channel.formats(context)[0]
        warnings = services.warnings(context, form.value("subject"), form.value("body"), plugin_checks)
        reason = channel.unavailable_reason(context)
    return render_template(
        "alumni_offices/new_request.html",
        client=client,
        form=form,
        context=context,
        channel=channel,
        fmt=fmt,
        warnings=warnings,
        reason=reason,
        hands_off=context is not None and channel.hands_off_in(context),
        directory=services.directory(scope()),
        affiliations=services.affiliations(scope(), client.id),
        themes=client.active_themes,
        offices=list(Office),
    ), status


@bp.get("/clients/<int:client_id>/request")
def new_request(client_id: int):
    """Choose the institution and office; the message is drafted from the practice's template."""
    client = scope().get(Client, client_id)
    client_only()
    typed = request.args.to_dict()
    if not typed.get("institution_id"):
        first = client.active_themes[0].id if client.active_themes else ""
        affiliation = next(iter(services.affiliations(scope(), client.id)), None)
        values = {"office": "alumni", "hoped_for": "3", "theme_id": first}
        if affiliation is not None:
            values["institution_id"] = affiliation.institution_id
        return render_request_form(client, Form({**values, **typed}), None)
    try:
        choice = load_input(RequestChoiceSchema(), typed)
        context = services.request_context(scope(), client, choice)
    except InvalidInput as exc:
        return render_request_form(client, Form(typed, exc.errors), None, 422)
    draft = services.initial_draft(scope(), context)
    return render_request_form(client, Form({**typed, "subject": draft.subject, "body": draft.body}), context)


@bp.post("/clients/<int:client_id>/request")
def send_request(client_id: int):
    """Send the request to the office; bad input keeps every word typed."""
    client = scope().get(Client, client_id)
    client_only()
    sent, form = submit(
        RequestSchema(), lambda data: services.send_request(scope(), client.id, data, plugin_checks)
    )
    if sent is not None:
        message = sent.message
        where = services.office_name(sent)
        if message is not None and message.status == MessageStatus.QUEUED:
            notify(f"Your request to {where} is on its way.")
        else:
            notify(f"Saved. Send it to {where} from your own mail program, then mark it sent.")
        return redirect(url_for("alumni_offices.show_request", intro_request_id=sent.id))
    db().rollback()
    try:
        context = services.request_context(scope(), client, load_input(RequestChoiceSchema(), form.values))
    except InvalidInput:
        context = None
    return render_request_form(client, form, context, 422)


@bp.post("/clients/<int:client_id>/request/check")
def check_request(client_id: int):
    """The live check while typing: warnings for the draft as it stands (JSON)."""
    client = scope().get(Client, client_id)
    client_only()
    try:
        data = load_input(RequestPreviewSchema(), request.form)
        context = services.request_context(scope(), client, data)
    except InvalidInput as exc:
        return jsonify({"errors": exc.errors}), 422
    found = services.warnings(context, data["subject"], data["body"], plugin_checks)
    return jsonify({"warnings": [asdict(w) for w in found]})


# -- a request and what came of it ----------------------------------------------------------------


def render_request(intro_request, status: int = 200, **forms):
    channel = services.CHANNEL
    message = intro_request.message
    handoff = None
    if message is not None and message.status == MessageStatus.HANDED_OFF:
        handoff = channel.handoff(message)
    return render_template(
        "alumni_offices/request.html",
        client=intro_request.client,
        intro_request=intro_request,
        message=message,
        handoff=handoff,
        answer_form=forms.get("answer_form") or Form({"note": intro_request.note}),
        introduction_form=forms.get("introduction_form") or Form(),
    ), status


@bp.get("/requests/<int:intro_request_id>")
def show_request(intro_request_id: int):
    return render_request(services.request_for(scope(), intro_request_id))


@bp.post("/requests/<int:intro_request_id>/answered")
def mark_answered(intro_request_id: int):
    intro_request = services.request_for(scope(), intro_request_id)
    client_only()
    was_answered = intro_request.status == RequestStatus.ANSWERED
    saved, form = submit(AnswerSchema(), lambda data: services.mark_answered(scope(), intro_request.id, data))
    if saved is None:
        db().rollback()
        return render_request(intro_request, 422, answer_form=form)
    if was_answered:
        notify("Saved the note.")
        return redirect(url_for("alumni_offices.show_request", intro_request_id=saved.id))
    notify(
        f"Marked answered. Add each person {services.office_name(saved)} introduced you to.",
        undo_url=url_for("alumni_offices.reopen_request", intro_request_id=saved.id),
    )
    return redirect(url_for("alumni_offices.show_request", intro_request_id=saved.id))


@bp.post("/requests/<int:intro_request_id>/close")
def close_request(intro_request_id: int):
    intro_request = services.request_for(scope(), intro_request_id)
    client_only()
    try:
        services.close_request(scope(), intro_request.id)
    except InvalidInput as exc:
        notify(error_text(exc), level="error")
    else:
        notify(
            "Closed: nothing more is expected from this request.",
            undo_url=url_for("alumni_offices.reopen_request", intro_request_id=intro_request.id),
        )
    return redirect(url_for("alumni_offices.show_request", intro_request_id=intro_request.id))


@bp.post("/requests/<int:intro_request_id>/reopen")
def reopen_request(intro_request_id: int):
    intro_request = services.request_for(scope(), intro_request_id)
    client_only()
    try:
        services.reopen_request(scope(), intro_request.id)
    except InvalidInput as exc:
        notify(error_text(exc), level="error")
    else:
        notify(f"{REQUEST_STATUS_LABELS[intro_request.status]} again.")
    return redirect(url_for("alumni_offices.show_request", intro_request_id=intro_request.id))


@bp.post("/requests/<int:intro_request_id>/introductions")
def add_introduction(intro_request_id: int):
    intro_request = services.request_for(scope(), intro_request_id)
    client_only()
    introduction, form = submit(
        IntroductionSchema(), lambda data: services.add_introduction(scope(), intro_request.id, data)
    )
    if introduction is None:
        db().rollback()
        return render_request(intro_request, 422, introduction_form=form)
    notify(f"{introduction.contact.name} is now one of your contacts. Research them, then write.")
    return redirect(url_for("alumni_offices.show_request", intro_request_id=intro_request.id))
