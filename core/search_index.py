"""The index behind contact search (migration 0023): which rows contain every word.

On SQLite an FTS5 table ``contact_search`` with the trigram tokenizer mirrors
``contact.search_text`` (kept by triggers, so Core bulk inserts are indexed too); on PostgreSQL a
``pg_trgm`` GIN index on ``contact.search_text`` serves the same ``LIKE '%word%'`` the search
always ran. ``search_text`` is folded (lowercase, no accents), and so are the words searched for,
so matching stays case- and accent-insensitive. A trigram index needs three characters: shorter
words are matched with ``LIKE`` on the rows the longer ones found.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, literal_column, select, table, text, true

from .models import Contact
from .text import like_pattern

#: The SQLite FTS5 table, and the PostgreSQL index (both outside the models' metadata).
FTS_TABLE = "contact_search"
TRGM_INDEX = "ix_contact_search_trgm"
#: A trigram index finds words of at least this many characters.
MIN_INDEXED = 3

_fts = table(FTS_TABLE, literal_column("rowid"))


def _phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def contains_words(dialect: str, words: list[str]) -> ColumnElement[bool]:
    """SQL: the contact's ``search_text`` contains every one of ``words`` (already folded)."""
    conditions = []
    indexed = [w for w in words if len(w) >= MIN_INDEXED]
    if dialect == "sqlite" and indexed:
        match = " ".join(_phrase(w) for w in indexed)
        conditions.append(
            Contact.id.in_(
                select(literal_column("rowid"))
                .select_from(_fts)
                .where(text(f"{FTS_TABLE} MATCH :words").bindparams(words=match))
            )
        )
        words = [w for w in words if len(w) < MIN_INDEXED]
    conditions += [Contact.search_text.like(like_pattern(w), escape="\\") for w in words]
    return and_(true(), *conditions)


def outside_the_models(difference: tuple) -> bool:
    """Whether an Alembic autogenerate difference is the search index, which the migration makes
    and the models do not declare: the FTS5 table and its shadow tables (SQLite), the trigram
    index (PostgreSQL)."""
    kind, item = difference[0], difference[1]
    if kind == "remove_table":
        return item.name.startswith(FTS_TABLE)
    return kind == "remove_index" and item.name == TRGM_INDEX
