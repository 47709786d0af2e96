"""Operations: a request id on every request, one access log line each, JSON logs, and /healthz.

- Every request gets an id: the incoming ``X-Request-ID`` header when it is a
  sane token (letters, digits, ``-``, ``_``, ``.``, ``:``; at most 128
  characters), otherwise a new random one. It is sent back in the response's
  ``X-Request-ID`` header and attached to every log line written during the
  request.
- One access log line per request, on the logger ``crossroads.access`` at INFO
  (a successful ``/healthz`` at DEBUG, so a load balancer's polling does not
  flood the log): method, path (without the query string, which may hold a
  search for a person's name), status and duration.
- ``CROSSROADS_LOG_FORMAT=json`` (:func:`configure_logging`) writes every log
  record to standard error as one JSON object a line: ``time``, ``level``,
  ``logger``, ``message`` and, where known, ``request_id``, ``method``,
  ``path``, ``status``, ``duration_ms``, ``user_id``, ``practice_id``, and
  ``exception`` (the traceback). With ``text`` (the default) the web app
  leaves logging as it was.
- ``GET /healthz`` answers 200 ``{"status": "ok", "database": "ok"}`` when the
  database answers ``SELECT 1``, else 503 ``{"status": "unavailable",
  "database": "unreachable"}``; no sign-in, no details of the failure.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, g, has_request_context, jsonify, request, request_started
from flask.logging import default_handler
from sqlalchemy import text

from crossroads.core.config import Settings

from .context import crossroads

log = logging.getLogger(__name__)
access_log = logging.getLogger("crossroads.access")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
#: The fields a JSON line may carry besides time, level, logger and message, in this order.
FIELDS = ("request_id", "method", "path", "status", "duration_ms", "user_id", "practice_id")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

bp = Blueprint("ops", __name__)


# -- the request id -----------------------------------------------------------------------------


def request_id() -> str:
    """This request's id, taken from ``X-Request-ID`` when sane, else made up once."""
    if "request_id" not in g:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    return g.request_id


def _signed_in_ids() -> tuple[int | None, int | None]:
    """The user's and practice's ids if this request has already loaded its user (never loads it)."""
    user = g.get("_login_user")  # where Flask-Login keeps the user it loaded for this request
    if user is None or not getattr(user, "is_authenticated", False):
        return None, None
    loaded = vars(user)  # read what is loaded; never let a log line start a query
    return loaded.get("id"), loaded.get("practice_id")


def request_fields() -> dict[str, Any]:
    """What a log line written now can say about the request it belongs to."""
    if not has_request_context():
        return {}
    user_id, practice_id = _signed_in_ids()
    return {
        "request_id": request_id(),
        "method": request.method,
        "path": request.path,
        "user_id": user_id,
        "practice_id": practice_id,
    }


class RequestContextFilter(logging.Filter):
    """Adds the current request's fields to a record (those the record does not set itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in request_fields().items():
            if getattr(record, key, None) is None:
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line; fields that are not known are left out."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(settings: Settings, stream=None) -> logging.Handler:
    """Send every log record (INFO and above) to standard error, in ``settings.log_format``.

    For any Crossroads process: the web app calls it when the format is json,
    ``crossroads worker`` may call it instead of ``logging.basicConfig``.
    Calling it again replaces the handler it added before.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "crossroads", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.crossroads = True  # type: ignore[attr-defined]
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return handler


# -- per request --------------------------------------------------------------------------------


def _start(_sender: Flask, **_extra: Any) -> None:
    # The request_started signal comes before every before_request function, sign-in guards included.
    g.request_started = time.perf_counter()
    request_id()


def _finish(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id()
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    quiet = request.endpoint == "ops.healthz" and response.status_code == 200
    access_log.log(
        logging.DEBUG if quiet else logging.INFO,
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={"status": response.status_code, "duration_ms": duration_ms},
    )
    return response


@bp.get("/healthz")
def healthz():
    """For load balancers: 200 when the database answers, 503 when it does not."""
    try:
        with crossroads().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # whatever the driver raises, the answer is the same
        log.warning("health check: the database is unreachable (%s: %s)", type(exc).__name__, exc)
        response = jsonify(status="unavailable", database="unreachable")
        response.status_code = 503
    else:
        response = jsonify(status="ok", database="ok")
    response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask, settings: Settings) -> None:
    """Request ids, the access log, JSON logs when configured, and /healthz."""
    if settings.log_format == "json":
        configure_logging(settings)
        app.logger.removeHandler(default_handler)  # Flask's own handler would write each line twice
    request_started.connect(_start, app)
    app.after_request(_finish)
    app.register_blueprint(bp)
