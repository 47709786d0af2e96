"""Notifications: the signed-in user's list, opening one, marking all read, and the count in the menu."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from crossroads.core.errors import InvalidInput
from crossroads.core.models import NOTIFICATION_KIND_LABELS
from crossroads.core.schemas import NotificationQuerySchema, load
from crossroads.core.services import notifications

from .context import scope
from .forms import claim_form
from .navigation import local_path
from .notices import notify

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
log = logging.getLogger(__name__)


@bp.before_request
@login_required
def signed_in() -> None:
    """Every signed-in user has notifications: coaches, owners and clients alike."""


@bp.get("/")
def index():
    """One's notifications, newest first, unread ones marked."""
    try:
        params = load(NotificationQuerySchema(), request.args)
    except InvalidInput:
        params = load(NotificationQuerySchema(), {})
    return render_template(
        "notifications/index.html",
        page=notifications.for_user(scope(), params),
        unread=notifications.unread_count(scope()),
        KIND_LABELS=NOTIFICATION_KIND_LABELS,
    )


@bp.get("/<int:notification_id>")
def open(notification_id: int):  # noqa: A001
    """Mark one's own notification read and go where it points (anyone else's: 404)."""
    row = notifications.open(scope(), notification_id)
    return redirect(local_path(row.link) or url_for("notifications.index"))


@bp.post("/read")
def mark_all_read():
    """Mark every unread notification read."""
    claim_form()
    done = notifications.mark_all_read(scope())
    notify(f"{done} notification{'' if done == 1 else 's'} marked read." if done else "Nothing was unread.")
    return redirect(url_for("notifications.index"))


def unread_notifications() -> int | None:
    """For the menu: the signed-in user's unread count; None when signed out or it cannot be read."""
    if not current_user.is_authenticated:
        return None
    try:
        return notifications.unread_count(scope())
    except SQLAlchemyError:  # an error page after a database failure still renders
        log.warning("could not count unread notifications", exc_info=True)
        return None
