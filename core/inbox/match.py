"""Which outreach message an incoming email answers, within one practice only.

In this order: the reply token in the address it came to; ``In-Reply-To``/``References``
against the Message-IDs of the practice's sent email; the sender's address against its
contacts' (the latest message sent to that address); and last, "a different address of the
same person": the sender's name is a contact's who was sent a message, and the subject is a
reply to that message's subject.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..mail.compose import one_line
from ..mail.outbox import practice_mail
from ..models import Contact, MessageStatus, OutboxEmail, OutreachMessage
from ..text import fold
from .addresses import plain_address, tokens_for
from .headers import header

#: Messages that went (or may have): a reply proves it.
WENT = (MessageStatus.SENT, MessageStatus.UNKNOWN, MessageStatus.SENDING, MessageStatus.QUEUED)
_IDS = re.compile(r"<[^<>\s]{1,250}>")
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|vs|antw|r|rif|odp|ynt)(\[\d+\])?\s*:\s*)+", re.I)
_FORWARD_PREFIX = re.compile(r"^\s*(fwd?|wg|tr|rv|doorst)\s*:", re.I)


@dataclass
class Match:
    """The message answered, and how it was found (said in words on the inbound row)."""

    message: OutreachMessage
    how: str


class UnknownToken(Exception):
    """The email came to this practice's reply address with a token of no message here."""


def folded(text: str) -> str:
    """``text`` for comparing: accents off, case folded, runs of space as one."""
    text = unicodedata.normalize("NFKD", one_line(text))
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).casefold().split())


def subject_core(subject: str) -> str:
    """A subject without its ``Re:`` prefixes, folded."""
    return folded(_REPLY_PREFIX.sub("", one_line(subject)))


def is_reply_subject(subject: str) -> bool:
    return bool(_REPLY_PREFIX.match(one_line(subject)))


def is_forward_subject(subject: str) -> bool:
    return bool(_FORWARD_PREFIX.match(one_line(subject)))


def sender(message: EmailMessage) -> tuple[str, str]:
    """The sender's display name and bare address (lowercased; "" when not an address)."""
    value = header(message, "From")
    name, _ = parseaddr(value)
    return one_line(name), plain_address(value)


def _by_token(session: Session, practice_id: int, message: EmailMessage) -> Match | None:
    settings = practice_mail(session, practice_id)
    tokens = tokens_for(message, settings.reply_address if settings is not None else "")
    if not tokens:
        return None
    found = session.scalar(
        select(OutreachMessage).where(
            OutreachMessage.practice_id == practice_id, OutreachMessage.reply_token.in_(tokens)
        )
    )
    if found is None:
        raise UnknownToken(tokens[0])
    return Match(found, "reply address")


def _by_thread(session: Session, practice_id: int, message: EmailMessage) -> Match | None:
    ids = _IDS.findall(" ".join(header(message, h) for h in ("In-Reply-To", "References")))
    if not ids:
        return None
    found = session.scalar(
        select(OutreachMessage)
        .join(OutboxEmail, OutreachMessage.outbox_id == OutboxEmail.id)
        .where(
            OutboxEmail.practice_id == practice_id,
            OutreachMessage.practice_id == practice_id,
            OutboxEmail.message_id.in_(ids[-50:]),
        )
        .order_by(OutreachMessage.created_at.desc(), OutreachMessage.id.desc())
        .limit(1)
    )
    return Match(found, "In-Reply-To") if found else None


def latest_sent_to(session: Session, practice_id: int, address: str) -> OutreachMessage | None:
    """The latest message of the practice that went to ``address``."""
    return session.scalar(
        select(OutreachMessage)
        .where(
            OutreachMessage.practice_id == practice_id,
            func.lower(OutreachMessage.to_address) == address,
            OutreachMessage.status.in_(WENT),
        )
        .order_by(OutreachMessage.created_at.desc(), OutreachMessage.id.desc())
        .limit(1)
    )


def _by_sender(session: Session, practice_id: int, address: str) -> Match | None:
    if not address:
        return None
    known = session.scalar(
        select(Contact.id)
        .where(Contact.practice_id == practice_id, func.lower(Contact.email) == address)
        .limit(1)
    )
    if known is None:
        return None
    found = latest_sent_to(session, practice_id, address)
    return Match(found, "sender's address") if found else None


def _by_name_and_subject(session: Session, practice_id: int, name: str, subject: str) -> Match | None:
    if not folded(name) or not is_reply_subject(subject):
        return None
    wanted = subject_core(subject)
    candidates = session.scalars(
        select(OutreachMessage)
        .join(Contact, OutreachMessage.contact_id == Contact.id)
        .where(
            OutreachMessage.practice_id == practice_id,
            Contact.practice_id == practice_id,
            Contact.sort_name == fold(one_line(name))[:200],
            OutreachMessage.status.in_(WENT),
        )
        .order_by(OutreachMessage.created_at.desc(), OutreachMessage.id.desc())
        .limit(50)
    )
    for candidate in candidates:
        same_person = candidate.contact is not None and folded(candidate.contact.name) == folded(name)
        if same_person and subject_core(candidate.subject) == wanted:
            return Match(candidate, "sender's name and subject")
    return None


def match(session: Session, practice_id: int, message: EmailMessage) -> Match | None:
    """The practice's outreach message that ``message`` answers, or None.

    Raises :class:`UnknownToken` when it came to the practice's reply address with a token
    of no message of this practice: it answers something else, and nothing is guessed.
    """
    name, address = sender(message)
    subject = header(message, "Subject")
    return (
        _by_token(session, practice_id, message)
        or _by_thread(session, practice_id, message)
        or _by_sender(session, practice_id, address)
        or _by_name_and_subject(session, practice_id, name, subject)
    )


def from_the_contact(found: OutreachMessage, message: EmailMessage) -> bool:
    """Whether the person it answers wrote it: their address or their name (for a contact), or the
    office's address or domain (for a message to an office)."""
    name, address = sender(message)
    to_address = (found.to_address or "").lower()
    if found.contact is None:
        return bool(address) and (
            address == to_address or address.rpartition("@")[2].endswith(to_address.rpartition("@")[2])
        )
    contact_address = (found.contact.email or "").lower()
    if address and address in (contact_address, to_address):
        return True
    return bool(folded(name)) and folded(name) == folded(found.contact.name)
