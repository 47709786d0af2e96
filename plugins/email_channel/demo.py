"""The email channel's demo rows: each demo client's emailed requests and thank-yous.

For every contact the core's demo moved past "researched": a first request sent by email a few
minutes before the contact's move (the first one still at "requested" failed, as a wrong address
does), marked replied a day later when the contact answered, and a thank-you threaded to it for
those the client thanked. Each message has its outbox email, as if the practice's server sent it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crossroads.plugin import (
    Client,
    Contact,
    MessageKind,
    MessageStatus,
    OutboxEmail,
    OutreachMessage,
    Practice,
    Stage,
)

from .channel import NAME

#: The stages after a reply: the first request was answered a day after it went.
ANSWERED = (Stage.REPLIED, Stage.SCHEDULED, Stage.TALKED, Stage.THANKED)
BOUNCE = "550 5.1.1 Mailbox unavailable: the address may be wrong."


def load_demo(session: Session, practice: Practice) -> None:
    """Add each demo client's email outreach (add and flush; Crossroads commits)."""
    clients = session.scalars(select(Client).where(Client.practice_id == practice.id).order_by(Client.id))
    for client in clients.all():
        if client.user.has_password:
            _client_messages(session, client)
    session.flush()


def _client_messages(session: Session, client: Client) -> None:
    contacts = session.scalars(
        select(Contact)
        .where(
            Contact.client_id == client.id,
            Contact.stage.not_in((Stage.IDENTIFIED, Stage.RESEARCHED)),
            Contact.email != "",
        )
        .order_by(Contact.id)
    ).all()
    sender = f"{client.name} via {client.practice.name}"
    failed_one = False
    for contact in contacts:
        failed = not failed_one and contact.stage == Stage.REQUESTED
        failed_one = failed_one or failed
        status = MessageStatus.FAILED if failed else MessageStatus.SENT
        sent_at = contact.stage_changed_at - timedelta(minutes=5)
        first = _message(session, contact, MessageKind.FIRST_REQUEST, status, sent_at, sender)
        if failed:
            first.error = first.outbox.last_error = BOUNCE
            continue
        if contact.stage in ANSWERED:
            first.replied_at = sent_at + timedelta(days=1)
        if contact.stage == Stage.THANKED:
            kind, thanked_at = MessageKind.THANK_YOU, contact.stage_changed_at
            _message(session, contact, kind, MessageStatus.SENT, thanked_at, sender, parent=first)


def _message(
    session: Session,
    contact: Contact,
    kind: MessageKind,
    status: MessageStatus,
    sent_at: datetime,
    sender: str,
    parent: OutreachMessage | None = None,
) -> OutreachMessage:
    theme = (contact.themes[0].title if contact.themes else "a new field").lower()
    first_name = contact.name.split()[0]
    if kind == MessageKind.FIRST_REQUEST:
        subject = f"A question about {theme}"
        body = (
            f"Dear {first_name},\n\nI'm exploring {theme} and would value your view of the work. "
            "Would you have 20 minutes in the next couple of weeks? I'm not looking for a job.\n\nWith thanks"
        )
    else:
        subject = "Thank you"
        body = f"Dear {first_name},\n\nThank you for your time and your candour.\n\nWith thanks"
    parent_email = parent.outbox if parent is not None else None
    message = OutreachMessage(
        practice_id=contact.practice_id,
        client_id=contact.client_id,
        contact=contact,
        channel=NAME,
        kind=kind,
        format="",
        subject=subject,
        body=body,
        to_name=contact.name,
        to_address=contact.email,
        status=status,
        sent_at=sent_at,
        in_reply_to=parent,
        created_at=sent_at,
    )
    message.outbox = OutboxEmail(
        practice_id=contact.practice_id,
        client_id=contact.client_id,
        status=status,
        sender_name=sender,
        reply_to=contact.client.user.email,
        to_address=contact.email,
        to_name=contact.name,
        subject=subject,
        body=body,
        message_id=f"<{uuid.uuid4()}@northbridge.example>",
        in_reply_to=parent_email.message_id if parent_email else "",
        references=parent_email.message_id if parent_email else "",
        attempts=1,
        sent_at=sent_at if status == MessageStatus.SENT else None,
        created_at=sent_at,
    )
    session.add(message)
    session.flush()
    return message
