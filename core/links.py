"""Where a notification points: paths on this site, and the absolute address for an email.

The core knows no Flask routes, so the few pages a notification opens are named here as paths;
``tests/test_notifications.py`` opens each one, so a route renamed in ``web/`` fails a test.
Absolute links start with the public address (``CROSSROADS_BASE_URL``), as
``web.navigation.external_url`` does, never with a request's ``Host``.
"""

from __future__ import annotations

import os

from sqlalchemy.orm import Session

from .config import Settings

NOTIFICATIONS = "/notifications"
ACCOUNT = "/account"


def client_page(client_id: int) -> str:
    """The coach's page of one client."""
    return f"/coach/clients/{client_id}"


def contact(contact_id: int) -> str:
    """One contact of a client's."""
    return f"/contacts/{contact_id}"


def reflection(conversation_id: int) -> str:
    """The reflection on a conversation (the client writes it; the coach reads it once shared)."""
    return f"/conversations/{conversation_id}/reflection"


def message(message_id: int) -> str:
    """One outreach message and what became of it."""
    return f"/messages/{message_id}"


def base_url(session: Session) -> str:
    """The public address: the settings of the mail queue attached to ``session`` (the web app's and
    the worker's), else ``CROSSROADS_BASE_URL``, else the default."""
    from .mail.queue import ATTACHED_KEY

    queue = session.info.get(ATTACHED_KEY)
    if queue is not None:
        return queue.settings.base_url.rstrip("/")
    return (os.environ.get("CROSSROADS_BASE_URL", "").strip() or Settings.base_url).rstrip("/")


def absolute(session: Session, path: str) -> str:
    """``path`` on the public address, for a link that leaves the browser (an email)."""
    return base_url(session) + (path if path.startswith("/") else "/" + path)
