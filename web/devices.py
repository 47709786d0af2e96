"""Known devices: a browser that signed in to an account before carries a signed cookie saying so.

Sign-in throttling counts such a browser's failed attempts apart from everyone else's (see
``accounts.authenticate``), so a stranger who guesses at an account cannot lock its owner out of
the browser they use. The cookie names the account only by a keyed hash and proves nothing by
itself: the password is still checked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

COOKIE = "crossroads_device"
MAX_AGE_SECONDS = 365 * 24 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="crossroads-known-device")


def _account_key(email: str) -> str:
    key = (
        current_app.secret_key.encode() if isinstance(current_app.secret_key, str) else current_app.secret_key
    )
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]


def known_device(email: str) -> str:
    """The id of this browser if it signed in to ``email`` before, else ""."""
    value = request.cookies.get(COOKIE)
    if not value:
        return ""
    try:
        data = _serializer().loads(value, max_age=MAX_AGE_SECONDS)
    except BadSignature:
        return ""
    if not isinstance(data, dict) or not hmac.compare_digest(str(data.get("a", "")), _account_key(email)):
        return ""
    return str(data.get("d", ""))[:64]


def remember_device(response: Response, email: str, device: str = "") -> None:
    """After a correct password: mark this browser as a known device of ``email``."""
    value = _serializer().dumps({"a": _account_key(email), "d": device or secrets.token_hex(16)})
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE_SECONDS,
        secure=current_app.config.get("SESSION_COOKIE_SECURE", True),
        httponly=True,
        samesite="Lax",
    )
