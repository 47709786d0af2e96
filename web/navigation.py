"""Where to send the browser next, without ever leaving the site."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, redirect, request
from werkzeug.wrappers import Response

from .context import crossroads


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site; None for anything an attacker could point elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc:
        return target
    return None


def back(default: str) -> Response:
    """Redirect to the page the form was on (the ``next`` field or the referrer), else ``default``."""
    candidates = [request.form.get("next"), request.referrer]
    for candidate in candidates:
        if candidate and (path := local_path(_path_of(candidate))):
            return redirect(path)
    return redirect(default)


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return ""
    return parts.path + (f"?{parts.query}" if parts.query else "")


def external_url(endpoint: str, **values) -> str:
    """An absolute link to ``endpoint`` on the public address (``CROSSROADS_BASE_URL``).

    The one way to build a link that leaves the browser (emails, logs, invitations, resets,
    calendar files): never from the request's ``Host``, which a visitor chooses.
    """
    base = urlsplit(crossroads().settings.base_url)
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)
