"""The daily reminder email to clients ("Crossroads speaks first") and its signed one-click links.

At most one short email a day, from the hour the client chose, in their time zone, and only when
something is due: follow-ups and thank-yous as :mod:`crossroads.core.outreach.followups` has them (read
through :func:`.contacts.due_by_client`, the batch form of ``due_for_client``), tomorrow's
scheduled conversations, and what plugins say is due (the ``due_entries`` hook).
:func:`send_reminders` is a core scheduled job of the mail worker
(:func:`crossroads.core.scheduling.core_jobs`): it runs every hour, claims the client's day with one
conditional ``UPDATE`` of ``last_reminded_on`` (two workers, or a rerun, never send twice; a
worker that was down sends later the same day) and writes the email to the outbox.

Each follow-up or thank-you in the email has two signed links, *done* and *snooze*, that work
without signing in: the token names the client, the contact, the action and the kind of item,
and expires after :data:`LINK_DAYS`. A GET only shows the item and a button; the button POSTs
(mail scanners fetch links, never submit forms). *Open* links are plain links to the contact or
the prep sheet, behind the usual sign-in.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, joinedload

from ..db import utcnow
from ..due_entries import due_entries as plugin_due_entries
from ..errors import Forbidden, InvalidInput, NotFound
from ..locking import lock_client
from ..mail.outbox import queue_email
from ..models import (
    Client,
    ClientStatus,
    Contact,
    Conversation,
    PracticeMail,
    Role,
    Stage,
    User,
)
from ..outreach import due_dates
from ..outreach.followups import DueItem, DueKind, due_for, first_follow_up_on
from ..plugins import DueEntry
from ..scoping import Scope
from ..security import LinkSigner
from . import contacts as contact_service
from . import conversations as conversation_service

log = logging.getLogger(__name__)

#: Done and snooze links work this long after the email was written.
LINK_DAYS = 7
#: The undo offered after done or snooze works this long.
UNDO_HOURS = 24
#: Snooze quiets the contact this many days.
SNOOZE_DAYS = 3
DEFAULT_HOUR = 8
#: Longest piece of a contact's text (name, organisation) written into the email.
TEXT_LIMIT = 80
#: A short email: at most this many follow-ups and thank-yous (overdue first), then "and N more".
MAX_ITEMS = 8
#: Clients whose day is claimed, and whose emails are queued, in one transaction.
BATCH = 100

# The web routes these links land on (web/reminders.py registers the first two with these very
# strings; tests/test_reminders.py checks the others against the app's URL map). The worker has no
# Flask app, so it builds links from CROSSROADS_BASE_URL and these paths.
LINK_ROUTE = "/reminders/<token>"
UNDO_ROUTE = "/reminders/undo/<token>"
CONTACT_PATH = "/contacts/{id}"
PREP_PATH = "/conversations/{id}"
SETTINGS_PATH = "/account"
HOME_PATH = "/me/"


class Action(enum.StrEnum):
    DONE = "done"
    SNOOZE = "snooze"


#: What "done" means for each kind of item, in the email and on the button.
DONE_LABELS = {
    DueKind.FOLLOW_UP: "Sent it another way? Mark it done",
    DueKind.LAST_NUDGE: "Sent it another way? Mark it done",
    DueKind.THANK_YOU: "Thanked them already? Mark it done",
    DueKind.CLOSE: "Mark as no response",
    DueKind.SECOND_PERSON: "Noted: hide this until the follow-up is due",
}
DONE_RESULTS = {
    DueKind.FOLLOW_UP: "Follow-up to {name} recorded.",
    DueKind.LAST_NUDGE: "Last nudge to {name} recorded.",
    DueKind.THANK_YOU: "{name} is marked thanked.",
    DueKind.CLOSE: "{name} is marked no response.",
    DueKind.SECOND_PERSON: "Noted. {name} is quiet until {until}, when the follow-up is due.",
}


def reminder_signer(secret_key: str) -> LinkSigner:
    """Signs done and snooze links (a salt of their own: no other link's token is one of these)."""
    return LinkSigner(secret_key, salt="crossroads-reminder")


def undo_signer(secret_key: str) -> LinkSigner:
    """Signs the undo offered after a done or snooze link."""
    return LinkSigner(secret_key, salt="crossroads-reminder-undo")


def link_token(signer: LinkSigner, contact: Contact, action: Action, kind: DueKind) -> str:
    """The token of a done or snooze link: bound to the client, the contact, the action and the kind."""
    return signer.sign_values([contact.client_id, contact.id, action.value, kind.value])


# -- settings --------------------------------------------------------------------------------


def update_settings(scope: Scope, data: dict[str, Any]) -> Client:
    """A client switches their daily reminder on or off and chooses its hour (``ReminderSettingsSchema``)."""
    if scope.user.role != Role.CLIENT or scope.own_client_id is None:
        raise Forbidden("only a client has a daily reminder")
    client = scope.get(Client, scope.own_client_id)
    client.reminders_on = data["reminders_on"]
    client.reminder_hour = data["reminder_hour"]
    scope.session.commit()
    return client


# -- the email -------------------------------------------------------------------------------

_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")


def one_line(text: str, limit: int = TEXT_LIMIT) -> str:
    """User text as one short line: no line breaks or control characters, at most ``limit`` long."""
    flat = " ".join(_BREAKS.sub(" ", text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def _short_day(day: date) -> str:
    return f"{day.day} {day:%b}"


def reminder_email(
    client: Client,
    items: list[DueItem],
    conversations: list[Conversation],
    signer: LinkSigner,
    base_url: str,
    today: date,
    entries: Sequence[DueEntry] = (),
) -> tuple[str, str]:
    """The reminder's subject (no user text in it) and plain-text body, links absolute.

    ``entries`` are what plugins say is due (the ``due_entries`` hook): listed after the
    follow-ups, each with a link to the client's home page, where they are ticked off.
    """
    count = len(items) + len(conversations) + len(entries)
    subject = f"Crossroads today: {count} {'thing' if count == 1 else 'things'} to do"
    zone = ZoneInfo(client.timezone)

    def link(route: str, **values: Any) -> str:
        path = route
        for key, value in values.items():
            path = path.replace(f"<{key}>", str(value)).replace(f"{{{key}}}", str(value))
        return base_url + path

    lines = [f"Hello {one_line(client.name)},", "", f"For today, {_day(today)}:", ""]
    number = 0
    for item in items[:MAX_ITEMS]:
        number += 1
        contact = item.contact
        who = one_line(contact.name)
        if contact.organisation and item.kind != DueKind.SECOND_PERSON:
            who += f", {one_line(contact.organisation)}"
        when = f"due {_short_day(item.due_on)}" + (" (overdue)" if item.overdue else "")
        lines.append(f"{number}. {one_line(item.label, 2 * TEXT_LIMIT)}: {who}. {when.capitalize()}.")
        done = link_token(signer, contact, Action.DONE, item.kind)
        snooze = link_token(signer, contact, Action.SNOOZE, item.kind)
        lines.append(f"   {DONE_LABELS[item.kind]}: {link(LINK_ROUTE, token=done)}")
        lines.append(f"   Not now? Snooze it {SNOOZE_DAYS} days: {link(LINK_ROUTE, token=snooze)}")
        lines.append(f"   Open: {link(CONTACT_PATH, id=contact.id)}")
        lines.append("")
    for entry in entries[:MAX_ITEMS]:
        number += 1
        when = f"due {_short_day(entry.due_on)}" + (" (overdue)" if entry.overdue else "")
        lines.append(f"{number}. {one_line(entry.label, 2 * TEXT_LIMIT)}. {when.capitalize()}.")
        lines.append(f"   Tick it off in your workspace: {base_url}{HOME_PATH}")
        lines.append("")
    for conversation in conversations:
        number += 1
        starts = conversation.starts_at.astimezone(zone)
        lines.append(
            f"{number}. Tomorrow at {starts:%H:%M}: your conversation with "
            f"{one_line(conversation.contact.name)} ({conversation.minutes} minutes)."
        )
        lines.append(f"   Prep sheet: {link(PREP_PATH, id=conversation.id)}")
        lines.append("")
    more = max(0, len(items) - MAX_ITEMS) + max(0, len(entries) - MAX_ITEMS)
    if more:
        lines += [f"And {more} more in your workspace: {base_url}{HOME_PATH}", ""]
    lines += [
        f"This email comes at {client.reminder_hour:02d}:00 your time ({client.timezone}), "
        "only on days when something is due.",
        f"Change the hour or switch it off: {base_url}{SETTINGS_PATH}",
    ]
    return subject, "\n".join(lines) + "\n"


# -- the run ---------------------------------------------------------------------------------


def _claim_days(session: Session, client_ids: list[int], today: date) -> set[int]:
    """Mark ``today`` reminded for these clients in one conditional UPDATE; returns those it marked.

    A client whose ``today`` is already marked is left out: two workers' schedulers may run the
    job at once, and the row locks (PostgreSQL) or the write lock (SQLite) make the second one's
    UPDATE find the day taken.
    """
    claimed = session.execute(
        update(Client)
        .where(
            Client.id.in_(client_ids),
            or_(Client.last_reminded_on.is_(None), Client.last_reminded_on < today),
        )
        .values(last_reminded_on=today)
        .returning(Client.id)
        .execution_options(synchronize_session=False)
    )
    return set(claimed.scalars())


def ready_clients(session: Session, now: datetime, practice_id: int | None = None) -> list[Client]:
    """Clients whose reminder hour has come today in their zone and who have not had today's check.

    Only clients with the reminder on, an account they use (invitation accepted, active), not
    paused, in a practice that has an email server (``practice_id``: in that practice only).
    """
    with_mail = select(PracticeMail.practice_id)
    if practice_id is not None:
        with_mail = with_mail.where(PracticeMail.practice_id == practice_id)
    candidates = session.scalars(
        select(Client)
        .join(User, Client.user_id == User.id)
        .where(
            Client.reminders_on,
            Client.status != ClientStatus.PAUSED,
            User.is_active,
            User.password_hash.is_not(None),
            Client.practice_id.in_(with_mail),
            # Nobody's today is later than UTC's tomorrow: skip rows certainly done for today.
            or_(Client.last_reminded_on.is_(None), Client.last_reminded_on <= now.date()),
        )
        .options(joinedload(Client.user), joinedload(Client.practice))
        .order_by(Client.id)
    ).all()
    ready = []
    for client in candidates:
        local = now.astimezone(ZoneInfo(client.timezone))
        if local.hour < client.reminder_hour:
            continue
        if client.last_reminded_on is not None and client.last_reminded_on >= local.date():
            continue
        ready.append(client)
    return ready


def send_reminders(
    session: Session, now: datetime, secret_key: str, base_url: str, practice_id: int | None = None
) -> int:
    """Queue today's reminder for every client whose hour has come (``practice_id``: of that practice
    only); returns how many were queued.

    Clients' days are claimed and their emails queued in transactions of :data:`BATCH` clients:
    the write lock is never held for the whole run, and a failing batch is rolled back and
    sent again one client at a time, so a failure for one (retried at the next hourly run)
    does not hold up the others.
    A client with nothing due is claimed too: the day's check is done, and nothing is sent.
    """
    clients = ready_clients(session, now, practice_id)
    if not clients:
        return 0
    due = contact_service.due_by_client(session, clients, now)
    tomorrow = conversation_service.tomorrow_by_client(session, clients, now)
    entries = plugin_due_entries(session, clients, now)
    mail_from = dict(session.execute(select(PracticeMail.practice_id, PracticeMail.from_address)).all())
    signer = reminder_signer(secret_key)
    base = base_url.rstrip("/")
    # Every email is written before the first commit, which expires what the session has loaded.
    work: list[tuple[int, date, dict[str, Any] | None]] = []
    for client in clients:
        today = now.astimezone(ZoneInfo(client.timezone)).date()
        items, conversations, extra = due[client.id], tomorrow[client.id], entries[client.id]
        email = None
        if items or conversations or extra:
            subject, body = reminder_email(client, items, conversations, signer, base, today, extra)
            email = {
                "practice_id": client.practice_id,
                "client_id": client.id,
                "sender_name": f"Crossroads for {client.practice.name}",
                "reply_to": "",
                "to_address": client.email,
                "to_name": client.name,
                "subject": subject,
                "body": body,
                "from_address": mail_from[client.practice_id],
            }
        work.append((client.id, today, email))
    sent = 0
    for start in range(0, len(work), BATCH):
        try:
            sent += _send_batch(session, work[start : start + BATCH])
        except Exception:
            session.rollback()
            log.exception("reminders: a batch failed; sending its clients one by one")
            for one in work[start : start + BATCH]:
                try:
                    sent += _send_batch(session, [one])
                except Exception:
                    session.rollback()
                    log.exception("reminder for client %s failed; the next run tries again", one[0])
    return sent


def _send_batch(session: Session, work: list[tuple[int, date, dict[str, Any] | None]]) -> int:
    """Claim the day of each client in ``work`` and queue the emails of those claimed; commits."""
    claimed: set[int] = set()
    for today in sorted({today for _, today, _ in work}):
        claimed |= _claim_days(session, [cid for cid, day, _ in work if day == today], today)
    sent = 0
    for client_id, _, email in work:
        if client_id in claimed and email is not None:
            queue_email(session, **email)
            sent += 1
    session.commit()
    return sent


# -- the links -------------------------------------------------------------------------------


class LinkRefused(Exception):
    """A done, snooze or undo link that cannot be used: ``reason`` is expired, invalid or other_account."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class LinkedItem:
    """What a done or snooze link is about, and what is due for that contact now."""

    client: Client
    contact: Contact
    action: Action
    kind: DueKind
    #: The item as due now, if it is still the kind the link was made for; None: nothing to do.
    current: DueItem | None
    today: date

    @property
    def label(self) -> str:
        if self.action == Action.SNOOZE:
            return f"Snooze for {SNOOZE_DAYS} days"
        return DONE_LABELS[self.kind]


@dataclass
class Outcome:
    """What a POST of a link did: ``message`` for the page, ``undo_token`` when it can be undone."""

    item: LinkedItem
    changed: bool
    message: str
    undo_token: str | None = None


def _decode(signer: LinkSigner, token: str, max_age: int) -> list[Any]:
    checked = signer.check_values(token, max_age)
    if checked.values is None:
        raise LinkRefused(checked.problem)
    values = checked.values
    if len(values) < 3 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values[:2]):
        raise LinkRefused("invalid")
    return values


def _client_and_contact(
    session: Session, client_id: int, contact_id: int, viewer: User | None
) -> tuple[Client, Contact, Scope]:
    """The link's client and contact, read through the client's own scope."""
    client = session.get(Client, client_id)
    if client is None or not client.user.is_active:
        raise LinkRefused("invalid")
    if viewer is not None and viewer.id != client.user_id:
        raise LinkRefused("other_account")
    scope = Scope(session, client.user)
    try:
        contact = scope.get(Contact, contact_id)
    except NotFound:
        raise LinkRefused("invalid") from None
    return client, contact, scope


def read_link(
    session: Session,
    secret_key: str,
    token: str,
    viewer: User | None,
    now: datetime | None = None,
    lock: bool = False,
) -> LinkedItem:
    """The item a done or snooze link is about, or :class:`LinkRefused`. Reads only.

    ``viewer`` is whoever is signed in (None when nobody is): a link is refused to anyone else
    than the client it was made for. With ``lock`` the client is locked first (for a change).
    """
    values = _decode(reminder_signer(secret_key), token, LINK_DAYS * 86400)
    try:
        client_id, contact_id, action, kind = values
        action, kind = Action(action), DueKind(kind)
    except ValueError:
        raise LinkRefused("invalid") from None
    if lock:
        lock_client(session, client_id)
    client, contact, _ = _client_and_contact(session, client_id, contact_id, viewer)
    zone = ZoneInfo(client.timezone)
    today = (now or utcnow()).astimezone(zone).date()
    item = due_for(contact, client.practice, zone, today)
    current = item if item is not None and item.kind == kind else None
    return LinkedItem(client, contact, action, kind, current, today)


def apply_link(
    session: Session, secret_key: str, token: str, viewer: User | None, now: datetime | None = None
) -> Outcome:
    """Do what a done or snooze link says, once; commits. Nothing changes when it is no longer due."""
    now = now or utcnow()
    linked = read_link(session, secret_key, token, viewer, now, lock=True)
    contact, name = linked.contact, linked.contact.name
    if linked.current is None:
        session.rollback()
        return Outcome(linked, False, f"Nothing to do: this is no longer due for {name}.")
    scope = Scope(session, linked.client.user)
    undo: list[Any] = [linked.client.id, contact.id]
    if linked.action == Action.SNOOZE or linked.kind == DueKind.SECOND_PERSON:
        if linked.action == Action.SNOOZE:
            until = linked.today + timedelta(days=SNOOZE_DAYS)
            message = f"Snoozed: {name} is quiet until {_day(until)}."
        else:
            until = first_follow_up_on(contact, linked.client.practice, ZoneInfo(linked.client.timezone))
            message = DONE_RESULTS[linked.kind].format(name=name, until=_day(until))
        previous = contact.quiet_until
        contact.quiet_until = until
        undo += ["quiet", previous.isoformat() if previous else None, until.isoformat()]
    else:
        if linked.kind in (DueKind.FOLLOW_UP, DueKind.LAST_NUDGE):
            change = contact_service.count_follow_up(scope, contact, now)
        elif linked.kind == DueKind.THANK_YOU:
            change = contact_service.stage_move(scope, contact, Stage.THANKED, now)
        else:  # DueKind.CLOSE
            change = contact_service.stage_move(scope, contact, Stage.NO_RESPONSE, now)
        session.flush()
        undo += ["change", change.id]
        message = DONE_RESULTS[linked.kind].format(name=name, until="")
    session.commit()
    return Outcome(linked, True, message, undo_signer(secret_key).sign_values(undo))


def undo_link(session: Session, secret_key: str, token: str, viewer: User | None) -> tuple[Contact, str]:
    """Take back what a done or snooze link did, if nothing changed the contact since; commits."""
    values = _decode(undo_signer(secret_key), token, UNDO_HOURS * 3600)
    lock_client(session, values[0])
    _, contact, scope = _client_and_contact(session, values[0], values[1], viewer)
    what = values[2]
    if what == "change" and len(values) == 4:
        try:
            contact_service.undo_stage_change(scope, contact.id, values[3])
        except InvalidInput:
            session.rollback()
            return contact, f"Already undone, or {contact.name} has changed since: nothing was undone."
        return contact, f"Undone: {contact.name} is as before."
    if what == "quiet" and len(values) == 5:
        try:
            previous = date.fromisoformat(values[3]) if values[3] else None
            until = date.fromisoformat(values[4])
        except (TypeError, ValueError):
            raise LinkRefused("invalid") from None
        restored = session.execute(
            update(Contact)
            .where(Contact.id == contact.id, Contact.quiet_until == until)
            .values(quiet_until=previous)
            .execution_options(synchronize_session=False)
        )
        due_dates.refresh(session, contact_ids=[contact.id])  # a Core update: no flush hook saw it
        session.commit()
        session.refresh(contact)
        if restored.rowcount != 1:
            return contact, f"Already undone, or {contact.name} has changed since: nothing was undone."
        return contact, f"Undone: {contact.name} is due again as before."
    raise LinkRefused("invalid")
