"""Calendar invitations for scheduled conversations, sent by email in the same thread.

An invitation is ``METHOD:REQUEST`` with the contact as attendee and the
client as organiser (so replies go to the client). When the conversation is
rescheduled, an update with the raised SEQUENCE follows; when it is
cancelled, ``METHOD:CANCEL``. Both happen in the transaction that changes the
conversation, through the ``conversation_rescheduled`` and ``conversation_cancelled`` events.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from crossroads.plugin import (
    Conversation,
    ConversationStatus,
    InvalidInput,
    MessageKind,
    MessageStatus,
    OutreachMessage,
    Panel,
    PracticeMail,
    Role,
    User,
    conversation_ics,
    queue_email,
    utcnow,
)

from .channel import NAME

LIVE = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.UNKNOWN)


def sent_invitation(session: Session, conversation: Conversation) -> OutreachMessage | None:
    """The latest invitation (or update) for ``conversation`` that went, or is going, out."""
    return session.scalar(
        select(OutreachMessage)
        .where(
            OutreachMessage.conversation_id == conversation.id,
            OutreachMessage.kind == MessageKind.INVITATION,
            OutreachMessage.status.in_(LIVE),
        )
        .order_by(OutreachMessage.id.desc())
        .limit(1)
    )


def panel(conversation: Conversation, viewer: User) -> Panel | None:
    """The "send a calendar invitation" panel on a scheduled conversation's prep page."""
    session = object_session(conversation)
    if conversation.status != ConversationStatus.SCHEDULED:
        return None
    has_server = session.scalar(
        select(PracticeMail.id).where(PracticeMail.practice_id == conversation.practice_id)
    )
    return Panel(
        "Calendar invitation",
        "email_channel/invite_panel.html",
        {
            "conversation": conversation,
            "sent": sent_invitation(session, conversation),
            "can_send": viewer.role == Role.CLIENT and bool(conversation.contact.email) and bool(has_server),
            "has_server": bool(has_server),
        },
    )


def _thread_parent(session: Session, conversation: Conversation) -> OutreachMessage | None:
    return session.scalar(
        select(OutreachMessage)
        .where(
            OutreachMessage.contact_id == conversation.contact_id,
            OutreachMessage.channel == NAME,
            OutreachMessage.outbox_id.is_not(None),
            OutreachMessage.status.in_(LIVE),
        )
        .order_by(OutreachMessage.id.desc())
        .limit(1)
    )


def queue_invitation(
    session: Session, conversation: Conversation, method: str, sender: User
) -> OutreachMessage:
    """Write an invitation, update (``REQUEST``) or cancellation (``CANCEL``) to the outbox. No commit."""
    contact, client = conversation.contact, conversation.client
    if not contact.email:
        raise InvalidInput({"_schema": [f"There is no email address for {contact.name}."]})
    practice = client.practice
    when = conversation.starts_at.astimezone(ZoneInfo(client.user.timezone)).strftime("%A %-d %B, %H:%M %Z")
    if method == "CANCEL":
        subject = f"Cancelled: conversation with {client.name}"
        body = (
            f"Dear {contact.name.split()[0]},\n\nI'm sorry to have to cancel our conversation on {when}. "
            f"Thank you for your understanding.\n\n{client.name}"
        )
    else:
        updated = sent_invitation(session, conversation) is not None
        subject = (
            f"{'Updated invitation' if updated else 'Invitation'}: conversation with {client.name}, {when}"
        )
        body = (
            f"Dear {contact.name.split()[0]},\n\nThank you for agreeing to talk. "
            f"{'Here is the new time' if updated else 'Here is an invitation for your calendar'}: {when}, "
            f"{conversation.minutes} minutes"
            f"{', ' + conversation.location if conversation.location else ''}.\n\n{client.name}"
        )
    calendar = conversation_ics(
        conversation,
        client.name,
        method=method,
        organiser_email=client.user.email,
        attendee=(contact.name, contact.email),
    ).decode()
    parent = _thread_parent(session, conversation)
    parent_email = parent.outbox if parent is not None else None
    email = queue_email(
        session,
        practice_id=practice.id,
        client_id=client.id,
        sender_name=f"{client.name} via {practice.name}",
        reply_to=client.user.email,
        to_address=contact.email,
        to_name=contact.name,
        subject=subject,
        body=body,
        in_reply_to=parent_email.message_id if parent_email else "",
        references=f"{parent_email.references} {parent_email.message_id}".strip() if parent_email else "",
        ics=calendar,
        ics_method=method,
    )
    message = OutreachMessage(
        practice_id=practice.id,
        client_id=client.id,
        contact_id=contact.id,
        conversation_id=conversation.id,
        channel=NAME,
        kind=MessageKind.INVITATION,
        format=method.lower(),
        subject=subject,
        body=body,
        to_name=contact.name,
        to_address=contact.email,
        status=MessageStatus.QUEUED,
        in_reply_to=parent,
        outbox=email,
        created_by_id=sender.id,
        created_at=utcnow(),
    )
    session.add(message)
    return message


def send_update(session: Session, conversation: Conversation) -> None:
    """After a reschedule, send the contact the updated invitation, if they had one."""
    if sent_invitation(session, conversation) is not None:
        queue_invitation(session, conversation, "REQUEST", conversation.client.user)


def send_cancellation(session: Session, conversation: Conversation) -> None:
    """After a cancellation, send the contact the calendar cancellation, if they had an invitation."""
    if sent_invitation(session, conversation) is not None:
        queue_invitation(session, conversation, "CANCEL", conversation.client.user)
