"""The guest request channel: a short email asking an association's events contact for a guest place.

The client sends it from their own mail program (a hand-off): Crossroads drafts
it, checks it, and offers Copy and "Open in your mail program"; the client
then marks it sent, which moves the contact along the pipeline. A practice that
names the association's booking service sends it there instead, through the
outbox and this plugin's own transport (``transport.py``).
"""

from urllib.parse import quote

from crossroads.plugin import (
    Channel,
    ContactSource,
    Delivery,
    Handoff,
    Limit,
    MessageFormat,
    MessageKind,
    TemplateText,
    Variable,
    queue_outbox,
)

from .settings import AssociationSettings
from .transport import BookingService

NAME = "association_guest"  # stored with every message and template: never change it

DEFAULTS = {
    MessageKind.FIRST_REQUEST: TemplateText(
        subject="Coming to a {{ association }} meeting as a guest?",
        body="""Dear {{ contact.first_name }},

{{ connection }} I'm {{ client.first_name }}, and I'm exploring a move into {{ theme }}. \
The people at {{ association }}'s meetings are just the people I would love to learn from.

Could I come to one of your next meetings as a guest? I'm not looking for a job: only to listen \
and to meet a few people who do the work.

{{ sign_off }},
{{ client.name }}""",
    ),
    MessageKind.THANK_YOU: TemplateText(
        subject="Thank you for having me at {{ association }}",
        body="""Dear {{ contact.first_name }},

Thank you for letting me come as a guest. I met people I could never have found on my own, \
and I now have a much clearer picture of {{ theme }}.

{{ sign_off }},
{{ client.name }}""",
    ),
}


class GuestRequestChannel(Channel):
    name = NAME
    label = "Professional association (guest request)"
    description = "Ask an association's events contact whether you may come to a meeting as a guest."
    kinds = (MessageKind.FIRST_REQUEST, MessageKind.THANK_YOU)
    hands_off = True  # the client sends it themselves, then marks it sent (unless hands_off_in says not)
    transport = BookingService()
    variable_docs = (
        Variable("association", "the association written to", "Society of Magazine Editors"),
        Variable("sign_off", "the practice's sign-off", "With thanks"),
    )

    def formats(self, context):
        return [
            MessageFormat(
                "guest_request",
                "Guest request",
                subject=Limit(warn=78, note="Subjects past about 78 characters are cut short."),
                body=Limit(warn=1200, note="Events contacts read many of these: keep it short."),
            )
        ]

    def unavailable_reason(self, context):
        if context.contact is None or context.contact.source != ContactSource.ASSOCIATION:
            return "Guest requests go to contacts you found through a professional association."
        return None

    def default_template(self, kind, format):
        return DEFAULTS[kind]

    def variables(self, context):
        settings = AssociationSettings.read(context.session, context.practice.id)
        organisation = context.contact.organisation if context.contact else ""
        return {
            "association": organisation or settings["association_name"] or "your association",
            "sign_off": settings["sign_off"],
        }

    def example_variables(self):
        return {variable.name: variable.example for variable in self.variable_docs}

    def hands_off_in(self, context):
        """Sent by the booking service when the practice names one; otherwise by the client."""
        return not AssociationSettings.read(context.session, context.practice.id)["booking_url"]

    def deliver(self, message, context):
        message.to_address = context.contact.email
        if self.hands_off_in(context):
            return Delivery(queued=False, handoff=self.handoff(message, context))
        message.outbox = queue_outbox(
            context.session,
            self.transport.name,
            practice_id=context.practice.id,
            client_id=context.client.id,
            to_address=message.to_address,
            to_name=message.to_name,
            subject=message.subject,
            body=message.body,
            payload={"association": self.variables(context)["association"]},
        )
        return Delivery(queued=True)

    def handoff(self, message, context):
        if not message.to_address:
            return Handoff(copy=True)
        mailto = (
            f"mailto:{quote(message.to_address)}?subject={quote(message.subject)}&body={quote(message.body)}"
        )
        return Handoff(copy=True, mailto=mailto)
