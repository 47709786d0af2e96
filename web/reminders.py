"""The daily reminder's done, snooze and undo links: usable without signing in, by their signed token.

A GET shows the item and one button and changes nothing (mail scanners and link previews fetch
every link in an email); the button POSTs to the same address. These POSTs are exempt from the
session's CSRF token: what authorises them is the signed token in the address, bound to one
client, one contact and one action, which a forging site does not have. A visitor with no session
(a phone's mail app opening its own browser) can therefore use the link too.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from crossroads.core.services import reminders
from crossroads.core.services.reminders import LINK_DAYS, LinkRefused

from .context import crossroads, db

bp = Blueprint("reminders", __name__)

REFUSALS = {
    "expired": (
        410,
        "This link has expired",
        f"Links in a reminder email work for {LINK_DAYS} days. Nothing was changed. "
        "Sign in to see what is due now.",
    ),
    "invalid": (
        400,
        "This link is not valid",
        "It may have been copied only in part, or changed. Nothing was changed. "
        "Sign in to see what is due now.",
    ),
    "other_account": (
        403,
        "This link is for another account",
        "It was sent to someone else than the person signed in here. Nothing was changed.",
    ),
}


def _viewer():
    return current_user._get_current_object() if current_user.is_authenticated else None


def _secret() -> str:
    return crossroads().settings.secret_key


def _refused(exc: LinkRefused):
    db().rollback()
    status, title, message = REFUSALS[exc.reason]
    return _private(render_template("error.html", title=title, message=message), status)


def _private(body: str, status: int = 200):
    # The token is in the address: keep the page out of shared caches and search engines.
    return body, status, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


@bp.get(reminders.LINK_ROUTE)
def show(token: str):
    try:
        linked = reminders.read_link(db(), _secret(), token, _viewer())
    except LinkRefused as exc:
        return _refused(exc)
    return _private(render_template("reminders/show.html", linked=linked, token=token))


@bp.post(reminders.LINK_ROUTE)
def act(token: str):
    try:
        outcome = reminders.apply_link(db(), _secret(), token, _viewer())
    except LinkRefused as exc:
        return _refused(exc)
    return _private(render_template("reminders/done.html", outcome=outcome, linked=outcome.item))


@bp.post(reminders.UNDO_ROUTE)
def undo(token: str):
    try:
        contact, message = reminders.undo_link(db(), _secret(), token, _viewer())
    except LinkRefused as exc:
        return _refused(exc)
    return _private(render_template("reminders/undone.html", contact=contact, message=message))
