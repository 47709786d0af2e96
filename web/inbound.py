"""The inbound endpoint: mail providers post each incoming email here, as raw MIME.

``POST /inbound/<practice id>/mail`` with ``Authorization: Bearer <the practice's secret>``
(the owner makes it on the email settings page) and the message as the body. The message is
recorded (kind "pending") and the worker is woken to process it right after the commit. Answers
202 when the message is taken (also when it was taken before: ``new`` is then false), 401 for a
missing or wrong secret (the same for a practice that does not exist), 413 for a body past 10 MB.
No session, no cookie, no CSRF token: the secret is the authentication.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from crossroads.core.inbox import inbound

from .context import db

bp = Blueprint("inbound", __name__, url_prefix="/inbound")


def _error(status: int, field: str, message: str):
    """The house's JSON error shape: messages keyed by what they are about."""
    response = jsonify({"errors": {field: [message]}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="crossroads-inbound"'
    return response


def _bearer() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@bp.post("/<practice_ref>/mail")
def receive_mail(practice_ref: str):
    """Take one raw email for the practice; see the module's docstring for the answers."""
    practice_id = inbound.practice_for(db(), practice_ref, _bearer())
    if practice_id is None:
        return _error(401, "authorization", "Send the practice's inbound secret as a Bearer token.")
    length = request.content_length
    if length is not None and length > inbound.MAX_POST_BYTES:
        return _error(413, "body", "Messages are limited to 10 MB.")
    raw = request.stream.read(inbound.MAX_POST_BYTES + 1)
    if len(raw) > inbound.MAX_POST_BYTES:
        return _error(413, "body", "Messages are limited to 10 MB.")
    if not raw.strip():
        return _error(422, "body", "Send the raw email (MIME) as the request's body.")
    mail, created = inbound.take(db(), practice_id, raw)
    return jsonify({"id": mail.id, "kind": mail.kind.value, "new": created}), 202
