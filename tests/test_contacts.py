"""Contacts: adding, coach suggestions, referrals, search, the pipeline with undo, warm leads, what is due."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest

from crossroads.core.db import utcnow
from crossroads.core.errors import Forbidden, InvalidInput
from crossroads.core.models import Contact, ContactSource, Stage, StageChange, Suggestion
from crossroads.core.schemas import ContactQuerySchema, ContactSchema, load
from crossroads.core.scoping import Scope
from crossroads.core.services import contacts, leads
from crossroads.testing import make_contact

from .test_caseload import count_queries


def found(db, user, client, **query) -> list[str]:
    page = contacts.search(Scope(db, user), client.id, load(ContactQuerySchema(), query))
    return [c.name for c in page.items]


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_client_adds_a_contact_by_hand_with_themes_and_tags(world, db, as_user):
    theme = world.client.themes[0]
    response = as_user(world.client.user).post(
        f"/clients/{world.client.id}/contacts",
        data={
            "name": "Ines Calder", "organisation": "Penguin", "position": "Features Editor",
            "linkedin_url": "linkedin.com/in/ines-calder", "source": "alumni_office",
            "theme_ids": [str(theme.id)], "tags": "Warm, alumni, warm",
        },
    )  # fmt: skip
    assert response.status_code == 302
    contact = db.query(Contact).filter_by(name="Ines Calder").one()
    assert contact.source == ContactSource.ALUMNI and contact.stage == Stage.IDENTIFIED
    assert [t.id for t in contact.themes] == [theme.id]
    assert contact.tags == ["warm", "alumni"]
    assert contact.linkedin_url == "https://www.linkedin.com/in/ines-calder"


def test_a_failed_add_keeps_everything_typed_and_names_the_fields(world, as_user):
    response = as_user(world.client.user).post(
        f"/clients/{world.client.id}/contacts",
        data={
            "name": " ",
            "organisation": "Penguin",
            "email": "not-an-email",
            "research_notes": "Long notes",
        },
    )
    assert response.status_code == 422
    text = page_text(response)
    assert 'id="name-error"' in text and 'id="email-error"' in text
    assert 'value="Penguin"' in text and "Long notes" in text


def test_the_same_profile_cannot_be_added_twice(world, db):
    scope = Scope(db, world.client.user)
    data = load(ContactSchema(), {"name": "A", "linkedin_url": "https://www.linkedin.com/in/a"})
    contacts.create_contact(scope, world.client.id, data)
    with pytest.raises(InvalidInput) as caught:
        contacts.create_contact(scope, world.client.id, data)
    assert "already has this profile address" in caught.value.errors["linkedin_url"][0]


def test_coach_suggestion_waits_for_the_client_who_accepts_or_dismisses_with_undo(world, db, as_user):
    coach = as_user(world.coach)
    coach.post(f"/clients/{world.client.id}/contacts", data={"name": "Mentor Mei", "organisation": "Hearst"})
    suggestion = db.query(Contact).filter_by(name="Mentor Mei").one()
    assert (suggestion.source, suggestion.suggestion) == (ContactSource.COACH, Suggestion.PENDING)
    assert suggestion.suggested_by_id == world.coach.id

    client = as_user(world.client.user)
    assert "waiting for an answer" in page_text(client.get(f"/clients/{world.client.id}/contacts"))
    dismissed = client.post(f"/contacts/{suggestion.id}/suggestion/dismiss", follow_redirects=True)
    assert "Dismissed Mentor Mei." in page_text(dismissed)
    assert "Mentor Mei" not in found(db, world.client.user, world.client)
    client.post(f"/contacts/{suggestion.id}/suggestion/accept")  # the undo button
    db.refresh(suggestion)
    assert suggestion.suggestion == Suggestion.ACCEPTED
    assert "Mentor Mei" in found(db, world.client.user, world.client)


def test_only_the_client_answers_a_suggestion(world, db):
    contact = make_contact(db, world.client, "Sugg", suggestion=Suggestion.PENDING)
    db.commit()
    with pytest.raises(Forbidden):
        contacts.respond_to_suggestion(Scope(db, world.coach), contact.id, accept=True)


def test_referrals_become_contacts_linked_to_who_referred_them(world, db, as_user):
    first = make_contact(db, world.client, "Ada First", "Acme")
    db.commit()
    browser = as_user(world.client.user)
    browser.post(f"/contacts/{first.id}/referrals", data={"name": "Ben Second", "organisation": "Acme"})
    second = db.query(Contact).filter_by(name="Ben Second").one()
    browser.post(f"/contacts/{second.id}/referrals", data={"name": "Cy Third"})
    third = db.query(Contact).filter_by(name="Cy Third").one()
    assert (second.source, second.referred_by_id, third.referred_by_id) == (
        ContactSource.REFERRAL, first.id, second.id,
    )  # fmt: skip
    assert [c.name for c in contacts.referral_chain(third)] == ["Ben Second", "Ada First"]
    page = page_text(browser.get(f"/contacts/{third.id}"))
    assert "Referred by:" in page and page.index("Ben Second") < page.index("Ada First")


def test_search_needs_every_word_and_ignores_case_and_accents(world, db):
    make_contact(db, world.client, "Zoë Okafor", "Condé Nast", "Partner")
    make_contact(db, world.client, "Zoe Tanaka", "Deloitte", "Partner")
    make_contact(db, world.client, "Łukasz Sharma", "Condé Nast", "Managing Editor")
    db.commit()
    user = world.client.user
    assert sorted(found(db, user, world.client, q="zoe")) == ["Zoe Tanaka", "Zoë Okafor"]
    assert found(db, user, world.client, q="ZOE conde") == ["Zoë Okafor"]
    assert found(db, user, world.client, q="lukasz") == ["Łukasz Sharma"]
    assert found(db, user, world.client, q="managing editor nast") == ["Łukasz Sharma"]
    assert found(db, user, world.client, q="100%") == []


def test_filters_by_stage_source_theme_and_tag_and_sorts(world, db):
    theme = world.client.themes[0]
    make_contact(db, world.client, "B Req", "Zeta", stage=Stage.REQUESTED, tags=["warm"], themes=[theme])
    make_contact(db, world.client, "A Ali", "Alpha", source=ContactSource.ALUMNI, tags=["alumni"])
    db.commit()
    user = world.client.user
    assert found(db, user, world.client, stage="requested") == ["B Req"]
    assert found(db, user, world.client, source="alumni_office") == ["A Ali"]
    # Ada Editor is linked to the theme in the world
    assert found(db, user, world.client, theme_id=str(theme.id)) == ["Ada Editor", "B Req"]
    assert found(db, user, world.client, tag="WARM") == ["B Req"]
    # Alpha, City Council, ...: by organisation, not by name (which would put Ada Editor second)
    assert found(db, user, world.client, sort="organisation")[:2] == ["A Ali", "Ben Planner"]
    assert found(db, user, world.client, sort="stage")[-1] == "B Req"


def test_contacts_page_keeps_filters_and_shows_an_empty_state(world, as_user):
    browser = as_user(world.client.user)
    page = page_text(browser.get(f"/clients/{world.client.id}/contacts?q=nobody&stage="))
    assert "No contact matches." in page and 'value="nobody"' in page


def test_moving_a_contact_keeps_history_and_undo_takes_it_back(world, db, as_user):
    contact = make_contact(db, world.client, "Ada")
    db.commit()
    browser = as_user(world.client.user)
    page = page_text(browser.post(f"/contacts/{contact.id}/stage/requested", follow_redirects=True))
    assert "Ada: Identified → Requested." in page
    change = db.query(StageChange).filter_by(contact_id=contact.id, to_stage=Stage.REQUESTED).one()
    assert f'action="/contacts/{contact.id}/undo/{change.id}"' in page
    browser.post(f"/contacts/{contact.id}/undo/{change.id}")
    db.refresh(contact)
    assert contact.stage == Stage.IDENTIFIED
    assert db.query(StageChange).filter_by(contact_id=contact.id).count() == 1


def test_only_the_latest_change_can_be_undone(world, db):
    contact = make_contact(db, world.client, "Ada")
    db.commit()
    scope = Scope(db, world.client.user)
    _, first = contacts.move_to_stage(scope, contact.id, Stage.REQUESTED)
    contacts.move_to_stage(scope, contact.id, Stage.REPLIED)
    with pytest.raises(InvalidInput):
        contacts.undo_stage_change(scope, contact.id, first.id)


def test_follow_ups_are_counted_and_can_be_undone(world, db, as_user):
    contact = make_contact(db, world.client, "Ada", stage=Stage.REQUESTED)
    db.commit()
    browser = as_user(world.client.user)
    browser.post(f"/contacts/{contact.id}/follow-up")
    db.refresh(contact)
    assert contact.follow_ups_sent == 1 and contact.last_follow_up_at is not None
    change = db.query(StageChange).filter_by(contact_id=contact.id, note="follow_up").one()
    browser.post(f"/contacts/{contact.id}/undo/{change.id}")
    db.refresh(contact)
    assert (contact.follow_ups_sent, contact.last_follow_up_at, contact.stage) == (0, None, Stage.REQUESTED)


def test_a_follow_up_needs_an_open_request(world, db):
    contact = make_contact(db, world.client, "Ada")
    db.commit()
    with pytest.raises(InvalidInput):
        contacts.record_follow_up(Scope(db, world.client.user), contact.id)


def test_board_counts_every_stage(world, db, as_user):
    for i in range(3):
        make_contact(db, world.client, f"Req {i}", stage=Stage.REQUESTED)
    db.commit()
    columns = contacts.board(Scope(db, world.client.user), world.client.id, {})
    assert columns[Stage.REQUESTED][0] == 3 and columns[Stage.IDENTIFIED][0] == len(world.contacts) == 3
    assert columns[Stage.THANKED] == (0, [])
    page = page_text(as_user(world.client.user).get(f"/clients/{world.client.id}/contacts?view=board"))
    assert "Req 2" in page and 'id="col-requested"' in page


def test_warm_leads_match_a_themes_words_and_link_in_one_click(world, db, as_user):
    theme = world.client.themes[0]  # "Magazine editing"
    editor = make_contact(db, world.client, "Eda Editor", "Vogue", "Managing Editor")
    make_contact(db, world.client, "Mo Magazine", "Hearst Magazines", "Sales")
    make_contact(db, world.client, "Pat Plumber", "Pipes Ltd", "Plumber")
    make_contact(db, world.client, "Gone Editor", "Vogue", "Editor", stage=Stage.DECLINED)
    db.commit()
    names = [lead.contact.name for lead in leads.warm_leads(Scope(db, world.client.user), theme.id)]
    assert "Eda Editor" in names and "Mo Magazine" in names
    assert "Pat Plumber" not in names and "Gone Editor" not in names
    browser = as_user(world.client.user)
    assert "Link to Magazine editing" in page_text(browser.get(f"/clients/{world.client.id}/leads"))
    browser.post(f"/contacts/{editor.id}/themes/{theme.id}/link")
    db.refresh(editor)
    assert theme in editor.themes
    names = [lead.contact.name for lead in leads.warm_leads(Scope(db, world.client.user), theme.id)]
    assert "Eda Editor" not in names


def test_a_theme_of_another_client_cannot_be_linked(world, db):
    contact = make_contact(db, world.client, "Ada")
    db.commit()
    from crossroads.core.errors import NotFound

    with pytest.raises(NotFound):
        contacts.link_theme(Scope(db, world.coach), contact.id, world.other_client.themes[0].id)


def test_due_list_on_the_client_home_and_overdue_count_on_the_caseload(world, db, as_user):
    long_ago = utcnow() - timedelta(days=30)
    make_contact(db, world.client, "Quiet Quinn", "Acme", stage=Stage.REQUESTED, stage_changed_at=long_ago)
    make_contact(db, world.client, "Talked Tess", stage=Stage.TALKED, stage_changed_at=long_ago)
    db.commit()
    home = page_text(as_user(world.client.user).get("/me/"))
    assert "Quiet Quinn" in home and "Send a polite follow-up" in home
    assert "Send a thank-you note" in home and "overdue" in home
    caseload = page_text(as_user(world.coach).get("/coach/"))
    assert "2 overdue" in caseload


def test_the_owner_sets_the_follow_up_rhythm(world, db, as_user):
    owner = as_user(world.owner)
    bad = owner.post("/practice/cadence", data={"second_person_after_days": "9", "follow_up_after_days": "7"})
    assert bad.status_code == 422
    assert "The second-person hint comes before the follow-up." in page_text(bad)
    owner.post("/practice/cadence", data={"second_person_after_days": "4", "follow_up_after_days": "10"})
    db.refresh(world.practice)
    assert (world.practice.second_person_after_days, world.practice.follow_up_after_days) == (4, 10)
    assert as_user(world.coach).post("/practice/cadence", data={}).status_code == 404


def test_removing_a_contact_keeps_their_referrals(world, db, as_user):
    first = make_contact(db, world.client, "Ada")
    second = make_contact(db, world.client, "Ben", referred_by=first)
    db.commit()
    as_user(world.client.user).post(f"/contacts/{first.id}/remove")
    assert db.query(Contact).filter_by(id=first.id).count() == 0
    db.expire_all()
    assert db.query(Contact).filter_by(id=second.id).one().referred_by_id is None


@pytest.mark.parametrize(
    "url",
    ["/clients/{client}/contacts", "/clients/{client}/contacts?view=board", "/contacts/{contact}",
     "/clients/{client}/leads", "/me/", "/coach/"],
)  # fmt: skip
def test_pages_run_the_same_number_of_queries_for_few_or_many_contacts(world, db, as_user, engine, url):
    theme = world.client.themes[0]
    hub = make_contact(db, world.client, "Hub Editor", "Vogue", "Editor", themes=[theme])
    db.commit()
    user = world.coach if url == "/coach/" else world.client.user
    browser = as_user(user)
    target = url.format(client=world.client.id, contact=hub.id)
    browser.get(target)
    with count_queries() as few:
        assert browser.get(target).status_code == 200
    for i in range(40):
        stage = list(Stage)[i % len(Stage)]
        contact = make_contact(
            db, world.client, f"Editor {i}", f"Org {i}", "Editor", stage=stage, themes=[theme]
        )
        if i % 3 == 0:
            make_contact(db, world.client, f"Referral {i}", referred_by=hub)
        contact.tags = ["warm"]
    db.commit()
    with count_queries() as many:
        assert browser.get(target).status_code == 200
    assert few, "no statement was seen: the count would prove nothing"
    assert len(many) == len(few), "\n".join(many)


def test_every_sort_can_be_reversed_from_the_column_heading(world, db, as_user):
    browser = as_user(world.client.user)
    for key in ("name", "organisation", "stage", "updated", "connected"):
        for sort in (key, f"-{key}"):
            page = page_text(browser.get(f"/clients/{world.client.id}/contacts?sort={sort}&q=contact"))
            assert "were not understood" not in page, sort
            assert 'value="contact"' in page


def test_among_equal_matches_warm_leads_from_a_referral_come_first(world, db):
    theme = world.client.themes[0]
    make_contact(db, world.client, "Aaron Editor", "Vogue", "Editor", source=ContactSource.ASSOCIATION)
    make_contact(db, world.client, "Zed Editor", "Vogue", "Editor", source=ContactSource.REFERRAL)
    db.commit()
    names = [lead.contact.name for lead in leads.warm_leads(Scope(db, world.client.user), theme.id)]
    assert names.index("Zed Editor") < names.index("Aaron Editor")


def test_time_elements_carry_valid_machine_readable_datetimes(world, db, as_user):
    """HTML's valid global date and time: seconds precision (at most 3 decimals) with a zone; here UTC."""
    import re

    contact = make_contact(db, world.client, "Ada")
    db.add(StageChange(practice_id=world.practice.id, client_id=world.client.id, contact_id=contact.id,
                       from_stage=Stage.IDENTIFIED, to_stage=Stage.RESEARCHED,
                       at=utcnow().replace(microsecond=123456)))  # fmt: skip
    world.client.last_activity_at = utcnow().replace(microsecond=654321)
    db.commit()
    pages = [
        as_user(world.client.user).get(f"/contacts/{contact.id}"),
        as_user(world.coach).get("/coach/"),
        as_user(world.owner).get("/practice/audit/"),
    ]
    values = [
        v for page in pages for v in re.findall(r'<time datetime="([^"]*)"', page.get_data(as_text=True))
    ]
    assert len(values) >= 2
    for value in values:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value), value
