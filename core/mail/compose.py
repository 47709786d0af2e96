"""Turning an outbox row into the email that goes over the wire.

The client's words go out from the practice's address under the client's name
("Priya Shah via Northbridge Coaching" <hello@northbridge.example>), so the
practice's server may send it and its SPF/DKIM records vouch for it; replies
go straight to the client through Reply-To. Follow-ups and thank-yous carry
In-Reply-To and References so mail programs show one thread.
"""

from __future__ import annotations

import uuid
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP

from ..db import utcnow
from ..models import OutboxEmail

#: Lines end in CRLF; bodies that are not plain ASCII go quoted-printable or base64, so
#: the message passes through servers that do not take 8-bit data.
POLICY = SMTP.clone(cte_type="7bit")

FALLBACK_DOMAIN = "crossroads.invalid"


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2].strip().strip("<>").lower()
    if not domain:
        return FALLBACK_DOMAIN
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return FALLBACK_DOMAIN


def new_message_id(from_address: str) -> str:
    """A fresh, globally unique Message-ID on the sender's domain: ``<hex@domain>``."""
    return f"<{uuid.uuid4().hex}@{_domain(from_address)}>"


def _address(name: str, address: str) -> Address:
    """``name <address>``; the header registry quotes the name and encodes what is not ASCII."""
    local, _, domain = (address or "").strip().rpartition("@")
    return Address(display_name=(name or "").strip(), username=local, domain=domain)


def build_email(email: OutboxEmail, from_address: str) -> EmailMessage:
    """The email for ``email``, sent from ``from_address`` under ``email.sender_name``.

    A calendar invitation (``email.ics`` set) is multipart/alternative: the
    body as text/plain and the event as ``text/calendar; method=...`` so that
    calendar programs offer to accept or decline.
    """
    message = EmailMessage(policy=POLICY)
    message["From"] = _address(email.sender_name, from_address)
    if email.reply_to:
        message["Reply-To"] = email.reply_to
    message["To"] = _address(email.to_name, email.to_address)
    message["Subject"] = email.subject or ""
    message["Date"] = email.created_at or utcnow()
    message["Message-ID"] = email.message_id
    if email.in_reply_to:
        message["In-Reply-To"] = email.in_reply_to
    if email.references:
        message["References"] = email.references
    message.set_content(email.body or "")
    if email.ics:
        method = (email.ics_method or "REQUEST").upper()
        message.add_alternative(email.ics, subtype="calendar", params={"method": method})
    return message
