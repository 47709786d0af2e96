"""Importing a LinkedIn connections export into a client's contacts, all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection as DbConnection

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


# New contacts are written with one plain executemany: with 30,000 rows, SQLAlchemy's
# per-row parameter processing would cost more than the database itself. The values
# that are the same for every imported contact are literals in the statement.
NEW_CONTACT_COLUMNS = (
    "name", "sort_name", "email", "linkedin_url", "organisation", "position", "connected_on",
    "search_text", "work_text", "practice_id", "client_id", "stage_changed_at", "created_at", "updated_at",
)  # fmt: skip
NEW_CONTACT_CONSTANTS = {
    "source": f"'{ContactSource.LINKEDIN.value}'",
    "stage": f"'{Stage.IDENTIFIED.value}'",
    "tags": "'[]'",
    "research_notes": "''",
    "tag_text": "''",
    "follow_ups_sent": "0",
}


def _insert_new(connection: DbConnection, rows: list[tuple], now: datetime, practice_id: int, client_id: int):
    """Insert new contacts' rows (in ``NEW_CONTACT_COLUMNS`` order, without the last five)."""
    sqlite = connection.dialect.name == "sqlite"
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    # SQLite keeps dates and naive UTC datetimes as text, in SQLAlchemy's own format.
    moment = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    names = ", ".join((*NEW_CONTACT_COLUMNS, *NEW_CONTACT_CONSTANTS))
    values = ", ".join((*[mark] * len(NEW_CONTACT_COLUMNS), *NEW_CONTACT_CONSTANTS.values()))
    tail = (practice_id, client_id, moment, moment, moment)
    if sqlite:
        params = [(*r[:6], r[6].isoformat() if r[6] else None, *r[7:], *tail) for r in rows]
    else:
        params = [(*r, *tail) for r in rows]
    connection.exec_driver_sql(f"INSERT INTO contact ({names}) VALUES ({values})", params)


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
        known = existing.get(row.linkedin_url)
        if known is None:
            columns = search_columns(row.name, row.organisation, row.position, row.email, [])
            new_rows.append(
                (row.name, columns["sort_name"], row.email, row.linkedin_url, row.organisation, row.position,
                 row.connected_on, columns["search_text"], columns["work_text"])
            )  # fmt: skip
            continue
        values = _values(row)
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
    connection = session.connection()
    for start in range(0, len(new_rows), BATCH):
        batch = new_rows[start : start + BATCH]
        _insert_new(connection, batch, now, client.practice_id, client.id)
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
