"""Keeping each contact's due dates (``Contact.due_on``, ``Contact.overdue_from``) as events happen.

The dates follow from the follow-up rhythm (:func:`.followups.due_dates`, the one rule) and change
only when something happens: a request or follow-up sent, a reply, a stage change, a snooze, an
away reply. A flush hook on every session recomputes them for each contact whose rhythm inputs
changed in that flush, so no service has to remember to. What changes many contacts at once is
recomputed here in bulk: the client's time zone (:func:`refresh`, for that client) and the
practice's rhythm (:func:`refresh`, for the practice, run by the worker in the background).
A statement that writes those columns with Core (``update(Contact)``) calls :func:`refresh` itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, attributes
from sqlalchemy.sql import ClauseElement

from ..db import utcnow
from ..models import Client, Contact, Practice, Stage, User
from .followups import due_dates

#: The attributes of a contact the rhythm reads: a change to any of them moves its dates.
RHYTHM_INPUTS = ("stage", "stage_changed_at", "follow_ups_sent", "last_follow_up_at", "quiet_until")
#: Only these stages can have anything due (see :func:`.followups.due_for`).
OPEN_STAGES = (Stage.REQUESTED, Stage.TALKED)
BATCH = 1000
#: ``session.info`` key: the practices whose rhythm changed in this transaction (their contacts'
#: dates are recomputed by a worker once it commits; see ``MailQueue``).
RHYTHM_CHANGED_KEY = "crossroads.due_dates.rhythm_changed"
#: ``session.info`` key under which a session has a queue attached (``core.mail.queue.ATTACHED_KEY``).
QUEUE_KEY = "crossroads.mail.queue"


def _changed(contact: Contact) -> bool:
    return any(attributes.get_history(contact, name).has_changes() for name in RHYTHM_INPUTS)


def _as_read(contact: Contact) -> SimpleNamespace:
    """The rhythm's inputs as values. A follow-up is counted in SQL (``follow_ups_sent + 1``, so
    that two at once both count): the rule only asks whether any was sent, so that is one or more."""
    values = {name: getattr(contact, name) for name in RHYTHM_INPUTS}
    if isinstance(values["follow_ups_sent"], ClauseElement):
        values["follow_ups_sent"] = 1
    return SimpleNamespace(**values)


@event.listens_for(Session, "before_flush")
def _keep_due_dates(session: Session, _context, _instances) -> None:
    """Recompute the dates of every new contact, and of every changed one whose rhythm inputs changed."""
    for contact in [*session.new, *session.dirty]:
        if not isinstance(contact, Contact) or (contact not in session.new and not _changed(contact)):
            continue
        if contact.stage not in OPEN_STAGES:
            contact.due_on = contact.overdue_from = None
            continue
        if contact.stage_changed_at is None:  # the column's default, given now so the rule can read it
            contact.stage_changed_at = utcnow()
        client = contact.client if "client" not in attributes.instance_state(contact).unloaded else None
        client = client or session.get(Client, contact.client_id)
        practice = session.get(Practice, contact.practice_id or client.practice_id)
        dates = due_dates(_as_read(contact), practice, ZoneInfo(client.timezone))
        contact.due_on, contact.overdue_from = dates.due_on, dates.overdue_from


def refresh(
    connection: Connection | Session,
    *,
    practice_id: int | None = None,
    client_ids: Sequence[int] | None = None,
    contact_ids: Sequence[int] | None = None,
) -> int:
    """Recompute the dates of the open contacts of a practice, of some clients or some contacts (and
    clear them on contacts no longer open) with Core statements, in batches; returns how many
    contacts now have a date that changed. Runs in the caller's transaction."""
    where = []
    if practice_id is not None:
        where.append(Contact.practice_id == practice_id)
    if client_ids is not None:
        where.append(Contact.client_id.in_(list(client_ids)))
    if contact_ids is not None:
        where.append(Contact.id.in_(list(contact_ids)))
    closed = connection.execute(
        update(Contact)
        .where(*where, Contact.stage.not_in(OPEN_STAGES), Contact.due_on.is_not(None))
        .values(due_on=None, overdue_from=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    rows = connection.execute(
        select(
            Contact.id,
            Contact.stage,
            Contact.stage_changed_at,
            Contact.follow_ups_sent,
            Contact.last_follow_up_at,
            Contact.quiet_until,
            Contact.due_on,
            Contact.overdue_from,
            Practice.second_person_after_days,
            Practice.follow_up_after_days,
            User.timezone,
        )
        .join(Client, Client.id == Contact.client_id)
        .join(User, User.id == Client.user_id)
        .join(Practice, Practice.id == Contact.practice_id)
        .where(*where, Contact.stage.in_(OPEN_STAGES))
    ).all()
    zones: dict[str, ZoneInfo] = {}
    changes = []
    for row in rows:
        zone = zones.get(row.timezone) or zones.setdefault(row.timezone, ZoneInfo(row.timezone))
        dates = due_dates(row, row, zone)  # the row carries the practice's two numbers too
        if (dates.due_on, dates.overdue_from) != (row.due_on, row.overdue_from):
            changes.append({"key": row.id, "due": dates.due_on, "overdue": dates.overdue_from})
    table = Contact.__table__
    statement = (
        table.update()
        .where(table.c.id == bindparam("key"))
        .values(due_on=bindparam("due"), overdue_from=bindparam("overdue"))
    )
    for start in range(0, len(changes), BATCH):
        connection.execute(statement, changes[start : start + BATCH])
    return closed + len(changes)


def refresh_practice(session: Session, practice_id: int) -> int:
    """The worker's task after the practice's rhythm changed: every open contact of the practice,
    committed."""
    changed = refresh(session, practice_id=practice_id)
    session.commit()
    return changed


def rhythm_changed(session: Session, practice_id: int) -> None:
    """The practice's follow-up rhythm changed: recompute its contacts' dates in the background
    (a worker, woken when this transaction commits), or here and now when the session has no queue
    (a command, a script)."""
    if session.info.get(QUEUE_KEY) is not None:
        session.info.setdefault(RHYTHM_CHANGED_KEY, set()).add(practice_id)
    else:
        session.flush()
        refresh(session, practice_id=practice_id)
