"""Requests that arrive together: one client's writes one at a time (what keeps a limit true when
two requests check it at once), and a form that does its work once however often it is submitted."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import utcnow
from .errors import AlreadySubmitted, EditConflict, InvalidInput
from .models import Client, FormToken

#: How long a claimed form token is remembered: longer than anyone keeps a page open to submit it again.
KEEP_FORM_TOKENS = timedelta(days=2)
_FORM_TOKEN = re.compile(r"[0-9a-f]{32}")
STALE_EDIT = (
    "Someone saved {what} while you were editing. What they saved is shown below; your text "
    "is still here. Save again to keep yours."
)


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


def refuse_stale(
    session: Session,
    obj: Any,
    seen: datetime | None,
    fields: Sequence[str],
    what: str,
    shown: Mapping[str, Callable[[Any], str]] | None = None,
) -> None:
    """Refuse an edit of ``obj`` (a row of a client's, with ``client_id`` and ``updated_at``) begun on
    an older version than the one saved now: :class:`EditConflict` with the saved text of each of
    ``fields`` (through ``shown[field]`` where the stored value is not the form's text).

    ``seen`` is the ``updated_at`` the form was shown with (its hidden ``version`` field); ``None``
    (a form posted without one) is not checked. The client's row is locked first, so of two saves
    of the same version one waits for the other and then finds it newer. ``what`` names the object
    in the message ("this contact").
    """
    lock_client(session, obj.client_id)
    session.refresh(obj)
    if seen is None or seen == obj.updated_at:
        return
    shown = shown or {}
    raise EditConflict(
        {fields[0]: [STALE_EDIT.format(what=what)]},
        saved={name: shown.get(name, _text)(getattr(obj, name)) for name in fields},
        version=obj.updated_at.isoformat(),
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def new_form_token() -> str:
    """A fresh one-time token to render into a form as its hidden ``form_token`` field."""
    return secrets.token_hex(16)


def claim_form_token(session: Session, token: str) -> None:
    """Claim ``token`` in the transaction of the work the form does; :class:`AlreadySubmitted` if it was.

    The claim commits (or rolls back) with that work, so a form refused for bad input can be sent
    again. A second submit at the same moment waits on the token's primary key until the first
    commits, then finds it taken.
    """
    if not _FORM_TOKEN.fullmatch(token):
        raise InvalidInput({"_schema": ["This form is out of date: reload the page and try again."]})
    # On SQLite this first write also begins the transaction, holding the write lock from here on.
    session.execute(delete(FormToken).where(FormToken.claimed_at < utcnow() - KEEP_FORM_TOKENS))
    session.add(FormToken(token=token))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise AlreadySubmitted(token) from None
