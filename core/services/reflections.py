"""Reflections after a conversation: private to the client unless shared; coaches comment on shared ones."""

from __future__ import annotations

from typing import Any

from .. import events
from ..db import utcnow
from ..errors import Forbidden, InvalidInput
from ..models import Conversation, Reflection, ReflectionComment, Role
from ..scoping import Scope
from ..text import fold
from . import contacts as contact_service
from . import notifications
from .activity import touch

FIELDS = ("energy", "fit", "body", "thoughts", "feelings", "surprises", "less_shiny", "insights",
          "open_questions", "next_steps")  # fmt: skip
ENERGY_LABELS = {-2: "Very draining", -1: "Draining", 0: "Neutral", 1: "Energising", 2: "Very energising"}


def parse_referrals(text: str) -> list[dict[str, str]]:
    """One person per line, "Name, Organisation" or just "Name"."""
    people = []
    for line in text.splitlines():
        name, _, organisation = line.partition(",")
        if name.strip():
            people.append({"name": name.strip()[:200], "organisation": organisation.strip()[:200]})
    return people


def save(scope: Scope, conversation_id: int, data: dict[str, Any]) -> Reflection:
    """Write or rewrite the reflection on a conversation (data from ``ReflectionSchema``).

    People named under ``referrals`` become contacts referred by this conversation's contact.
    """
    if scope.user.role != Role.CLIENT:
        raise Forbidden("a reflection is the client's own")
    conversation = scope.get(Conversation, conversation_id)
    reflection = conversation.reflection or Reflection(
        practice_id=conversation.practice_id, client_id=conversation.client_id, conversation=conversation
    )
    for name in FIELDS:
        setattr(reflection, name, data[name])
    newly_shared = data["share"] and reflection.shared_at is None
    if newly_shared:
        reflection.shared_at = utcnow()
    elif not data["share"]:
        reflection.shared_at = None
    scope.session.add(reflection)
    touch(conversation.client)
    known = {fold(c.name) for c in conversation.contact.referrals}
    for person in parse_referrals(data.get("referrals", "")):
        if fold(person["name"]) in known:
            continue  # saved before: saving the reflection again must not add them twice
        known.add(fold(person["name"]))
        blank = {
            "email": "",
            "linkedin_url": None,
            "position": "",
            "research_notes": "",
            "tags": [],
            "theme_ids": [],
        }
        contact_service.new_referral(scope, conversation.contact, {**blank, **person})
    if newly_shared:
        scope.session.flush()
        notifications.notify_reflection_shared(scope.session, reflection)
        events.fire(scope.session, "reflection_shared", reflection.practice_id, reflection=reflection)
    scope.session.commit()  # the reflection and its referrals together, or neither
    return reflection


def set_shared(scope: Scope, reflection_id: int, shared: bool) -> Reflection:
    if scope.user.role != Role.CLIENT:
        raise Forbidden("only the client shares their reflection")
    reflection = scope.get(Reflection, reflection_id)
    newly_shared = shared and reflection.shared_at is None
    reflection.shared_at = (reflection.shared_at or utcnow()) if shared else None
    if newly_shared:
        notifications.notify_reflection_shared(scope.session, reflection)
        events.fire(scope.session, "reflection_shared", reflection.practice_id, reflection=reflection)
    scope.session.commit()
    return reflection


def comment(scope: Scope, reflection_id: int, text: str) -> ReflectionComment:
    """A coach comments on a reflection the client shared (the scope hides unshared ones)."""
    if not scope.user.is_staff:
        raise Forbidden("coaches comment; clients write the reflection itself")
    reflection = scope.get(Reflection, reflection_id)
    if not reflection.is_shared:
        raise InvalidInput({"text": ["This reflection is no longer shared."]})
    entry = ReflectionComment(
        practice_id=reflection.practice_id,
        client_id=reflection.client_id,
        reflection_id=reflection.id,
        author_id=scope.user.id,
        text=text,
    )
    scope.session.add(entry)
    scope.session.flush()
    notifications.notify_comment(scope.session, entry)
    scope.session.commit()
    return entry
