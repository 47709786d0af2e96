"""The owner's practice settings: the practice itself, its coaches and invitations, its plugins."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user, login_required

from crossroads.core import plugin_settings
from crossroads.core.errors import InvalidInput
from crossroads.core.inbox.pending import COUNTED_DAYS
from crossroads.core.models import INBOUND_KIND_LABELS, MESSAGE_STATUS_LABELS, MailSecurity, Role
from crossroads.core.schemas import (
    CadenceSchema,
    InviteCoachSchema,
    MailboxSettingsSchema,
    MailSettingsSchema,
    PracticeSettingsSchema,
    ReplySettingsSchema,
)
from crossroads.core.services import invitations, mail_settings, mailbox_settings, practices

from .context import crossroads, require_role, scope
from .forms import Form, submit
from .navigation import external_url
from .notices import notify
from .plugin_ui import enabled_plugins, settings_schemas
from .schema_forms import form_fields, form_values

bp = Blueprint("practice", __name__, url_prefix="/practice")
log = logging.getLogger(__name__)


@bp.before_request
@login_required
def owner_only():
    require_role(Role.OWNER)


def render_settings(status: int = 200, **forms):
    """The settings page; ``forms`` carry a failed submit back onto it."""
    practice = current_user.practice
    ext = crossroads()
    return render_template(
        "practice/settings.html",
        practice=practice,
        settings_form=forms.get("settings_form")
        or Form({"name": practice.name, "timezone": practice.timezone}),
        coach_form=forms.get("coach_form") or Form(),
        cadence_form=forms.get("cadence_form")
        or Form(
            {
                "second_person_after_days": practice.second_person_after_days,
                "follow_up_after_days": practice.follow_up_after_days,
            }
        ),
        coaches=scope().session.scalars(scope().coaches()).all(),
        pending=invitations.pending_invitations(scope()),
        plugins=ext.plugins.plugins(),
        plugin_load_errors=ext.plugins.load_errors,
        enabled=enabled_plugins(),
        configurable=settings_schemas(),
    ), status


@bp.get("/")
def settings():
    return render_settings()


@bp.post("/")
def save_settings():
    saved, form = submit(PracticeSettingsSchema(), lambda data: practices.update_practice(scope(), data))
    if saved is None:
        return render_settings(422, settings_form=form)
    notify("Practice settings saved.")
    return redirect(url_for("practice.settings"))


@bp.post("/cadence")
def save_cadence():
    saved, form = submit(CadenceSchema(), lambda data: practices.update_cadence(scope(), data))
    if saved is None:
        return render_settings(422, cadence_form=form)
    notify(
        f"Follow-up rhythm saved: a second person after {saved.second_person_after_days} business days, "
        f"a follow-up after {saved.follow_up_after_days}."
    )
    return redirect(url_for("practice.settings"))


@bp.post("/coaches")
def invite_coach():
    ext = crossroads()
    invited, form = submit(
        InviteCoachSchema(), lambda data: invitations.invite_coach(scope(), ext.signer, data)
    )
    if invited is None:
        return render_settings(422, coach_form=form)
    # The same answer whether the address is new or has an account elsewhere (see the service).
    url = external_url("auth.accept_invitation", token=invited.token)
    log.warning("invitation link for %s: %s", invited.email, url)
    notify(f"{invited.name} is invited as a coach. Send them this link.", link=url)
    return redirect(url_for("practice.settings"))


@bp.post("/plugins/<name>/<any(on, off):state>")
def switch_plugin(name: str, state: str):
    enable = state == "on"
    try:
        practices.set_plugin_enabled(scope(), name, enable, crossroads().plugins.names)
    except InvalidInput as exc:
        notify(" ".join(exc.errors["plugin"]), level="error")
        return redirect(url_for("practice.settings"))
    notify(
        f"The plugin {name} is {'on' if enable else 'off'} for this practice.",
        undo_url=url_for("practice.switch_plugin", name=name, state="off" if enable else "on"),
    )
    return redirect(url_for("practice.settings"))


def render_plugin_settings(name: str, form: Form | None = None, status: int = 200):
    """A plugin's settings page, its form drawn from the plugin's schema."""
    schema_class = settings_schemas().get(name)
    if schema_class is None:
        abort(404)
    schema = schema_class()
    if form is None:
        form = Form(form_values(schema, schema_class.read(scope().session, scope().practice_id)))
    return render_template(
        "practice/plugin_settings.html",
        plugin=name,
        fields=form_fields(schema),
        form=form,
        on=name in enabled_plugins(),
    ), status


@bp.get("/plugins/<name>/settings")
def plugin_settings_page(name: str):
    return render_plugin_settings(name)


@bp.post("/plugins/<name>/settings")
def save_plugin_settings(name: str):
    schema_class = settings_schemas().get(name)
    if schema_class is None:
        abort(404)
    saved, form = submit(schema_class(), lambda values: plugin_settings.store(scope(), schema_class, values))
    if saved is None:
        return render_plugin_settings(name, form, 422)
    notify(f"Settings of {name} saved.")
    return redirect(url_for("practice.plugin_settings_page", name=name))


# -- the practice's email server ----------------------------------------------------------

SECURITY_CHOICES = [
    (MailSecurity.STARTTLS.value, "STARTTLS (usually port 587)"),
    (MailSecurity.TLS.value, "TLS from the start (usually port 465)"),
    (MailSecurity.NONE.value, "None: only for a server on this same machine"),
]


def render_email(
    form: Form | None = None,
    status: int = 200,
    reply_form: Form | None = None,
    new_secret: str = "",
    mailbox_form: Form | None = None,
):
    """The email server page; ``form`` (or ``reply_form``, ``mailbox_form``) carries a failed submit
    back (passwords are never shown)."""
    stored = mail_settings.mail_settings(scope())
    if form is None:
        form = Form(
            {
                "host": stored.host,
                "port": stored.port,
                "security": stored.security.value,
                "username": stored.username,
                "from_address": stored.from_address,
            }
            if stored
            else {"port": 587, "security": MailSecurity.STARTTLS.value}
        )
    if reply_form is None:
        reply_form = Form(
            {"reply_address": stored.reply_address, "plus_addressing": stored.plus_addressing}
            if stored
            else {}
        )
    return render_template(
        "practice/email.html",
        form=form,
        reply_form=reply_form,
        new_secret=new_secret,
        inbound_url=external_url("inbound.receive_mail", practice_ref=str(current_user.practice_id)),
        stored=stored,
        has_password=bool(stored and stored.password_encrypted),
        security_choices=SECURITY_CHOICES,
        test_email=mail_settings.last_test_email(scope()),
        status_labels=MESSAGE_STATUS_LABELS,
        **mailbox_section(mailbox_form),
    ), status


@bp.get("/email")
def email_settings():
    return render_email()


@bp.post("/email")
def save_email_settings():
    settings = crossroads().settings
    saved, form = submit(
        MailSettingsSchema(),
        lambda data: mail_settings.save_mail_settings(
            scope(), data, settings.secret_key, settings.smtp_allow_private
        ),
    )
    if saved is None:
        return render_email(form, 422)
    notify(f"Email server saved. Messages will come from {saved.from_address}.")
    return redirect(url_for("practice.email_settings"))


def _refused(exc: InvalidInput, anchor: str | None = None):
    """Back to the email page with why an action on it was refused (the service's reason)."""
    notify(" ".join(exc.errors["_schema"]), level="error")
    return redirect(url_for("practice.email_settings", _anchor=anchor))


@bp.post("/email/test")
def send_test_email():
    try:
        email = mail_settings.send_test_email(scope())
    except InvalidInput as exc:
        return _refused(exc)
    notify(f"A test email is on its way to {email.to_address}. How it went shows below; reload to see.")
    return redirect(url_for("practice.email_settings"))


@bp.post("/email/replies")
def save_reply_settings():
    """Where answers to clients' emails come back (the "Replies" section)."""
    saved, form = submit(ReplySettingsSchema(), lambda data: mail_settings.save_reply_settings(scope(), data))
    if saved is None:
        return render_email(status=422, reply_form=form)
    if saved.reply_address:
        notify(f"Replies will come back to {saved.reply_address}.")
    else:
        notify("Replies go straight to each client's own address.")
    return redirect(url_for("practice.email_settings"))


@bp.post("/email/inbound-secret")
def new_inbound_secret():
    """Make (or renew) the inbound endpoint's secret and show it this once."""
    try:
        secret = mail_settings.new_inbound_secret(scope())
    except InvalidInput as exc:
        return _refused(exc)
    return render_email(new_secret=secret)


# -- the reply mailbox (IMAP) -------------------------------------------------------------

MAILBOX_SECURITY_CHOICES = [
    (MailSecurity.TLS.value, "TLS from the start (usually port 993)"),
    (MailSecurity.STARTTLS.value, "STARTTLS (usually port 143)"),
    (MailSecurity.NONE.value, "None: only for a server on this same machine or network"),
]


def mailbox_section(form: Form | None = None) -> dict:
    """What ``practice/_mailbox.html`` needs: the stored mailbox and its form."""
    stored = mailbox_settings.mailbox_settings(scope())
    if form is None:
        form = Form(
            {
                "host": stored.host,
                "port": stored.port,
                "security": stored.security.value,
                "username": stored.username,
                "folder": stored.folder,
            }
            if stored
            else {"port": 993, "security": MailSecurity.TLS.value, "folder": "INBOX"}
        )
    incoming, failed_mail = mailbox_settings.incoming_mail_state(scope())
    return {
        "mailbox": stored,
        "mailbox_form": form,
        "mailbox_security_choices": MAILBOX_SECURITY_CHOICES,
        "incoming": incoming,
        "inbound_kind_labels": INBOUND_KIND_LABELS,
        "counted_days": COUNTED_DAYS,
        "failed_mail": failed_mail,
    }


@bp.post("/email/mailbox")
def save_mailbox_settings():
    settings = crossroads().settings
    saved, form = submit(
        MailboxSettingsSchema(),
        lambda data: mailbox_settings.save_mailbox_settings(
            scope(), data, settings.secret_key, settings.smtp_allow_private
        ),
    )
    if saved is None:
        return render_email(status=422, mailbox_form=form)
    notify(f"Reply mailbox saved. Crossroads reads {saved.folder} on {saved.host} from now on.")
    return redirect(url_for("practice.email_settings", _anchor="mailbox"))


@bp.post("/email/mailbox/test")
def test_mailbox():
    settings = crossroads().settings
    try:
        count = mailbox_settings.test_mailbox(
            scope(), settings.secret_key, settings.smtp_ca_file, settings.smtp_allow_private
        )
    except InvalidInput as exc:
        return _refused(exc, anchor="mailbox")
    notify(f"Connected: the folder holds {count} message{'s' if count != 1 else ''}. Nothing was read.")
    return redirect(url_for("practice.email_settings", _anchor="mailbox"))
