"""Where to send the browser next, without ever leaving the site; links to the public address."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, abort, current_app, redirect, request
from werkzeug.sansio.utils import host_is_trusted
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


def refuse_other_hosts(app: Flask, trusted_hosts: list[str] | None) -> None:
    """Answer 400 to a request naming a host (``Host``, or ``X-Forwarded-Host`` through a trusted
    proxy) that is not one of ``trusted_hosts``; None trusts any.

    Not Flask's ``TRUSTED_HOSTS``, because ``/healthz`` must answer a load balancer's probe,
    which often names the server by its own address.
    """
    if trusted_hosts is None:
        return

    @app.before_request
    def _host_is_ours() -> None:
        if request.endpoint != "ops.healthz" and not host_is_trusted(request.host, trusted_hosts):
            abort(400)
