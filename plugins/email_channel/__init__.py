"""The email channel: requests, follow-ups and thank-yous by email, and calendar invitations.

A built-in plugin, registered through the ``crossroads`` entry point exactly
as a third party's would be. Messages go through the practice's email server
via the outbox; a practice without one gets a ``mailto:`` hand-off instead.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from crossroads.plugin import Conversation, Panel, Practice, User, hookimpl

from . import demo, invitations
from .channel import EmailChannel
from .views import bp

CHANNEL = EmailChannel()


@hookimpl
def outreach_channels() -> EmailChannel:
    return CHANNEL


@hookimpl
def blueprints():
    return bp


@hookimpl
def conversation_panels(conversation: Conversation, viewer: User) -> Panel | None:
    return invitations.panel(conversation, viewer)


@hookimpl
def conversation_rescheduled(session, conversation: Conversation) -> None:
    invitations.send_update(session, conversation)


@hookimpl
def conversation_cancelled(session, conversation: Conversation) -> None:
    invitations.send_cancellation(session, conversation)


@hookimpl
def load_demo_data(session: Session, practice: Practice) -> None:
    """The demo clients' emailed requests and thank-yous, sent, failed and answered."""
    demo.load_demo(session, practice)
