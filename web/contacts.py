"""A client's contacts and outreach pipeline, for the client and for their coach alike."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crossroads.core.errors import InvalidInput
from crossroads.core.models import (
    SOURCE_LABELS,
    STAGE_LABELS,
    CareerTheme,
    Client,
    Contact,
    Stage,
)
from crossroads.core.outreach import service as outreach
from crossroads.core.schemas import ContactQuerySchema, ContactSchema, ImportSchema, NewContactSchema, load
from crossroads.core.services import contacts, imports, leads
from crossroads.core.sources import ImportRefused

from .context import scope
from .forms import Form, claim_form, submit
from .navigation import back
from .notices import notify
from .plugin_ui import importers, source_label, source_registry

bp = Blueprint("contacts", __name__)


@bp.before_request
@login_required
def signed_in():
    """Every page here needs a user; which client's data they reach is up to the scope."""


@bp.app_context_processor
def labels():
    return {
        "STAGE_LABELS": STAGE_LABELS,
        "SOURCE_LABELS": SOURCE_LABELS,
        "source_label": source_label,
        "STAGES": list(Stage),
    }


def list_url(client_id: int, **args) -> str:
    return url_for("contacts.index", client_id=client_id, **args)


def contact_form_values(contact: Contact) -> dict:
    return {
        "name": contact.name,
        "email": contact.email,
        "linkedin_url": contact.linkedin_url or "",
        "organisation": contact.organisation,
        "position": contact.position,
        "research_notes": contact.research_notes,
        "tags": ", ".join(contact.tags or []),
        "theme_ids": [str(t.id) for t in contact.themes],
        "version": contact.updated_at.isoformat(),
    }


@bp.get("/clients/<int:client_id>/contacts")
def index(client_id: int):
    client = scope().get(Client, client_id)
    try:
        params, errors = load(ContactQuerySchema(), request.args), {}
    except InvalidInput as exc:
        params, errors = load(ContactQuerySchema(), {}), exc.errors
    view = "board" if request.args.get("view") == "board" else "table"
    context = {
        "client": client,
        "params": params,
        "query_errors": errors,
        "view": view,
        "themes": [t for t in client.themes if t.status.value != "dropped"],
        "sources": list(source_registry().sources.values()),
        "suggestions": contacts.pending_suggestions(scope(), client.id),
    }
    if view == "board":
        context["columns"] = contacts.board(scope(), client.id, params)
    else:
        context["page"] = contacts.search(scope(), client.id, params)
    return render_template("contacts/index.html", **context)


def render_new(client: Client, form: Form, status: int = 200):
    return render_template(
        "contacts/new.html",
        client=client,
        form=form,
        themes=[t for t in client.themes if t.is_active],
    ), status


@bp.get("/clients/<int:client_id>/contacts/new")
def new(client_id: int):
    client = scope().get(Client, client_id)
    return render_new(client, Form({"source": "manual", "theme_ids": request.args.getlist("theme_id")}))


@bp.post("/clients/<int:client_id>/contacts")
def create(client_id: int):
    client = scope().get(Client, client_id)
    contact, form = submit(NewContactSchema(), lambda data: contacts.create_contact(scope(), client.id, data))
    if contact is None:
        return render_new(client, form, 422)
    if current_user.is_staff:
        notify(f"{contact.name} is suggested to {client.name}; they can accept or dismiss it.")
        return redirect(list_url(client.id))
    notify(f"Added {contact.name}.")
    return redirect(url_for("contacts.show", contact_id=contact.id))


def render_contact(contact: Contact, status: int = 200, **forms):
    """One contact's page; ``forms`` carry a failed submit back onto it."""
    return render_template(
        "contacts/show.html",
        contact=contact,
        client=contact.client,
        chain=contacts.referral_chain(contact),
        history=contacts.stage_history(scope(), contact),
        themes=[t for t in contact.client.themes if t.status.value != "dropped"],
        edit_form=forms.get("edit_form") or Form(contact_form_values(contact)),
        referral_form=forms.get("referral_form") or Form(),
        messages=(messages := outreach.for_contact(scope(), contact)),
        replies=outreach.replies_to(scope(), [m.id for m in messages]),
    ), status


@bp.get("/contacts/<int:contact_id>")
def show(contact_id: int):
    return render_contact(scope().get(Contact, contact_id))


@bp.post("/contacts/<int:contact_id>")
def update(contact_id: int):
    contact = scope().get(Contact, contact_id)
    saved, form = submit(ContactSchema(), lambda data: contacts.update_contact(scope(), contact.id, data))
    if saved is None:
        return render_contact(contact, 409 if form.saved else 422, edit_form=form)
    notify(f"Saved {saved.name}.")
    return redirect(url_for("contacts.show", contact_id=saved.id))


@bp.post("/contacts/<int:contact_id>/referrals")
def add_referral(contact_id: int):
    referrer = scope().get(Contact, contact_id)
    contact, form = submit(ContactSchema(), lambda data: contacts.add_referral(scope(), referrer.id, data))
    if contact is None:
        return render_contact(referrer, 422, referral_form=form)
    notify(f"Added {contact.name}, referred by {referrer.name}.")
    return redirect(url_for("contacts.show", contact_id=referrer.id))


@bp.post("/contacts/<int:contact_id>/stage/<stage>")
def move(contact_id: int, stage: str):
    contact = scope().get(Contact, contact_id)
    try:
        contact, change = contacts.move_to_stage(scope(), contact.id, Stage(stage))
    except ValueError:
        notify(f"“{stage}” is not a stage.", level="error")
        return back(url_for("contacts.show", contact_id=contact.id))
    except InvalidInput as exc:
        notify(" ".join(sum(exc.errors.values(), [])), level="error")
        return back(url_for("contacts.show", contact_id=contact.id))
    notify(
        f"{contact.name}: {STAGE_LABELS[change.from_stage]} → {STAGE_LABELS[change.to_stage]}.",
        undo_url=url_for("contacts.undo", contact_id=contact.id, change_id=change.id),
    )
    return back(url_for("contacts.show", contact_id=contact.id))


@bp.post("/contacts/<int:contact_id>/follow-up")
def follow_up(contact_id: int):
    contact = scope().get(Contact, contact_id)
    try:
        claim_form()
        contacts.record_follow_up(scope(), contact.id)
    except InvalidInput as exc:
        notify(" ".join(sum(exc.errors.values(), [])), level="error")
    else:
        change = contacts.stage_history(scope(), contact)[0]
        notify(
            f"Follow-up to {contact.name} recorded ({contact.follow_ups_sent} sent).",
            undo_url=url_for("contacts.undo", contact_id=contact.id, change_id=change.id),
        )
    return back(url_for("contacts.show", contact_id=contact.id))


@bp.post("/contacts/<int:contact_id>/undo/<int:change_id>")
def undo(contact_id: int, change_id: int):
    contact = scope().get(Contact, contact_id)
    try:
        contacts.undo_stage_change(scope(), contact.id, change_id)
    except InvalidInput as exc:
        notify(" ".join(sum(exc.errors.values(), [])), level="error")
    else:
        notify(f"Undone: {contact.name} is back at {STAGE_LABELS[contact.stage]}.")
    return back(url_for("contacts.show", contact_id=contact.id))


@bp.post("/contacts/<int:contact_id>/themes/<int:theme_id>/<any(link, unlink):action>")
def link_theme(contact_id: int, theme_id: int, action: str):
    contact = contacts.link_theme(scope(), contact_id, theme_id, linked=action == "link")
    theme = scope().get(CareerTheme, theme_id)
    if action == "link":
        notify(
            f"{contact.name} is linked to “{theme.title}”.",
            undo_url=url_for(
                "contacts.link_theme", contact_id=contact.id, theme_id=theme.id, action="unlink"
            ),
        )
    else:
        notify(f"{contact.name} is no longer linked to “{theme.title}”.")
    return back(url_for("contacts.show", contact_id=contact.id))


@bp.post("/contacts/<int:contact_id>/suggestion/<any(accept, dismiss):answer>")
def answer_suggestion(contact_id: int, answer: str):
    contact = scope().get(Contact, contact_id)
    contacts.respond_to_suggestion(scope(), contact.id, accept=answer == "accept")
    if answer == "accept":
        notify(f"{contact.name} is on your list.")
    else:
        notify(
            f"Dismissed {contact.name}.",
            undo_url=url_for("contacts.answer_suggestion", contact_id=contact.id, answer="accept"),
            undo_label="Undo (keep them)",
        )
    return back(list_url(contact.client_id))


@bp.post("/contacts/<int:contact_id>/remove")
def remove(contact_id: int):
    contact = scope().get(Contact, contact_id)
    client_id = contact.client_id
    name = contacts.remove_contact(scope(), contact.id)
    notify(f"Removed {name}.")
    return redirect(list_url(client_id))


def render_import(client: Client, status: int = 200, **values):
    """The import page: the formats on offer, and a result or a refusal."""
    context = {"result": None, "refused": None, "importer": None, "chosen": "auto", **values}
    offered = importers()
    accept = ",".join(dict.fromkeys(ext for importer in offered.values() for ext in importer.extensions))
    return render_template(
        "contacts/import.html", client=client, importers=offered, accept=accept, **context
    ), status


@bp.get("/clients/<int:client_id>/import")
def import_form(client_id: int):
    client = scope().get(Client, client_id)
    return render_import(client)


@bp.post("/clients/<int:client_id>/import")
def import_upload(client_id: int):
    client = scope().get(Client, client_id)
    offered = importers()
    try:
        chosen = load(ImportSchema(), request.form)["format"]
    except InvalidInput as exc:
        return render_import(client, 422, refused=ImportRefused([(0, " ".join(exc.errors["format"]))]))
    if chosen != "auto" and chosen not in offered:
        return render_import(client, 422, refused=ImportRefused([(0, "choose one of the formats listed")]))
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render_import(
            client, 422, chosen=chosen, refused=ImportRefused([(0, "choose the file to upload")])
        )
    data = upload.read(imports.MAX_UPLOAD_BYTES + 1)
    if len(data) > imports.MAX_UPLOAD_BYTES:
        limit = imports.MAX_UPLOAD_BYTES // (1024 * 1024)
        refused = ImportRefused([(0, f"the file is larger than {limit} MB")])
        return render_import(client, 413, chosen=chosen, refused=refused)
    importer = offered[chosen] if chosen != "auto" else imports.find_importer(offered, data)
    if importer is None:
        names = "; ".join(i.label for i in offered.values())
        refused = ImportRefused(
            [(0, f"Crossroads does not recognise this file; choose its format ({names})")]
        )
        return render_import(client, 422, chosen=chosen, refused=refused)
    try:
        result = imports.import_contacts(scope(), client.id, importer, data)
    except ImportRefused as exc:
        return render_import(client, 422, chosen=chosen, importer=importer, refused=exc)
    return render_import(client, chosen=chosen, importer=importer, result=result)


@bp.get("/clients/<int:client_id>/leads")
def warm_leads(client_id: int):
    client = scope().get(Client, client_id)
    by_theme = [(theme, leads.warm_leads(scope(), theme.id)) for theme in client.active_themes]
    return render_template("contacts/leads.html", client=client, by_theme=by_theme)
