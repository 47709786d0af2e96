"""The LinkedIn channel's demo rows: a connection note drafted for each contact a client researched.

Each is handed off (the client copies it and marks it sent), so the demo shows a LinkedIn draft
waiting on the outreach page.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crossroads.plugin import (
    Client,
    Contact,
    MessageKind,
    MessageStatus,
    OutreachMessage,
    Practice,
    Stage,
    utcnow,
)

from .channel import NAME


def load_demo(session: Session, practice: Practice) -> None:
    """Add each demo client's LinkedIn notes (add and flush; Crossroads commits)."""
    clients = session.scalars(select(Client).where(Client.practice_id == practice.id).order_by(Client.id))
    for client in clients.all():
        if not client.user.has_password:
            continue
        researched = session.scalars(
            select(Contact)
            .where(Contact.client_id == client.id, Contact.stage == Stage.RESEARCHED)
            .order_by(Contact.id)
        )
        for contact in researched:
            theme = (contact.themes[0].title if contact.themes else "a new field").lower()
            note = (
                f"Hi {contact.name.split()[0]}, we're connected here and I'm exploring {theme}. "
                "Could I ask you about your work for 20 minutes?"
            )
            session.add(
                OutreachMessage(
                    practice_id=contact.practice_id,
                    client_id=contact.client_id,
                    contact=contact,
                    channel=NAME,
                    kind=MessageKind.FIRST_REQUEST,
                    format="note",
                    subject="",
                    body=note,
                    to_name=contact.name,
                    to_address="",
                    status=MessageStatus.HANDED_OFF,
                    sent_at=None,
                    created_at=utcnow(),
                )
            )
    session.flush()
