"""One error page per kind of failure; services' errors map to HTTP statuses here."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, OperationalError

from crossroads.core.errors import AlreadySubmitted, Forbidden, InvalidInput, NotFound

from .context import db
from .navigation import back
from .notices import notify
from .ops import request_id

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    def page(status: int, title: str, message: str):
        return render_template("error.html", title=title, message=message), status

    @app.errorhandler(404)
    @app.errorhandler(NotFound)
    def not_found(_exc):
        return page(404, "Not found", "There is nothing here, or it is not yours to see.")

    @app.errorhandler(InvalidInput)
    def invalid(exc: InvalidInput):
        # Views handle their forms' errors; this catches a rule broken outside a form.
        return page(422, "That cannot be done", " ".join(sum(exc.errors.values(), [])))

    @app.errorhandler(AlreadySubmitted)
    def already_submitted(_exc):
        # A double click or the back button: the first submit did the work; say so, do nothing.
        db().rollback()
        notify("That form was already sent, so it was not done a second time.")
        return back("/")

    @app.errorhandler(Forbidden)
    def forbidden(_exc):
        return page(403, "Not allowed", "Your role cannot do that here.")

    @app.errorhandler(CSRFError)
    def csrf_failed(_exc):
        return page(
            400,
            "Form expired",
            "This form was open too long or came from elsewhere. Go back, reload the page, and try again.",
        )

    @app.errorhandler(IntegrityError)
    def conflict(_exc):
        # Two saves of the same thing at the same moment (a double click, two tabs): one won.
        db().rollback()
        return page(
            409, "Saved twice at once", "That was saved from two places at the same moment. Reload the page."
        )

    @app.errorhandler(413)
    def too_large(_exc):
        return page(413, "File too large", "Uploads are limited to 10 MB. Nothing was imported.")

    @app.errorhandler(405)
    def method_not_allowed(_exc):
        return page(405, "Not allowed", "That page cannot be used this way.")

    def plain_page(status: int, title: str, message: str):
        try:
            db().rollback()  # the connection may be gone; the session must not be reused as it is
        except Exception:
            log.debug("rollback after a failed request also failed", exc_info=True)
        # Straight from the environment, without context processors: Flask-Login's would load the
        # signed-in user, from the very database that is failing.
        template = app.jinja_env.get_template("error_plain.html")
        return template.render(title=title, message=message, request_id=request_id()), status

    @app.errorhandler(OperationalError)
    def database_unavailable(exc: OperationalError):
        # PostgreSQL restarting, a failover, a full disk: say so and let the browser try again soon.
        log.error("database unavailable: %s", exc.orig)
        response = plain_page(
            503,
            "Crossroads is briefly unavailable",
            "The database is not answering right now. Nothing was saved by this request: wait a "
            "moment, go back, and send it again (your browser keeps what you typed).",
        )
        return (*response, {"Retry-After": "10"})

    @app.errorhandler(500)
    def server_error(_exc):
        return plain_page(
            500,
            "Something went wrong on our side",
            "The error is in the log. Go back and try again; if it happens again, tell your practice.",
        )
