"""Importing a file of contacts into a client's list, all or nothing, with any registered importer.

The importer (``crossroads.core.sources.Importer``: the core's LinkedIn and
vCard ones, or a plugin's) turns the file into rows; this service checks the
rows, matches each to a contact the client already has, and writes them in one
transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection as DbConnection

from ..db import utcnow
from ..linkedin import ConnectionsImporter, normalise_profile_url
from ..models import Client, Contact, Role, Stage
from ..scoping import Scope
from ..sources import FIELD_LIMITS, ImportedContact, Importer, ImportRefused, ParsedFile, check_source
from ..text import name_problem
from .activity import touch
from .contacts import search_columns

log = logging.getLogger(__name__)

BATCH = 2000
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # a 30,000-row export is about 3 MB

Progress = Callable[[int, int], None]  # (rows done, rows in all)

#: The columns an import compares and updates; a blank in the file never erases what is there.
COMPARED = ("name", "email", "linkedin_url", "organisation", "position", "connected_on")


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, why)

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged + len(self.skipped)


# New contacts are written with one plain executemany: with 30,000 rows, SQLAlchemy's
# per-row parameter processing would cost more than the database itself. The values
# that are the same for every imported contact are literals in the statement.
NEW_CONTACT_COLUMNS = (
    "name", "sort_name", "email", "linkedin_url", "organisation", "position", "connected_on",
    "search_text", "work_text", "source", "practice_id", "client_id", "stage_changed_at", "created_at",
    "updated_at",
)  # fmt: skip
NEW_CONTACT_CONSTANTS = {
    "stage": f"'{Stage.IDENTIFIED.value}'",
    "tags": "'[]'",
    "research_notes": "''",
    "tag_text": "''",
    "follow_ups_sent": "0",
}


def _insert_new(
    connection: DbConnection, rows: list[tuple], now: datetime, source: str, practice_id: int, client_id: int
) -> None:
    """Insert new contacts' rows (in ``NEW_CONTACT_COLUMNS`` order, without the last six)."""
    sqlite = connection.dialect.name == "sqlite"
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    # SQLite keeps dates and naive UTC datetimes as text, in SQLAlchemy's own format.
    moment = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    names = ", ".join((*NEW_CONTACT_COLUMNS, *NEW_CONTACT_CONSTANTS))
    values = ", ".join((*[mark] * len(NEW_CONTACT_COLUMNS), *NEW_CONTACT_CONSTANTS.values()))
    tail = (source, practice_id, client_id, moment, moment, moment)
    if sqlite:
        params = [(*r[:6], r[6].isoformat() if r[6] else None, *r[7:], *tail) for r in rows]
    else:
        params = [(*r, *tail) for r in rows]
    connection.exec_driver_sql(f"INSERT INTO contact ({names}) VALUES ({values})", params)


def find_importer(importers: Mapping[str, Importer], data: bytes) -> Importer | None:
    """The first of ``importers`` that recognises ``data``, or None."""
    for importer in importers.values():
        try:
            if importer.recognises(data):
                return importer
        except Exception:  # a plugin's importer must not break the page
            log.exception("importer %s failed to look at a file", importer.name)
    return None


def _parse(importer: Importer, data: bytes) -> ParsedFile:
    try:
        parsed = importer.parse(data)
    except ImportRefused:
        raise
    except Exception:
        log.exception("importer %s failed", importer.name)
        raise ImportRefused(
            [(0, f"{importer.label} could not read this file (the error is logged)")]
        ) from None
    if not isinstance(parsed, ParsedFile):
        raise ImportRefused([(0, f"{importer.label} answered {type(parsed).__name__}, not a ParsedFile")])
    return parsed


def _problem(row: Any) -> str | None:
    """Why an importer's row cannot be a contact (the core's own checks, whatever the importer)."""
    if not isinstance(row, ImportedContact):
        return f"the importer gave {type(row).__name__}, not an ImportedContact"
    if not isinstance(row.name, str) or not row.name.strip():
        return "no name"
    for key, limit in FIELD_LIMITS.items():
        value = getattr(row, key)
        if value is not None and not isinstance(value, str):
            return f"{key} is not text"
        if value and len(value) > limit:
            return f"{key} is longer than {limit} characters"
    if problem := name_problem(row.name):
        return f"the name {row.name!r}: {problem}"
    if row.email and ("@" not in row.email or " " in row.email):
        return f"{row.email!r} is not an email address"
    if row.linkedin_url is not None and normalise_profile_url(row.linkedin_url) != row.linkedin_url:
        return f"{row.linkedin_url!r} is not a LinkedIn profile address as normalise_profile_url writes it"
    return None


def _name_key(name: str, organisation: str) -> tuple[str, str]:
    return " ".join(name.casefold().split()), " ".join(organisation.casefold().split())


def _merged(row: ImportedContact, known: Any) -> dict[str, Any]:
    """The contact's values after the import: the file's, except where the file is blank."""
    return {
        "name": row.name,
        "email": row.email.lower() or known.email,
        "linkedin_url": row.linkedin_url or known.linkedin_url,
        "organisation": row.organisation or known.organisation,
        "position": row.position or known.position,
        "connected_on": row.connected_on or known.connected_on,
    }


def import_contacts(
    scope: Scope, client_id: int, importer: Importer, data: bytes, progress: Progress | None = None
) -> ImportResult:
    """Import a file's bytes into a client's contacts with ``importer``.

    A row is matched to a contact the client has by its LinkedIn profile
    address; a row with one that no contact has is still matched by email to
    a contact without a profile address; a row without one is matched by email,
    else by name and organisation. A known contact is updated (its stage,
    notes, tags, themes and source are kept, and a blank in the file erases
    nothing), a new one is added at the "identified" stage with the importer's
    source. Rows about the same person as an earlier row are skipped, naming it.
    A broken file raises :class:`~crossroads.core.sources.ImportRefused` before
    anything is written; everything is written in one transaction.
    """
    client = scope.get(Client, client_id)
    session = scope.session
    source = check_source(session, importer.source)
    parsed = _parse(importer, data)
    problems = [(getattr(row, "line", 0), p) for row in parsed.contacts if (p := _problem(row))]
    if problems:
        raise ImportRefused(problems, len(problems))
    known_rows = session.execute(
        select(*(getattr(Contact, c) for c in ("id", *COMPARED, "tags")))
        .where(Contact.client_id == client.id)
        .order_by(Contact.id)
    ).all()
    by_url = {k.linkedin_url: k for k in known_rows if k.linkedin_url}
    by_email: dict[str, Any] = {}
    by_name: dict[tuple[str, str], Any] = {}
    if any(not row.linkedin_url or row.email for row in parsed.contacts):
        for k in known_rows:
            if k.email:
                by_email.setdefault(k.email.lower(), k)
            by_name.setdefault(_name_key(k.name, k.organisation), k)
    result = ImportResult(skipped=list(parsed.skipped))
    now = utcnow()
    new_rows, changed_rows = [], []
    seen: dict[tuple, int] = {}  # the row's key in this file -> its line
    claimed: dict[int, int] = {}  # a known contact's id -> the line that matched it
    for row in parsed.contacts:
        email = row.email.lower()
        if row.linkedin_url:
            key: tuple = ("url", row.linkedin_url)
        elif email:
            key = ("email", email)
        else:
            key = ("name", *_name_key(row.name, row.organisation))
        if key in seen:
            result.skipped.append((row.line, f"the same person as line {seen[key]}"))
            continue
        seen[key] = row.line
        if row.linkedin_url:
            known = by_url.get(row.linkedin_url)
            if (
                known is None
                and email
                and (other := by_email.get(email)) is not None
                and not other.linkedin_url
            ):
                known = other
        else:
            known = by_email.get(email) if email else None
            if known is None:
                other = by_name.get(_name_key(row.name, row.organisation))
                if other is not None and (not email or not other.email):
                    known = other
        if known is None:
            columns = search_columns(row.name, row.organisation, row.position, email, [])
            new_rows.append(
                (row.name, columns["sort_name"], email, row.linkedin_url, row.organisation, row.position,
                 row.connected_on, columns["search_text"], columns["work_text"])
            )  # fmt: skip
            continue
        if known.id in claimed:
            result.skipped.append((row.line, f"the same person as line {claimed[known.id]}"))
            continue
        claimed[known.id] = row.line
        values = _merged(row, known)
        if all(getattr(known, k) == v for k, v in values.items()):
            result.unchanged += 1
            continue
        changed_rows.append(
            {
                **values,
                **search_columns(row.name, values["organisation"], values["position"], values["email"],
                                 known.tags or []),
                "id": known.id,
                "updated_at": now,
            }
        )  # fmt: skip
    total = len(new_rows) + len(changed_rows)
    done = 0
    connection = session.connection()
    for start in range(0, len(new_rows), BATCH):
        batch = new_rows[start : start + BATCH]
        _insert_new(connection, batch, now, source, client.practice_id, client.id)
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


def import_linkedin(
    scope: Scope, client_id: int, data: bytes, progress: Progress | None = None
) -> ImportResult:
    """Import a LinkedIn ``Connections.csv`` (today's layout): :func:`import_contacts` with its importer."""
    return import_contacts(scope, client_id, ConnectionsImporter(), data, progress)
