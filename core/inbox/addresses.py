"""The practice's reply address on outgoing mail, and reading it back on incoming mail.

With a reply address (``replies@northbridge.example``) set on the practice's email
settings, outgoing outreach says ``Reply-To: replies@…``, or, with plus addressing,
``replies+<token>@…`` where the token is the message's own :attr:`OutreachMessage.reply_token`,
so that an answer names the message it answers. Without one, Reply-To stays the client's
own address and nothing comes back here.
"""

from __future__ import annotations

import re
import secrets
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..mail.compose import one_line
from ..models import OutreachMessage, PracticeMail
from .headers import header_values

#: Headers that may carry the address a message was delivered to.
DELIVERY_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
_TOKEN = re.compile(r"^[a-z0-9]{8,32}$")
_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


def new_reply_token() -> str:
    """A fresh random token: 20 lowercase hex digits (mail systems may lowercase a local part)."""
    return secrets.token_hex(10)


def ensure_reply_token(message: OutreachMessage) -> str:
    """``message``'s reply token, given now if it has none."""
    if not message.reply_token:
        message.reply_token = new_reply_token()
    return message.reply_token


def plain_address(value: str) -> str:
    """The bare, lowercased ``local@domain`` in a header value, or "" when it is not one."""
    address = parseaddr(one_line(value))[1].strip().lower()
    return address if _ADDRESS.match(address) else ""


def plus_address(reply_address: str, token: str) -> str:
    """``replies+<token>@domain`` for ``replies@domain``."""
    local, _, domain = reply_address.rpartition("@")
    return f"{local}+{token}@{domain}"


def reply_to_for(session: Session, practice_id: int, message: OutreachMessage, fallback: str) -> str:
    """The Reply-To for an outgoing ``message``: the practice's reply address (with the
    message's token when plus addressing is on), or ``fallback`` (the client's own address)."""
    settings = session.scalar(select(PracticeMail).where(PracticeMail.practice_id == practice_id))
    if settings is None or not settings.reply_address:
        return fallback
    if settings.plus_addressing:
        return plus_address(settings.reply_address, ensure_reply_token(message))
    ensure_reply_token(message)
    return settings.reply_address


def delivered_to(message: EmailMessage) -> list[str]:
    """Every address ``message`` says it was sent or delivered to, lowercased."""
    values: list[str] = []
    for header in DELIVERY_HEADERS:
        values += header_values(message, header)
    found = []
    for _, address in getaddresses(values):
        address = address.strip().lower()
        if _ADDRESS.match(address):
            found.append(address)
    return found


def tokens_for(message: EmailMessage, reply_address: str) -> list[str]:
    """The tokens of ``replies+<token>@domain`` addresses in ``message`` for this reply address."""
    if not reply_address:
        return []
    base_local, _, base_domain = reply_address.lower().rpartition("@")
    tokens = []
    for address in delivered_to(message):
        local, _, domain = address.rpartition("@")
        base, plus, token = local.partition("+")
        if plus and base == base_local and domain == base_domain and _TOKEN.match(token):
            tokens.append(token)
    return tokens
