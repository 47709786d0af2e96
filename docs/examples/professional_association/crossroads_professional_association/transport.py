"""The association's booking service: guest requests sent over HTTP, through Crossroads' outbox.

When the practice names the association's booking service (a setting), a guest
request is not handed to the client: the channel queues it in the outbox for
this transport, and Crossroads' worker calls :meth:`BookingService.send` with it,
retrying, recording and showing its fate as it does for email.
"""

from crossroads.plugin import Envelope, Outcome, Transport, post_json

from .settings import AssociationSettings


class BookingService(Transport):
    name = "association_booking"  # stored with every queued request: never change it
    label = "the association's booking service"

    def prepare(self, session, envelope):
        """The service's address, read when the request is sent (so a corrected address applies)."""
        return AssociationSettings.read(session, envelope.practice_id)["booking_url"]

    def send(self, envelope: Envelope) -> Outcome:
        if not envelope.prepared:
            return Outcome.failed("The practice no longer names a booking service for guest requests.")
        request = {
            "association": envelope.payload["association"],
            "to": {"name": envelope.to_name, "email": envelope.to_address},
            "subject": envelope.subject,
            "message": envelope.body,
        }
        # The key is the same on every attempt, so the service can tell a retry from a new request.
        return post_json(envelope.prepared, request, timeout=envelope.timeout, key=envelope.key)
