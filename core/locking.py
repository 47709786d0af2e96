"""One client's writes, one at a time: what keeps a limit true when two requests check it at once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Client


def lock_client(session: Session, client_id: int) -> None:
    """Hold the client's row until the transaction ends; call it before checking a per-client limit.

    PostgreSQL: ``SELECT ... FOR UPDATE`` on the client row; a second transaction waits there
    until the first commits, then counts what it wrote. SQLite has no row locks: the transaction
    takes the database's write lock now (``BEGIN IMMEDIATE``; a second writer waits for it, up to
    the busy timeout), because Python's driver would otherwise begin it only at the first write,
    after the count had been read.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # A transaction already open on SQLite holds the write lock: the driver opens one only to write.
        if not connection.connection.driver_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    connection.execute(select(Client.id).where(Client.id == client_id).with_for_update())
