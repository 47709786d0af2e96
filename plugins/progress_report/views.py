"""The progress report pages, mounted by the core at ``/plugins/progress_report``.

Thin views: each validates its input with a schema, looks its client up through the
scope (404 outside it), builds the report through the core's :func:`build_report` (so
every plugin's sections appear) and renders it, or hands it to a format for download.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_login import current_user

from crossroads.plugin import (
    PERIOD_LABELS,
    Client,
    Form,
    InvalidInput,
    Period,
    PeriodChoice,
    Report,
    ReportRequest,
    Role,
    Subject,
    User,
    build_report,
    can_send_email,
    db,
    enabled_plugins,
    load_input,
    notify,
    plugin_manager,
    report_formats,
    require_role,
    scope,
    submit,
)

from . import services
from .figures import coaches, stalled_days
from .formats import render_sections
from .schemas import (
    CaseloadDownloadSchema,
    CaseloadQuerySchema,
    DigestSchema,
    DownloadSchema,
    NoteSchema,
    PeriodSchema,
    SettingsSchema,
)
from .sections import note_for

bp = Blueprint("progress_report", __name__, static_folder="static")


def _enabled() -> set[str]:
    return enabled_plugins()


def _period(params: dict) -> Period:
    return Period.of(
        params["period"], current_user.timezone or "UTC", start=params["start"], end=params["end"]
    )


def _query(schema, args) -> tuple[dict, dict]:
    """Validated query arguments, or the defaults and the errors to show."""
    try:
        return load_input(schema, args), {}
    except InvalidInput as exc:
        return load_input(schema, {}), exc.errors


def _build(subject: Subject, period: Period, options: dict | None = None) -> Report:
    viewer: User = current_user._get_current_object()
    report_request = ReportRequest(
        session=db(),
        scope=scope(),
        subject=subject,
        period=period,
        viewer=viewer,
        practice=viewer.practice,
        options=options or {},
    )
    return build_report(plugin_manager(), _enabled(), report_request, isolate=db().begin_nested)


def _download(report: Report, format_name: str) -> Response:
    fmt = report_formats(plugin_manager(), _enabled()).get(format_name)
    if fmt is None:
        abort(404)
    body = fmt.render(report)
    filename = report.filename(fmt.extension)
    return Response(
        body,
        mimetype=fmt.media_type.split(";")[0],
        headers={
            "Content-Type": fmt.media_type,
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


def _formats() -> list:
    return [f for f in report_formats(plugin_manager(), _enabled()).values() if f.name != "html"]


# -- the client's progress report -----------------------------------------------------------


@bp.get("/clients/<int:client_id>/report")
def client_report(client_id: int):
    client = scope().get(Client, client_id)
    params, errors = _query(PeriodSchema(), request.args)
    return _render_client(client, params, errors, Form())


def _render_client(client: Client, params: dict, errors: dict, note_form: Form, status: int = 200):
    period = _period(params)
    report = _build(Subject(client=client), period)
    note = note_for(report.request) if current_user.is_staff else None
    return (
        render_template(
            "progress_report/client_report.html",
            client=client,
            report=report,
            rendered=render_sections(report),
            period=period,
            params=params,
            query_errors=errors,
            period_labels=PERIOD_LABELS,
            choices=list(PeriodChoice),
            formats=_formats(),
            note=note,
            note_form=note_form,
        ),
        status,
    )


@bp.get("/clients/<int:client_id>/report/download")
def client_download(client_id: int):
    client = scope().get(Client, client_id)
    params = load_input(DownloadSchema(), request.args)  # bad input answers 422, naming the field
    return _download(_build(Subject(client=client), _period(params)), params["format"])


@bp.post("/clients/<int:client_id>/report/note")
def save_note(client_id: int):
    client = scope().get(Client, client_id)

    def save(data: dict):
        return services.save_note(scope(), client.id, _period(data), data["body"], data.get("version"))

    _, form = submit(NoteSchema(), save)
    args = {k: v for k, v in request.form.items() if k in ("period", "start", "end") and v}
    if form:
        params, errors = _query(PeriodSchema(), args)
        return _render_client(client, params, errors, form, status=409 if form.saved else 400)
    notify("Note saved for this period.")
    return redirect(url_for("progress_report.client_report", client_id=client.id, **args))


# -- the caseload report --------------------------------------------------------------------


def _caseload_subject(params: dict) -> Subject:
    viewer: User = current_user._get_current_object()
    if viewer.role == Role.COACH:
        return Subject(coach=viewer)
    if params.get("coach_id"):
        coach = scope().session.scalar(scope().coaches().where(User.id == params["coach_id"]))
        if coach is None:
            abort(404)
        return Subject(coach=coach)
    return Subject()


@bp.get("/caseload")
def caseload_report():
    require_role(Role.OWNER, Role.COACH)
    params, errors = _query(CaseloadQuerySchema(), request.args)
    period = _period(params)
    report = _build(_caseload_subject(params), period, {"sort": params["sort"]})
    return render_template(
        "progress_report/caseload_report.html",
        report=report,
        rendered=render_sections(report),
        period=period,
        params=params,
        query_errors=errors,
        period_labels=PERIOD_LABELS,
        choices=list(PeriodChoice),
        formats=_formats(),
        coaches=coaches(scope()) if current_user.role == Role.OWNER else [],
        subscribed=services.is_subscribed(scope()),
        can_email=can_send_email(scope()),
        stalled_days=stalled_days(db(), current_user.practice_id),
        settings_form=Form(),
    )


@bp.get("/caseload/download")
def caseload_download():
    require_role(Role.OWNER, Role.COACH)
    params = load_input(CaseloadDownloadSchema(), request.args)
    report = _build(_caseload_subject(params), _period(params), {"sort": params["sort"]})
    return _download(report, params["format"])


@bp.post("/digest")
def digest():
    require_role(Role.OWNER, Role.COACH)
    subscribed, _ = submit(DigestSchema(), lambda data: services.set_digest(scope(), data["subscribe"]))
    if subscribed and not can_send_email(scope()):
        notify(
            "Signed up. Your practice has no email server yet, so no digest goes until one is set up; "
            "from then on it comes every Monday morning."
        )
    elif subscribed:
        notify("You will get the caseload digest by email every Monday morning.")
    else:
        notify("You will no longer get the weekly caseload digest.")
    return redirect(url_for("progress_report.caseload_report"))


@bp.post("/settings")
def settings():
    require_role(Role.OWNER)
    _, form = submit(SettingsSchema(), lambda data: services.save_settings(scope(), data))
    if form:
        notify(" ".join(form.error(k) for k in form.errors), level="error")
    else:
        notify("Saved: how long before a client counts as stalled.")
    return redirect(url_for("progress_report.caseload_report"))
