"""The pages' lookups use their indexes (issue 18): a plan that scans a client's 30,000 contacts
to find a handful is a regression even when the answer is right."""

from __future__ import annotations

from sqlalchemy import select

from crossroads.core.models import Contact
from crossroads.core.services.contacts import pending_query


def plan(db, query) -> str:
    """The database's plan for ``query`` (sequential scans discouraged on PostgreSQL, where the
    test's few rows would otherwise make a scan the cheaper plan)."""
    sql = str(query.compile(db.get_bind(), compile_kwargs={"literal_binds": True}))
    if db.get_bind().dialect.name == "sqlite":
        return " ".join(row[3] for row in _raw(db, sql))
    db.connection().exec_driver_sql("SET LOCAL enable_seqscan = off")
    return " ".join(row[0] for row in db.connection().exec_driver_sql("EXPLAIN " + sql))


def _raw(db, sql):
    return db.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql)


def test_pending_suggestions_are_found_through_the_partial_index(db, world):
    query = pending_query(world.client.id, select(Contact.id)).order_by(Contact.created_at.desc())
    assert "ix_contact_client_pending" in plan(db, query)
    db.rollback()


def test_contact_search_goes_through_the_search_index(db, world):
    from crossroads.core.scoping import Scope
    from crossroads.core.search_index import FTS_TABLE, TRGM_INDEX, contains_words
    from crossroads.core.services.contacts import _filtered

    if db.get_bind().dialect.name == "sqlite":
        query = _filtered(Scope(db, world.client.user), world.client, {"q": "okafor conde"})
        assert FTS_TABLE in plan(db, query.with_only_columns(Contact.id))
    else:
        # The search's own condition (on a table of a few rows, the client's index would win).
        condition = contains_words("postgresql", ["okafor", "conde"])
        assert TRGM_INDEX in plan(db, select(Contact.id).where(condition))
    db.rollback()


def test_search_finds_short_and_long_words_and_follows_inserts_edits_and_removals(db, world):
    from sqlalchemy import insert

    from crossroads.core.models import ContactSource
    from crossroads.core.scoping import Scope
    from crossroads.core.services import contacts
    from crossroads.core.services.contacts import search_columns
    from crossroads.testing import make_contact

    scope = Scope(db, world.client.user)

    def found(q: str) -> list[str]:
        return sorted(c.name for c in contacts.search(scope, world.client.id, {"q": q}).items)

    zoe = make_contact(db, world.client, "Zoë Okafor", "Condé Nast", "Partner")
    make_contact(db, world.client, "Al Wu", "Deloitte", "Partner")
    # Written with Core, as imports are: the index follows (triggers on SQLite).
    db.execute(
        insert(Contact),
        [
            dict(
                practice_id=world.practice.id,
                client_id=world.client.id,
                name='Jo "Quote" Ray',
                source=ContactSource.LINKEDIN.value,
                **search_columns('Jo "Quote" Ray', "Quillworks", "Archivist", "", []),
            )
        ],
    )
    db.commit()
    assert found("ZOE conde") == ["Zoë Okafor"]
    assert found("al partner") == ["Al Wu"]  # "al" is too short for a trigram: matched by LIKE
    assert found('"quote"') == ['Jo "Quote" Ray']
    assert found("archivist quillworks") == ['Jo "Quote" Ray']
    zoe.name = "Zoë Adeyemi"
    contacts.refresh_search_columns(zoe)
    db.commit()
    assert found("okafor") == [] and found("adeyemi") == ["Zoë Adeyemi"]
    contacts.remove_contact(scope, zoe.id)
    assert found("adeyemi") == []
