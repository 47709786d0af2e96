"""Theme synthesis: a client's themes side by side, and the decision log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import selectinload

from ..models import CareerTheme, Client, Conversation, ConversationStatus, Reflection, ThemeDecision
from ..scoping import Scope
from .themes import status_change


@dataclass
class ThemeSummary:
    theme: CareerTheme
    held: int = 0
    energies: list[int] = field(default_factory=list)
    fits: list[int] = field(default_factory=list)
    insights: list[tuple[str, str]] = field(default_factory=list)  # (contact name, text)
    open_questions: list[tuple[str, str]] = field(default_factory=list)
    decisions: list[ThemeDecision] = field(default_factory=list)

    @property
    def average_energy(self) -> float | None:
        return round(sum(self.energies) / len(self.energies), 1) if self.energies else None

    @property
    def average_fit(self) -> float | None:
        return round(sum(self.fits) / len(self.fits), 1) if self.fits else None


def synthesis(scope: Scope, client_id: int) -> list[ThemeSummary]:
    """Each of the client's themes (dropped ones last) with what the conversations taught.

    A coach's view is built from shared reflections only: the scope hides the rest.
    """
    client = scope.get(Client, client_id)
    summaries = {
        t.id: ThemeSummary(t)
        for t in sorted(client.themes, key=lambda t: (t.status == "dropped", t.position))
    }
    conversations = scope.session.scalars(
        scope.select(Conversation)
        .where(Conversation.client_id == client.id, Conversation.status == ConversationStatus.HELD)
        .options(selectinload(Conversation.contact))
    ).all()
    reflections = {
        r.conversation_id: r
        for r in scope.session.scalars(scope.select(Reflection).where(Reflection.client_id == client.id))
    }
    for conversation in conversations:
        summary = summaries.get(conversation.theme_id)
        if summary is None:
            continue
        summary.held += 1
        reflection = reflections.get(conversation.id)
        if reflection is None:
            continue
        summary.energies.append(reflection.energy)
        summary.fits.append(reflection.fit)
        if reflection.insights:
            summary.insights.append((conversation.contact.name, reflection.insights))
        if reflection.open_questions:
            summary.open_questions.append((conversation.contact.name, reflection.open_questions))
    for decision in scope.session.scalars(
        scope.select(ThemeDecision)
        .where(ThemeDecision.client_id == client.id)
        .options(selectinload(ThemeDecision.by_user))
        .order_by(ThemeDecision.at.desc())
    ):
        if decision.theme_id in summaries:
            summaries[decision.theme_id].decisions.append(decision)
    return list(summaries.values())


def decide(scope: Scope, theme_id: int, data: dict[str, Any]) -> ThemeDecision:
    """Record a decision on a theme (chosen, parked, dropped, or back to exploring) with a note."""
    theme, _previous = status_change(scope, theme_id, data["decision"])
    entry = ThemeDecision(
        practice_id=theme.practice_id,
        client_id=theme.client_id,
        theme_id=theme.id,
        decision=data["decision"],
        note=data["note"],
        by_user_id=scope.user.id,
    )
    scope.session.add(entry)
    scope.session.commit()
    return entry
