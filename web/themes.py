"""Adding and changing career themes, for the client and for their coach alike."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import current_user, login_required

from crossroads.core.errors import InvalidInput
from crossroads.core.models import CareerTheme, Client, ThemeStatus
from crossroads.core.schemas import ThemeEditSchema, ThemeSchema
from crossroads.core.services import themes

from . import client as client_views
from . import coach as coach_views
from .context import scope
from .forms import Form, submit
from .notices import notify

bp = Blueprint("themes", __name__)


def workspace_url(client: Client) -> str:
    if current_user.is_staff:
        return url_for("coach.client_page", client_id=client.id)
    return url_for("client.home")


def rerender(client: Client, status: int = 422, **forms):
    if current_user.is_staff:
        return coach_views.render_client_page(client, status, **forms)
    return client_views.render_home(client, status, **forms)


@bp.post("/clients/<int:client_id>/themes")
@login_required
def add(client_id: int):
    client = scope().get(Client, client_id)
    theme, form = submit(ThemeSchema(), lambda data: themes.add_theme(scope(), client_id, data))
    if theme is None:
        return rerender(client, theme_form=form)
    notify(f"Added the theme “{theme.title}”.")
    return redirect(workspace_url(client))


@bp.post("/themes/<int:theme_id>")
@login_required
def update(theme_id: int):
    theme = scope().get(CareerTheme, theme_id)
    saved, form = submit(ThemeEditSchema(), lambda data: themes.update_theme(scope(), theme_id, data))
    if saved is None:
        return rerender(theme.client, 409 if form.saved else 422, edit_forms={theme_id: form})
    notify(f"Saved the theme “{saved.title}”.")
    return redirect(workspace_url(saved.client))


@bp.post("/themes/<int:theme_id>/status/<status>")
@login_required
def set_status(theme_id: int, status: str):
    """Park, drop or restore a theme in one click; the message offers to undo it."""
    try:
        new_status = ThemeStatus(status)
    except ValueError:
        scope().get(CareerTheme, theme_id)  # someone else's theme is a 404 before anything else
        notify(f"“{status}” is not a theme status.", level="error")
        return redirect(url_for("auth.index"))
    try:
        theme, previous = themes.set_theme_status(scope(), theme_id, new_status)
    except InvalidInput as exc:
        theme = scope().get(CareerTheme, theme_id)
        form = Form({"status": status}, exc.errors)
        return rerender(theme.client, edit_forms={theme_id: form})
    notify(
        f"“{theme.title}” is now {new_status.value}.",
        undo_url=url_for("themes.set_status", theme_id=theme.id, status=previous.value),
        undo_label=f"Undo (make it {previous.value} again)",
    )
    return redirect(workspace_url(theme.client))
