"""Each contact's due dates (``due_on``, ``overdue_from``) are kept as events happen (issue 18), by
the same rule that says what is due (core/outreach/followups.py), and the caseload counts overdue
items from them in one statement."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import event, insert, select

from crossroads.core.db import utcnow
from crossroads.core.models import Contact, ContactSource, Practice, Stage
from crossroads.core.outreach import due_dates
from crossroads.core.outreach.followups import due_for
from crossroads.core.scoping import Scope
from crossroads.core.services import accounts, contacts, practices
from crossroads.testing import make_contact


def test_the_kept_dates_say_exactly_when_the_rhythm_lists_a_contact_and_when_it_is_overdue():
    rng = random.Random(18)
    zones = [ZoneInfo(z) for z in ("Europe/London", "Asia/Tokyo", "America/Los_Angeles", "UTC")]
    checked = 0
    for _ in range(400):
        practice = Practice(name="P", second_person_after_days=rng.randint(1, 4), follow_up_after_days=0)
        practice.follow_up_after_days = practice.second_person_after_days + rng.randint(1, 6)
        changed = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=rng.randint(0, 24 * 30))
        sent = rng.choice([0, 0, 1, 2])
        contact = Contact(
            name="Ada",
            stage=rng.choice([Stage.REQUESTED, Stage.REQUESTED, Stage.TALKED, Stage.REPLIED]),
            stage_changed_at=changed,
            follow_ups_sent=sent,
            last_follow_up_at=changed + timedelta(days=rng.randint(1, 9)) if sent else None,
            quiet_until=rng.choice([None, None, date(2026, 11, 1) + timedelta(days=rng.randint(0, 50))]),
        )
        zone = rng.choice(zones)
        dates = due_dates.due_dates(contact, practice, zone)
        # From the day of the contact's last event on (today never comes before what happened).
        last_event = (
            max(contact.stage_changed_at, contact.last_follow_up_at or changed).astimezone(zone).date()
        )
        for offset in range(70):
            day = last_event + timedelta(days=offset)
            item = due_for(contact, practice, zone, day)
            assert (item is not None) == (dates.due_on is not None and dates.due_on <= day), (contact, day)
            overdue = item is not None and item.overdue
            assert overdue == (dates.overdue_from is not None and dates.overdue_from <= day), (contact, day)
            checked += 1
    assert checked == 400 * 70


def test_dates_follow_a_request_a_follow_up_a_snooze_and_a_reply(db, world):
    scope = Scope(db, world.client.user)
    now = datetime(2026, 11, 23, 10, tzinfo=UTC)  # a Monday
    ada = make_contact(db, world.client, "Ada", "Acme")
    db.commit()
    assert (ada.due_on, ada.overdue_from) == (None, None)

    contacts.move_to_stage(scope, ada.id, Stage.REQUESTED, now=now)
    # London: second person after 3 business days (Thursday), follow-up after 7 (Wednesday 2 Dec).
    assert (ada.due_on, ada.overdue_from) == (date(2026, 11, 26), date(2026, 12, 3))

    contacts.record_follow_up(scope, ada.id, now=datetime(2026, 12, 2, 9, tzinfo=UTC))
    db.refresh(ada)
    assert ada.follow_ups_sent == 1
    assert (ada.due_on, ada.overdue_from) == (date(2026, 12, 11), date(2026, 12, 12))

    ada.quiet_until = date(2026, 12, 20)
    db.commit()
    assert (ada.due_on, ada.overdue_from) == (date(2026, 12, 20), date(2026, 12, 21))

    contacts.move_to_stage(scope, ada.id, Stage.REPLIED, now=datetime(2026, 12, 3, tzinfo=UTC))
    assert (ada.due_on, ada.overdue_from) == (None, None)
    contacts.move_to_stage(scope, ada.id, Stage.TALKED, now=datetime(2026, 12, 7, 12, tzinfo=UTC))
    assert (ada.due_on, ada.overdue_from) == (date(2026, 12, 20), date(2026, 12, 21))  # still quiet


def test_the_clients_new_time_zone_moves_their_contacts_dates(db, world):
    talked = make_contact(
        db,
        world.client,
        "Ada",
        stage=Stage.TALKED,
        stage_changed_at=datetime(2026, 11, 23, 23, 30, tzinfo=UTC),
    )
    db.commit()
    assert talked.due_on == date(2026, 11, 23)  # London
    accounts.update_profile(db, world.client.user, {"name": world.client.user.name, "timezone": "Asia/Tokyo"})
    db.refresh(talked)
    assert (talked.due_on, talked.overdue_from) == (date(2026, 11, 24), date(2026, 11, 26))


def test_a_new_rhythm_without_a_worker_is_applied_at_once(db, world):
    asked = make_contact(
        db,
        world.client,
        "Ada",
        stage=Stage.REQUESTED,
        stage_changed_at=datetime(2026, 11, 23, 10, tzinfo=UTC),
    )
    db.commit()
    assert asked.overdue_from == date(2026, 12, 3)
    practices.update_cadence(
        Scope(db, world.owner), {"second_person_after_days": 2, "follow_up_after_days": 4}
    )
    db.refresh(asked)
    assert (asked.due_on, asked.overdue_from) == (date(2026, 11, 25), date(2026, 11, 28))


def test_a_new_rhythm_is_recomputed_by_the_worker_after_the_commit(db, world, settings):
    from crossroads.core.mail.queue import MailQueue

    asked = make_contact(
        db,
        world.client,
        "Ada",
        stage=Stage.REQUESTED,
        stage_changed_at=datetime(2026, 11, 23, 10, tzinfo=UTC),
    )
    db.commit()
    queue = MailQueue(settings, name="test-due-dates")
    handed: list[int] = []
    queue.enqueue_due_dates = handed.append  # type: ignore[method-assign]
    queue.attach(db)
    practices.update_cadence(
        Scope(db, world.owner), {"second_person_after_days": 2, "follow_up_after_days": 4}
    )
    assert handed == [world.practice.id]  # handed to the worker once committed, not done in the request
    db.refresh(asked)
    assert asked.overdue_from == date(2026, 12, 3)
    assert queue.refresh_due_dates(world.practice.id) == 1  # what the worker's task runs
    db.expire_all()
    assert db.get(Contact, asked.id).overdue_from == date(2026, 11, 28)
    queue.close()


def test_refresh_fills_contacts_written_without_the_session(db, world):
    """The migration and bulk writers (Core inserts) fill the dates with :func:`due_dates.refresh`."""
    now = utcnow()
    db.execute(
        insert(Contact),
        [
            dict(
                practice_id=world.practice.id,
                client_id=world.client.id,
                name=f"Bulk {n}",
                source=ContactSource.MANUAL.value,
                stage=Stage.TALKED,
                stage_changed_at=now - timedelta(days=10),
            )
            for n in range(3)
        ],
    )
    assert db.scalars(select(Contact.due_on).where(Contact.name.like("Bulk%"))).all() == [None] * 3
    assert due_dates.refresh(db, practice_id=world.practice.id) == 3
    assert None not in db.scalars(select(Contact.overdue_from).where(Contact.name.like("Bulk%"))).all()


def test_the_caseload_counts_overdue_items_in_one_statement_whatever_the_number_of_contacts(
    db, world, engine
):
    now = utcnow()
    scope = Scope(db, world.coach)
    clients = [world.client, world.other_client]

    def counted() -> tuple[dict[int, int], int]:
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            counts = contacts.overdue_counts(scope, clients)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return counts, len(statements)

    make_contact(db, world.client, "Late", stage=Stage.TALKED, stage_changed_at=now - timedelta(days=4))
    db.commit()
    few, statements = counted()
    for n in range(40):
        make_contact(
            db, world.other_client, f"Late {n}", stage=Stage.TALKED, stage_changed_at=now - timedelta(days=4)
        )
    db.commit()
    many, more_statements = counted()
    assert few == {world.client.id: 1, world.other_client.id: 0}
    assert many == {world.client.id: 1, world.other_client.id: 40}
    assert statements == more_statements == 1
