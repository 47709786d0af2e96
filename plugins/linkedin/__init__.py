"""LinkedIn: drafts of connection notes, messages and InMails for the client to send themselves.

A built-in plugin, registered through the ``crossroads`` entry point as a
third party's would be. LinkedIn offers ordinary apps no messaging API and
its rules forbid automation, so this channel only drafts: it counts as
LinkedIn counts, offers a Copy button and a link to the contact's profile,
and the client marks the message sent. A dashboard panel shows how many
personalised notes a free account has used this month, and lets the client
say whether their account is Premium. Every LinkedIn number is in
:mod:`.limits`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, object_session

from crossroads.plugin import Client, Panel, Practice, User, hookimpl

from . import allowance, demo
from .channel import LinkedInChannel
from .limits import value
from .views import bp

CHANNEL = LinkedInChannel()


@hookimpl
def outreach_channels() -> LinkedInChannel:
    return CHANNEL


@hookimpl
def blueprints():
    return bp


@hookimpl
def client_panels(client: Client, viewer: User) -> Panel:
    """The month's personalised notes against a free account's allowance, and the account type."""
    return Panel(
        title="LinkedIn",
        template="linkedin/panel.html",
        context={
            "state": allowance.allowance(object_session(client), client),
            "client_id": client.id,
            "client_name": client.name,
            "viewer_is_client": viewer.id == client.user_id,
            "note_free": value("note_free"),
            "note_premium": value("note_premium"),
        },
    )


@hookimpl
def load_demo_data(session: Session, practice: Practice) -> None:
    """A connection note drafted, waiting to be sent by hand, for each contact a demo client researched."""
    demo.load_demo(session, practice)
