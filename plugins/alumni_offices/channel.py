"""The alumni office channel: an introduction request to an institution's alumni office or career centre.

Unlike the email and LinkedIn channels, it writes to an office, not to a contact: the
draft's context is an :class:`IntroductionContext`, which adds the institution, the client's
affiliation with it, the office and how many alumni the client hopes to meet. The email goes
through the practice's outbox like any other; a practice without an email server gets a
``mailto:`` hand-off instead, as the email channel does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import has_request_context, url_for
from markupsafe import Markup
from sqlalchemy import select

from crossroads.plugin import (
    Channel,
    Delivery,
    DraftContext,
    Handoff,
    Limit,
    MessageFormat,
    MessageKind,
    MessageWarning,
    OutreachMessage,
    PracticeMail,
    TemplateText,
    Variable,
    queue_email,
    reply_to_for,
)

from .models import OFFICE_LABELS, Affiliation, Institution, Office

NAME = "alumni_office"
SUBJECT_LIMIT = Limit(warn=78, note="Subjects past about 78 characters are cut short in most inboxes.")
#: More introductions than this is a lot to ask of an office in one go.
MANY_INTRODUCTIONS = 5

DEFAULT = TemplateText(
    subject="Introductions to {{ institution.name }} alumni in {{ theme }}",
    body="""Dear {{ institution.name }} {{ office }},

{% if affiliation.programme %}I studied {{ affiliation.programme }} with you\
{% if affiliation.year %} (class of {{ affiliation.year }}){% endif %}\
{% else %}I am a former student of {{ institution.name }}{% endif %}, \
and I am now exploring a move into {{ theme }}.

Could you introduce me to {{ hoped_for }} alumni working in {{ theme }} who might spare \
{{ minutes }} minutes to tell me about their work? I am not asking for a job, only for their \
view from the inside.

Thank you for any help you can give,
{{ client.name }}
{{ client.email }}""",
)

#: The variables this channel adds to the core's (documented like :data:`templating.VARIABLES`).
VARIABLES: tuple[Variable, ...] = (
    Variable("institution.name", "the institution written to", "Riverside University"),
    Variable("office", "which of its offices, in lower case", "alumni office"),
    Variable("affiliation.programme", "what the client studied there", "BA English Literature"),
    Variable("affiliation.year", "the year they finished, if given", "2012"),
    Variable("hoped_for", "how many alumni the client hopes to meet", "3"),
)


def example_variables() -> dict[str, Any]:
    """This channel's variables with their documented examples (for previews without a request)."""
    values: dict[str, Any] = {}
    for variable in VARIABLES:
        target = values
        *parents, leaf = variable.name.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = variable.example
    return values


@dataclass
class IntroductionContext(DraftContext):
    """A draft context for a request to an office: there is no contact, but an institution."""

    institution: Institution | None = None
    affiliation: Affiliation | None = None
    office: Office = Office.ALUMNI
    hoped_for: int = 3


def office_label(office: Office) -> str:
    return OFFICE_LABELS[office].lower()


def has_mail_server(context: DraftContext) -> bool:
    return (
        context.session.scalar(select(PracticeMail.id).where(PracticeMail.practice_id == context.practice.id))
        is not None
    )


class AlumniOfficeChannel(Channel):
    name = NAME
    label = "Alumni or career office"
    description = (
        "Ask a university or training institution you studied at to introduce you to alumni in your field."
    )
    kinds = (MessageKind.INTRODUCTION_REQUEST,)
    variable_docs = VARIABLES

    def example_variables(self) -> dict[str, Any]:
        return example_variables()

    def formats(self, context: DraftContext) -> list[MessageFormat]:
        return [MessageFormat("", self.label, subject=SUBJECT_LIMIT)]

    def hands_off_in(self, context: DraftContext) -> bool:
        """Without an email server the practice cannot send: the client sends it from their own mail."""
        return not has_mail_server(context)

    def unavailable_reason(self, context: DraftContext) -> str | None:
        if context.contact is not None:
            text = "Introductions are asked of an office, not of a person you already know."
            if not has_request_context():
                return text
            url = url_for("alumni_offices.client_page", client_id=context.client.id)
            return Markup('{} <a href="{}">Ask an alumni or career office</a>.').format(text, url)
        if not isinstance(context, IntroductionContext) or context.institution is None:
            return "Choose the institution to write to."
        if not context.institution.office_email(context.office):
            return (
                f"{context.institution.name} has no {office_label(context.office)} address in the "
                "directory yet. Ask your coach to add it, or choose the other office."
            )
        return None

    def default_template(self, kind: MessageKind, format: str) -> TemplateText:
        return DEFAULT

    def variables(self, context: DraftContext) -> dict[str, Any]:
        if not isinstance(context, IntroductionContext) or context.institution is None:
            return example_variables()  # a template preview with one of the coach's contacts
        affiliation = context.affiliation
        return {
            "institution": {"name": context.institution.name},
            "office": office_label(context.office),
            "affiliation": {
                "programme": affiliation.programme if affiliation else "",
                "year": str(affiliation.year) if affiliation and affiliation.year else "",
            },
            "hoped_for": str(context.hoped_for),
        }

    def check(self, draft) -> list[MessageWarning]:
        context = draft.context
        if not isinstance(context, IntroductionContext) or context.institution is None:
            return []
        found = []
        if context.affiliation is None:
            found.append(
                MessageWarning(
                    "no_affiliation",
                    f"You have not recorded what you studied at {context.institution.name}.",
                    "Offices introduce their own alumni: your programme and year show you are one of them.",
                )
            )
        if context.hoped_for > MANY_INTRODUCTIONS:
            found.append(
                MessageWarning(
                    "many_introductions",
                    f"{context.hoped_for} introductions is a lot to ask at once; "
                    f"{MANY_INTRODUCTIONS} or fewer is easier to grant.",
                    "An office that can say yes quickly often sends more later.",
                    field="hoped_for",
                )
            )
        return found

    def deliver(self, message: OutreachMessage, context: DraftContext) -> Delivery:
        """Queue the request in the outbox: from "Client via Practice", Reply-To the client (or the
        practice's reply address, which brings the answer back here), to the office."""
        assert isinstance(context, IntroductionContext) and context.institution is not None
        institution = context.institution
        message.to_address = institution.office_email(context.office)
        message.to_name = f"{institution.name} {office_label(context.office)}"
        if not has_mail_server(context):
            return Delivery(queued=False, handoff=self.handoff(message, context))
        message.outbox = queue_email(
            context.session,
            practice_id=context.practice.id,
            client_id=context.client.id,
            sender_name=f"{context.client.name} via {context.practice.name}",
            reply_to=reply_to_for(context.session, context.practice.id, message, context.client.user.email),
            to_address=message.to_address,
            to_name=message.to_name,
            subject=message.subject,
            body=message.body,
        )
        return Delivery(queued=True)

    def handoff(self, message: OutreachMessage, context: DraftContext | None = None) -> Handoff:
        mailto = (
            f"mailto:{quote(message.to_address)}?subject={quote(message.subject)}&body={quote(message.body)}"
        )
        return Handoff(copy=True, mailto=mailto)

    def thread_parent(self, context: DraftContext) -> OutreachMessage | None:
        return None  # each request is a fresh email
