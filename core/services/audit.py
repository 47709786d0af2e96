"""The audit log: who in the practice looked at, changed, exported or erased a client's data.

Views record coaches' and owners' access to a client's private pages; the export and
erasure services record themselves. A client's own use of their workspace is not logged.
Only the practice owner reads the log (:func:`events`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from ..db import utcnow
from ..errors import NotFound
from ..models import AuditAction, AuditEvent, Client, Role, User
from ..pagination import Page, paginate
from ..scoping import Scope

#: A view of the same page by the same person within this window is recorded once.
VIEW_WINDOW = timedelta(minutes=10)
#: The longest ``what``: the kind of page or row and its id, never a name.
WHAT_LENGTH = 200


def record(
    scope: Scope,
    client_id: int | None,
    action: AuditAction | str,
    what: str,
    ip: str | None = None,
    commit: bool = False,
) -> AuditEvent | None:
    """Log that the signed-in user did ``action`` to ``client_id``'s ``what``.

    A view (``"viewed"``) repeated by the same person on the same page within
    :data:`VIEW_WINDOW` is not logged again: None is returned. The event joins the
    session's transaction; pass ``commit=True`` to commit it at once.
    """
    action = AuditAction(action)
    what = what[:WHAT_LENGTH]
    now = utcnow()
    session = scope.session
    if action in (AuditAction.VIEWED, AuditAction.CHANGED):
        recent = session.scalar(
            select(AuditEvent.id)
            .where(
                AuditEvent.practice_id == scope.practice_id,
                AuditEvent.actor_id == scope.user.id,
                AuditEvent.client_id == client_id,
                AuditEvent.action == action,
                AuditEvent.what == what,
                AuditEvent.at > now - VIEW_WINDOW,
            )
            .limit(1)
        )
        if recent is not None:
            return None
    event = AuditEvent(
        practice_id=scope.practice_id,
        actor_id=scope.user.id,
        client_id=client_id,
        action=action,
        what=what,
        at=now,
        ip=(ip or None) and ip[:64],
    )
    session.add(event)
    if commit:
        session.commit()
    else:
        session.flush()
    return event


def events(scope: Scope, params: dict[str, Any]) -> Page[AuditEvent]:
    """One page of the practice's audit log, newest first, for the owner only.

    ``params`` (from ``AuditQuerySchema``): ``client_id`` and ``actor_id`` filter,
    ``page`` and ``per_page`` choose the page.
    """
    if scope.user.role != Role.OWNER:
        raise NotFound("the audit log is the owner's")
    query = select(AuditEvent).where(AuditEvent.practice_id == scope.practice_id)
    if params.get("client_id"):
        query = query.where(AuditEvent.client_id == params["client_id"])
    if params.get("actor_id"):
        query = query.where(AuditEvent.actor_id == params["actor_id"])
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    return paginate(scope.session, query, params.get("page", 1), params.get("per_page", 50))


def client_names(scope: Scope, client_ids: set[int | None]) -> dict[int, str]:
    """Names of the clients still in the practice, by id; erased clients are missing."""
    ids = {i for i in client_ids if i is not None}
    if not ids:
        return {}
    rows = scope.session.execute(
        select(Client.id, User.name)
        .join(User, Client.user_id == User.id)
        .where(Client.practice_id == scope.practice_id, Client.id.in_(ids))
    )
    return {client_id: name for client_id, name in rows}


def actors(scope: Scope) -> list[User]:
    """The practice's people who appear in its log, for the filter (coaches and owners first)."""
    ids = select(AuditEvent.actor_id).where(AuditEvent.practice_id == scope.practice_id).distinct()
    return list(
        scope.session.scalars(
            select(User)
            .where(User.practice_id == scope.practice_id, User.id.in_(ids))
            .order_by(User.role, User.name)
        )
    )
