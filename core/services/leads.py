"""Warm leads: people in a client's own network whose work matches a career theme."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from ..models import CareerTheme, Contact, ContactSource, Stage, Suggestion, contact_theme
from ..scoping import Scope
from ..text import like_pattern, words

# Words that say nothing about a field of work.
STOPWORDS = frozenset(
    {"and", "the", "for", "with", "from", "into", "about", "work", "working", "role", "roles"}
    | {"field", "career", "careers", "job", "jobs", "in", "of", "to", "a", "an", "or", "at", "on"}
    | {"my", "our", "new"}
)
CANDIDATES = 500
# Nearest first: someone who referred the client in, then their own network, then the rest.
WARMTH = [
    ContactSource.REFERRAL,
    ContactSource.LINKEDIN,
    ContactSource.MANUAL,
    ContactSource.ADDRESS_BOOK,
    ContactSource.COACH,
    ContactSource.ALUMNI,
    ContactSource.ASSOCIATION,
]


def _warmth(source: str) -> int:
    """How near a source is (see ``WARMTH``); a plugin's sources come after the core's."""
    return WARMTH.index(source) if source in WARMTH else len(WARMTH)


def stems(text: str) -> list[str]:
    """Crude stems of a theme's words: "editing" and "editor" both give "edit"."""
    found = []
    for word in words(text):
        if len(word) < 3 or word in STOPWORDS:
            continue
        stem = word if len(word) <= 5 else word[: max(4, len(word) - 3)]
        if stem not in found:
            found.append(stem)
    return found


@dataclass(frozen=True)
class Lead:
    contact: Contact
    matched: list[str]  # the stems found in the contact's position or organisation


def warm_leads(scope: Scope, theme_id: int, limit: int = 10) -> list[Lead]:
    """Contacts not yet linked to the theme whose position or organisation share its words.

    Ranked by how many of the theme's words match, then by who is nearest
    (people from the client's own network first).
    """
    theme = scope.get(CareerTheme, theme_id)
    theme_stems = stems(theme.title)
    if not theme_stems:
        return []
    linked = select(contact_theme.c.contact_id).where(contact_theme.c.theme_id == theme.id)
    candidates = scope.session.scalars(
        scope.select(Contact)
        .where(
            Contact.client_id == theme.client_id,
            Contact.id.not_in(linked),
            Contact.stage.not_in([Stage.DECLINED, Stage.NO_RESPONSE]),
            or_(Contact.suggestion.is_(None), Contact.suggestion != Suggestion.DISMISSED),
            or_(*(Contact.work_text.like(like_pattern(s), escape="\\") for s in theme_stems)),
        )
        .order_by(Contact.sort_name)
        .limit(CANDIDATES)
    ).all()
    leads = [Lead(c, [s for s in theme_stems if s in c.work_text]) for c in candidates]
    leads.sort(key=lambda lead: (-len(lead.matched), _warmth(lead.contact.source), lead.contact.sort_name))
    return leads[:limit]
