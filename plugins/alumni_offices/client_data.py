"""A client's alumni-office rows, for their data export and their erasure.

Affiliations, introduction requests and the introductions they brought are the client's
own; the institutions belong to the practice's directory and stay when a client is erased.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from crossroads.plugin import Client, Scope

from .models import Affiliation, Introduction, IntroductionRequest


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_rows(scope: Scope, client: Client) -> dict[str, list[dict[str, Any]]]:
    """``affiliations``, ``introduction_requests`` and ``introductions``, as plain JSON rows
    (read through the exporter's ``scope``)."""
    session = scope.session
    affiliations = session.scalars(
        scope.select(Affiliation).where(Affiliation.client_id == client.id).order_by(Affiliation.id)
    )
    requests = session.scalars(
        scope.select(IntroductionRequest)
        .where(IntroductionRequest.client_id == client.id)
        .order_by(IntroductionRequest.id)
    )
    introductions = session.scalars(
        scope.select(Introduction).where(Introduction.client_id == client.id).order_by(Introduction.id)
    )
    return {
        "affiliations": [
            {
                "id": a.id,
                "institution_id": a.institution_id,
                "institution": a.institution.name,
                "programme": a.programme,
                "year": a.year,
                "created_at": _when(a.created_at),
                "removed_at": _when(a.removed_at),
            }
            for a in affiliations
        ],
        "introduction_requests": [
            {
                "id": r.id,
                "institution_id": r.institution_id,
                "institution": r.institution.name,
                "office": r.office.value,
                "affiliation_id": r.affiliation_id,
                "theme_id": r.theme_id,
                "hoped_for": r.hoped_for,
                "message_id": r.message_id,
                "status": r.status.value,
                "note": r.note,
                "created_at": _when(r.created_at),
                "answered_at": _when(r.answered_at),
                "closed_at": _when(r.closed_at),
            }
            for r in requests
        ],
        "introductions": [
            {
                "id": i.id,
                "request_id": i.request_id,
                "contact_id": i.contact_id,
                "contact_name": i.contact.name,
                "created_at": _when(i.created_at),
            }
            for i in introductions
        ],
    }


def erase_rows(session: Session, client: Client) -> None:
    """Delete the client's introductions, requests and affiliations (children first)."""
    for model in (Introduction, IntroductionRequest, Affiliation):
        session.execute(delete(model).where(model.client_id == client.id))
