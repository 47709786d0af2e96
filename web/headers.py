"""Security headers on every response the app sends: pages, errors, static files and plugins' pages."""

from __future__ import annotations

from flask import Flask, Response

#: Scripts and styles come only from the app's own static files (no inline ones, no handlers in
#: attributes, no ``style=``); charts are SVG pictures in ``data:`` URIs; nobody may frame a page.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _add_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def register(app: Flask) -> None:
    """Send :data:`SECURITY_HEADERS` with every response (error pages and plugins' pages included)."""
    app.after_request(_add_headers)
