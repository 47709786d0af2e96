"""Alumni and career offices: introductions to alumni through the institutions clients studied at.

A built-in plugin, registered through the ``crossroads`` entry point exactly as a third
party's would be. Coaches keep a practice-wide directory of institutions with the addresses
of their alumni offices and career centres; a client records where they studied, asks an
office for introductions to alumni in a field (an outreach channel of its own, sent through
the email outbox), and records each person introduced, who becomes a contact whose source
is the alumni office. The plugin's tables come with their own Alembic branch (``migrations/``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crossroads.plugin import (
    DEMO_CLIENT_EMAIL,
    Client,
    InboundMail,
    MenuItem,
    OutreachMessage,
    Practice,
    Scope,
    User,
    hookimpl,
)

from . import client_data, models  # noqa: F401  (registers the plugin's tables on Base.metadata)
from .demo import load_demo
from .route_ids import crossroads_route_ids  # noqa: F401  (read by the isolation sweeps)
from .services import CHANNEL, answered_by_email
from .views import bp

__all__ = ["load_demo"]


@hookimpl
def outreach_channels():
    return CHANNEL


@hookimpl
def blueprints():
    return bp


@hookimpl
def api_blueprints():
    from .api import bp as api_bp

    return api_bp


@hookimpl
def load_demo_data(session: Session, practice: Practice) -> None:
    """The demo's first client (the one whose login the demo prints first) gets the plugin's rows."""
    clients = list(
        session.scalars(
            select(Client).join(User, Client.user_id == User.id).where(Client.practice_id == practice.id)
        )
    )
    clients.sort(key=lambda client: (client.user.email != DEMO_CLIENT_EMAIL, client.id))
    load_demo(session, practice, clients)


@hookimpl
def menu_items(viewer: User, client: Client | None) -> MenuItem | None:
    """A tab in each client's workspace; for staff, the directory in the top menu."""
    if client is not None:
        return MenuItem("Alumni offices", "alumni_offices.client_page", {"client_id": client.id})
    if viewer.is_staff:
        return MenuItem("Institutions", "alumni_offices.institutions")
    return None


@hookimpl
def export_client_data(scope: Scope, client: Client) -> dict[str, list[dict]]:
    """The client's affiliations, introduction requests and introductions, for their data export."""
    return client_data.export_rows(scope, client)


@hookimpl
def erase_client_data(session: Session, client: Client) -> None:
    """Delete the client's affiliations, introduction requests and introductions (an erasure)."""
    client_data.erase_rows(session, client)


@hookimpl
def message_replied(session: Session, message: OutreachMessage, reply: InboundMail) -> None:
    """An office answered an introduction request by email: the request counts as answered."""
    answered_by_email(session, message, reply)
