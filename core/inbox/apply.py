"""What an incoming email does once it is understood: a reply moves the contact on and goes to
the client's own inbox; an automatic reply quiets the follow-up until the person is back; a
delivery failure marks the message failed and the address as a problem.

:func:`on_reply` is the one place a recorded reply takes effect: the thread, the contact's stage,
the ``message_replied`` event, the client's and coach's notifications and the client's copy.
"""

from __future__ import annotations

from datetime import date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import events, links
from ..db import utcnow
from ..locking import lock_client
from ..mail.compose import one_line
from ..mail.outbox import practice_mail, queue_email
from ..models import (
    Contact,
    InboundKind,
    InboundMail,
    MessageStatus,
    OutboxEmail,
    OutreachMessage,
    Practice,
    Stage,
)
from ..outreach.followups import add_business_days
from ..scoping import Scope
from ..services import contacts as contact_service
from ..services import notifications
from .classify import Bounce
from .match import latest_sent_to, sender

#: An automatic reply without a return date quiets the follow-up for this many business days.
AWAY_DEFAULT_BUSINESS_DAYS = 3
#: Longest reply text copied into the client's email.
MAX_FORWARDED = 10_000


def _client_today(message: OutreachMessage) -> date:
    return datetime.now(ZoneInfo(message.client.user.timezone)).date()


def _link_mail(reply: InboundMail, message: OutreachMessage) -> None:
    reply.outreach_message_id = message.id
    reply.contact_id = message.contact_id
    reply.client_id = message.client_id


def on_reply(
    session: Session,
    reply: InboundMail,
    message: OutreachMessage,
    counted: bool = True,
    email: EmailMessage | None = None,
) -> None:
    """A reply to ``message`` was recorded: keep it on the thread and forward it to the client.

    When ``counted`` (the person asked wrote it), the message counts as replied, the contact moves
    from "requested" to "replied" as the client's own "They replied" would (every follow-up timer
    stops), and the ``message_replied`` hook fires. A reply from someone else (a colleague it was
    forwarded to) is kept and forwarded, but moves nothing: only the client can tell what it means.
    ``email`` is the reply already parsed (else it is parsed again from ``reply.raw``). Does not commit.
    """
    reply.kind = InboundKind.REPLY
    _link_mail(reply, message)
    if counted:
        lock_client(session, message.client_id)
        message.replied_at = message.replied_at or reply.received_at or utcnow()
        contact = message.contact
        if contact is not None:
            session.refresh(contact)
            contact.quiet_until = None
            if contact.stage == Stage.REQUESTED:
                client = message.client
                # The contact's answer is not a step the client took: their own activity stays.
                own_activity = client.last_activity_at
                contact_service.stage_move(
                    Scope(session, client.user), contact, Stage.REPLIED, message.replied_at
                )
                client.last_activity_at = own_activity
        events.fire(session, "message_replied", message.practice_id, message=message, reply=reply)
        notifications.notify_reply(session, message)
    forward_to_client(session, reply, message, email)


def forward_to_client(
    session: Session, reply: InboundMail, message: OutreachMessage, email: EmailMessage | None = None
) -> OutboxEmail | None:
    """Queue the reply to the client's own address, Reply-To the person who wrote it; None without
    an email server. Every header is written from checked, one-line values. ``email`` is the reply
    already parsed (else it is parsed again from ``reply.raw``)."""
    settings = practice_mail(session, message.practice_id)
    if settings is None:
        return None
    if email is None:
        email = message_from_bytes(reply.raw, policy=policy.default)  # type: ignore[assignment]
    name, address = sender(email)
    contact = message.contact
    who = (contact.name if contact and address == (contact.email or "").lower() else "") or name or address
    who = one_line(who)[:100] or "Someone"
    client = message.client
    practice = session.get(Practice, message.practice_id)
    link = links.absolute(session, links.message(message.id))
    text = reply.text[:MAX_FORWARDED] or "(The reply has no text of its own.)"
    body = (
        f'{who} replied to your message "{one_line(message.subject)[:200]}":\n\n'
        f"{text}\n\n"
        "-- \n"
        f"Answer by replying to this email: it goes to {who}.\n"
        + (f"The whole conversation in Crossroads: {link}\n" if link else "")
    )
    return queue_email(
        session,
        practice_id=message.practice_id,
        client_id=client.id,
        sender_name=f"{who} via {practice.name if practice else 'Crossroads'}",
        reply_to=address,
        to_address=client.user.email,
        to_name=client.name,
        subject=f"{who} replied: {reply.subject or message.subject}"[:300],
        body=body,
        from_address=settings.from_address,
    )


def on_auto_reply(
    session: Session, reply: InboundMail, message: OutreachMessage, back_on: date | None
) -> None:
    """An automatic reply ("away until …"): the contact's follow-up waits until the day after they
    are back, or a few business days without a date. It shifts; it does not stop. Does not commit."""
    reply.kind = InboundKind.AUTO_REPLY
    reply.away_until = back_on
    _link_mail(reply, message)
    contact = message.contact
    if contact is None:
        return
    today = _client_today(message)
    quiet = add_business_days(back_on, 1) if back_on else add_business_days(today, AWAY_DEFAULT_BUSINESS_DAYS)
    if contact.quiet_until is None or contact.quiet_until < quiet:
        contact.quiet_until = quiet


def on_bounce(session: Session, reply: InboundMail, bounce: Bounce, practice_id: int) -> None:
    """A delivery failure: the original (by the Message-ID it returns, else the latest message to
    the failed address) is marked failed with the reason, and its contact's address flagged."""
    reply.kind = InboundKind.BOUNCE
    reply.reason = bounce.reason
    if not bounce.failed:
        reply.reason = f"delayed, not failed: {bounce.reason}"
        return
    outbox = None
    if bounce.original_message_id:
        outbox = session.scalar(
            select(OutboxEmail).where(
                OutboxEmail.practice_id == practice_id, OutboxEmail.message_id == bounce.original_message_id
            )
        )
    message = None
    if outbox is not None:
        message = session.scalar(select(OutreachMessage).where(OutreachMessage.outbox_id == outbox.id))
    else:
        for address in bounce.recipients:
            message = latest_sent_to(session, practice_id, address)
            if message is not None:
                outbox = message.outbox
                break
    reason = f"The address bounced: {bounce.reason}"
    if outbox is not None:
        outbox.status = MessageStatus.FAILED
        outbox.last_error = reason
    if message is None:
        return
    _link_mail(reply, message)
    message.status = MessageStatus.FAILED
    message.error = reason
    contact = message.contact
    if contact is not None:
        contact.email_problem = reason[:1000]
        contact.email_problem_at = utcnow()


def flag_cleared(contact: Contact) -> None:
    """The address was edited: whatever bounced was the old one."""
    contact.email_problem = ""
    contact.email_problem_at = None
