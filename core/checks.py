"""Message checks that teach the method: each a warning with a one-line why.

A good request for an informational interview is short and specific: the
connection first (how the client knows of this person), who the client is in
a sentence, why this person's *field*, a small ask (15 to 30 minutes), a
question the reader can answer, and the assurance that it is not a job
request. These checks look for the common ways a draft misses that. They are
warnings, never refusals: the client can send anyway. Plugins add their own
through the ``message_checks`` hook; channels add their limits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from .channels import Draft, Limit, MessageFormat, Warning, length
from .models import ContactSource, MessageKind
from .text import fold, words

LONG_REQUEST_WORDS = 100
SHORT_ASK_MINUTES = (15, 30)
#: How far into a message the connection should be stated.
CONNECTION_WITHIN_WORDS = 40

_JOB_WORDS = {"job", "jobs", "position", "positions", "opening", "openings", "hiring", "hire", "resume",
              "cv", "vacancy", "vacancies"}  # fmt: skip
# A job word in a sentence with one of these is the assurance ("not asking for a job"), not the ask.
_NEGATIONS = {"not", "no", "never", "nor", "without", "isn", "aren", "don", "won", "t"}  # t: n't
_CONNECTION_MARKERS = (
    "suggested", "suggest", "recommended", "referred", "introduced", "introduction", "gave me your name",
    "passed on your", "mentioned you", "we met", "we worked", "worked together", "we both", "we studied",
    "fellow", "alum", "alumni", "alumna", "alumnus", "graduate", "connected on linkedin", "we are connected",
    "we're connected", "your talk", "your article", "your post", "your book", "your interview", "i read",
    "i heard", "heard you", "saw your", "mutual", "friend of", "my coach", "colleague", "former",
)  # fmt: skip
_NUMBER_WORDS = {"ten": 10, "fifteen": 15, "twenty": 20, "twenty-five": 25, "twentyfive": 25, "thirty": 30,
                 "forty": 40, "forty-five": 45, "sixty": 60}  # fmt: skip
_MINUTES = re.compile(
    r"\b(\d{1,3}|ten|fifteen|twenty(?:[- ]?five)?|thirty|forty(?:[- ]?five)?|sixty)[- ]?(?:minutes?|mins?)\b"
)
_HALF_HOUR = re.compile(r"\b(half an hour|half-hour|quarter of an hour|30-minute)\b")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_FIELD_WORDS = {"field", "industry", "profession", "craft", "work", "career", "discipline", "area"}
_STOP = {"and", "or", "the", "a", "an", "of", "in", "for", "to", "at", "on", "with", "&"}


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s.strip()]


def _is_first_request(draft: Draft) -> bool:
    return draft.kind == MessageKind.FIRST_REQUEST


_PLACEHOLDER = re.compile(r"\[[^\]]{3,}\]")


def check_placeholders(draft: Draft) -> Warning | None:
    found = _PLACEHOLDER.search(f"{draft.subject}\n{draft.body}")
    if found is None:
        return None
    return Warning(
        "placeholder",
        f"Fill in the part in brackets: {found.group(0)[:60]}",
        "The template left it for you: only you know this part.",
    )


def check_length(draft: Draft) -> Warning | None:
    count = len(words(draft.body))
    if draft.kind in (MessageKind.FIRST_REQUEST, MessageKind.INTRODUCTION_REQUEST) and (
        count >= LONG_REQUEST_WORDS
    ):
        return Warning(
            "long_request",
            f"This request is {count} words long; aim for under {LONG_REQUEST_WORDS}.",
            "Busy people answer short messages; a long one reads as a big ask.",
        )
    return None


def check_connection_first(draft: Draft) -> Warning | None:
    if not _is_first_request(draft):
        return None
    opening = " ".join(words(draft.body)[:CONNECTION_WITHIN_WORDS])
    markers = list(_CONNECTION_MARKERS)
    contact = draft.context.contact
    if contact is not None:
        if contact.referred_by is not None:
            markers += [w for w in words(contact.referred_by.name) if len(w) > 2]
        if contact.source in (ContactSource.ALUMNI, ContactSource.ASSOCIATION):
            markers += ["office", "association", "member"]
    coach = draft.context.client.coach
    if coach is not None:
        markers += [w for w in words(coach.name) if len(w) > 2]
    if any(re.search(rf"\b{re.escape(fold(m))}\b", opening) for m in markers):
        return None
    return Warning(
        "connection_first",
        "Say first how you know of this person (who suggested them, where you met, what you read).",
        "A stranger decides in the first line whether to read on; a shared connection earns the second.",
    )


def check_job_request(draft: Draft) -> Warning | None:
    for sentence in _sentences(f"{draft.subject}. {draft.body}"):
        tokens = words(sentence)
        hits = [t for t in tokens if t in _JOB_WORDS]
        if hits and not any(t in _NEGATIONS for t in tokens):
            return Warning(
                "job_request",
                f"“{hits[0]}” can read as asking for a job: “{sentence.strip()[:80]}”.",
                "People say yes to sharing what they know, and no to being asked for a job by a stranger.",
            )
    return None


def check_company_only(draft: Draft) -> Warning | None:
    contact = draft.context.contact
    if not _is_first_request(draft) or contact is None or not contact.organisation.strip():
        return None
    body = fold(draft.body)
    if fold(contact.organisation) not in body:
        return None
    field_words = set(_FIELD_WORDS)
    if draft.context.theme is not None:
        field_words |= {w for w in words(draft.context.theme.title) if w not in _STOP}
    field_words |= {w for w in words(contact.position) if w not in _STOP and len(w) > 3}
    if field_words & set(words(body)):
        return None
    return Warning(
        "company_only",
        f"The interest is pinned to {contact.organisation} only; say what draws you to their field.",
        "Asking about a company sounds like job hunting; asking about the work invites their story.",
    )


def check_short_ask(draft: Draft) -> Warning | None:
    if draft.kind not in (MessageKind.FIRST_REQUEST, MessageKind.FOLLOW_UP):
        return None
    text = fold(draft.body)
    asked = []
    for match in _MINUTES.finditer(text):
        value = match.group(1).replace(" ", "-")
        asked.append(int(value) if value.isdigit() else _NUMBER_WORDS.get(value, 0))
    if _HALF_HOUR.search(text):
        asked.append(30)
    low, high = SHORT_ASK_MINUTES
    if any(low <= minutes <= high for minutes in asked):
        return None
    if asked:
        return Warning(
            "short_ask",
            f"Ask for {low} to {high} minutes; {max(asked)} is a lot to give a stranger.",
            "A small, exact ask is easy to say yes to; 20 minutes is the classic.",
        )
    if draft.kind == MessageKind.FOLLOW_UP:
        return None  # a follow-up may lean on the ask of the first message
    return Warning(
        "short_ask",
        f"Ask for a specific, short time: {low} to {high} minutes.",
        "“Could we talk some time?” is hard to answer; “20 minutes next week?” is easy.",
    )


def check_question(draft: Draft) -> Warning | None:
    if draft.kind == MessageKind.THANK_YOU or "?" in draft.body:
        return None
    return Warning(
        "no_question",
        "End with a question they can answer, such as “Would you have 20 minutes next week?”.",
        "A message without a question leaves the reader nothing to reply to.",
    )


#: The method's checks, in the order their warnings are shown.
METHOD_CHECKS: tuple[Callable[[Draft], Warning | None], ...] = (
    check_placeholders,
    check_length,
    check_connection_first,
    check_job_request,
    check_company_only,
    check_short_ask,
    check_question,
)


def method_warnings(draft: Draft) -> list[Warning]:
    """The method's warnings for ``draft`` (introduction requests and invitations skip the contact checks)."""
    if draft.kind == MessageKind.INVITATION:
        return []
    return [w for check in METHOD_CHECKS if (w := check(draft))]


def limit_warnings(fmt: MessageFormat, subject: str, body: str) -> list[Warning]:
    """Warnings for a subject or body past its format's limits."""
    found = []
    for field, text, limit in (("subject", subject, fmt.subject), ("body", body, fmt.body)):
        if limit is None:
            continue
        found.extend(_limit_warning(field, text, limit, fmt.label))
    return found


def _characters(count: int) -> str:
    return f"{count:,} character" + ("" if count == 1 else "s")


def _limit_warning(field: str, text: str, limit: Limit, label: str) -> Iterable[Warning]:
    size = length(text, limit.counting)
    what = "subject" if field == "subject" else "message"
    if limit.max is not None and size > limit.max:
        yield Warning(
            f"{field}_too_long",
            f"Does not fit: {_characters(size - limit.max)} over the {limit.max:,} "
            f"allowed ({label.lower()}).",
            limit.note or "Past the limit the text is refused or cut off.",
            field=field,
        )
    elif limit.warn is not None and size > limit.warn:
        yield Warning(
            f"{field}_long",
            f"This {what} is {size:,} characters, past {limit.warn:,}.",
            limit.note or "Shorter messages get read.",
            field=field,
        )
