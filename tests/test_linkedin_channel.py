"""The LinkedIn channel: drafts only, counted as LinkedIn counts, handed to the client to send, a
monthly allowance of personalised notes on a free account, and the client's own Premium setting."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from types import MappingProxyType

import pytest
from sqlalchemy import select

from crossroads.core.models import (
    ClientPluginSetting,
    ContactSource,
    MessageKind,
    MessageStatus,
    OutreachMessage,
    Role,
    Stage,
)
from crossroads.core.outreach import service as outreach
from crossroads.core.outreach import templating
from crossroads.core.outreach.channels import Counting, Draft, length
from crossroads.core.outreach.checks import limit_warnings, method_warnings
from crossroads.core.scoping import Scope
from crossroads.plugins.linkedin import CHANNEL as LINKEDIN
from crossroads.plugins.linkedin import allowance, limits
from crossroads.plugins.linkedin.channel import note_format
from crossroads.testing import make_contact, make_conversation, make_message, make_practice, make_user

WRITE = "/contacts/{id}/write"
NOTE_QUERY = "?channel=linkedin&kind=first_request&format=note"
USED_UP = "linkedin_notes_used"


@pytest.fixture
def contact(world, db):
    """A contact the client's coach suggested, with a LinkedIn profile, exploring the client's theme."""
    contact = make_contact(
        db,
        world.client,
        "Sam Okafor",
        "Riverside Press",
        "Managing Editor",
        source=ContactSource.COACH,
        linkedin_url="https://www.linkedin.com/in/sam-okafor",
    )
    contact.themes.append(world.client.themes[0])
    db.commit()
    return contact


def scope_of(db, world) -> Scope:
    return Scope(db, world.client.user)


def draft_for(db, world, contact, body: str, fmt: str = "note", kind=MessageKind.FIRST_REQUEST, subject=""):
    context = outreach.draft_context(scope_of(db, world), contact.id, LINKEDIN, kind, fmt)
    assert context.format == fmt
    return Draft(context, subject, body)


def warnings_for(db, world, contact, body: str, **kwargs):
    return outreach.warnings(LINKEDIN, draft_for(db, world, contact, body, **kwargs))


def codes(warnings) -> set[str]:
    return {w.code for w in warnings}


def save_note(browser, contact, body: str = "Hi Sam,\nMy coach suggested I write. 20 minutes?"):
    return browser.post(
        WRITE.format(id=contact.id),
        data={"channel": "linkedin", "kind": "first_request", "format": "note", "body": body},
    )


def sent_note(browser, db, contact) -> OutreachMessage:
    """Save a note through the compose form and mark it sent through the message page."""
    response = save_note(browser, contact)
    assert response.status_code == 302, response.get_data(as_text=True)
    message_id = int(response.location.rsplit("/", 1)[1])
    assert browser.post(f"/messages/{message_id}/sent").status_code == 302
    db.expire_all()
    return db.get(OutreachMessage, message_id)


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# -- counting as LinkedIn counts -------------------------------------------------------------------


def test_an_emoji_counts_as_two_and_a_line_break_as_one_even_when_typed_as_crlf():
    assert length("👋", Counting.UTF16) == 2
    assert length("a\nb", Counting.UTF16) == 3
    assert length("a\r\nb", Counting.UTF16) == 3
    fmt = note_format(premium=False)
    assert fmt.body.counting == Counting.UTF16
    fits = "a" * 196 + "\r\n" + "👋"  # 196 + 1 + 2 = 199
    assert limit_warnings(fmt, "", fits) == []
    over = "a" * 198 + "\r\n" + "👋"  # 198 + 1 + 2 = 201
    [warning] = limit_warnings(fmt, "", over)
    assert warning.code == "body_too_long" and "1 character over the 200" in warning.message


def test_a_201_character_note_on_a_free_account_does_not_fit_and_says_by_how_much(db, world, contact):
    warnings = {w.code: w for w in warnings_for(db, world, contact, "x" * 201)}
    assert warnings["body_too_long"].message.startswith("Does not fit: 1 character over the 200")
    assert "200 characters in a note on a free account" in warnings["body_too_long"].why
    assert "body_too_long" not in codes(warnings_for(db, world, contact, "x" * 200))


def test_a_300_character_note_fits_on_premium_and_301_does_not(db, world, contact):
    allowance.set_premium(db, world.client, True)
    db.commit()
    assert "body_too_long" not in codes(warnings_for(db, world, contact, "x" * 300))
    over = {w.code: w for w in warnings_for(db, world, contact, "x" * 301)}
    assert "1 character over the 300" in over["body_too_long"].message


def test_a_3100_character_message_is_warned_about_but_not_refused(db, world, contact, as_user):
    body = "Dana suggested I write. Would you have 20 minutes? " + "x" * 3_049
    assert length(body, Counting.UTF16) == 3_100
    warnings = {w.code: w for w in warnings_for(db, world, contact, body, fmt="message")}
    assert "body_long" in warnings and "body_too_long" not in warnings
    assert "past 3,000" in warnings["body_long"].message

    response = as_user(world.client.user).post(
        WRITE.format(id=contact.id),
        data={"channel": "linkedin", "kind": "first_request", "format": "message", "body": body},
    )
    assert response.status_code == 302
    message = db.scalars(select(OutreachMessage).where(OutreachMessage.contact_id == contact.id)).one()
    assert (message.format, message.status, len(message.body)) == ("message", MessageStatus.HANDED_OFF, 3_100)
    assert "body_long" in {w["code"] for w in message.warnings}


def test_an_inmail_subject_over_200_characters_is_flagged_and_the_body_stops_at_1900(db, world, contact):
    body = "Dana suggested I write. Would you have 20 minutes?"
    warnings = {w.code: w for w in warnings_for(db, world, contact, body, fmt="inmail", subject="s" * 201)}
    assert warnings["subject_too_long"].field == "subject"
    assert "1 character over the 200" in warnings["subject_too_long"].message
    assert "subject_too_long" not in codes(
        warnings_for(db, world, contact, body, fmt="inmail", subject="s" * 200)
    )
    long_body = body + "x" * (1_901 - len(body))
    assert "body_too_long" in codes(warnings_for(db, world, contact, long_body, fmt="inmail", subject="Hi"))


def test_every_number_is_read_from_the_one_limits_table(monkeypatch):
    changed = {name: figure for name, figure in limits.LIMITS.items()}
    changed["note_free"] = limits.Figure(250, "LinkedIn changed it")
    monkeypatch.setattr(limits, "LIMITS", MappingProxyType(changed))
    fmt = note_format(premium=False)
    assert fmt.body.max == 250 and "250 characters" in fmt.body.note
    assert all(figure.source for figure in limits.LIMITS.values())


# -- the formats on offer --------------------------------------------------------------------------


def test_a_first_request_offers_a_note_first_then_a_message_and_an_inmail(db, world, contact):
    context = outreach.draft_context(scope_of(db, world), contact.id, LINKEDIN, MessageKind.FIRST_REQUEST)
    assert [f.name for f in LINKEDIN.formats(context)] == ["note", "message", "inmail"]
    assert context.format == "note"
    for kind in (MessageKind.FOLLOW_UP, MessageKind.THANK_YOU):
        context = outreach.draft_context(scope_of(db, world), contact.id, LINKEDIN, kind)
        assert [f.name for f in LINKEDIN.formats(context)] == ["message", "inmail"]


def test_an_existing_connection_gets_a_message_by_default_not_an_invitation_note(db, world):
    connected = make_contact(db, world.client, "Ada Berg", source=ContactSource.LINKEDIN)
    db.commit()
    context = outreach.draft_context(scope_of(db, world), connected.id, LINKEDIN, MessageKind.FIRST_REQUEST)
    assert [f.name for f in LINKEDIN.formats(context)] == ["message", "note", "inmail"]


def test_a_new_practice_without_clients_can_list_and_edit_the_linkedin_templates(db, as_user):
    owner = make_user(db, make_practice(db, "Brand New"), "new@c.example", Role.OWNER)
    db.commit()
    browser = as_user(owner)
    page = page_text(browser.get("/templates"))
    assert "Connection note" in page and "InMail" in page
    assert browser.get("/templates/linkedin/first_request?format=note").status_code == 200


# -- the default wording ---------------------------------------------------------------------------

FORMATS = [
    (MessageKind.FIRST_REQUEST, "note"),
    (MessageKind.FIRST_REQUEST, "message"),
    (MessageKind.FIRST_REQUEST, "inmail"),
    (MessageKind.FOLLOW_UP, "message"),
    (MessageKind.FOLLOW_UP, "inmail"),
    (MessageKind.THANK_YOU, "message"),
    (MessageKind.THANK_YOU, "inmail"),
]


@pytest.mark.parametrize("source", [ContactSource.COACH, ContactSource.ALUMNI, ContactSource.ASSOCIATION])
@pytest.mark.parametrize(("kind", "fmt"), FORMATS, ids=lambda v: getattr(v, "value", v))
def test_the_default_drafts_for_a_typical_contact_raise_no_warning(db, world, contact, source, kind, fmt):
    contact.source = source
    make_conversation(db, contact)
    db.commit()
    scope = scope_of(db, world)
    context = outreach.draft_context(scope, contact.id, LINKEDIN, kind, fmt)
    text = outreach.initial_draft(scope, LINKEDIN, context)
    assert outreach.warnings(LINKEDIN, Draft(context, text.subject, text.body)) == [], text.body
    assert (text.subject != "") == (fmt == "inmail")


def test_the_default_note_names_the_referrer_and_carries_the_whole_method(db, world, contact):
    contact.referred_by = make_contact(db, world.client, "Dana Lee")
    db.commit()
    scope = scope_of(db, world)
    context = outreach.draft_context(scope, contact.id, LINKEDIN, MessageKind.FIRST_REQUEST, "note")
    body = outreach.initial_draft(scope, LINKEDIN, context).body
    assert body == (
        "Hi Sam,\nDana Lee suggested I write. I'm exploring magazine editing: "
        "could we talk for 20 minutes? Not a job request."
    )
    assert method_warnings(Draft(context, "", body)) == []


def test_the_default_note_fits_a_free_account_well_even_with_long_names(db, world, contact):
    world.client.user.name = "Bartholomew-Alexander Fitzwilliam"
    world.client.themes[0].title = "Sustainable infrastructure finance"
    contact.name = "Maximiliane-Josephine Worthington-Smythe"
    contact.referred_by = make_contact(db, world.client, "Anastasia Papadopoulou-Henderson")
    db.commit()
    scope = scope_of(db, world)
    lengths = {}
    for source in ContactSource:
        contact.referred_by = contact.referred_by if source == ContactSource.REFERRAL else None
        contact.source = source
        context = outreach.draft_context(scope, contact.id, LINKEDIN, MessageKind.FIRST_REQUEST, "note")
        lengths[source] = length(outreach.initial_draft(scope, LINKEDIN, context).body, Counting.UTF16)
    assert max(lengths.values()) <= 180, lengths


def test_a_note_to_a_contact_added_by_hand_leaves_a_short_gap_for_how_the_client_knows_them(
    db, world, contact
):
    """Decided: with no known connection the note cannot name one; like the core's drafts it leaves a
    gap in brackets, and only the check that points at the gap warns."""
    contact.source = ContactSource.MANUAL
    db.commit()
    scope = scope_of(db, world)
    context = outreach.draft_context(scope, contact.id, LINKEDIN, MessageKind.FIRST_REQUEST, "note")
    text = outreach.initial_draft(scope, LINKEDIN, context)
    assert "[Who suggested you, or where you met]" in text.body
    assert codes(outreach.warnings(LINKEDIN, Draft(context, "", text.body))) == {"placeholder"}
    filled = text.body.replace("[Who suggested you, or where you met]", "I read your piece on editing.")
    assert outreach.warnings(LINKEDIN, Draft(context, "", filled)) == []


@pytest.mark.parametrize(("kind", "fmt"), FORMATS, ids=lambda v: getattr(v, "value", v))
def test_the_defaults_render_in_the_template_sandbox_with_the_documented_variables(kind, fmt):
    text = templating.render(LINKEDIN.default_template(kind, fmt), templating.example_variables())
    assert text.body and "{{" not in text.body


# -- the hand-off, through the pages ---------------------------------------------------------------


def test_the_compose_page_for_a_note_counts_utf16_to_200_on_a_free_account(world, contact, as_user):
    response = as_user(world.client.user).get(WRITE.format(id=contact.id) + NOTE_QUERY)
    assert response.status_code == 200
    page = page_text(response)
    assert re.search(r'data-for="body" data-max="200" data-warn=""\s+data-utf16="true"', page)
    assert "LinkedIn allows 200 characters in a note on a free account" in page
    assert 'data-copy="body"' in page and "Save: I'll send it myself" in page


def test_the_compose_page_counts_to_300_on_premium(world, db, contact, as_user):
    allowance.set_premium(db, world.client, True)
    db.commit()
    page = page_text(as_user(world.client.user).get(WRITE.format(id=contact.id) + NOTE_QUERY))
    assert 'data-max="300"' in page and "300 characters in a note on a Premium account" in page


def test_the_live_check_counts_an_emoji_as_two(world, contact, as_user):
    response = as_user(world.client.user).post(
        WRITE.format(id=contact.id) + "/check",
        data={"channel": "linkedin", "kind": "first_request", "format": "note", "body": "a" * 199 + "😀"},
    )
    [too_long] = [w for w in response.get_json()["warnings"] if w["code"] == "body_too_long"]
    assert "Does not fit: 1 character over the 200" in too_long["message"]


def test_saving_a_note_hands_it_off_with_copy_the_profile_link_and_i_sent_it(world, db, contact, as_user):
    browser = as_user(world.client.user)
    response = save_note(browser, contact)
    assert response.status_code == 302
    message = db.scalars(select(OutreachMessage).where(OutreachMessage.contact_id == contact.id)).one()
    assert (message.channel, message.format, message.status) == ("linkedin", "note", MessageStatus.HANDED_OFF)
    assert message.sent_at is None and message.outbox_id is None

    page = page_text(browser.get(response.location, follow_redirects=True))
    assert "Saved. Send it to Sam Okafor yourself, then mark it sent." in page
    assert 'data-copy="sent-body"' in page and "Copy message" in page
    assert 'href="https://www.linkedin.com/in/sam-okafor"' in page
    assert "Open Sam's LinkedIn profile" in page
    assert "I sent it" in page
    db.refresh(contact)
    assert contact.stage == Stage.IDENTIFIED  # not sent yet: the pipeline waits for "I sent it"


def test_a_contact_without_a_profile_address_gets_a_linkedin_people_search(world, db, contact, as_user):
    contact.linkedin_url = None
    db.commit()
    browser = as_user(world.client.user)
    page = page_text(browser.get(save_note(browser, contact).location))
    assert (
        'href="https://www.linkedin.com/search/results/people/?keywords=Sam+Okafor+Riverside+Press"' in page
    )
    assert "Find Sam on LinkedIn" in page


def test_the_coach_reads_a_handed_off_note_but_cannot_send_or_mark_it(world, db, contact, as_user):
    message = make_message(db, contact, channel="linkedin")
    db.commit()
    coach = as_user(world.coach)
    page = page_text(coach.get(f"/messages/{message.id}"))
    assert "I sent it" not in page and "Copy message" not in page
    assert coach.post(f"/messages/{message.id}/sent").status_code == 403
    assert coach.get(WRITE.format(id=contact.id) + NOTE_QUERY).status_code == 403


@pytest.mark.parametrize("stage", [Stage.IDENTIFIED, Stage.RESEARCHED])
def test_marking_a_note_sent_moves_the_contact_to_requested(world, db, contact, as_user, stage):
    contact.stage = stage
    db.commit()
    message = sent_note(as_user(world.client.user), db, contact)
    assert message.status == MessageStatus.SENT and message.sent_at is not None
    db.refresh(contact)
    assert contact.stage == Stage.REQUESTED


# -- the monthly allowance of personalised notes ---------------------------------------------------


def test_the_panel_counts_notes_marked_sent_and_suggests_email_or_an_introduction_when_used_up(
    world, db, contact, as_user
):
    browser = as_user(world.client.user)
    assert "LinkedIn: 0 of about 5 personalised notes used this month." in page_text(browser.get("/me/"))
    others = [make_contact(db, world.client, f"Person {n}", source=ContactSource.COACH) for n in range(5)]
    db.commit()
    for number, other in enumerate(others[:4], start=1):
        sent_note(browser, db, other)
        assert f"LinkedIn: {number} of about 5 personalised notes" in page_text(browser.get("/me/"))
    # A saved note not yet marked sent, and a message, do not count.
    save_note(browser, others[4])
    make_message(db, others[4], status=MessageStatus.SENT, channel="linkedin").sent_at = datetime.now(UTC)
    db.commit()
    assert allowance.notes_sent_this_month(db, world.client) == 4
    draft = page_text(browser.get(WRITE.format(id=contact.id) + NOTE_QUERY))
    assert f'data-code="{USED_UP}"' not in draft

    sent_note(browser, db, others[4])
    home = page_text(browser.get("/me/"))
    assert "LinkedIn: 5 of about 5 personalised notes used this month." in home
    assert "Reach new people by email, or ask for an introduction" in home

    draft = page_text(browser.get(WRITE.format(id=contact.id) + NOTE_QUERY))
    assert f'data-code="{USED_UP}"' in draft
    warning = re.search(rf'data-code="{USED_UP}" data-field="body"><strong>(.*?)</strong>', draft).group(1)
    assert "5 personalised notes" in warning and "email" in warning and "introduction" in warning
    live = browser.post(
        WRITE.format(id=contact.id) + "/check",
        data={"channel": "linkedin", "kind": "first_request", "format": "note", "body": "Hi"},
    ).get_json()
    assert USED_UP in {w["code"] for w in live["warnings"]}
    # Only notes: a message to a connection is not limited this way.
    message_page = page_text(browser.get(WRITE.format(id=contact.id) + "?channel=linkedin&format=message"))
    assert f'data-code="{USED_UP}"' not in message_page
    # The client may still save a note (warnings never refuse); it is kept with its warning.
    assert save_note(browser, contact).status_code == 302
    saved = db.scalars(select(OutreachMessage).where(OutreachMessage.contact_id == contact.id)).one()
    assert USED_UP in {w["code"] for w in saved.warnings}


def test_a_premium_account_has_no_monthly_allowance_warning(world, db, contact, as_user):
    for n in range(6):
        other = make_contact(db, world.client, f"Person {n}")
        message = make_message(db, other, status=MessageStatus.SENT, channel="linkedin")
        message.format, message.sent_at = "note", datetime.now(UTC)
    allowance.set_premium(db, world.client, True)
    db.commit()
    assert allowance.notes_sent_this_month(db, world.client) == 6
    assert USED_UP not in codes(warnings_for(db, world, contact, "Hi"))
    assert "Premium: 300-character notes" in page_text(as_user(world.client.user).get("/me/"))


def test_the_month_is_the_clients_calendar_month_in_their_own_time_zone(world, db, contact):
    world.client.user.timezone = "America/New_York"
    now = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    sent_at = {
        "28 February, 22:00 in New York": datetime(2026, 3, 1, 3, 0, tzinfo=UTC),
        "1 March, 00:30 in New York": datetime(2026, 3, 1, 5, 30, tzinfo=UTC),
        "31 March, 20:00 in New York (1 April in London)": datetime(2026, 4, 1, 0, 0, tzinfo=UTC),
        "1 April, 00:30 in New York": datetime(2026, 4, 1, 4, 30, tzinfo=UTC),
    }
    for when in sent_at.values():
        message = make_message(db, contact, status=MessageStatus.SENT, channel="linkedin")
        message.format, message.sent_at = "note", when
    not_hers = make_message(db, make_contact(db, world.other_client, "Otto's contact"), channel="linkedin")
    not_hers.format, not_hers.status, not_hers.sent_at = "note", MessageStatus.SENT, now
    db.commit()
    assert allowance.month_bounds("America/New_York", now) == (
        datetime(2026, 3, 1, 5, 0, tzinfo=UTC),
        datetime(2026, 4, 1, 4, 0, tzinfo=UTC),  # daylight saving time began on 8 March
    )
    assert allowance.notes_sent_this_month(db, world.client, now) == 2
    assert allowance.notes_sent_this_month(db, world.client, datetime(2026, 4, 2, tzinfo=UTC)) == 1


# -- the account setting ---------------------------------------------------------------------------


def account_url(client) -> str:
    return f"/plugins/linkedin/clients/{client.id}/account"


def test_the_client_switches_to_premium_and_back(world, db, contact, as_user):
    browser = as_user(world.client.user)
    response = browser.post(account_url(world.client), data={"account": "premium"}, follow_redirects=True)
    page = page_text(response)
    assert "Saved: LinkedIn Premium. Connection notes can be 300 characters." in page
    assert "Premium: 300-character notes" in page
    assert allowance.is_premium(db, world.client)
    assert 'data-max="300"' in page_text(browser.get(WRITE.format(id=contact.id) + NOTE_QUERY))

    browser.post(account_url(world.client), data={"account": "free"})
    db.expire_all()
    assert not allowance.is_premium(db, world.client)
    rows = db.scalars(
        select(ClientPluginSetting).where(ClientPluginSetting.client_id == world.client.id)
    ).all()
    assert [(r.plugin_name, r.settings, r.practice_id) for r in rows] == [
        ("linkedin", {"premium": False}, world.practice.id)
    ]


def test_a_bad_account_value_changes_nothing_and_says_why(world, db, as_user):
    response = as_user(world.client.user).post(
        account_url(world.client), data={"account": "gold"}, follow_redirects=True
    )
    assert "Choose a free or a Premium account." in page_text(response)
    assert db.scalar(select(ClientPluginSetting)) is None


def test_only_the_client_changes_their_account_and_their_coach_reads_it(world, db, as_user):
    coach = as_user(world.coach)
    assert coach.post(account_url(world.client), data={"account": "premium"}).status_code == 403
    assert (
        as_user(world.owner).post(account_url(world.client), data={"account": "premium"}).status_code == 403
    )
    stranger = as_user(world.stranger_client.user)
    assert stranger.post(account_url(world.client), data={"account": "premium"}).status_code == 404
    other = as_user(world.other_client.user)
    assert other.post(account_url(world.client), data={"account": "premium"}).status_code == 404
    assert db.scalar(select(ClientPluginSetting)) is None

    page = page_text(coach.get(f"/coach/clients/{world.client.id}"))
    assert "LinkedIn: 0 of about 5 personalised notes used this month." in page
    assert "Clara Client has a free LinkedIn account" in page
    assert account_url(world.client) not in page


# -- the practice's switch ---------------------------------------------------------------------------


def test_switching_the_plugin_off_removes_linkedin_from_the_practice(world, db, contact, as_user):
    assert as_user(world.owner).post("/practice/plugins/linkedin/off").status_code == 302
    browser = as_user(world.client.user)
    choose = page_text(browser.get(WRITE.format(id=contact.id)))
    assert "<h2>Email</h2>" in choose and "<h2>LinkedIn</h2>" not in choose
    compose = browser.get(WRITE.format(id=contact.id) + NOTE_QUERY)
    assert compose.status_code == 422
    assert "Choose one of the channels your practice offers." in page_text(compose)
    assert save_note(browser, contact).status_code == 422
    assert browser.post(account_url(world.client), data={"account": "premium"}).status_code == 404
    assert 'data-plugin="linkedin"' not in page_text(browser.get("/me/"))
    # Another practice keeps it.
    stranger_contact = make_contact(db, world.stranger_client, "Pat Elsewhere")
    db.commit()
    other = page_text(as_user(world.stranger_client.user).get(WRITE.format(id=stranger_contact.id)))
    assert "<h2>LinkedIn</h2>" in other
