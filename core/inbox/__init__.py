"""Email coming back: replies, automatic replies and delivery failures, from IMAP or a POST.

Transports (the IMAP poller, the inbound endpoint) hand each raw message to
:func:`receive`, which records it exactly once and then works out what it
means (:mod:`.process`). The caller commits, together with its own progress
(an IMAP mailbox's last UID), so a crash between the two repeats nothing.
"""

from .receive import message_id_of, receive

__all__ = ["message_id_of", "receive"]
