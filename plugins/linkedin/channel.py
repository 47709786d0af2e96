"""The LinkedIn channel: drafts only, which the client copies into LinkedIn and marks sent.

LinkedIn offers ordinary apps no messaging API and its rules forbid
automating it, so nothing here talks to LinkedIn. Crossroads drafts a
connection note, a message to a connection, or an InMail, counts it as
LinkedIn does, and hands it to the client with a Copy button and a link to
the contact's profile. Marking it sent moves the pipeline (the core does that).

Every number comes from :mod:`.limits`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from crossroads.plugin import (
    Channel,
    Client,
    Contact,
    ContactSource,
    Counting,
    Delivery,
    Draft,
    DraftContext,
    Handoff,
    Limit,
    MessageFormat,
    MessageKind,
    MessageWarning,
    OutreachMessage,
    TemplateText,
    normalise_profile_url,
)

from . import allowance
from .limits import value

NAME = "linkedin"
NOTE, MESSAGE, INMAIL = "note", "message", "inmail"
PEOPLE_SEARCH = "https://www.linkedin.com/search/results/people/"


def _count(limit: str) -> str:
    return f"{value(limit):,}"


def note_format(premium: bool) -> MessageFormat:
    if premium:
        note = f"LinkedIn allows {_count('note_premium')} characters in a note on a Premium account."
        limit = Limit(max=value("note_premium"), counting=Counting.UTF16, note=note)
    else:
        note = (
            f"LinkedIn allows {_count('note_free')} characters in a note on a free account "
            f"({_count('note_premium')} on Premium)."
        )
        limit = Limit(max=value("note_free"), counting=Counting.UTF16, note=note)
    return MessageFormat(NOTE, "Connection note", body=limit)


def message_format() -> MessageFormat:
    note = (
        f"Sources disagree on LinkedIn's limit for a message to a connection; past "
        f"{_count('message_warn')} characters it may be refused, and it is long to read anyway."
    )
    return MessageFormat(
        MESSAGE, "Message", body=Limit(warn=value("message_warn"), counting=Counting.UTF16, note=note)
    )


def inmail_format() -> MessageFormat:
    return MessageFormat(
        INMAIL,
        "InMail",
        subject=Limit(
            max=value("inmail_subject"),
            counting=Counting.UTF16,
            note=f"LinkedIn allows {_count('inmail_subject')} characters in an InMail subject.",
        ),
        body=Limit(
            max=value("inmail_body"),
            counting=Counting.UTF16,
            note=f"LinkedIn allows {_count('inmail_body')} characters in an InMail (Premium only).",
        ),
    )


# The default wording. The connection note has to fit a free account's 200 characters with long
# names, so it uses the channel's short connection sentence (see ``LinkedInChannel.variables``) and
# no sign-off (LinkedIn shows who it is from). It still carries what the method asks: how the client
# knows of them first, a 20-minute ask as a question, and that it is not a job request. It leaves out
# who the client is (LinkedIn shows their name and headline beside it) and why this person's field.
_NOTE_BODY = (
    "Hi {{ contact.first_name }},\n{{ connection }} I'm exploring {{ theme }}: "
    "could we talk for {{ minutes }} minutes? Not a job request."
)

_FIRST_REQUEST_BODY = """Hi {{ contact.first_name }},

{{ connection }} I'm {{ client.first_name }}, and I'm thinking of moving into {{ theme }}. \
{% if contact.position %}Hearing how you see it as {{ contact.a_position }}{% else %}Hearing how you see it \
from the inside{% endif %} would help me more than anything I can read.

Would you have {{ minutes }} minutes for a call in the next couple of weeks? \
I'm not asking about jobs: only for your view of the work.

Thank you,
{{ client.first_name }}"""

_FOLLOW_UP_BODY = """Hi {{ contact.first_name }},

Messages here pile up, so I'm following up on my note about {{ theme }}. \
Would {{ minutes }} minutes in the next few weeks suit you? A quick call at whatever time is easiest.

Thank you,
{{ client.first_name }}"""

_THANK_YOU_BODY = """Hi {{ contact.first_name }},

Thank you for talking with me{% if conversation.date %} on {{ conversation.date }}{% endif %}. \
What you said about {{ theme }} has given me plenty to think about, and a clearer idea of where to look next.

If someone else comes to mind whom I should talk to, I would be glad of an introduction.

With thanks,
{{ client.first_name }}"""

DEFAULTS: dict[tuple[MessageKind, str], TemplateText] = {
    (MessageKind.FIRST_REQUEST, NOTE): TemplateText("", _NOTE_BODY),
    (MessageKind.FIRST_REQUEST, MESSAGE): TemplateText("", _FIRST_REQUEST_BODY),
    (MessageKind.FIRST_REQUEST, INMAIL): TemplateText(
        "{{ minutes }} minutes on {{ theme }}?", _FIRST_REQUEST_BODY
    ),
    (MessageKind.FOLLOW_UP, MESSAGE): TemplateText("", _FOLLOW_UP_BODY),
    (MessageKind.FOLLOW_UP, INMAIL): TemplateText("Following up: {{ theme }}", _FOLLOW_UP_BODY),
    (MessageKind.THANK_YOU, MESSAGE): TemplateText("", _THANK_YOU_BODY),
    (MessageKind.THANK_YOU, INMAIL): TemplateText("Thank you, {{ contact.first_name }}", _THANK_YOU_BODY),
}


def short_connection(contact: Contact, client: Client) -> str:
    """How the client knows of ``contact``, short enough for a 200-character note.

    The same facts as the core's ``connection`` sentence, in fewer words. For a contact
    added by hand nobody but the client knows, so, like the core, it leaves a gap in
    brackets, which the method's "fill in the part in brackets" check points out.
    """
    if contact.referred_by is not None:
        return f"{contact.referred_by.name} suggested I write."
    if contact.source == ContactSource.COACH:
        return "My coach suggested I write."
    if contact.source == ContactSource.ALUMNI:
        return "Your alumni office passed on your name."
    if contact.source == ContactSource.ASSOCIATION:
        return "We're in the same professional association."
    if contact.source == ContactSource.LINKEDIN:
        return "We're connected on LinkedIn."
    # Only the client knows how they came across this person: a short gap for them to fill in.
    return "[Who suggested you, or where you met]"


def is_connection(contact: Contact | None) -> bool:
    """Whether the contact is already a 1st-degree connection (came from the client's export)."""
    return contact is not None and (
        contact.connected_on is not None or contact.source == ContactSource.LINKEDIN
    )


def first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


def has_profile(contact: Contact) -> bool:
    return bool(contact.linkedin_url and normalise_profile_url(contact.linkedin_url))


def profile_url(contact: Contact) -> str:
    """The contact's profile, or a LinkedIn people search for their name and organisation."""
    if has_profile(contact):
        return normalise_profile_url(contact.linkedin_url)
    keywords = " ".join(part for part in (contact.name, contact.organisation) if part.strip())
    return f"{PEOPLE_SEARCH}?{urlencode({'keywords': keywords})}"


class LinkedInChannel(Channel):
    name = NAME
    label = "LinkedIn"
    description = (
        "A connection note, a message or an InMail for you to copy into LinkedIn and send yourself: "
        "LinkedIn lets no app send for you."
    )
    kinds = (MessageKind.FIRST_REQUEST, MessageKind.FOLLOW_UP, MessageKind.THANK_YOU)
    hands_off = True

    def formats(self, context: DraftContext) -> list[MessageFormat]:
        """A first request: a connection note (a message first, to an existing connection), or an InMail.

        Later messages go to someone who has accepted (a message) or by InMail.
        """
        if context.kind != MessageKind.FIRST_REQUEST:
            return [message_format(), inmail_format()]
        # No client when a coach lists templates before the practice has any: a free account's limits.
        premium = context.client is not None and allowance.is_premium(context.session, context.client)
        note = note_format(premium)
        if is_connection(context.contact):
            return [message_format(), note, inmail_format()]
        return [note, message_format(), inmail_format()]

    def default_template(self, kind: MessageKind, format: str) -> TemplateText:
        """The wording for ``kind`` in ``format``; an unknown format gets that kind's message."""
        return DEFAULTS.get((kind, format)) or DEFAULTS[(kind, MESSAGE)]

    def variables(self, context: DraftContext) -> dict[str, Any]:
        """In a connection note, ``connection`` is a shorter sentence, so the note fits."""
        if context.format == NOTE and context.contact is not None:
            return {"connection": short_connection(context.contact, context.client)}
        return {}

    def core_checks(self, context: DraftContext) -> dict[str, dict[str, Any] | None]:
        """In a connection note, LinkedIn's character limit is the length check: not the core's word count.

        A note past 200 (or 300) characters already gets "Does not fit"; the core's "aim for under
        100 words" would be a second warning about the same length. Messages and InMails keep it.
        """
        if context.format == NOTE:
            return {"long_request": None}
        return {}

    def check(self, draft: Draft) -> list[MessageWarning]:
        """A note when a free account has used this month's personalised notes: suggest another way."""
        context = draft.context
        if context.format != NOTE:
            return []
        state = allowance.allowance(context.session, context.client)
        if not state.used_up:
            return []
        name = context.contact.name if context.contact is not None else "them"
        email = (
            f"email {name} (you have their address)"
            if context.contact is not None and context.contact.email
            else f"find {name}'s email address and email them"
        )
        return [
            MessageWarning(
                "linkedin_notes_used",
                f"You have marked {state.used} personalised notes sent this month, about all LinkedIn "
                f"allows a free account ({state.monthly}). Instead, {email}, or ask for an introduction: "
                "your alumni office or someone you both know can make one.",
                "Past the allowance LinkedIn may send the invitation without your note, and a bare "
                "invitation from a stranger is rarely accepted.",
            )
        ]

    def deliver(self, message: OutreachMessage, context: DraftContext) -> Delivery:
        """Nothing is sent: the client copies the draft into LinkedIn."""
        return Delivery(queued=False, handoff=self.handoff(message, context))

    def handoff(self, message: OutreachMessage, context: DraftContext) -> Handoff:
        contact = context.contact
        if contact is None:
            return Handoff(copy=True)
        name = first_name(contact.name)
        if has_profile(contact):
            return Handoff(
                copy=True, open_url=profile_url(contact), open_label=f"Open {name}'s LinkedIn profile"
            )
        # No profile address yet: a people search for their name and organisation, labelled as one.
        return Handoff(copy=True, open_url=profile_url(contact), open_label=f"Find {name} on LinkedIn")
