"""Email coming back: replies, automatic replies and delivery failures, from IMAP or a POST.

Transports (the IMAP poller, the inbound endpoint) only :func:`record` each raw message, exactly
once per practice and Message-ID, and commit it with their own progress (an IMAP mailbox's last
UID), so a crash between the two repeats nothing. The worker then processes what was recorded
(:func:`~.pending.process_pending`: what it means, :mod:`.process`), each message once, in its
own transaction. :func:`receive` records and processes one message at once.
"""

from .pending import process_pending
from .receive import Incoming, message_id_of, receive, record

__all__ = ["Incoming", "message_id_of", "process_pending", "receive", "record"]
