"""Where to send the browser next, without ever leaving the site."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, request
from werkzeug.wrappers import Response


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
