"""The private calendar feed: its address (made, renewed, revoked on the account page) and the feed.

``GET /calendar/<token>.ics`` needs no sign-in: calendar apps fetch it on their own. The secret in
the address is the only key, so an unknown, renewed or revoked one answers 404 like any missing page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, request, session, url_for
from flask_login import current_user, login_required

from crossroads.core.errors import InvalidInput, NotFound
from crossroads.core.models import User
from crossroads.core.schemas import CalendarFeedSchema, FeedTokenSchema, InputSchema, load
from crossroads.core.services import calendar_feed

from .context import db
from .forms import Form, submit
from .navigation import external_url
from .notices import notify

bp = Blueprint("calendar", __name__)

#: The new address, kept in the session only until the account page has shown it once.
NEW_ADDRESS = "calendar_feed_new_token"
ACCOUNT = "auth.account"


def feed_url(token: str) -> str:
    """The feed's public address (https, or http on a laptop)."""
    return external_url("calendar.feed", token=token)


def webcal_url(url: str) -> str:
    """The same address as a ``webcal://`` link, which calendar apps open as a subscription."""
    return "webcal://" + url.split("://", 1)[1]


def section(user: User, form: Form | None = None) -> dict[str, Any]:
    """What the account page's calendar section shows: the feed, and its address when just made."""
    feed = calendar_feed.feed_of(db(), user)
    token = session.pop(NEW_ADDRESS, None) if feed is not None else None
    url = feed_url(token) if token else None
    values = {"follow_ups": feed.include_follow_ups} if feed is not None else {}
    return {
        "feed": feed,
        "url": url,
        "webcal": webcal_url(url) if url else None,
        "form": form or Form(values),
        "offers_follow_ups": not user.is_staff,
    }


def _account_page(user: User, form: Form) -> tuple[str, int]:
    from .auth import render_account  # the account page is the auth blueprint's (which imports this)

    return render_account(user, calendar=section(user, form), status=422)


def _show_new_address(token: str | None, message: str):
    if token:
        session[NEW_ADDRESS] = token
        notify(message)
    return redirect(url_for(ACCOUNT) + "#calendar")


@bp.post("/account/calendar")
@login_required
def create():
    user = current_user._get_current_object()
    token, form = submit(CalendarFeedSchema(), lambda data: calendar_feed.create(db(), user, data))
    if form:
        return _account_page(user, form)
    return _show_new_address(token, "Your calendar address is ready. Add it to your calendar app now.")


@bp.post("/account/calendar/renew")
@login_required
def renew():
    user = current_user._get_current_object()
    token, form = submit(InputSchema(), lambda _data: calendar_feed.renew(db(), user))
    if form:
        return _account_page(user, form)
    return _show_new_address(
        token, "Your calendar has a new address: the old one no longer works. Subscribe to the new one."
    )


@bp.post("/account/calendar/revoke")
@login_required
def revoke():
    user = current_user._get_current_object()
    done, form = submit(InputSchema(), lambda _data: calendar_feed.revoke(db(), user) or True)
    if form:
        return _account_page(user, form)
    session.pop(NEW_ADDRESS, None)
    notify("Your calendar address is turned off. Calendars subscribed to it get nothing more.")
    return redirect(url_for(ACCOUNT) + "#calendar")


@bp.post("/account/calendar/settings")
@login_required
def settings():
    user = current_user._get_current_object()
    feed, form = submit(CalendarFeedSchema(), lambda data: calendar_feed.update(db(), user, data))
    if form:
        return _account_page(user, form)
    notify(
        "Your calendar will show follow-ups due."
        if feed.include_follow_ups
        else "Your calendar will show conversations only."
    )
    return redirect(url_for(ACCOUNT) + "#calendar")


def _links() -> calendar_feed.FeedLinks:
    return calendar_feed.FeedLinks(
        conversation=lambda c: external_url("conversations.prep", conversation_id=c.id),
        contact=lambda c: external_url("contacts.show", contact_id=c.id),
    )


@bp.get("/calendar/<token>.ics")
def feed(token: str):
    try:
        token = load(FeedTokenSchema(), {"token": token})["token"]
    except InvalidInput as exc:
        raise NotFound("calendar feed") from exc
    found = calendar_feed.find(db(), token)
    body = calendar_feed.build(db(), found, _links())
    calendar_feed.note_fetched(db(), found)
    response = Response(body, content_type="text/calendar; charset=utf-8")
    # The address is the key: neither shared caches nor search engines may keep the feed.
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.set_etag(calendar_feed.etag(body))
    return response.make_conditional(request)
