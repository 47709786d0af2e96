"""Outreach: writing to a contact on a channel, the message and its fate, and the practice's templates."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crossroads.core.errors import Forbidden, InvalidInput, NotFound
from crossroads.core.models import (
    KIND_LABELS,
    MESSAGE_STATUS_LABELS,
    Client,
    Contact,
    MessageKind,
    MessageStatus,
    Role,
)
from crossroads.core.outreach import service as outreach
from crossroads.core.outreach import templating
from crossroads.core.outreach.channels import (
    Channel,
    Counting,
    Draft,
    DraftContext,
    MessageFormat,
    MessageWarning,
    TemplateText,
)
from crossroads.core.schemas import (
    DraftQuerySchema,
    MessageQuerySchema,
    OutreachPreviewSchema,
    OutreachSchema,
    TemplateSchema,
    load,
)

from .audit import reads
from .context import crossroads, db, require_role, scope
from .forms import Form, submit
from .navigation import back
from .notices import notify
from .plugin_ui import channels, enabled_plugins

bp = Blueprint("outreach", __name__)


@bp.before_request
@login_required
def signed_in():
    """Every page here needs a user; which client's data they reach is up to the scope."""


@bp.app_context_processor
def labels():
    return {"KIND_LABELS": KIND_LABELS, "MESSAGE_STATUS_LABELS": MESSAGE_STATUS_LABELS}


def client_only() -> None:
    """Outreach is the client's own: their coach reads it but does not write or send it (403)."""
    if current_user.role != Role.CLIENT:
        raise Forbidden("outreach is written and sent by the client")


def plugin_checks(draft: Draft) -> list:
    """Warnings from plugins' ``message_checks`` hook; a failing plugin adds none."""
    results = crossroads().plugins.call(
        "message_checks", enabled_plugins(), expect=MessageWarning, draft=draft
    )
    return [w for r in results for w in r.items]


def _limit_json(limit) -> dict | None:
    if limit is None:
        return None
    return {
        "max": limit.max,
        "warn": limit.warn,
        "utf16": limit.counting == Counting.UTF16,
        "note": limit.note,
    }


def _format_json(fmt: MessageFormat) -> dict:
    return {
        "name": fmt.name,
        "label": fmt.label,
        "subject": _limit_json(fmt.subject),
        "body": _limit_json(fmt.body),
    }


def _choices(contact: Contact) -> list[dict]:
    """Every channel on for the practice, with the kinds it carries and why it cannot be used, if so."""
    found = []
    for channel in channels().values():
        kind = outreach.NEXT_KIND.get(contact.stage, MessageKind.FIRST_REQUEST)
        kind = kind if kind in channel.kinds else (channel.kinds[0] if channel.kinds else None)
        if kind is None:
            continue
        context = outreach.draft_context(scope(), contact.id, channel, kind)
        found.append({"channel": channel, "kind": kind, "reason": channel.unavailable_reason(context)})
    return found


@bp.get("/contacts/<int:contact_id>/write")
def compose(contact_id: int):
    """Choose a channel, or write on the chosen one, starting from the practice's template."""
    contact = scope().get(Contact, contact_id)
    client_only()
    try:
        query = load(DraftQuerySchema(), request.args)
    except InvalidInput:
        query = {"channel": "", "kind": None, "format": ""}
    choices = _choices(contact)
    if not query["channel"]:
        return render_template(
            "outreach/choose.html", contact=contact, client=contact.client, choices=choices
        )
    channel = outreach.channel_for(channels(), query["channel"])
    kind = query["kind"] or next((c["kind"] for c in choices if c["channel"] is channel), channel.kinds[0])
    context = outreach.draft_context(scope(), contact.id, channel, kind, query["format"])
    draft = outreach.initial_draft(scope(), channel, context)
    return _compose_page(channel, context, Form(values={"subject": draft.subject, "body": draft.body}))


def _compose_page(channel: Channel, context: DraftContext, form: Form, status: int = 200):
    fmt = outreach.format_for(channel, context)
    subject, body = form.value("subject"), form.value("body")
    draft = Draft(context, subject if fmt.subject is not None else "", body)
    page = render_template(
        "outreach/compose.html",
        contact=context.contact,
        client=context.client,
        channel=channel,
        context=context,
        fmt=fmt,
        fmt_json=_format_json(fmt),
        formats=channel.formats(context),
        form=form,
        warnings=outreach.warnings(channel, draft, plugin_checks),
        reason=channel.unavailable_reason(context),
        earlier=context.earlier,
        hands_off=channel.hands_off_in(context),
    )
    return page, status


@bp.post("/contacts/<int:contact_id>/write")
def send(contact_id: int):
    """Send the message (or save it for the client to send by hand); bad input keeps every word typed."""
    contact = scope().get(Contact, contact_id)
    client_only()
    message, form = submit(
        OutreachSchema(), lambda data: outreach.send(scope(), channels(), contact.id, data, plugin_checks)
    )
    if message is not None:
        if message.status == MessageStatus.QUEUED:
            notify(f"Your message to {contact.name} is on its way.")
        else:
            notify(f"Saved. Send it to {contact.name} yourself, then mark it sent.")
        return redirect(url_for("outreach.show", message_id=message.id))
    channel = channels().get(str(form.values.get("channel", ""))) or next(iter(channels().values()), None)
    if channel is None:
        raise NotFound("no channels")
    kind = form.values.get("kind") or channel.kinds[0]
    try:
        context = outreach.draft_context(
            scope(), contact.id, channel, kind, str(form.values.get("format", ""))
        )
    except InvalidInput:
        context = outreach.draft_context(scope(), contact.id, channel, channel.kinds[0])
    db().rollback()
    return _compose_page(channel, context, form, 422)


@bp.post("/contacts/<int:contact_id>/write/check")
def check(contact_id: int):
    """The live check while typing: warnings for the draft as it stands (JSON)."""
    contact = scope().get(Contact, contact_id)
    client_only()
    try:
        data = load(OutreachPreviewSchema(), request.form)
        channel = outreach.channel_for(channels(), data["channel"])
        context = outreach.draft_context(scope(), contact.id, channel, data["kind"], data["format"])
    except InvalidInput as exc:
        return jsonify({"errors": exc.errors}), 422
    fmt = outreach.format_for(channel, context)
    draft = Draft(context, data["subject"] if fmt.subject is not None else "", data["body"])
    return jsonify({"warnings": [asdict(w) for w in outreach.warnings(channel, draft, plugin_checks)]})


@bp.get("/messages/<int:message_id>")
def show(message_id: int):
    """A message, its fate, and what the client can do next; with the rest of the thread."""
    message = outreach.message_for(scope(), message_id)
    channel = channels().get(message.channel)
    handoff = fmt = None
    if channel is not None and message.contact is not None and message.kind in channel.kinds:
        context = outreach.draft_context(scope(), message.contact_id, channel, message.kind, message.format)
        fmt = _format_json(outreach.format_for(channel, context))
        if message.status == MessageStatus.HANDED_OFF:
            handoff = channel.handoff(message, context)
    return render_template(
        "outreach/show.html",
        message=message,
        client=message.client,
        channel=channel,
        handoff=handoff,
        fmt_json=fmt,
        thread=(thread := outreach.thread(scope(), message)),
        replies=outreach.replies_to(scope(), [m.id for m in thread]),
    )


@bp.post("/messages/<int:message_id>/sent")
def mark_sent(message_id: int):
    try:
        message = outreach.mark_sent(scope(), message_id)
    except InvalidInput as exc:
        notify(" ".join(m for ms in exc.errors.values() for m in ms), level="error")
        return redirect(url_for("outreach.show", message_id=message_id))
    notify("Marked as sent.")
    return back(url_for("outreach.show", message_id=message.id))


@bp.post("/messages/<int:message_id>/replied")
def mark_replied(message_id: int):
    try:
        message = outreach.mark_replied(scope(), message_id)
    except InvalidInput as exc:
        notify(" ".join(m for ms in exc.errors.values() for m in ms), level="error")
        return redirect(url_for("outreach.show", message_id=message_id))
    name = message.contact.name if message.contact else "They"
    notify(f"{name} replied: well done. Next, agree a time and schedule the conversation.")
    return back(url_for("outreach.show", message_id=message.id))


@bp.post("/messages/<int:message_id>/send-again")
def send_again(message_id: int):
    """The client decides to send a failed, or unknown, message once more."""
    from crossroads.core.mail import outbox

    message = outreach.message_for(scope(), message_id)
    client_only()
    if message.outbox_id is None:
        raise NotFound("not an email")
    try:
        outbox.send_again(db(), message.outbox_id)
        db().commit()
    except InvalidInput as exc:
        db().rollback()
        notify(" ".join(m for ms in exc.errors.values() for m in ms), level="error")
        return redirect(url_for("outreach.show", message_id=message_id))
    notify("Queued to send again.")
    return redirect(url_for("outreach.show", message_id=message.id))


@bp.get("/clients/<int:client_id>/messages")
def index(client_id: int):
    """A client's outreach, newest first, for the client and their coach."""
    client = scope().get(Client, client_id)
    try:
        params, errors = load(MessageQuerySchema(), request.args), {}
    except InvalidInput as exc:
        params, errors = load(MessageQuerySchema(), {}), exc.errors
    return render_template(
        "outreach/index.html",
        client=client,
        params=params,
        query_errors=errors,
        page=outreach.for_client(scope(), client.id, params),
        statuses=list(MessageStatus),
        channel_labels={c.name: c.label for c in channels().values()},
    )


# The practice's templates, kept by coaches


def _template_target(channel_name: str, kind: str) -> tuple[Channel, MessageKind, str]:
    channel = channels().get(channel_name)
    try:
        message_kind = MessageKind(kind)
    except ValueError:
        raise NotFound(kind) from None
    if channel is None or message_kind not in channel.kinds:
        raise NotFound(f"{channel_name}/{kind}")
    fmt = request.values.get("format", "")
    return channel, message_kind, fmt


def _formats_for(channel: Channel, kind: MessageKind) -> list[MessageFormat]:
    context = outreach.preview_context(scope(), kind)
    if context is None:
        return channel.formats(_example_context(kind))
    return channel.formats(context)


def _example_context(kind: MessageKind) -> DraftContext:
    """A context with no contact, for channels' ``formats`` when the practice has no contacts yet."""
    client = db().scalar(scope().select(Client).limit(1))
    return DraftContext(
        session=db(), practice=current_user.practice, client=client, sender=current_user, kind=kind, format=""
    )


@bp.get("/templates")
def templates():
    """Every channel's templates, for coaches to keep in the practice's own words."""
    require_role(Role.OWNER, Role.COACH)
    rows = []
    for channel in channels().values():
        for kind in channel.kinds:
            for fmt in _formats_for(channel, kind):
                rows.append({"channel": channel, "kind": kind, "format": fmt})
    return render_template(
        "outreach/templates.html", rows=rows, customised=outreach.customised_templates(scope())
    )


@bp.route("/templates/<channel_name>/<kind>", methods=["GET", "POST"])
def edit_template(channel_name: str, kind: str):
    """Edit one template with the list of variables and a live preview."""
    require_role(Role.OWNER, Role.COACH)
    channel, message_kind, fmt = _template_target(channel_name, kind)
    formats = {f.name: f for f in _formats_for(channel, message_kind)}
    if fmt not in formats:
        fmt = next(iter(formats))
    current = outreach.template_for(scope(), channel, message_kind, fmt)
    form = Form(values={"subject": current.subject, "body": current.body})
    status = 200
    if request.method == "POST":
        saved, form = submit(
            TemplateSchema(), lambda data: outreach.save_template(scope(), channel, message_kind, fmt, data)
        )
        if saved is not None:
            notify("Template saved. New drafts start from it.")
            return redirect(
                url_for("outreach.edit_template", channel_name=channel.name, kind=kind, format=fmt)
            )
        status = 422
    customised, key = outreach.customised_templates(scope()), (channel.name, message_kind.value, fmt)
    return render_template(
        "outreach/edit_template.html",
        channel=channel,
        kind=message_kind,
        fmt=formats[fmt],
        form=form,
        default=channel.default_template(message_kind, fmt),
        customised=key in customised,
        problem=customised.get(key, ""),
        variables=templating.VARIABLES + tuple(channel.variable_docs),
    ), status


@bp.post("/templates/<channel_name>/<kind>/preview")
@reads
def preview_template(channel_name: str, kind: str):
    """Render a template as typed, with a real contact of the coach's when there is one (JSON).

    A preview with a real contact shows that client's data: it is logged as a view of them."""
    require_role(Role.OWNER, Role.COACH)
    channel, message_kind, fmt = _template_target(channel_name, kind)
    try:
        data = load(TemplateSchema(), request.form)
        context = outreach.preview_context(scope(), message_kind)
        values = {**templating.example_variables(), **channel.example_variables()}
        if context is not None:
            context.format = fmt
            values = outreach.variables(context, channel)
            scope().note_reached(context.contact)
        rendered = templating.render(TemplateText(data.get("subject", ""), data["body"]), values)
    except InvalidInput as exc:
        return jsonify({"errors": exc.errors}), 422
    return jsonify({"subject": rendered.subject, "body": rendered.body})
