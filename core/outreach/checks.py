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

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..models import ContactSource, MessageKind
from ..text import fold
from ..text import words as word_list
from .channels import Draft, Limit, MessageFormat, MessageWarning, length

LONG_REQUEST_WORDS = 100
SHORT_ASK_MINUTES = (15, 30)
#: How far into a message the connection should be stated.
CONNECTION_WITHIN_WORDS = 40

# A clause with one of these is the assurance ("not asking for a job"), not the ask.
_NEGATIONS = {"not", "no", "never", "nor", "without", "isn", "aren", "don", "won", "t"}  # t: n't
_DETERMINER = r"(?:a|an|any|open|available|vacant|entry level|junior|paid)"
_OPENINGS = r"(?:jobs?|positions?|openings?|vacanc(?:y|ies)|internships?)"
_WORKPLACE = r"(?:team|company|organi[sz]ation|firm|office|department)"


def _phrases(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b")


#: The ways a draft asks for a job, each with the reason its warning gives. Matched against a
#: clause's folded words joined by single spaces ("I've attached my résumé" is "i ve attached my resume").
_JOB_ASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        _phrases(
            r"cvs?",
            r"c v",
            r"resumes?",
            r"curriculum vitae",
            r"cover letter",
            r"my application",
            r"appl(?:y|ying|ied) for",
            r"job applications?",
        ),
        "A CV or an application turns a conversation into a screening; share it only if they ask for it.",
    ),
    (
        _phrases(
            r"referrals?",
            r"refer me (?:for|to (?:the |a |your )?(?:hiring|recruit\w*|hr|jobs?|roles?|positions?))",
            r"put in a (?:good )?word",
            r"recommend me (?:for|to)",
            r"vouch for me",
        ),
        "A referral is given to someone people know; ask for their story first, and trust may follow.",
    ),
    (
        _phrases(
            r"hiring",
            r"hire me",
            r"openings",
            r"vacanc(?:y|ies)",
            r"internships",
            rf"{_DETERMINER} {_OPENINGS}",
            r"(?:any|open|available) roles?",
            rf"{_OPENINGS} (?:available|going|open)",
            rf"{_OPENINGS} (?:at|in|with|on) (?:your|the) {_WORKPLACE}",
            r"(?:job|position|role|opening|work) for me",
            r"job (?:openings?|hunt|hunting|search|searching|offers?|opportunit(?:y|ies))",
            r"(?:looking|searching|hunting) for (?:a |an |some |paid )?(?:jobs?|work|roles?|positions?)",
            r"(?:looking|searching|hunting) for employment",
            r"seek(?:ing)? (?:employment|work|a job|a position|a role)",
            r"employment opportunit(?:y|ies)",
            r"(?:help me find|find me) (?:a )?(?:job|work|position|role)",
        ),
        "People say yes to sharing what they know, and no to being asked for a job by a stranger.",
    ),
)
#: Where a sentence's clauses part: "Not a job request, but could you refer me?" asks in its second.
_CLAUSE = re.compile(r"[,;:()\u2013\u2014]|\s-\s|\b(?:but|though|although|however)\b")
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


def check_placeholders(draft: Draft) -> MessageWarning | None:
    """A gap in brackets the template left for the client to fill in."""
    found = _PLACEHOLDER.search(f"{draft.subject}\n{draft.body}")
    if found is None:
        return None
    return MessageWarning(
        "placeholder",
        f"Fill in the part in brackets: {found.group(0)[:60]}",
        "The template left it for you: only you know this part.",
    )


def check_length(draft: Draft, words: int = LONG_REQUEST_WORDS) -> MessageWarning | None:
    """A request (first, or for introductions) of ``words`` words or more."""
    count = len(word_list(draft.body))
    if draft.kind in (MessageKind.FIRST_REQUEST, MessageKind.INTRODUCTION_REQUEST) and (count >= words):
        return MessageWarning(
            "long_request",
            f"This request is {count} words long; aim for under {words}.",
            "Busy people answer short messages; a long one reads as a big ask.",
        )
    return None


def check_connection_first(
    draft: Draft, within_words: int = CONNECTION_WITHIN_WORDS
) -> MessageWarning | None:
    """A first request that does not say how the client knows of them in its first ``within_words`` words."""
    if not _is_first_request(draft):
        return None
    opening = " ".join(word_list(draft.body)[:within_words])
    markers = list(_CONNECTION_MARKERS)
    contact = draft.context.contact
    if contact is not None:
        if contact.referred_by is not None:
            markers += [w for w in word_list(contact.referred_by.name) if len(w) > 2]
        if contact.source in (ContactSource.ALUMNI, ContactSource.ASSOCIATION):
            markers += ["office", "association", "member"]
    coach = draft.context.client.coach
    if coach is not None:
        markers += [w for w in word_list(coach.name) if len(w) > 2]
    if any(re.search(rf"\b{re.escape(fold(m))}\b", opening) for m in markers):
        return None
    return MessageWarning(
        "connection_first",
        "Say first how you know of this person (who suggested them, where you met, what you read).",
        "A stranger decides in the first line whether to read on; a shared connection earns the second.",
    )


def job_ask(text: str) -> tuple[str, str] | None:
    """The first phrase of ``text`` that reads as asking for a job, and why; None when nothing does.

    A CV or résumé, a referral, "put in a word", openings, vacancies, "any positions", "looking for
    a job": each is an ask. A clause that says it is not one ("I'm not looking for a job", "this
    isn't a job request") is the assurance the method wants, and "your position as editor" is
    interest in the work.
    """
    for clause in _CLAUSE.split(fold(text)):
        tokens = word_list(clause)
        if any(t in _NEGATIONS for t in tokens):
            continue
        joined = " ".join(tokens)
        for pattern, why in _JOB_ASKS:
            if found := pattern.search(joined):
                return found.group(0), why
    return None


def check_job_request(draft: Draft) -> MessageWarning | None:
    """A sentence that reads as asking for a job (one that says it is not is fine): see :func:`job_ask`."""
    for sentence in _sentences(f"{draft.subject}. {draft.body}"):
        if (found := job_ask(sentence)) is not None:
            phrase, why = found
            return MessageWarning(
                "job_request",
                f"“{phrase}” can read as asking for a job: “{sentence.strip()[:80]}”.",
                why,
            )
    return None


def check_company_only(draft: Draft) -> MessageWarning | None:
    """A first request whose interest is pinned to the contact's organisation, not their field."""
    contact = draft.context.contact
    if not _is_first_request(draft) or contact is None or not contact.organisation.strip():
        return None
    body = fold(draft.body)
    if fold(contact.organisation) not in body:
        return None
    field_words = set(_FIELD_WORDS)
    if draft.context.theme is not None:
        field_words |= {w for w in word_list(draft.context.theme.title) if w not in _STOP}
    field_words |= {w for w in word_list(contact.position) if w not in _STOP and len(w) > 3}
    if field_words & set(word_list(body)):
        return None
    return MessageWarning(
        "company_only",
        f"The interest is pinned to {contact.organisation} only; say what draws you to their field.",
        "Asking about a company sounds like job hunting; asking about the work invites their story.",
    )


def check_short_ask(draft: Draft, minutes: tuple[int, int] = SHORT_ASK_MINUTES) -> MessageWarning | None:
    """A first request (or follow-up) that asks for no time, or for more than ``minutes`` allows."""
    if draft.kind not in (MessageKind.FIRST_REQUEST, MessageKind.FOLLOW_UP):
        return None
    text = fold(draft.body)
    asked = []
    for match in _MINUTES.finditer(text):
        value = match.group(1).replace(" ", "-")
        asked.append(int(value) if value.isdigit() else _NUMBER_WORDS.get(value, 0))
    if _HALF_HOUR.search(text):
        asked.append(30)
    low, high = minutes
    if any(low <= minutes <= high for minutes in asked):
        return None
    if asked:
        return MessageWarning(
            "short_ask",
            f"Ask for {low} to {high} minutes; {max(asked)} is a lot to give a stranger.",
            "A small, exact ask is easy to say yes to; 20 minutes is the classic.",
        )
    if draft.kind == MessageKind.FOLLOW_UP:
        return None  # a follow-up may lean on the ask of the first message
    return MessageWarning(
        "short_ask",
        f"Ask for a specific, short time: {low} to {high} minutes.",
        "“Could we talk some time?” is hard to answer; “20 minutes next week?” is easy.",
    )


def check_question(draft: Draft) -> MessageWarning | None:
    """A message (but a thank-you) that asks no question."""
    if draft.kind == MessageKind.THANK_YOU or "?" in draft.body:
        return None
    return MessageWarning(
        "no_question",
        "End with a question they can answer, such as “Would you have 20 minutes next week?”.",
        "A message without a question leaves the reader nothing to reply to.",
    )


@dataclass(frozen=True)
class CoreCheck:
    """One of the method's checks: its warning's code, the function, and the settings a channel may change."""

    code: str
    run: Callable[..., MessageWarning | None]
    #: The settings (keyword arguments of ``run``) and their defaults.
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)


#: The method's checks by their warning's code, in the order their warnings are shown. A channel
#: switches them off or changes their settings through ``Channel.core_checks``.
CORE_CHECKS: Mapping[str, CoreCheck] = MappingProxyType(
    {
        check.code: check
        for check in (
            CoreCheck("placeholder", check_placeholders),
            CoreCheck("long_request", check_length, {"words": LONG_REQUEST_WORDS}),
            CoreCheck("connection_first", check_connection_first, {"within_words": CONNECTION_WITHIN_WORDS}),
            CoreCheck("job_request", check_job_request),
            CoreCheck("company_only", check_company_only),
            CoreCheck("short_ask", check_short_ask, {"minutes": SHORT_ASK_MINUTES}),
            CoreCheck("no_question", check_question),
        )
    }
)

#: The method's checks, in the order their warnings are shown (with their default settings).
METHOD_CHECKS: tuple[Callable[[Draft], MessageWarning | None], ...] = tuple(
    c.run for c in CORE_CHECKS.values()
)

#: What ``core_check_settings`` answers: each check's settings, or None when it is off.
CheckSettings = Mapping[str, Mapping[str, Any] | None]


def core_check_settings(
    choices: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> dict[str, dict[str, Any] | None]:
    """Every core check's settings after a channel's ``choices`` (from ``Channel.core_checks``).

    A check named with ``None`` is off; one named with settings runs with its defaults updated by
    them; one not named runs with its defaults. An unknown check or setting is a mistake in the
    channel, and raises :class:`ValueError` naming it.
    """
    choices = dict(choices or {})
    unknown = sorted(set(choices) - set(CORE_CHECKS))
    if unknown:
        raise ValueError(f"unknown core check {unknown[0]!r}; the core's checks are {', '.join(CORE_CHECKS)}")
    resolved: dict[str, dict[str, Any] | None] = {}
    for code, check in CORE_CHECKS.items():
        if code in choices and choices[code] is None:
            resolved[code] = None
            continue
        changes = dict(choices.get(code) or {})
        if extra := sorted(set(changes) - set(check.settings)):
            known = ", ".join(check.settings) or "none"
            raise ValueError(f"the core check {code!r} has no setting {extra[0]!r} (its settings: {known})")
        resolved[code] = {**check.settings, **changes}
    return resolved


def method_warnings(draft: Draft, settings: CheckSettings | None = None) -> list[MessageWarning]:
    """The method's warnings for ``draft``, each check with its ``settings`` (without: all on, as they are).

    Invitations get none; the contact checks look only at the kinds they are about.
    """
    if draft.kind == MessageKind.INVITATION:
        return []
    settings = core_check_settings() if settings is None else settings
    found = []
    for code, check in CORE_CHECKS.items():
        chosen = settings.get(code, check.settings)
        if chosen is None:
            continue
        if warning := check.run(draft, **chosen):
            found.append(warning)
    return found


def limit_warnings(fmt: MessageFormat, subject: str, body: str) -> list[MessageWarning]:
    """Warnings for a subject or body past its format's limits."""
    found = []
    for field, text, limit in (("subject", subject, fmt.subject), ("body", body, fmt.body)):
        if limit is None:
            continue
        found.extend(_limit_warning(field, text, limit, fmt.label))
    return found


def _characters(count: int) -> str:
    return f"{count:,} character" + ("" if count == 1 else "s")


def _limit_warning(field: str, text: str, limit: Limit, label: str) -> Iterable[MessageWarning]:
    size = length(text, limit.counting)
    what = "subject" if field == "subject" else "message"
    if limit.max is not None and size > limit.max:
        yield MessageWarning(
            f"{field}_too_long",
            f"Does not fit: {_characters(size - limit.max)} over the {limit.max:,} "
            f"allowed ({label.lower()}).",
            limit.note or "Past the limit the text is refused or cut off.",
            field=field,
        )
    elif limit.warn is not None and size > limit.warn:
        yield MessageWarning(
            f"{field}_long",
            f"This {what} is {size:,} characters, past {limit.warn:,}.",
            limit.note or "Shorter messages get read.",
            field=field,
        )
