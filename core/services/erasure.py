"""Erasing a client: the owner deletes everything Crossroads keeps about them, for good.

Rows are deleted, not hidden: first each plugin's, through the ``erase_client_data``
hook, then the core's, children before parents, ending with the client's user account and
the practice's emails that reach or name them (deleted, or rewritten to "a former client").
All of it is one transaction: if a plugin raises, nothing is erased and the owner is told
which plugin failed. What remains is an audit event ("erased") that keeps the client's
number and how many rows went, never their name or email, so the practice can show that
the erasure happened. The audit log's earlier entries about the client stay too: they hold
only the client's number and what was looked at ("reflection 12").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from ..errors import Forbidden, InvalidInput
from ..mail.outbox import forget_client
from ..models import (
    AuditAction,
    AuditEvent,
    CalendarFeed,
    CareerTheme,
    Client,
    ClientPluginSetting,
    Contact,
    Conversation,
    Goal,
    InboundMail,
    Invitation,
    LoginFailure,
    Notification,
    OutboxEmail,
    OutreachMessage,
    PrepQuestion,
    Reflection,
    ReflectionComment,
    Role,
    StageChange,
    ThemeDecision,
    User,
    bank_client,
    contact_theme,
)
from ..scoping import Scope
from ..text import fold
from . import audit

if TYPE_CHECKING:
    from ..plugins import PluginManager

#: The core's tables with the client's rows, children before parents (foreign keys hold on
#: both SQLite and PostgreSQL). ``contact_theme``, invitations, sign-in failures, the client
#: row and the user account are handled around them.
CLIENT_TABLES: tuple[Any, ...] = (
    InboundMail,
    Notification,
    OutreachMessage,
    OutboxEmail,
    ReflectionComment,
    Reflection,
    PrepQuestion,
    Conversation,
    StageChange,
    ThemeDecision,
    Goal,
    ClientPluginSetting,
    Contact,
    CareerTheme,
)
#: What the erasure record counts (a number per kind, nothing else).
COUNTED = (
    ("themes", CareerTheme),
    ("contacts", Contact),
    ("conversations", Conversation),
    ("reflections", Reflection),
    ("messages", OutreachMessage),
    ("emails", OutboxEmail),
)


class ErasureFailed(InvalidInput):
    """The erasure was rolled back; ``plugin`` names the plugin that failed (None: the database)."""

    def __init__(self, message: str, plugin: str | None = None):
        super().__init__({"_schema": [message]})
        self.plugin = plugin


@dataclass(frozen=True)
class Erasure:
    """What an erasure did: the client's number, the rows counted, the plugins asked, the record kept."""

    client_id: int
    counts: dict[str, int]
    plugins: list[str]
    record: AuditEvent


def _count(session, model: Any, client_id: int) -> int:
    return session.scalar(select(func.count()).select_from(model).where(model.client_id == client_id)) or 0


def _names_match(typed: str, name: str) -> bool:
    return " ".join(fold(typed).split()) == " ".join(fold(name).split())


def client_to_erase(scope: Scope, client_id: int) -> Client:
    """The client, for the owner; 404 outside the scope, 403 for a coach (their own client)."""
    client = scope.get(Client, client_id)
    if scope.user.role != Role.OWNER:
        raise Forbidden("only the practice owner erases a client")
    return client


def erase_client(
    scope: Scope, client_id: int, confirm_name: str, plugins: PluginManager, ip: str | None = None
) -> Erasure:
    """Delete ``client_id`` and everything about them, once the owner has typed their name.

    Raises :class:`InvalidInput` when the name does not match and :class:`ErasureFailed`
    (nothing erased) when a plugin or the database refuses.
    """
    client = client_to_erase(scope, client_id)
    if not _names_match(confirm_name, client.name):
        raise InvalidInput({"confirm_name": ["Type the client's name exactly as shown above."]})
    session = scope.session
    user_id, email, name = client.user_id, client.user.email, client.name
    counts = {label: _count(session, model, client.id) for label, model in COUNTED}
    parts = ", ".join(f"{label}: {n}" for label, n in counts.items())
    # The record is written first: on SQLite, the driver begins the transaction only at a write,
    # and a plugin's savepoint opened before one would commit the plugin's deletes on release.
    what = f"client #{client_id} erased with their account ({parts})"
    record = audit.record(scope, client_id, AuditAction.ERASED, what, ip=ip)
    # Every installed plugin, switched on for the practice or not: a plugin switched off still keeps rows.
    results = plugins.call(
        "erase_client_data", None, isolate=session.begin_nested, session=session, client=client
    )
    failed = [r for r in results if not r.ok]
    if failed:
        session.rollback()
        names = ", ".join(r.plugin for r in failed)
        raise ErasureFailed(
            f"Nothing was erased: the plugin {names} could not delete its data ({failed[0].error}). "
            "Try again later, and tell the plugin's author if it keeps failing.",
            plugin=failed[0].plugin,
        )
    asked = sorted(p.name for p in plugins.plugins() if "erase_client_data" in p.hooks)
    try:
        contacts = select(Contact.id).where(Contact.client_id == client.id)
        session.execute(delete(contact_theme).where(contact_theme.c.contact_id.in_(contacts)))
        session.execute(delete(bank_client).where(bank_client.c.client_id == client.id))
        for model in CLIENT_TABLES:
            session.execute(delete(model).where(model.client_id == client.id))
        session.execute(delete(Client).where(Client.id == client.id))
        session.execute(delete(Invitation).where(Invitation.user_id == user_id))
        session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user_id))
        session.execute(delete(LoginFailure).where(LoginFailure.email == email))
        # The client's own notifications (each names them as client_id too, so this is a safety net).
        session.execute(delete(Notification).where(Notification.user_id == user_id))
        # Emails not filed under the client still name or reach them: a coach's digest, an invitation.
        forget_client(session, client.practice_id, name, email)
        session.execute(delete(User).where(User.id == user_id))
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        detail = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
        raise ErasureFailed(f"Nothing was erased: the database refused ({detail}).") from exc
    if client in session:
        session.expunge(client)
    return Erasure(client_id, counts, asked, record)
