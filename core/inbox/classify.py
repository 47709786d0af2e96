"""What kind of email this is, from its headers and words alone: spam, a delivery failure,
an automatic reply (and the date its writer is back), or something a person wrote."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.parser import HeaderParser

from dateutil import parser as date_parser
from flufl.bounce import all_failures

from ..mail.compose import one_line
from .headers import header

# -- spam ------------------------------------------------------------------------------------


def is_spam(message: EmailMessage) -> bool:
    """The receiving server's filter marked it (``X-Spam-Flag: YES``, ``X-Spam-Status: Yes…``)."""
    flag = header(message, "X-Spam-Flag").lower()
    status = header(message, "X-Spam-Status").lower()
    return flag.startswith("yes") or status.startswith("yes")


# -- delivery failures -----------------------------------------------------------------------


@dataclass
class Bounce:
    """A delivery failure report: who could not be reached, why, and the original's Message-ID."""

    recipients: list[str] = field(default_factory=list)
    reason: str = ""
    original_message_id: str = ""
    #: False for a report that only says delivery is delayed (nothing failed yet).
    failed: bool = True


_BOUNCE_SENDER = re.compile(r"mailer-daemon|postmaster|mail delivery (subsystem|system)", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (status notification|has failed|failure|failed)|returned mail|"
    r"mail delivery failed|failure notice|could not be delivered|delivery problem",
    re.I,
)
_MESSAGE_ID_LINE = re.compile(r"^message-id:\s*(<[^>\s]+>)", re.I | re.M)
_DIAGNOSTIC = re.compile(r"\b[45]\d\d[ -][45]\.\d{1,3}\.\d{1,3}\b[^\n]*|\b5\.\d\.\d\b[^\n]*")
MAX_REASON = 500
UNREACHABLE = "the address could not be reached"


def _header(message: Message, name: str) -> str:
    return header(message, name)


def _status_blocks(report: Message) -> list[Message]:
    """The per-message and per-recipient field blocks of a message/delivery-status part."""
    payload = report.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = payload if isinstance(payload, str) else ""
    return [
        HeaderParser().parsestr(block + "\n") for block in re.split(r"\r?\n\s*\r?\n", text) if block.strip()
    ]


def _returned_message_id(message: Message) -> str:
    """The Message-ID of the original that a report returns (whole, or its headers only)."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message) and inner.get("Message-ID"):
                return _header(inner, "Message-ID")
        elif content_type == "text/rfc822-headers":
            payload = part.get_payload(decode=True) or b""
            headers = HeaderParser().parsestr(payload.decode("utf-8", "replace"))
            if headers.get("Message-ID"):
                return _header(headers, "Message-ID")
    return ""


def _dsn(message: Message) -> Bounce | None:
    """An RFC 3464 report (``multipart/report; report-type=delivery-status``), read with the stdlib."""
    if message.get_content_type() != "multipart/report":
        return None
    if str(message.get_param("report-type", "")).lower() != "delivery-status":
        return None
    bounce = Bounce(failed=False)
    reasons = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in _status_blocks(part):
            action = _header(block, "Action").lower()
            # The address as sent (Original-Recipient) first: the final one may be a rewrite.
            named = [_header(block, "Original-Recipient"), _header(block, "Final-Recipient")]
            addresses = [n.rpartition(";")[2].strip().strip("<>").lower() for n in named if n]
            if action != "failed" or not addresses:
                continue
            bounce.failed = True
            bounce.recipients += [a for a in addresses if a not in bounce.recipients]
            reasons.append(
                " ".join(x for x in (_header(block, "Status"), _header(block, "Diagnostic-Code")) if x)
            )
    bounce.reason = "; ".join(r for r in reasons if r)[:MAX_REASON] or UNREACHABLE
    bounce.original_message_id = _returned_message_id(message)
    return bounce


def content_type(message: Message) -> str:
    """The message's content type as the stdlib's ``get_content_type`` reads it, from the raw header
    (the modern parser's header objects cost more than the whole check)."""
    value = header(message, "Content-Type")
    if not value:
        return "text/plain"
    kind = value.split(";", 1)[0].strip().lower()
    return kind if kind.count("/") == 1 else "text/plain"


def looks_like_bounce(message: Message) -> bool:
    """From a mail server, or titled like a failure report, or naming failed recipients."""
    return bool(
        header(message, "X-Failed-Recipients")
        or _BOUNCE_SENDER.search(_header(message, "From"))
        or _BOUNCE_SUBJECT.search(_header(message, "Subject"))
        or content_type(message) == "multipart/report"
    )


def bounce_of(message: EmailMessage, raw: bytes) -> Bounce | None:
    """The delivery failure ``message`` reports, or None if it is not one.

    Standard reports are read with the stdlib; others (Exim's, old Exchange's …) with
    ``flufl.bounce``'s detectors, and their returned copy searched for a Message-ID.
    """
    if not looks_like_bounce(message):  # every report, RFC 3464 or not, looks like one
        return None
    compat = message_from_bytes(raw)  # flufl.bounce reads the stdlib's compat32 messages
    found = _dsn(compat)
    if found is not None:
        return found
    temporary, permanent = all_failures(compat)
    if not permanent and not temporary:
        return None
    recipients = sorted(a.decode("utf-8", "replace").strip("<>").lower() for a in permanent)
    body = raw.decode("utf-8", "replace")
    own = _header(compat, "Message-ID")
    ids = [m for m in _MESSAGE_ID_LINE.findall(body.partition("\n\n")[2] or body) if m != own]
    diagnostic = _DIAGNOSTIC.search(body)
    return Bounce(
        recipients=recipients,
        reason=(one_line(diagnostic.group(0)) if diagnostic else "the address could not be reached")[
            :MAX_REASON
        ],
        original_message_id=_returned_message_id(compat) or (ids[0] if ids else ""),
        failed=bool(permanent),
    )


# -- automatic replies ----------------------------------------------------------------------

_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|out of (the )?office|"
    r"abwesenheitsnotiz|r[ée]ponse automatique|away from (the )?office|on (annual )?leave|"
    r"vacation (reply|response)|i am (currently )?away)\b",
    re.I,
)
_AUTO_BODY = re.compile(
    r"\b(i am|i'm|i will be) (currently )?(out of (the )?office|away from (the )?office|on (annual )?leave|"
    r"on vacation|on holiday|away (until|till|from))",
    re.I,
)


def is_auto_reply(message: EmailMessage, text: str) -> bool:
    """An automatic answer (RFC 3834 ``Auto-Submitted``, the common X- headers, ``Precedence:
    auto_reply``), or an out-of-office by its subject or by a short body that says so."""
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if any(header(message, name) for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponse")):
        return True
    if _header(message, "Precedence").lower() == "auto_reply":
        return True
    if _header(message, "X-Auto-Response-Suppress") and _AUTO_SUBJECT.search(_header(message, "Subject")):
        return True
    if _AUTO_SUBJECT.search(_header(message, "Subject")):
        return True
    return len(text) < 800 and bool(_AUTO_BODY.search(text[:300]))


_MONTHS = (
    "jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|oct(ober)?|"
    "nov(ember)?|dec(ember)?"
)
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_DATE = (
    rf"(\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|(({_WEEKDAYS}),?\s+)?(the\s+)?\d{{1,2}}(st|nd|rd|th)?(\s+of)?\s+({_MONTHS})\.?(,?\s+\d{{4}})?"
    rf"|(({_WEEKDAYS}),?\s+)?({_MONTHS})\.?\s+\d{{1,2}}(st|nd|rd|th)?(,?\s+\d{{4}})?"
    rf"|({_WEEKDAYS}))"
)
_RETURN = re.compile(
    r"\b(back|return(ing|s)?|in the office|reachable|available|away until|out until|out till|"
    r"until|till)\b(?:\s+(on|in|to the office on|the office on|to work on|at work on|by))?[\s,:]*"
    rf"(?P<date>{_DATE})",
    re.I,
)


#: A return date without a year is read as this year's, or next year's within this many days.
MAX_AWAY_DAYS = 183


def _parse(phrase: str, today: date) -> date | None:
    phrase = re.sub(r"\b(the|of)\b|(?<=\d)(st|nd|rd|th)\b", " ", phrase, flags=re.I)
    try:
        parsed = date_parser.parse(
            phrase, default=datetime(today.year, today.month, today.day), dayfirst=True
        )
    except (ValueError, OverflowError):
        return None
    found = parsed.date()
    if found < today and not re.search(r"\d{4}", phrase):
        try:
            found = found.replace(year=found.year + 1)  # "back on 4 January", written in December
        except ValueError:
            return None
        if (found - today).days > MAX_AWAY_DAYS:
            return None  # "back on 3 November" in December: an old text left on, not a year away
    return found if today <= found <= today + timedelta(days=MAX_AWAY_DAYS * 2) else None


def return_date(text: str, today: date) -> date | None:
    """The date an automatic reply says its writer is back ("back on 14 December", "returning
    Monday 7 December 2026", "until 2026-12-14"); None if it gives none, or only a past one."""
    for match in _RETURN.finditer(text[:4000]):
        found = _parse(match.group("date"), today)
        if found is not None:
            return found
    return None
