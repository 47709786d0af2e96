"""A Flask test client signed in as one user, over HTTPS, that hands pages back as :class:`Page`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask.testing import FlaskClient
from flask_login.utils import _create_identifier

from .pages import Page

if TYPE_CHECKING:
    from flask import Flask

    from crossroads.core.models import User

USER_AGENT = "crossroads-testing"
ENVIRON = {"HTTP_USER_AGENT": USER_AGENT, "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "https"}


class Browser(FlaskClient):
    """A test client whose requests come from one address and browser, over HTTPS (cookies are secure)."""

    def sign_in(self, user: User) -> Browser:
        """Sign in as ``user`` by writing the login session directly (no password needed)."""
        with self.application.test_request_context(
            headers={"User-Agent": USER_AGENT}, environ_base={"REMOTE_ADDR": ENVIRON["REMOTE_ADDR"]}
        ):
            identifier = _create_identifier()
        with self.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
            session["_id"] = identifier
        return self

    def page(self, url: str, status: int | None = 200) -> Page:
        """GET ``url`` as this user; :class:`AssertionError` unless it answers ``status`` (None: any)."""
        response = self.get(url)
        page = Page(url, response.status_code, response.get_data(as_text=True))
        if status is not None and response.status_code != status:
            where = f" (to {response.location})" if response.location else ""
            raise AssertionError(f"GET {url} answered {response.status_code}{where}, not {status}")
        return page


def browser_for(app: Flask, user: User | None = None) -> Browser:
    """A fresh :class:`Browser` on ``app``, signed in as ``user`` when one is given."""
    app.test_client_class = Browser
    client = app.test_client()
    client.environ_base.update(ENVIRON)
    return client.sign_in(user) if user is not None else client
