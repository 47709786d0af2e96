"""Personal access tokens on the account page: made, named and scoped, shown once, revoked."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, session, url_for
from flask_login import current_user, login_required

from crossroads.core.schemas.api import ApiTokenSchema
from crossroads.core.services import api_tokens

from .context import scope
from .forms import Form, submit
from .notices import notify

bp = Blueprint("api_tokens", __name__)

#: The new token, kept in the session only until the account page has shown it once.
NEW_TOKEN = "api_token_new_secret"


def section(form: Form | None = None) -> dict[str, Any]:
    """What the account page's API section shows: the user's tokens, and a new one's secret once."""
    return {
        "tokens": api_tokens.user_tokens(scope()),
        "secret": session.pop(NEW_TOKEN, None),
        "form": form or Form({"access": "read"}),
    }


@bp.post("/account/tokens")
@login_required
def create():
    made, form = submit(ApiTokenSchema(), lambda data: api_tokens.create_token(scope(), data))
    if made is None:
        from .auth import render_account  # the account page is the auth blueprint's

        return render_account(current_user._get_current_object(), tokens=section(form), status=422)
    token, secret = made
    session[NEW_TOKEN] = secret
    notify(f"Your token “{token.name}” is ready. Copy it now: it is not shown again.")
    return redirect(url_for("auth.account") + "#api-tokens")


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    token = api_tokens.revoke_token(scope(), token_id)
    notify(f"The token “{token.name}” is revoked: requests with it are refused from now on.")
    return redirect(url_for("auth.account") + "#api-tokens")
