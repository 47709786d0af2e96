"""Outreach: drafting a message on a channel, checking it, sending it, and what follows.

Channels come from plugins (see :mod:`crossroads.core.outreach.channels`); the web
layer passes the ones on for the practice as ``channels``, a dict by name.
Only the client writes and sends their own outreach; their coach reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from .. import events
from ..db import utcnow
from ..errors import Forbidden, InvalidInput, NotFound
from ..locking import lock_client
from ..mail.outbox import queue_email
from ..models import (
    KIND_LABELS,
    CareerTheme,
    Client,
    Contact,
    ContactSource,
    Conversation,
    ConversationStatus,
    InboundKind,
    InboundMail,
    MessageKind,
    MessageStatus,
    MessageTemplate,
    OutreachMessage,
    Practice,
    PracticeMail,
    Role,
    Stage,
    User,
)
from ..pagination import Page, paginate
from ..scoping import Scope
from ..services import contacts as contact_service
from ..services.activity import touch
from ..text import with_article
from . import templating
from .channels import Channel, Delivery, Draft, DraftContext, MessageFormat, MessageWarning, TemplateText
from .checks import core_check_settings, limit_warnings, method_warnings

#: Extra checks from plugins: the web layer passes a function that calls the ``message_checks`` hook.
ExtraChecks = Callable[[Draft], list[MessageWarning]]

DEFAULT_MINUTES = 20
#: What a contact's stage suggests writing next.
NEXT_KIND = {
    Stage.IDENTIFIED: MessageKind.FIRST_REQUEST,
    Stage.RESEARCHED: MessageKind.FIRST_REQUEST,
    Stage.REQUESTED: MessageKind.FOLLOW_UP,
    Stage.TALKED: MessageKind.THANK_YOU,
}
# Statuses in which a message counts as on its way or gone (a failed one does not).
LIVE = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.UNKNOWN)


def channel_for(channels: Mapping[str, Channel], name: str) -> Channel:
    """The named channel if it is on for this practice; :class:`InvalidInput` names the field otherwise."""
    channel = channels.get(name)
    if channel is None:
        raise InvalidInput({"channel": ["Choose one of the channels your practice offers."]})
    return channel


def format_for(channel: Channel, context: DraftContext) -> MessageFormat:
    """The chosen format of ``channel``, or its first when none or an unknown one is named."""
    formats = channel.formats(context)
    return next((f for f in formats if f.name == context.format), formats[0])


def earlier_messages(scope: Scope, contact: Contact, channel: str) -> list[OutreachMessage]:
    """Messages already on their way or sent to ``contact`` on ``channel``, oldest first."""
    return list(
        scope.session.scalars(
            scope.select(OutreachMessage)
            .where(
                OutreachMessage.contact_id == contact.id,
                OutreachMessage.channel == channel,
                OutreachMessage.kind != MessageKind.INVITATION,
                OutreachMessage.status.in_(LIVE + (MessageStatus.HANDED_OFF,)),
            )
            .order_by(OutreachMessage.created_at, OutreachMessage.id)
        )
    )


def draft_context(
    scope: Scope, contact_id: int, channel: Channel, kind: MessageKind | str, fmt: str = ""
) -> DraftContext:
    """The context for writing to a contact: who, about which theme, after which earlier messages."""
    contact = scope.get(Contact, contact_id)
    try:
        kind = MessageKind(kind)
    except ValueError:
        raise InvalidInput({"kind": ["Choose what kind of message this is."]}) from None
    if kind not in channel.kinds:
        raise InvalidInput({"kind": [f"{channel.label} does not carry this kind of message."]})
    themes = [t for t in contact.themes if t.status.value in ("exploring", "chosen")]
    context = DraftContext(
        session=scope.session,
        practice=contact.client.practice,
        client=contact.client,
        sender=scope.user,
        kind=kind,
        format=fmt,
        contact=contact,
        theme=themes[0] if themes else None,
        earlier=earlier_messages(scope, contact, channel.name),
        channel=channel.name,
    )
    context.format = format_for(channel, context).name
    return context


def connection_sentence(contact: Contact, client: Client) -> str:
    """How the client knows of ``contact``, as a first sentence a template can use."""
    if contact.referred_by is not None:
        return f"{contact.referred_by.name} suggested I get in touch with you."
    if contact.source == ContactSource.COACH:
        return f"My career coach, {client.coach.name}, suggested I get in touch with you."
    if contact.source == ContactSource.LINKEDIN:
        return "We are connected on LinkedIn, and I have followed your work with interest."
    if contact.source == ContactSource.ALUMNI:
        return "Your alumni office kindly passed on your name."
    if contact.source == ContactSource.ASSOCIATION:
        return "We are both part of the same professional association."
    # Only the client knows how they came across this person: leave them a gap to fill in.
    return f"[How you know of {_first_name(contact.name)}: who suggested them, where you met, what you read.]"


def _first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


def variables(context: DraftContext, channel: Channel) -> dict[str, Any]:
    """The template variables for ``context`` (documented in :data:`templating.VARIABLES`)."""
    client, contact = context.client, context.contact
    zone = ZoneInfo(client.user.timezone)
    latest = _latest_conversation(context)
    values: dict[str, Any] = {
        "client": {"name": client.name, "first_name": _first_name(client.name), "email": client.user.email},
        "contact": {
            "name": contact.name if contact else "",
            "first_name": _first_name(contact.name) if contact else "",
            "organisation": contact.organisation if contact else "",
            "position": contact.position if contact else "",
            "a_position": with_article(contact.position) if contact else "",
        },
        "connection": connection_sentence(contact, client) if contact else "",
        "theme": context.theme.title.lower() if context.theme else "this field",
        "minutes": str(DEFAULT_MINUTES),
        "coach": {"name": client.coach.name},
        "practice": {"name": context.practice.name},
        "conversation": {
            "date": latest.starts_at.astimezone(zone).strftime("%A %-d %B") if latest else "",
        },
        "earlier": {"subject": context.earlier[-1].subject if context.earlier else ""},
    }
    values.update(channel.variables(context))
    return values


def _latest_conversation(context: DraftContext) -> Conversation | None:
    if context.contact is None:
        return None
    return context.session.scalar(
        select(Conversation)
        .where(
            Conversation.contact_id == context.contact.id,
            Conversation.status != ConversationStatus.CANCELLED,
        )
        .order_by(Conversation.starts_at.desc())
        .limit(1)
    )


def template_row(scope: Scope, channel: Channel, kind: MessageKind, fmt: str) -> MessageTemplate | None:
    """The practice's own template for this channel, kind and format, if it wrote one."""
    return scope.session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.practice_id == scope.practice_id,
            MessageTemplate.channel == channel.name,
            MessageTemplate.kind == kind,
            MessageTemplate.format == fmt,
        )
    )


def template_for(scope: Scope, channel: Channel, kind: MessageKind, fmt: str) -> TemplateText:
    """The practice's template for this channel, kind and format, or the channel's default."""
    row = template_row(scope, channel, kind, fmt)
    if row is not None:
        return TemplateText(row.subject, row.body)
    return channel.default_template(kind, fmt)


def initial_draft(scope: Scope, channel: Channel, context: DraftContext) -> TemplateText:
    """The draft a client starts from; a practice template that fails falls back to the channel's default.

    The failure is kept on the template for coaches to see, and the owners are emailed the first time.
    """
    values = variables(context, channel)
    row = template_row(scope, channel, context.kind, context.format)
    if row is not None:
        try:
            return templating.render(TemplateText(row.subject, row.body), values)
        except InvalidInput as exc:
            _template_failed(scope, channel, row, exc)
    return templating.render(channel.default_template(context.kind, context.format), values)


def _template_failed(scope: Scope, channel: Channel, row: MessageTemplate, exc: InvalidInput) -> None:
    problem = " ".join(f"{field.capitalize()}: {' '.join(msgs)}" for field, msgs in exc.errors.items())
    # Only the first failure since the template was saved is recorded and emailed, however many drafts fail.
    first = scope.session.execute(
        update(MessageTemplate)
        .where(MessageTemplate.id == row.id, MessageTemplate.problem == "")
        .values(problem=problem[:2000], problem_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if first:
        _email_owners_about(scope, channel, row, problem)
    scope.session.commit()


def _email_owners_about(scope: Scope, channel: Channel, row: MessageTemplate, problem: str) -> None:
    practice = scope.session.get(Practice, row.practice_id)
    from_address = scope.session.scalar(
        select(PracticeMail.from_address).where(PracticeMail.practice_id == row.practice_id)
    )
    if practice is None or from_address is None:
        return  # no email server: the templates page says it
    owners = scope.session.scalars(
        select(User).where(User.practice_id == row.practice_id, User.role == Role.OWNER, User.is_active)
    )
    name = f"{channel.label}: {KIND_LABELS[MessageKind(row.kind)]}"
    name += f" ({row.format})" if row.format else ""
    for owner in owners:
        queue_email(
            scope.session,
            practice_id=row.practice_id,
            client_id=None,
            sender_name=f"Crossroads for {practice.name}",
            reply_to="",
            to_address=owner.email,
            to_name=owner.name,
            subject=f"A message template failed: {name}",
            body=(
                f"Hello {owner.name},\n\n"
                f'The practice\'s template "{name}" failed when a client opened a draft from it, so '
                f"clients get {channel.label}'s default wording instead until it is fixed.\n\n"
                f"Why: {problem}\n\n"
                "Open Message templates in Crossroads to see it, and save it again once fixed.\n\n"
                "Crossroads\n"
            ),
            from_address=from_address,
        )


def warnings(channel: Channel, draft: Draft, extra_checks: ExtraChecks | None = None) -> list[MessageWarning]:
    """Every warning for ``draft``: the format's limits, the method, the channel, then plugins.

    The method's checks are those ``channel.core_checks`` leaves on, with its settings. Every
    check sees a draft that names ``channel`` and the format it is in (``draft.channel``,
    ``draft.format``), whoever built it.
    """
    fmt = format_for(channel, draft.context)
    if (draft.channel, draft.format) != (channel.name, fmt.name):
        draft = replace(draft, context=replace(draft.context, channel=channel.name, format=fmt.name))
    found = limit_warnings(fmt, draft.subject, draft.body)
    found += method_warnings(draft, core_check_settings(channel.core_checks(draft.context)))
    found += channel.check(draft)
    if extra_checks is not None:
        found += extra_checks(draft)
    return found


def _require_client(scope: Scope) -> None:
    if scope.user.role != Role.CLIENT:
        raise Forbidden("outreach is written and sent by the client")


def send(
    scope: Scope,
    channels: Mapping[str, Channel],
    contact_id: int,
    data: dict[str, Any],
    extra_checks: ExtraChecks | None = None,
) -> OutreachMessage:
    """Send (or hand off) a message the client wrote (data from ``OutreachSchema``).

    The warnings at the moment of sending are kept with the message. A queued
    message moves the pipeline now, because sending is the client's act; a
    handed-off one moves it when the client marks it sent.
    """
    _require_client(scope)
    channel = channel_for(channels, data["channel"])
    context = draft_context(scope, contact_id, channel, data["kind"], data.get("format", ""))
    if reason := channel.unavailable_reason(context):
        raise InvalidInput({"channel": [reason]})
    fmt = format_for(channel, context)
    subject = data.get("subject", "") if fmt.subject is not None else ""
    if fmt.subject is not None and not subject.strip():
        raise InvalidInput({"subject": ["Write a subject line."]})
    draft = Draft(context, subject, data["body"])
    contact = context.contact
    message = OutreachMessage(
        practice_id=contact.practice_id,
        client_id=contact.client_id,
        contact=contact,
        channel=channel.name,
        kind=context.kind,
        format=fmt.name,
        subject=subject,
        body=data["body"],
        to_name=contact.name,
        status=MessageStatus.HANDED_OFF,
        warnings=[{"code": w.code, "message": w.message} for w in warnings(channel, draft, extra_checks)],
        in_reply_to=channel.thread_parent(context),
        created_by_id=scope.user.id,
    )
    scope.session.add(message)
    delivery: Delivery = channel.deliver(message, context)
    message.status = MessageStatus.QUEUED if delivery.queued else MessageStatus.HANDED_OFF
    touch(contact.client)
    if delivery.queued:
        _advance_pipeline(scope, message)
    scope.session.commit()
    return message


def _advance_pipeline(scope: Scope, message: OutreachMessage, now: datetime | None = None) -> None:
    """Move the contact along for a message on its way: requested, a follow-up counted, or thanked."""
    contact = message.contact
    if contact is None:
        return
    now = now or utcnow()
    if message.kind == MessageKind.FIRST_REQUEST and contact.stage in (Stage.IDENTIFIED, Stage.RESEARCHED):
        contact_service.stage_move(scope, contact, Stage.REQUESTED, now)
    elif message.kind == MessageKind.FOLLOW_UP and contact.stage == Stage.REQUESTED:
        contact_service.count_follow_up(scope, contact, now)
    elif message.kind == MessageKind.THANK_YOU and contact.stage == Stage.TALKED:
        contact_service.stage_move(scope, contact, Stage.THANKED, now)


def _own_message(scope: Scope, message_id: int) -> OutreachMessage:
    """The client's message, read again under the client's lock: its status decides what follows."""
    message = scope.get(OutreachMessage, message_id)
    _require_client(scope)
    lock_client(scope.session, message.client_id)
    scope.session.refresh(message)
    return message


def mark_sent(scope: Scope, message_id: int) -> OutreachMessage:
    """The client sent a handed-off message themselves (or found an unknown one in their sent mail)."""
    message = _own_message(scope, message_id)
    if message.status not in (MessageStatus.HANDED_OFF, MessageStatus.UNKNOWN):
        raise InvalidInput(
            {"status": ["Only a message waiting for you, or one of unknown fate, can be marked sent."]}
        )
    was_handed_off = message.status == MessageStatus.HANDED_OFF
    message.status = MessageStatus.SENT
    message.sent_at = utcnow()
    message.error = ""
    if message.outbox is not None:
        message.outbox.status = MessageStatus.SENT
        message.outbox.sent_at = message.sent_at
    if was_handed_off:
        _advance_pipeline(scope, message, message.sent_at)
    touch(message.client)
    events.fire(scope.session, "message_sent", message.practice_id, message=message)
    scope.session.commit()
    return message


def mark_replied(scope: Scope, message_id: int) -> OutreachMessage:
    """The contact answered: the message counts as replied and the contact moves to "replied"."""
    message = _own_message(scope, message_id)
    if message.status != MessageStatus.SENT:
        raise InvalidInput({"status": ["Mark a reply on a message that was sent."]})
    message.replied_at = message.replied_at or utcnow()
    contact = message.contact
    if contact is not None and contact.stage == Stage.REQUESTED:
        contact_service.stage_move(scope, contact, Stage.REPLIED, message.replied_at)
    touch(message.client)
    scope.session.commit()
    return message


def message_for(scope: Scope, message_id: int) -> OutreachMessage:
    """One message the user may see."""
    return scope.get(OutreachMessage, message_id)


def thread(scope: Scope, message: OutreachMessage) -> list[OutreachMessage]:
    """The message and every other message to the same contact, oldest first."""
    if message.contact_id is None:
        return [message]
    return list(
        scope.session.scalars(
            scope.select(OutreachMessage)
            .where(OutreachMessage.contact_id == message.contact_id)
            .order_by(OutreachMessage.created_at, OutreachMessage.id)
        )
    )


def for_contact(scope: Scope, contact: Contact) -> list[OutreachMessage]:
    """Every message to ``contact``, newest first."""
    return list(
        scope.session.scalars(
            scope.select(OutreachMessage)
            .where(OutreachMessage.contact_id == contact.id)
            .order_by(OutreachMessage.created_at.desc(), OutreachMessage.id.desc())
        )
    )


def for_client(scope: Scope, client_id: int, params: dict[str, Any]) -> Page[OutreachMessage]:
    """A client's messages, newest first, filtered by status and channel (``MessageQuerySchema``)."""
    client = scope.get(Client, client_id)
    query = (
        scope.select(OutreachMessage)
        .where(OutreachMessage.client_id == client.id)
        .options(selectinload(OutreachMessage.contact))
        .order_by(OutreachMessage.created_at.desc(), OutreachMessage.id.desc())
    )
    if params.get("status"):
        query = query.where(OutreachMessage.status == params["status"])
    if params.get("channel"):
        query = query.where(OutreachMessage.channel == params["channel"])
    return paginate(scope.session, query, params["page"], params["per_page"])


def needing_attention(scope: Scope, client_id: int) -> list[OutreachMessage]:
    """Messages the client should look at: failed, unknown, or waiting to be sent by hand."""
    return list(
        scope.session.scalars(
            scope.select(OutreachMessage)
            .where(
                OutreachMessage.client_id == client_id,
                OutreachMessage.status.in_(
                    [MessageStatus.FAILED, MessageStatus.UNKNOWN, MessageStatus.HANDED_OFF]
                ),
            )
            .options(selectinload(OutreachMessage.contact))
            .order_by(OutreachMessage.created_at.desc())
            .limit(20)
        )
    )


# Templates, kept by coaches for the whole practice


def _require_staff(scope: Scope) -> None:
    if not scope.user.is_staff:
        raise NotFound("message templates")


def save_template(
    scope: Scope, channel: Channel, kind: MessageKind, fmt: str, data: dict[str, Any]
) -> MessageTemplate:
    """A coach saves the practice's wording (data from ``TemplateSchema``), checked by rendering it."""
    _require_staff(scope)
    text = TemplateText(data.get("subject", ""), data["body"])
    examples = {**templating.example_variables(), **channel.example_variables()}
    templating.render(text, examples)  # refuse a template that cannot render
    row = scope.session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.practice_id == scope.practice_id,
            MessageTemplate.channel == channel.name,
            MessageTemplate.kind == kind,
            MessageTemplate.format == fmt,
        )
    )
    if row is None:
        row = MessageTemplate(practice_id=scope.practice_id, channel=channel.name, kind=kind, format=fmt)
        scope.session.add(row)
    row.subject, row.body, row.updated_by_id = text.subject, text.body, scope.user.id
    row.problem, row.problem_at = "", None
    scope.session.commit()
    return row


def customised_templates(scope: Scope) -> dict[tuple[str, str, str], str]:
    """(channel, kind, format) of every template the practice has written its own wording for,
    each with why it last failed on a client's draft ("" when it has not)."""
    _require_staff(scope)
    rows = scope.session.execute(
        select(
            MessageTemplate.channel, MessageTemplate.kind, MessageTemplate.format, MessageTemplate.problem
        ).where(MessageTemplate.practice_id == scope.practice_id)
    )
    return {(channel, MessageKind(kind).value, fmt): problem for channel, kind, fmt, problem in rows}


def preview_context(scope: Scope, kind: MessageKind) -> DraftContext | None:
    """A context for previewing templates: the user's first client's first contact, if any."""
    contact = scope.session.scalar(scope.select(Contact).order_by(Contact.id).limit(1))
    if contact is None:
        return None
    theme = scope.session.scalar(
        scope.select(CareerTheme).where(CareerTheme.client_id == contact.client_id).limit(1)
    )
    return DraftContext(
        session=scope.session,
        practice=contact.client.practice,
        client=contact.client,
        sender=scope.user,
        kind=kind,
        format="",
        contact=contact,
        theme=theme,
    )


# Answers that came back by email (crossroads.core.inbox)

#: The kinds of incoming email shown with a thread: answers and automatic replies.
SHOWN_REPLIES = (InboundKind.REPLY, InboundKind.AUTO_REPLY)


def replies_to(scope: Scope, message_ids: list[int]) -> list[InboundMail]:
    """The answers and automatic replies to these messages that the user may see, oldest first."""
    if not message_ids:
        return []
    return list(
        scope.session.scalars(
            scope.select(InboundMail)
            .where(InboundMail.outreach_message_id.in_(message_ids), InboundMail.kind.in_(SHOWN_REPLIES))
            .order_by(InboundMail.received_at, InboundMail.id)
        )
    )


def recent_replies(scope: Scope, client_id: int, limit: int = 5) -> list[InboundMail]:
    """A client's latest answers that came back by email, newest first."""
    client = scope.get(Client, client_id)
    return list(
        scope.session.scalars(
            scope.select(InboundMail)
            .where(InboundMail.client_id == client.id, InboundMail.kind == InboundKind.REPLY)
            .options(selectinload(InboundMail.contact), selectinload(InboundMail.outreach_message))
            .order_by(InboundMail.received_at.desc(), InboundMail.id.desc())
            .limit(limit)
        )
    )
