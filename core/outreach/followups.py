"""What outreach is due: the follow-up rhythm (3B7) and thank-yous.

Career centres teach a rhythm often called 3B7: when a request has had no
reply for 3 business days, write to a second person at the same organisation;
after 7 business days, a follow-up to the first person is due; after that,
one last nudge, then mark it no-response. A thank-you is due within a day of
a conversation. The two numbers are practice settings; business days skip
weekends. Dates are the client's own calendar dates, in their time zone.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..models import Contact, Practice, Stage


class DueKind(enum.StrEnum):
    SECOND_PERSON = "second_person"
    FOLLOW_UP = "follow_up"
    LAST_NUDGE = "last_nudge"
    CLOSE = "close"
    THANK_YOU = "thank_you"


DUE_LABELS = {
    DueKind.SECOND_PERSON: "No reply yet: write to a second person at {organisation}",
    DueKind.FOLLOW_UP: "Send a polite follow-up",
    DueKind.LAST_NUDGE: "Send one last, short nudge",
    DueKind.CLOSE: "No answer after two follow-ups: mark as no response",
    DueKind.THANK_YOU: "Send a thank-you note",
}


@dataclass(frozen=True)
class DueItem:
    contact: Contact
    kind: DueKind
    due_on: date
    overdue: bool

    @property
    def label(self) -> str:
        organisation = self.contact.organisation or "the same organisation"
        return DUE_LABELS[self.kind].format(organisation=organisation)


def add_business_days(start: date, days: int) -> date:
    """The date ``days`` business days (Monday to Friday) after ``start``."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def due_for(contact: Contact, practice: Practice, zone: ZoneInfo, today: date) -> DueItem | None:
    """The next thing due for ``contact`` as of ``today`` (in the client's zone), if it is due.

    A contact that is quiet (snoozed, or away by their auto-reply) has nothing due before
    ``contact.quiet_until``; from that day what was due is due again, dated that day.
    """
    quiet_until = contact.quiet_until
    if quiet_until is not None:
        if today < quiet_until:
            return None
        item = _due_for(contact, practice, zone, today)
        if item is None or item.due_on >= quiet_until:
            return item
        # A second-person hint is never overdue, quiet or not (the follow-up after it is).
        return DueItem(
            contact, item.kind, quiet_until, today > quiet_until and item.kind != DueKind.SECOND_PERSON
        )
    return _due_for(contact, practice, zone, today)


@dataclass(frozen=True)
class DueDates:
    """When something first falls due for a contact (from that day :func:`due_for` lists it) and the
    first day it is overdue, in the client's calendar; both None when nothing will fall due.

    Kept on the contact (``Contact.due_on``, ``Contact.overdue_from``) so that lists and counts of
    what is due read two indexed dates instead of running the rhythm for every contact; they change
    only when an event does (a message sent, a reply, a stage change, a snooze, the client's time
    zone or the practice's rhythm): see :mod:`crossroads.core.outreach.due_dates`.
    """

    due_on: date | None = None
    overdue_from: date | None = None


def due_dates(contact: Contact, practice: Practice, zone: ZoneInfo) -> DueDates:
    """The :class:`DueDates` of ``contact``: for every day ``d``, ``due_for(..., d)`` is not None
    exactly when ``due_on <= d``, and is overdue exactly when ``overdue_from <= d``."""
    if contact.stage == Stage.TALKED:
        first = local_date(contact.stage_changed_at, zone)
        last = first + timedelta(days=1)  # the thank-you's day; overdue after it
    elif contact.stage == Stage.REQUESTED:
        if contact.follow_ups_sent == 0:
            sent = local_date(contact.stage_changed_at, zone)
            last = first_follow_up_on(contact, practice, zone)
            first = min(last, add_business_days(sent, practice.second_person_after_days))
        else:
            last = add_business_days(
                local_date(contact.last_follow_up_at or contact.stage_changed_at, zone),
                practice.follow_up_after_days,
            )
            first = last
    else:
        return DueDates()
    if contact.quiet_until is not None:
        first, last = max(first, contact.quiet_until), max(last, contact.quiet_until)
    return DueDates(first, last + timedelta(days=1))


def first_follow_up_on(contact: Contact, practice: Practice, zone: ZoneInfo) -> date:
    """The day the first follow-up to a request falls due (the second person comes before it)."""
    return add_business_days(local_date(contact.stage_changed_at, zone), practice.follow_up_after_days)


def _due_for(contact: Contact, practice: Practice, zone: ZoneInfo, today: date) -> DueItem | None:
    if contact.stage == Stage.TALKED:
        # Due from the moment the conversation is marked held, until the end of the next day.
        due_on = local_date(contact.stage_changed_at, zone) + timedelta(days=1)
        return DueItem(contact, DueKind.THANK_YOU, due_on, today > due_on)
    if contact.stage != Stage.REQUESTED:
        return None
    if contact.follow_ups_sent == 0:
        sent = local_date(contact.stage_changed_at, zone)
        follow_up_on = first_follow_up_on(contact, practice, zone)
        if today >= follow_up_on:
            return DueItem(contact, DueKind.FOLLOW_UP, follow_up_on, today > follow_up_on)
        second_on = add_business_days(sent, practice.second_person_after_days)
        if today >= second_on:
            return DueItem(contact, DueKind.SECOND_PERSON, second_on, False)
        return None
    last = local_date(contact.last_follow_up_at or contact.stage_changed_at, zone)
    due_on = add_business_days(last, practice.follow_up_after_days)
    if today < due_on:
        return None
    kind = DueKind.LAST_NUDGE if contact.follow_ups_sent == 1 else DueKind.CLOSE
    return DueItem(contact, kind, due_on, today > due_on)


def due_items(contacts: Iterable[Contact], practice: Practice, zone: ZoneInfo, today: date) -> list[DueItem]:
    """Everything due or overdue among ``contacts``, overdue first, then by date."""
    items = [item for c in contacts if (item := due_for(c, practice, zone, today))]
    return sorted(items, key=lambda i: (not i.overdue, i.due_on, i.contact.name))
