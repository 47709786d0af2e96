"""The owner's practice settings: the practice itself, its coaches and invitations, its plugins."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from crossroads.core.errors import InvalidInput
from crossroads.core.models import Role
from crossroads.core.schemas import CadenceSchema, InviteCoachSchema, PracticeSettingsSchema
from crossroads.core.services import invitations, practices

from .context import crossroads, require_role, scope
from .forms import Form, submit
from .notices import notify
from .plugin_ui import enabled_plugins

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
    link, form = submit(InviteCoachSchema(), lambda data: invitations.invite_coach(scope(), ext.signer, data))
    if link is None:
        return render_settings(422, coach_form=form)
    url = url_for("auth.accept_invitation", token=link.token, _external=True)
    log.warning("invitation link for %s: %s", link.invitation.user.email, url)
    notify(f"{link.invitation.user.name} is invited as a coach. Send them this link.", link=url)
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
