"""Importing a LinkedIn connections export into a client's contacts, all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update

from ..db import utcnow
from ..linkedin import Connection, parse_bytes
from ..models import Client, Contact, ContactSource, Role, Stage
from ..scoping import Scope
from .activity import touch
from .contacts import search_columns

BATCH = 2000
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # a 30,000-row export is about 3 MB

Progress = Callable[[int, int], None]  # (rows done, rows in all)


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, why)

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged + len(self.skipped)


def _values(row: Connection) -> dict:
    return {
        "name": row.name,
        "organisation": row.organisation,
        "position": row.position,
        "connected_on": row.connected_on,
    }


def import_linkedin(
    scope: Scope, client_id: int, data: bytes, progress: Progress | None = None
) -> ImportResult:
    """Import an export's bytes into a client's contacts.

    Contacts are matched by profile URL: a known one is updated (its stage,
    notes, tags and themes are kept; an email typed by hand is not erased by
    the export's blank one), a new one is added at the "identified" stage.
    A broken file raises :class:`~crossroads.core.linkedin.ImportRefused`
    before anything is written; everything is written in one transaction.
    """
    client = scope.get(Client, client_id)
    parsed = parse_bytes(data)
    session = scope.session
    existing = {
        row.linkedin_url: row
        for row in session.execute(
            select(
                Contact.id,
                Contact.linkedin_url,
                Contact.name,
                Contact.email,
                Contact.organisation,
                Contact.position,
                Contact.connected_on,
                Contact.tags,
            ).where(Contact.client_id == client.id, Contact.linkedin_url.is_not(None))
        )
    }
    result = ImportResult(skipped=list(parsed.skipped))
    now = utcnow()
    new_rows, changed_rows = [], []
    for row in parsed.connections:
        values = _values(row)
        known = existing.get(row.linkedin_url)
        if known is None:
            new_rows.append(
                {
                    **values,
                    **search_columns(row.name, row.organisation, row.position, row.email, []),
                    "email": row.email,
                    "practice_id": client.practice_id,
                    "client_id": client.id,
                    "linkedin_url": row.linkedin_url,
                    "source": ContactSource.LINKEDIN,
                    "stage": Stage.IDENTIFIED,
                    "stage_changed_at": now,
                    "created_at": now,
                    "updated_at": now,
                    "tags": [],
                    "research_notes": "",
                    "follow_ups_sent": 0,
                }
            )
            continue
        email = row.email or known.email
        if all(getattr(known, k) == v for k, v in values.items()) and email == known.email:
            result.unchanged += 1
            continue
        changed_rows.append(
            {
                **values,
                **search_columns(row.name, row.organisation, row.position, email, known.tags or []),
                "id": known.id,
                "email": email,
                "updated_at": now,
            }
        )
    total = len(new_rows) + len(changed_rows)
    done = 0
    for start in range(0, len(new_rows), BATCH):
        batch = new_rows[start : start + BATCH]
        # Core executemany: the ORM's per-row bookkeeping buys nothing for fresh rows.
        session.connection().execute(insert(Contact.__table__), batch)
        done += len(batch)
        if progress:
            progress(done, total)
    for start in range(0, len(changed_rows), BATCH):
        batch = changed_rows[start : start + BATCH]
        session.execute(update(Contact), batch)
        done += len(batch)
        if progress:
            progress(done, total)
    result.added, result.updated = len(new_rows), len(changed_rows)
    if scope.user.role == Role.CLIENT:
        touch(client, now)
    session.commit()
    return result
