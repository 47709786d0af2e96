"""The email channel's contract with Crossroads: formats, default wording, delivery and threading."""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import select

from crossroads.plugin import (
    Channel,
    Delivery,
    DraftContext,
    Handoff,
    Limit,
    MessageFormat,
    MessageKind,
    OutreachMessage,
    PracticeMail,
    TemplateText,
    queue_email,
    reply_to_for,
)

NAME = "email"
SUBJECT_LIMIT = Limit(warn=78, note="Subjects past about 78 characters are cut short in most inboxes.")

DEFAULTS = {
    MessageKind.FIRST_REQUEST: TemplateText(
        subject="A question about {{ theme }}",
        body="""Dear {{ contact.first_name }},

{{ connection }} I'm {{ client.first_name }}, and I'm exploring a move into {{ theme }}. \
{% if contact.position %}Your experience as {{ contact.a_position }}\
{% else %}Your experience in the field{% endif %} is just what I would love to learn from.

Would you have {{ minutes }} minutes for a short call in the next couple of weeks? \
I'm not looking for a job: I'd simply value your view of the work from the inside.

With thanks,
{{ client.name }}""",
    ),
    MessageKind.FOLLOW_UP: TemplateText(
        subject="Re: {{ earlier.subject or 'A question about ' ~ theme }}",
        body="""Dear {{ contact.first_name }},

I know how full inboxes get, so I'm following up on my note about {{ theme }}. \
Would {{ minutes }} minutes in the next few weeks suit you? A phone call is just as good.

Thank you for considering it,
{{ client.first_name }}""",
    ),
    MessageKind.THANK_YOU: TemplateText(
        subject="Thank you{% if earlier.subject %}: {{ earlier.subject }}{% endif %}",
        body="""Dear {{ contact.first_name }},

Thank you for talking with me{% if conversation.date %} on {{ conversation.date }}{% endif %}. \
Hearing how you see {{ theme }} from the inside gave me a great deal to think about.

If someone else comes to mind whom I should speak to, I would be grateful for an introduction.

With thanks,
{{ client.first_name }}""",
    ),
}


def practice_mail(context: DraftContext) -> PracticeMail | None:
    return context.session.scalar(select(PracticeMail).where(PracticeMail.practice_id == context.practice.id))


def sender_name(context: DraftContext) -> str:
    """ "Client Name via Practice": honest about who writes and through whom."""
    return f"{context.client.name} via {context.practice.name}"


class EmailChannel(Channel):
    name = NAME
    label = "Email"
    description = "Best when you have their address: it threads, and a calendar invitation can follow."
    kinds = (MessageKind.FIRST_REQUEST, MessageKind.FOLLOW_UP, MessageKind.THANK_YOU)

    def formats(self, context: DraftContext) -> list[MessageFormat]:
        return [MessageFormat("", "Email", subject=SUBJECT_LIMIT)]

    def unavailable_reason(self, context: DraftContext) -> str | None:
        if context.contact is not None and not context.contact.email:
            return f"There is no email address for {context.contact.name} yet."
        return None

    def hands_off_in(self, context: DraftContext) -> bool:
        """Without an email server the practice cannot send: the client sends it from their own mail."""
        return practice_mail(context) is None

    def default_template(self, kind: MessageKind, format: str) -> TemplateText:
        return DEFAULTS[kind]

    def deliver(self, message: OutreachMessage, context: DraftContext) -> Delivery:
        """Queue the email in the outbox, threaded after the earlier one.

        A practice without an email server gets a hand-off instead: the client's own mail program.
        """
        contact = context.contact
        message.to_address = contact.email
        if practice_mail(context) is None:
            return Delivery(queued=False, handoff=self.handoff(message, context))
        parent = message.in_reply_to.outbox if message.in_reply_to is not None else None
        email = queue_email(
            context.session,
            practice_id=context.practice.id,
            client_id=context.client.id,
            sender_name=sender_name(context),
            reply_to=reply_to_for(context.session, context.practice.id, message, context.client.user.email),
            to_address=contact.email,
            to_name=contact.name,
            subject=message.subject,
            body=message.body,
            in_reply_to=parent.message_id if parent else "",
            references=f"{parent.references} {parent.message_id}".strip() if parent else "",
        )
        message.outbox = email
        return Delivery(queued=True)

    def handoff(self, message: OutreachMessage, context: DraftContext) -> Handoff:
        mailto = (
            f"mailto:{quote(message.to_address)}?subject={quote(message.subject)}&body={quote(message.body)}"
        )
        return Handoff(copy=True, mailto=mailto)

    def thread_parent(self, context: DraftContext) -> OutreachMessage | None:
        """The latest earlier email that went through the outbox (threading needs its Message-ID)."""
        emailed = [m for m in context.earlier if m.outbox is not None]
        return emailed[-1] if emailed else None
