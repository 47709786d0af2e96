"""The email channel: requests, follow-ups and thank-yous by email, and calendar invitations.

A built-in plugin, registered through the ``crossroads`` entry point exactly
as a third party's would be. Messages go through the practice's email server
via the outbox; a practice without one gets a ``mailto:`` hand-off instead.
"""

from __future__ import annotations

from crossroads.plugin import Conversation, Panel, User, hookimpl

from . import invitations
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
