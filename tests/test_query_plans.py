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
