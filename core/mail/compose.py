"""Turning an outbox row into the email that goes over the wire.

The client's words go out from the practice's address under the client's name
("Priya Shah via Northbridge Coaching" <hello@northbridge.example>), so the
practice's server may send it and its SPF/DKIM records vouch for it; replies
go straight to the client through Reply-To. Follow-ups and thank-yous carry
In-Reply-To and References so mail programs show one thread.
"""

from __future__ import annotations

import base64
import contextlib
import re
import uuid
from email.message import EmailMessage
from email.policy import SMTP

from ..db import utcnow
from ..models import OutboxEmail

#: Lines end in CRLF; bodies that are not plain ASCII go quoted-printable or base64, so
#: the message passes through servers that do not take 8-bit data. Address headers are
#: written (and folded) here and must go out as written: refolding them would parse the
#: display name again, and Python's folder drops the quotes around a long one.
POLICY = SMTP.clone(cte_type="7bit", refold_source="none")

#: Longest display name written into a header; longer ones are cut.
MAX_NAME = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

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


def one_line(text: str) -> str:
    """``text`` with control characters (CR and LF among them) and runs of spaces as one space."""
    return " ".join(_CONTROL.sub(" ", text or "").split())


def _phrase(name: str) -> str:
    """``name`` as one phrase that no parser can read as an address: quoted, or encoded words."""
    name = one_line(name)[:MAX_NAME]
    if name.isascii():
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return " ".join(_encoded_word(chunk) for chunk in _chunks(name, 39))


def _encoded_word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode("ascii") + "?="


def _chunks(text: str, size: int) -> list[str]:
    """``text`` in pieces of at most ``size`` UTF-8 bytes, cut after a space where one is near.

    The space stays at the end of its piece: decoders drop the white space between
    encoded words, so the spaces of the name must be inside them.
    """
    chunks = [""]
    for word in re.findall(r"\S+\s*", text):
        for ch in word if len(word.encode()) > size else [word]:
            if chunks[-1] and len((chunks[-1] + ch).encode()) > size:
                chunks.append("")
            chunks[-1] += ch
    return chunks


def _addr_spec(address: str) -> str:
    """``local@domain``; a domain in other scripts is written in its ASCII (IDNA) form when it can be."""
    local, _, domain = one_line(address).strip("<> ").rpartition("@")
    if not domain.isascii():
        with contextlib.suppress(UnicodeError):  # if not, only a server taking SMTPUTF8 can deliver it
            domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}" if local else domain


def _address(name: str, address: str) -> str:
    """``"name" <address>`` folded at spaces, ready to go out as it is."""
    spec = _addr_spec(address)
    if not one_line(name):
        return spec
    words = f"{_phrase(name)} <{spec}>".split(" ")
    lines = [words[0]]
    for word in words[1:]:  # folding white space may stand inside a quoted string (RFC 5322 3.2.4)
        if len(lines[-1]) + 1 + len(word) > 72:
            lines.append(word)
        else:
            lines[-1] += " " + word
    return "\r\n ".join(lines)


def build_email(email: OutboxEmail, from_address: str) -> EmailMessage:
    """The email for ``email``, sent from ``from_address`` under ``email.sender_name``.

    A calendar invitation (``email.ics`` set) is multipart/alternative: the
    body as text/plain and the event as ``text/calendar; method=...`` so that
    calendar programs offer to accept or decline.
    """
    message = EmailMessage(policy=POLICY)
    message.set_raw("From", _address(email.sender_name, from_address))
    if email.reply_to:
        message.set_raw("Reply-To", _address("", email.reply_to))
    message.set_raw("To", _address(email.to_name, email.to_address))
    # A line break in a subject would be refused here on every attempt.
    message["Subject"] = one_line(email.subject)
    message["Date"] = email.created_at or utcnow()
    message["Message-ID"] = email.message_id
    if email.in_reply_to:
        message["In-Reply-To"] = one_line(email.in_reply_to)
    if email.references:
        message["References"] = one_line(email.references)
    message.set_content(email.body or "")
    if email.ics:
        method = (email.ics_method or "REQUEST").upper()
        message.add_alternative(email.ics, subtype="calendar", params={"method": method})
    return message
