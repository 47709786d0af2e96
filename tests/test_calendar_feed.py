"""The private calendar feed: an address made, renewed and revoked on the account page, and an
iCalendar feed that two parsers other than the one that writes it (vobject and ics) read alike."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import ics as ics_package
import pytest
import vobject
from icalendar import Calendar
from sqlalchemy import select

from crossroads.core.db import utcnow
from crossroads.core.models import CalendarFeed, Conversation, ConversationStatus, Role, Stage
from crossroads.core.plugins import PluginManager
from crossroads.core.scoping import Scope
from crossroads.core.services import calendar_feed, erasure
from crossroads.testing import make_client, make_contact, make_conversation, make_user

ADDRESS = re.compile(r'id="calendar-url" type="text" readonly value="([^"]+)"')


def make_feed(browser, **form) -> str:
    """Make the signed-in user's feed on the account page; the path of its address, shown once."""
    response = browser.post("/account/calendar", data=form)
    assert response.status_code == 302 and response.location.endswith("/account#calendar")
    return shown_address(browser)


def shown_address(browser) -> str:
    page = html.unescape(browser.get("/account").get_data(as_text=True))
    url = ADDRESS.search(page).group(1)
    assert f'href="webcal://{url.split("://", 1)[1]}"' in page
    assert 'data-copy-field="calendar-url"' in page
    return urlsplit(url).path


def fetch(http, path: str, **headers):
    return http.get(path, headers=headers)


def read_three_ways(body: bytes) -> tuple[Calendar, vobject.base.Component, ics_package.Calendar]:
    """The feed as read by icalendar (which wrote it), vobject and ics (which did not)."""
    text = body.decode("utf-8")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n")), "lines folded at 75 octets"
    return Calendar.from_ical(text), vobject.readOne(text, validate=True), ics_package.Calendar(text)


def events_by_uid(parsed: tuple) -> list[dict[str, dict]]:
    """{uid: {summary, start, end, status}} per parser, for comparing what each read."""
    by_icalendar, by_vobject, by_ics = parsed
    first = {
        str(e["uid"]): {
            "summary": str(e["summary"]),
            "start": e.decoded("dtstart"),
            "end": e.decoded("dtend"),
            "status": str(e.get("status", "")),
        }
        for e in by_icalendar.walk("VEVENT")
    }
    second = {
        e.uid.value: {
            "summary": e.summary.value,
            "start": e.dtstart.value,
            "end": e.dtend.value,
            "status": e.status.value if hasattr(e, "status") else "",
        }
        for e in by_vobject.vevent_list
    }
    third = {e.uid: {"summary": e.name, "start": e.begin, "end": e.end} for e in by_ics.events}
    return [first, second, third]


def when(days: int, hour: int, zone: str) -> datetime:
    """A wall-clock time ``days`` from today in ``zone`` (never a hard-coded date)."""
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    return datetime.combine(today + timedelta(days=days), datetime.min.time()).replace(hour=hour)


@pytest.fixture
def tokyo(world, db):
    """Clara lives in Tokyo; her coach Colin in New York."""
    world.client.user.timezone = "Asia/Tokyo"
    world.coach.timezone = "America/New_York"
    db.commit()
    return world.client


def schedule(browser, contact, local: datetime, minutes: int = 30, location: str = "https://meet.example"):
    response = browser.post(
        f"/contacts/{contact.id}/conversations",
        data={
            "starts_at": local.strftime("%Y-%m-%dT%H:%M"),
            "minutes": str(minutes),
            "medium": "video",
            "location": location,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def test_a_client_makes_an_address_shown_once_with_a_copy_button_and_a_webcal_link(world, db, as_user):
    browser = as_user(world.client.user)
    assert b"Make my calendar address" in browser.get("/account").data
    path = make_feed(browser)
    assert re.fullmatch(r"/calendar/[A-Za-z0-9_-]{43}\.ics", path)
    again = browser.get("/account").get_data(as_text=True)
    assert path not in again and "Renew the address" in again and "Turn off" in again
    feed = db.scalar(select(CalendarFeed).where(CalendarFeed.user_id == world.client.user.id))
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    assert token not in feed.token_hash and len(feed.token_hash) == 64  # only its hash is kept


def test_the_feed_reads_alike_in_two_independent_parsers_and_matches_the_conversations_in_the_users_zone(
    tokyo, world, db, as_user, http
):
    browser = as_user(tokyo.user)
    ada = make_contact(db, tokyo, "Ada Lovelace", "Analytical Engines", "Engineer", stage=Stage.REPLIED)
    bo = make_contact(db, tokyo, "Bo Brook", stage=Stage.REPLIED)
    db.commit()
    schedule(browser, ada, when(3, 9, "Asia/Tokyo"), minutes=30)
    schedule(browser, bo, when(5, 18, "Asia/Tokyo"), minutes=20, location="")
    moved, cancelled = db.scalars(
        select(Conversation).where(Conversation.contact_id.in_([ada.id, bo.id])).order_by(Conversation.id)
    ).all()
    assert browser.post(f"/conversations/{cancelled.id}/cancel").status_code == 302
    path = make_feed(browser)

    response = fetch(http, path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"].startswith("private")
    parsed = read_three_ways(response.data)
    by_icalendar, by_vobject, by_ics = parsed
    for readings in events_by_uid(parsed):
        # The client's three conversations: the two scheduled here and the held one of the world.
        assert len(readings) == 3
        ada_event = readings[moved.uid]
        start = ada_event["start"]
        assert start.utcoffset() == timedelta(0)
        assert start.astimezone(ZoneInfo("Asia/Tokyo")).replace(tzinfo=None) == when(3, 9, "Asia/Tokyo")
        assert ada_event["end"] - start == timedelta(minutes=30)
        assert ada_event["summary"] == "Conversation with Ada Lovelace"
        bo_event = readings[cancelled.uid]
        assert bo_event["end"] - bo_event["start"] == timedelta(minutes=20)
        if "status" in bo_event:
            assert bo_event["status"] == "CANCELLED" and ada_event["status"] == ""
    [ics_cancelled] = [e for e in by_ics.events if e.uid == cancelled.uid]
    assert ics_cancelled.status == "CANCELLED"

    event = next(e for e in by_icalendar.walk("VEVENT") if str(e["uid"]) == moved.uid)
    assert event["url"] == f"http://localhost:5000/conversations/{moved.id}"
    assert event["sequence"] == 0 and event.decoded("last-modified") and event.decoded("dtstamp")
    assert "Analytical Engines" in str(event["description"]) and event["location"] == "https://meet.example"
    assert str(by_icalendar["x-wr-calname"]) == "Crossroads: Clara Client"
    assert by_icalendar.decoded("refresh-interval") == timedelta(hours=1)
    assert by_vobject.x_published_ttl.value == "PT1H"

    # Moved: the same UID with a higher SEQUENCE, at the new time.
    later = when(4, 10, "Asia/Tokyo")
    data = {"starts_at": later.strftime("%Y-%m-%dT%H:%M"), "minutes": "45", "medium": "video", "location": ""}
    assert browser.post(f"/conversations/{moved.id}/reschedule", data=data).status_code == 302
    parsed = read_three_ways(fetch(http, path).data)
    event = next(e for e in parsed[1].vevent_list if e.uid.value == moved.uid)
    assert event.sequence.value == "1"
    assert event.dtstart.value.astimezone(ZoneInfo("Asia/Tokyo")).replace(tzinfo=None) == later
    assert event.dtend.value - event.dtstart.value == timedelta(minutes=45)
    assert db.get(CalendarFeed, db.scalar(select(CalendarFeed.id))).last_fetched_at is not None


def test_a_coachs_feed_holds_their_clients_conversations_and_not_another_coachs_nor_another_practices(
    world, db, as_user, http
):
    other_coach = make_user(db, world.practice, "coach2@a.example", Role.COACH, "Cora Colleague")
    theirs = make_client(db, other_coach, "theirs@a.example", "Tess Theirs")
    make_conversation(db, make_contact(db, theirs, "Contact of Tess"), shared_reflection=True)
    db.commit()
    body = fetch(http, make_feed(as_user(world.coach))).data
    by_icalendar, by_vobject, by_ics = read_three_ways(body)
    summaries = sorted(e.summary.value for e in by_vobject.vevent_list)
    assert summaries == [
        "Clara Client with Ada Editor",
        "Otto Other with Pia Planner",
    ]
    assert sorted(e.name for e in by_ics.events) == summaries
    text = body.decode()
    for absent in ("Tess", "Ola Owned", "Bea Beyond", "Insight from"):
        assert absent not in text  # another coach's, the owner's own, another practice's; no reflections
    assert str(by_icalendar["x-wr-calname"]) == "Crossroads: Colin Coach's clients"


def test_an_owners_feed_holds_the_clients_they_coach_themselves(world, db, as_user, http):
    elsewhere = fetch(http, make_feed(as_user(world.other_practice.coach))).data.decode()
    body = fetch(http, make_feed(as_user(world.owner))).data
    [event] = read_three_ways(body)[1].vevent_list
    assert event.summary.value == "Ola Owned with Dan Data"
    assert "Clara" not in body.decode() and "Bea Beyond" not in body.decode()
    assert "Bea Beyond with Sid Systems" in elsewhere and "Northbridge" not in elsewhere
    assert "Clara" not in elsewhere and "Ola" not in elsewhere


def test_renewing_makes_the_old_address_404_at_once_and_the_new_one_works(world, as_user, http):
    browser = as_user(world.client.user)
    old = make_feed(browser)
    assert fetch(http, old).status_code == 200
    assert browser.post("/account/calendar/renew").status_code == 302
    new = shown_address(browser)
    assert new != old
    assert fetch(http, old).status_code == 404
    assert fetch(http, new).status_code == 200


def test_revoking_makes_the_address_404_and_unknown_or_malformed_addresses_are_404(world, db, as_user, http):
    browser = as_user(world.client.user)
    path = make_feed(browser)
    assert browser.post("/account/calendar/revoke").status_code == 302
    assert fetch(http, path).status_code == 404
    assert db.scalar(select(CalendarFeed)) is None
    assert b"Make my calendar address" in browser.get("/account").data
    unknown, short, broken = "A" * 43, "short", "a%0Ab" + "c" * 30
    for wrong in (unknown, short, broken):
        assert fetch(http, f"/calendar/{wrong}.ics").status_code == 404
    # Renewing or revoking what does not exist is not found either.
    assert browser.post("/account/calendar/renew").status_code == 404


def test_a_deactivated_users_address_answers_404(world, db, as_user, http):
    path = make_feed(as_user(world.client.user))
    world.client.user.is_active = False
    db.commit()
    assert fetch(http, path).status_code == 404


def thank_you_due(db, client, name: str = "Dee Done"):
    """A contact talked to two days ago: the thank-you is due (overdue) in the client's zone."""
    contact = make_contact(db, client, name, stage=Stage.TALKED)
    contact.stage_changed_at = utcnow() - timedelta(days=2)
    db.commit()
    return contact


def test_follow_ups_due_are_all_day_items_only_when_the_client_chooses_them(world, db, as_user, http):
    contact = thank_you_due(db, world.client)
    browser = as_user(world.client.user)
    path = make_feed(browser)
    assert "Thank Dee Done" not in fetch(http, path).data.decode()

    assert browser.post("/account/calendar/settings", data={"follow_ups": "1"}).status_code == 302
    body = fetch(http, path).data
    assert "DTSTART;VALUE=DATE:" in body.decode()
    by_icalendar, by_vobject, by_ics = read_three_ways(body)
    [due] = [e for e in by_vobject.vevent_list if e.summary.value == "Thank Dee Done"]
    due_on = (contact.stage_changed_at.astimezone(ZoneInfo("Europe/London")) + timedelta(days=1)).date()
    assert due.dtstart.value == due_on and due.dtend.value == due_on + timedelta(days=1)
    [by_other] = [e for e in by_ics.events if e.name == "Thank Dee Done"]
    assert by_other.all_day and by_other.begin.date() == due_on
    assert due.url.value == f"http://localhost:5000/contacts/{contact.id}"
    assert fetch(http, path).data == body  # the same UID (and bytes) on the next fetch

    assert browser.post("/account/calendar/settings", data={}).status_code == 302
    assert "Thank Dee Done" not in fetch(http, path).data.decode()


def test_a_coach_cannot_turn_on_follow_ups_and_a_bad_choice_is_named(world, db, as_user, http):
    thank_you_due(db, world.client)
    coach = as_user(world.coach)
    path = make_feed(coach, follow_ups="1")
    assert "Thank" not in fetch(http, path).data.decode()
    assert "follow-ups and thank-yous" not in coach.get("/account").get_data(as_text=True)
    client = as_user(world.client.user)
    refused = client.post("/account/calendar", data={"follow_ups": "perhaps"})
    assert refused.status_code == 422
    assert "Not a valid boolean." in refused.get_data(as_text=True)
    assert 'href="#calendar-follow_ups"' in refused.get_data(as_text=True)


HOSTILE = "Eve\r\nATTENDEE:mailto:eve@evil.example\nEND:VEVENT;X-INJECTED=1,\\"


def test_a_hostile_contact_name_stays_one_property_value(world, db, as_user, http):
    browser = as_user(world.client.user)
    contact = make_contact(db, world.client, "placeholder", organisation="A;B,C\nD", stage=Stage.REPLIED)
    contact.name = HOSTILE
    db.commit()
    schedule(browser, contact, when(2, 11, "Europe/London"), location="Room 1;\nX-EVIL:1")
    thank_you_due(db, world.client, name=HOSTILE)
    browser.post("/account/calendar/settings", data={"follow_ups": "1"})
    body = fetch(http, make_feed(browser, follow_ups="1")).data
    text = body.decode()
    assert "\r\nATTENDEE" not in text and "\r\nX-EVIL" not in text and "\r\nX-INJECTED" not in text
    assert text.count("BEGIN:VEVENT") == text.count("END:VEVENT\r\n") == 3
    by_icalendar, by_vobject, by_ics = read_three_ways(body)
    expected = "Conversation with " + HOSTILE.replace("\r\n", "\n")
    for readings in events_by_uid((by_icalendar, by_vobject, by_ics)):
        assert len(readings) == 3
        assert sum(r["summary"].replace("\r\n", "\n") == expected for r in readings.values()) == 1
    for event in by_vobject.vevent_list:
        assert not hasattr(event, "attendee") and not hasattr(event, "x_evil")
    assert [e.location for e in by_ics.events if e.location == "Room 1;\nX-EVIL:1"]


def test_an_unchanged_feed_answers_304_to_its_etag_and_a_change_gives_a_new_one(world, db, as_user, http):
    path = make_feed(as_user(world.client.user))
    first = fetch(http, path)
    etag = first.headers["ETag"]
    assert etag and first.headers["Cache-Control"].startswith("private")
    again = fetch(http, path, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    conversation = db.scalar(select(Conversation).where(Conversation.client_id == world.client.id))
    conversation.status = ConversationStatus.CANCELLED
    conversation.sequence += 1
    db.commit()
    changed = fetch(http, path, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "STATUS:CANCELLED" in changed.data.decode()


def test_the_feed_leaves_out_conversations_older_than_a_year(world, db, as_user, http):
    old = make_conversation(
        db, make_contact(db, world.client, "Long Ago"), starts_at=datetime.now(UTC) - timedelta(days=400)
    )
    db.commit()
    body = fetch(http, make_feed(as_user(world.client.user))).data.decode()
    assert old.uid not in body and "Long Ago" not in body
    assert timedelta(days=365) == calendar_feed.HISTORY


def test_erasing_a_client_deletes_their_feed_and_its_address_answers_404(world, db, as_user, http):
    path = make_feed(as_user(world.client.user))
    erasure.erase_client(Scope(db, world.owner), world.client.id, "Clara Client", PluginManager())
    assert db.scalar(select(CalendarFeed)) is None
    assert fetch(http, path).status_code == 404
