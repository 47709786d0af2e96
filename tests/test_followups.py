"""The follow-up rhythm (3B7) in business days, and thank-yous, in the client's own calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from crossroads.core.models import Contact, Practice, Stage
from crossroads.core.outreach.followups import DueKind, add_business_days, due_for

LONDON = ZoneInfo("Europe/London")
PRACTICE = Practice(name="P", second_person_after_days=3, follow_up_after_days=7)


def requested(on: datetime, follow_ups: int = 0, last: datetime | None = None) -> Contact:
    return Contact(
        name="Ada", organisation="Acme", stage=Stage.REQUESTED, stage_changed_at=on,
        follow_ups_sent=follow_ups, last_follow_up_at=last,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2026, 11, 23), 3, date(2026, 11, 26)),  # Monday + 3 = Thursday
        (date(2026, 11, 26), 3, date(2026, 12, 1)),  # Thursday + 3 skips the weekend
        (date(2026, 11, 28), 1, date(2026, 11, 30)),  # Saturday + 1 = Monday
        (date(2026, 11, 23), 7, date(2026, 12, 2)),
    ],
)
def test_business_days_skip_weekends(start, days, expected):
    assert add_business_days(start, days) == expected


def test_nothing_is_due_in_the_first_business_days_of_a_request():
    sent = datetime(2026, 11, 23, 10, tzinfo=UTC)  # Monday
    assert due_for(requested(sent), PRACTICE, LONDON, date(2026, 11, 25)) is None


def test_after_three_business_days_write_to_a_second_person_at_the_organisation():
    item = due_for(requested(datetime(2026, 11, 23, 10, tzinfo=UTC)), PRACTICE, LONDON, date(2026, 11, 26))
    assert item.kind == DueKind.SECOND_PERSON and not item.overdue
    assert "second person at Acme" in item.label


def test_after_seven_business_days_a_follow_up_is_due_then_overdue():
    sent = datetime(2026, 11, 23, 10, tzinfo=UTC)
    due = due_for(requested(sent), PRACTICE, LONDON, date(2026, 12, 2))
    assert (due.kind, due.due_on, due.overdue) == (DueKind.FOLLOW_UP, date(2026, 12, 2), False)
    late = due_for(requested(sent), PRACTICE, LONDON, date(2026, 12, 3))
    assert late.overdue


def test_after_one_follow_up_a_last_nudge_then_no_response():
    sent = datetime(2026, 11, 2, 10, tzinfo=UTC)
    followed = datetime(2026, 11, 11, 10, tzinfo=UTC)  # Wednesday
    assert due_for(requested(sent, 1, followed), PRACTICE, LONDON, date(2026, 11, 19)) is None
    nudge = due_for(requested(sent, 1, followed), PRACTICE, LONDON, date(2026, 11, 20))
    assert nudge.kind == DueKind.LAST_NUDGE
    close = due_for(requested(sent, 2, followed), PRACTICE, LONDON, date(2026, 11, 20))
    assert close.kind == DueKind.CLOSE


def test_the_cadence_is_the_practices_setting():
    patient = Practice(name="Q", second_person_after_days=5, follow_up_after_days=10)
    sent = datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert due_for(requested(sent), patient, LONDON, date(2026, 11, 26)) is None
    assert due_for(requested(sent), patient, LONDON, date(2026, 11, 30)).kind == DueKind.SECOND_PERSON


def test_a_thank_you_is_due_the_day_after_the_conversation_in_the_clients_zone():
    # 23:30 UTC on Monday is already Tuesday in Tokyo: the thank-you is due by Wednesday there.
    talked = Contact(
        name="Ada", stage=Stage.TALKED, stage_changed_at=datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    )
    tokyo = ZoneInfo("Asia/Tokyo")
    item = due_for(talked, PRACTICE, tokyo, date(2026, 11, 25))
    assert (item.kind, item.due_on, item.overdue) == (DueKind.THANK_YOU, date(2026, 11, 25), False)
    assert due_for(talked, PRACTICE, tokyo, date(2026, 11, 26)).overdue
    assert due_for(talked, PRACTICE, LONDON, date(2026, 11, 25)).overdue  # London: due Tuesday


def test_other_stages_have_nothing_due():
    for stage in (Stage.IDENTIFIED, Stage.REPLIED, Stage.THANKED, Stage.NO_RESPONSE):
        contact = Contact(name="Ada", stage=stage, stage_changed_at=datetime(2026, 1, 1, tzinfo=UTC))
        assert due_for(contact, PRACTICE, LONDON, date(2026, 11, 25)) is None


def test_the_caseload_counts_each_clients_overdue_items_and_nothing_younger(db, world):
    from datetime import timedelta

    from crossroads.core.db import utcnow
    from crossroads.core.scoping import Scope
    from crossroads.core.services.contacts import overdue_counts
    from crossroads.testing import make_contact

    now = utcnow()
    for name, stage, age in (
        ("Thank late", Stage.TALKED, timedelta(days=3)),  # a thank-you due two days ago
        ("Thank fresh", Stage.TALKED, timedelta(hours=2)),  # due tomorrow
        ("Asked long ago", Stage.REQUESTED, timedelta(days=20)),  # follow-up overdue
        ("Asked lately", Stage.REQUESTED, timedelta(days=2)),  # nothing due yet
        ("Not asked", Stage.IDENTIFIED, timedelta(days=40)),
    ):
        make_contact(db, world.client, name, "Acme", stage=stage, stage_changed_at=now - age)
    make_contact(
        db, world.other_client, "Other's late", stage=Stage.TALKED, stage_changed_at=now - timedelta(days=5)
    )
    db.commit()
    counts = overdue_counts(Scope(db, world.coach), [world.client, world.other_client])
    assert counts == {world.client.id: 2, world.other_client.id: 1}


def test_a_quiet_contact_has_nothing_due_until_the_quiet_date_then_it_is_due_that_day():
    sent = datetime(2026, 11, 23, 10, tzinfo=UTC)  # a follow-up falls due on Wednesday 2 December
    contact = requested(sent)
    contact.quiet_until = date(2026, 12, 7)
    assert due_for(contact, PRACTICE, LONDON, date(2026, 12, 4)) is None
    item = due_for(contact, PRACTICE, LONDON, date(2026, 12, 7))
    assert (item.kind, item.due_on, item.overdue) == (DueKind.FOLLOW_UP, date(2026, 12, 7), False)
    assert due_for(contact, PRACTICE, LONDON, date(2026, 12, 8)).overdue


def test_a_quiet_date_already_passed_changes_nothing():
    sent = datetime(2026, 11, 23, 10, tzinfo=UTC)
    contact = requested(sent)
    contact.quiet_until = date(2026, 11, 24)
    item = due_for(contact, PRACTICE, LONDON, date(2026, 12, 3))
    assert (item.due_on, item.overdue) == (date(2026, 12, 2), True)
