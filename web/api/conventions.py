"""The API's conventions, one place each: token authentication, problem details, ETags and
If-Match, cursor pages, idempotency keys and the per-token rate limit."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from flask import Response, current_app, g, request
from marshmallow import Schema
from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from crossroads.core.errors import (
    AlreadySubmitted,
    CrossroadsError,
    EditConflict,
    Forbidden,
    InvalidInput,
    NotFound,
)
from crossroads.core.models import ApiIdempotencyKey, ApiToken
from crossroads.core.scoping import Scope
from crossroads.core.services.api_tokens import authenticate

from ..context import crossroads, db

PREFIX = "/api/v1"
#: Paths under the prefix that anyone may read: the OpenAPI document and its reference page.
PUBLIC = {f"{PREFIX}/openapi.json", f"{PREFIX}/docs"}
PROBLEM = "application/problem+json"
READING = {"GET", "HEAD", "OPTIONS"}


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


# -- problems ---------------------------------------------------------------------------------------

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "Precondition required",
    429: "Too many requests",
    500: "Server error",
}


def problem(
    status: int,
    detail: str,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An RFC 9457 problem details answer; ``errors`` maps the schema's field names to messages."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _field_errors(messages: Any) -> dict[str, list[str]]:
    """webargs' ``{location: {field: [messages]}}`` as ``{field: [messages]}``."""
    found: dict[str, list[str]] = {}
    for location in messages.values() if isinstance(messages, dict) else []:
        for name, value in location.items() if isinstance(location, dict) else [("_schema", location)]:
            if isinstance(value, dict):
                found[name] = [
                    f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in value.items()
                ]
            else:
                found[name] = [str(m) for m in (value if isinstance(value, list) else [value])]
    return found


def handle_error(exc: Exception) -> Response:
    """Any error of an API request as problem details (the pages keep their own error pages)."""
    db().rollback()
    if isinstance(exc, NotFound):
        return problem(404, "There is nothing here, or it is not yours to see.")
    if isinstance(exc, Forbidden):
        return problem(403, str(exc) or "Your role cannot do that.")
    if isinstance(exc, EditConflict):
        return problem(409, "This was changed since you read it: read it again.", exc.errors)
    if isinstance(exc, InvalidInput):
        return problem(422, "The request broke a rule.", exc.errors)
    if isinstance(exc, AlreadySubmitted):
        return problem(409, "That request was already made.")
    if isinstance(exc, IntegrityError):
        return problem(409, "That was saved from two places at the same moment. Try again.")
    if isinstance(exc, HTTPException):
        data = getattr(exc, "data", None) or {}
        if exc.code == 422 and "messages" in data:
            return problem(422, "The request is not valid.", _field_errors(data["messages"]))
        code = exc.code or 500
        detail = exc.description if code != 404 else "There is nothing here, or it is not yours to see."
        return problem(code, detail or TITLES.get(code, "Error"), headers=dict(data.get("headers") or {}))
    if isinstance(exc, CrossroadsError):
        return problem(422, str(exc))
    current_app.logger.exception("API request failed", exc_info=exc)
    return problem(500, "Something went wrong on our side; the error is in the log.")


# -- authentication ---------------------------------------------------------------------------------


class RateLimiter:
    """At most ``limit`` requests a minute per token, in this process (a fixed one-minute window)."""

    def __init__(self) -> None:
        self._windows: dict[int, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def retry_after(self, token_id: int, limit: int, now: float | None = None) -> int | None:
        """Count one request; the seconds to wait when it is one too many, else None."""
        now = time.time() if now is None else now
        window = int(now // 60)
        with self._lock:
            start, count = self._windows.get(token_id, (window, 0))
            if start != window:
                start, count = window, 0
            if count >= limit:
                return max(1, (window + 1) * 60 - int(now))
            self._windows[token_id] = (start, count + 1)
        return None


def authenticate_request() -> Response | None:
    """Before every API request: the bearer token's user becomes the request's user and scope.

    A session cookie never authenticates the API. A read-only token may only read.
    """
    if not is_api_request() or request.path in PUBLIC:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    token = authenticate(db(), secret.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        return problem(
            401,
            "Send a personal access token: Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": 'Bearer realm="crossroads"'},
        )
    wait = current_app.extensions["crossroads_api_limiter"].retry_after(
        token.id, crossroads().settings.api_rate_limit
    )
    if wait is not None:
        return problem(429, "Too many requests with this token.", headers={"Retry-After": str(wait)})
    if request.method not in READING and not token.can_write:
        return problem(403, "This token may only read: create a read and write token to change things.")
    g._login_user = token.user  # Flask-Login's current_user, for this request only
    g.api_token = token
    g.scope = Scope(db(), token.user)
    plugin = current_app.extensions["crossroads_api_plugins"].get(request.blueprint or "")
    if plugin is not None and plugin not in crossroads().plugins.enabled_for(db(), token.user.practice_id):
        return problem(404, "There is nothing here, or it is not yours to see.")
    reach_path_ids(g.scope)
    return None


def _path_models() -> dict[str, Callable[[Scope, int], Any]]:
    from crossroads.core.models import (
        CareerTheme,
        Client,
        Contact,
        Conversation,
        OutreachMessage,
        Reflection,
        WebhookSubscription,
    )

    def getter(model):
        return lambda scope, row_id: scope.get(model, row_id)

    return {
        "client_id": getter(Client),
        "theme_id": getter(CareerTheme),
        "contact_id": getter(Contact),
        "conversation_id": getter(Conversation),
        "reflection_id": getter(Reflection),
        "message_id": getter(OutreachMessage),
        "bank_id": lambda scope, row_id: scope.bank(row_id),
        "webhook_id": getter(WebhookSubscription),
    }


def reach_path_ids(scope: Scope) -> None:
    """Every core id in the path must be the user's to reach (404) before the body is even read,
    so a stranger learns nothing from how a request's body is judged."""
    models = _path_models()
    for name, value in (request.view_args or {}).items():
        if name in models and isinstance(value, int):
            models[name](scope, value)


def api_scope() -> Scope:
    """The token's user's scope (the same Scope as the pages)."""
    return g.scope


# -- ETags and If-Match -----------------------------------------------------------------------------


def conditional(response: Response) -> Response:
    """After an API GET: an ETag, and 304 Not Modified when ``If-None-Match`` names it."""
    if is_api_request() and request.method == "GET" and response.status_code == 200 and response.is_json:
        response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
        response.make_conditional(request)
    if is_api_request():
        response.headers.setdefault("Cache-Control", "private, no-cache")
        response.vary.add("Authorization")
    return response


def require_fresh(shape: Schema, obj: Any) -> None:
    """Refuse an update whose ``If-Match`` names another version than ``obj``'s as shown now (409)."""
    wanted = request.headers.get("If-Match")
    if not wanted:
        return
    current = hashlib.sha256(current_app.json.response(shape.dump(obj)).get_data()).hexdigest()[:32]
    tags = {t.strip().removeprefix("W/").strip('"') for t in wanted.split(",")}
    if "*" not in tags and current not in tags:
        raise EditConflict({"_schema": ["This was changed since you read it: read it again."]}, {}, current)


# -- cursor pages -----------------------------------------------------------------------------------


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        value = int(base64.urlsafe_b64decode(cursor.encode() + b"==").decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = -1
    if value < 0:
        raise InvalidInput({"cursor": ["Not a cursor from this API: start again without it."]})
    return value


def cursor_page(query: Select, model: Any, page: dict[str, Any]) -> dict[str, Any]:
    """One page of ``query`` in id order after the page's cursor: ``{"items", "next_cursor"}``
    (the rows, for the view's :func:`page_shape` to dump)."""
    after = _decode_cursor(page.get("cursor"))
    limit = page["limit"]
    rows: Sequence[Any] = (
        api_scope()
        .session.scalars(query.where(model.id > after).order_by(model.id).limit(limit + 1))
        .unique()
        .all()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = base64.urlsafe_b64encode(str(rows[-1].id).encode()).decode().rstrip("=") if more else None
    return {"items": rows, "next_cursor": next_cursor}


def page_shape(item: type[Schema]) -> type[Schema]:
    """The shape of one page of ``item``s."""
    from marshmallow import fields

    return type(
        f"{item.__name__.removesuffix('Shape')}PageShape",
        (Schema,),
        {
            "items": fields.List(fields.Nested(item)),
            "next_cursor": fields.String(allow_none=True),
        },
    )


# -- idempotency keys -------------------------------------------------------------------------------


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """A creating request sent again with the same ``Idempotency-Key`` gets the first answer again,
    and creates nothing twice; the same key with another request is refused (422)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return view(*args, **kwargs)
        if len(key) > 200:
            return problem(
                422, "The Idempotency-Key is too long.", {"Idempotency-Key": ["At most 200 characters."]}
            )
        token: ApiToken = g.api_token
        fingerprint = hashlib.sha256(
            f"{request.method} {request.path}\n".encode() + request.get_data()
        ).hexdigest()
        session = db()
        seen = session.query(ApiIdempotencyKey).filter_by(token_id=token.id, key=key).first()
        if seen is not None:
            if seen.fingerprint != fingerprint:
                return problem(
                    422,
                    "This Idempotency-Key was used for another request.",
                    {"Idempotency-Key": ["Use a new key for a new request."]},
                )
            replay = current_app.response_class(seen.body, status=seen.status, mimetype="application/json")
            replay.headers["Idempotent-Replayed"] = "true"
            if seen.location:
                replay.headers["Location"] = seen.location
            return replay
        response = current_app.make_response(view(*args, **kwargs))
        if 200 <= response.status_code < 300:
            session.add(
                ApiIdempotencyKey(
                    token_id=token.id,
                    key=key,
                    fingerprint=fingerprint,
                    status=response.status_code,
                    body=response.get_data(as_text=True),
                    location=response.headers.get("Location", ""),
                )
            )
            session.commit()
        return response

    return wrapper
