"""A client's contacts through the real pages: the LinkedIn import, search, warm leads, the pipeline,
coach suggestions and referrals; and the coach seeing the same list for their client."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from crossroads.core import demo
from crossroads.testing import PASSWORD

from .conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

SAMPLE_EXPORT = Path(__file__).resolve().parents[2] / "core" / "demo_data" / "linkedin-connections.csv"
THEME = "Magazine editing"


def workspace_tabs(page: Page, client_name: str) -> Locator:
    return page.get_by_role("navigation", name=f"{client_name}'s workspace")


def contact_row(page: Page, name: str) -> Locator:
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))


def search_contacts(page: Page, words: str = "", stage: str | None = None, theme: str | None = None) -> None:
    """Fill the contacts filter form and apply it."""
    form = page.get_by_role("search", name="Search contacts")
    form.get_by_role("searchbox", name="Search").fill(words)
    if stage is not None:
        form.get_by_label("Stage").select_option(label=stage)
    if theme is not None:
        form.get_by_label("Theme").select_option(label=theme)
    form.get_by_role("button", name="Apply").click()


def notice(page: Page) -> Locator:
    return page.locator(".notices")


def test_client_imports_searches_links_a_lead_and_requests_and_the_coach_sees_it(
    page: Page, new_page, server, world
):
    client = world.client.name  # Clara Client, exploring "Magazine editing"
    sign_in(page, world.client.email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {client}")

    # Before the import: only the three contacts the world gives Clara.
    workspace_tabs(page, client).get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your contacts")
    expect(page.get_by_role("table").get_by_role("caption")).to_have_text("1–3 of 3 contacts")

    # The LinkedIn export, uploaded through the form (with the page's progress script).
    workspace_tabs(page, client).get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import contacts")
    page.get_by_label("File", exact=True).set_input_files(SAMPLE_EXPORT)
    page.get_by_role("button", name="Import").click()

    result = page.get_by_role("status", name="Import finished")
    expect(result.locator("p").first).to_have_text("250 added · 0 updated · 0 already up to date · 0 skipped")
    expect(page.get_by_role("alert")).to_have_count(0)
    screenshot(page, "contacts-import")

    # The table: the new contacts plus the three Clara had.
    result.get_by_role("link", name="See the contacts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your contacts")
    expect(page.get_by_role("table").get_by_role("caption")).to_have_text("1–50 of 253 contacts")
    expect(contact_row(page, "Ada Berg")).to_contain_text("LinkedIn import")

    # Search ignores accents and case: "zoe" finds every Zoë, and nobody else.
    search_contacts(page, "zoe")
    expect(page).to_have_url(re.compile(r"[?&]q=zoe"))
    caption = page.get_by_role("table").get_by_role("caption")
    expect(caption).to_have_text("1–5 of 5 contacts")
    zoe = contact_row(page, "Zoë Okafor")
    expect(zoe).to_contain_text("Condé Nast")
    expect(zoe).to_contain_text("Partner")
    expect(zoe).to_contain_text("Identified")
    expect(contact_row(page, "Zoë Rossi")).to_be_visible()
    expect(contact_row(page, "Amara Tanaka")).to_have_count(0)
    # Every word must match: the first name and the surname, in any case.
    search_contacts(page, "OKAFOR zoe")
    expect(caption).to_have_text("1–1 of 1 contacts")
    expect(page.get_by_role("row")).to_have_count(2)  # the heading row and Zoë's
    expect(contact_row(page, "Zoë Okafor")).to_be_visible()

    # Warm leads for "Magazine editing": editors at magazines first, then editors or magazine people.
    workspace_tabs(page, client).get_by_role("link", name="Warm leads").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Warm leads")
    leads = page.get_by_role("region", name=THEME)
    found = leads.get_by_role("listitem")
    expect(found).to_have_count(10)
    expect(found.nth(0)).to_contain_text("Fatima Nielsen")
    expect(found.nth(0)).to_contain_text("Managing Editor, Hearst Magazines")
    expect(found.nth(1)).to_contain_text("Mateo Okafor")
    expect(found.nth(2)).to_contain_text("Neha Smith-Jones")
    for item in found.all():
        expect(item).to_contain_text(re.compile(r"Editor|Magazine"))
    expect(leads.get_by_role("link", name="Grace Said")).to_have_count(0)  # a technical writer at AWS
    screenshot(page, "contacts-leads")

    fatima = found.filter(has=page.get_by_role("link", name="Fatima Nielsen", exact=True))
    fatima.get_by_role("button", name=f"Link to {THEME}").click()
    expect(notice(page)).to_contain_text(f"Fatima Nielsen is linked to “{THEME}”.")
    expect(notice(page).get_by_role("button", name="Undo")).to_be_visible()
    # Linked leads leave the list; the next one moves up.
    expect(leads.get_by_role("link", name="Fatima Nielsen")).to_have_count(0)
    expect(found.nth(0)).to_contain_text("Mateo Okafor")

    # The theme filter now finds her, beside Ada Editor (linked to the theme from the start).
    workspace_tabs(page, client).get_by_role("link", name="Contacts").click()
    search_contacts(page, theme=THEME)
    expect(caption).to_have_text("1–2 of 2 contacts")
    expect(contact_row(page, "Fatima Nielsen")).to_contain_text(THEME)

    # Her page: a request sent, a mis-click undone, the request sent again.
    page.get_by_role("link", name="Fatima Nielsen", exact=True).click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("Fatima Nielsen Identified")
    pipeline = page.get_by_role("region", name="Pipeline")
    pipeline.get_by_role("button", name="Requested", exact=True).click()
    expect(notice(page)).to_contain_text("Fatima Nielsen: Identified → Requested.")
    expect(heading).to_have_text("Fatima Nielsen Requested")
    expect(pipeline).to_contain_text("0 follow-ups sent.")
    expect(pipeline.get_by_role("button", name="I sent a follow-up")).to_be_visible()

    notice(page).get_by_role("button", name="Undo").click()
    expect(notice(page)).to_contain_text("Undone: Fatima Nielsen is back at Identified.")
    expect(heading).to_have_text("Fatima Nielsen Identified")
    expect(pipeline.get_by_role("button", name="I sent a follow-up")).to_have_count(0)

    pipeline.get_by_role("button", name="Requested", exact=True).click()
    expect(notice(page)).to_contain_text("Fatima Nielsen: Identified → Requested.")
    expect(heading).to_have_text("Fatima Nielsen Requested")
    history = pipeline.get_by_role("list").last
    expect(history.get_by_role("listitem")).to_have_count(1)
    expect(history).to_contain_text("Identified → Requested")
    page.get_by_role("heading", level=1).click()  # no focus ring in the docs picture
    screenshot(page, "contact")

    # The coach, in a browser of their own, sees the same list at the same stage.
    coach_page = new_page()
    sign_in(coach_page, world.coach.email, PASSWORD)
    expect(coach_page.get_by_role("heading", level=1)).to_have_text("Your caseload")
    coach_page.get_by_role("link", name=client, exact=True).click()
    expect(coach_page.get_by_role("heading", level=1)).to_have_text(client)
    workspace_tabs(coach_page, client).get_by_role("link", name="Contacts").click()
    expect(coach_page.get_by_role("heading", level=1)).to_have_text(f"{client}: contacts")
    expect(coach_page.get_by_role("link", name="Suggest a contact")).to_be_visible()

    search_contacts(coach_page, stage="Requested")
    expect(coach_page).to_have_url(re.compile(r"[?&]stage=requested"))
    expect(coach_page.get_by_role("table").get_by_role("caption")).to_have_text("1–1 of 1 contacts")
    row = contact_row(coach_page, "Fatima Nielsen")
    expect(row).to_contain_text("Requested")
    expect(row).to_contain_text(THEME)

    # The board, unfiltered: Fatima alone in the Requested column, everyone else still identified.
    search_contacts(coach_page, stage="Any stage")
    expect(coach_page.get_by_role("table").get_by_role("caption")).to_have_text("1–50 of 253 contacts")
    coach_page.get_by_role("group", name="View").get_by_role("link", name="Board").click()
    expect(coach_page).to_have_url(re.compile(r"[?&]view=board"))
    requested = coach_page.get_by_role("region", name=re.compile(r"^Requested"))
    expect(requested.get_by_role("heading")).to_have_text("Requested 1")
    expect(requested.get_by_role("listitem")).to_have_count(1)
    expect(requested).to_contain_text("Fatima Nielsen")
    identified = coach_page.get_by_role("region", name=re.compile(r"^Identified"))
    expect(identified.get_by_role("heading")).to_have_text("Identified 252")
    expect(identified.get_by_role("link", name="All 252 →")).to_be_visible()


BROKEN_EXPORT = (
    b"Notes:\r\n"
    b'"Some email addresses may be missing."\r\n'
    b"\r\n"
    b"First Name,Last Name,URL,Email Address,Company,Position,Connected On\r\n"
    b"Ada,Berg,https://www.linkedin.com/in/ada-berg-new,,,Senior Editor,17 Sep 2010\r\n"
    b"Bo,Chan,https://www.linkedin.com/in/bo-chan-1,,Acme,Editor,31 Foo 2024\r\n"
    b"Cy,Dee,https://www.linkedin.com/in/cy-dee-2\r\n"
)


def upload(page: Page, name: str, data: bytes) -> None:
    # A file of several MB travels to the browser through Playwright's pipe, base64-encoded: on a
    # busy machine that alone can take longer than the usual ten seconds.
    page.get_by_label("File", exact=True).set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": data}, timeout=60_000
    )
    page.get_by_role("button", name="Import").click()


def test_reimport_changes_nothing_and_bad_files_are_refused_whole(page: Page, server, world):
    client = world.client.name
    sign_in(page, world.client.email, PASSWORD)
    workspace_tabs(page, client).get_by_role("link", name="Import", exact=True).click()
    upload(page, "Connections.csv", SAMPLE_EXPORT.read_bytes())
    expect(page.get_by_role("status", name="Import finished")).to_contain_text("250 added")

    # The same file again: matched by profile address, nothing added twice.
    workspace_tabs(page, client).get_by_role("link", name="Import", exact=True).click()
    upload(page, "Connections.csv", SAMPLE_EXPORT.read_bytes())
    result = page.get_by_role("status", name="Import finished")
    expect(result.locator("p").first).to_have_text("0 added · 0 updated · 250 already up to date · 0 skipped")

    # A file with broken rows is refused whole, line by line; its good row is not imported either.
    workspace_tabs(page, client).get_by_role("link", name="Import", exact=True).click()
    upload(page, "Connections.csv", BROKEN_EXPORT)
    refused = page.get_by_role("alert")
    expect(refused.get_by_role("heading")).to_have_text("Nothing was imported")
    expect(refused).to_contain_text("Line 6: Connected On '31 Foo 2024' is not a date like 12 Mar 2024")
    expect(refused).to_contain_text("Line 7: expected 7 fields, found 3")
    expect(page.get_by_role("status", name="Import finished")).to_have_count(0)

    # Something that is not an export at all.
    workspace_tabs(page, client).get_by_role("link", name="Import", exact=True).click()
    upload(page, "notes.csv", b"name,email\r\nAda,ada@example.org\r\n")
    expect(page.get_by_role("alert")).to_contain_text("Crossroads does not recognise this file")

    # Over the 10 MB limit.
    workspace_tabs(page, client).get_by_role("link", name="Import", exact=True).click()
    upload(page, "Connections.csv", b"x" * (10 * 1024 * 1024 + 1))
    expect(page.get_by_role("alert")).to_contain_text("the file is larger than 10 MB")

    workspace_tabs(page, client).get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("table").get_by_role("caption")).to_have_text("1–50 of 253 contacts")
    search_contacts(page, "ada berg")
    expect(page.get_by_role("table").get_by_role("caption")).to_have_text("1–1 of 1 contacts")


def test_coach_suggests_a_contact_and_the_client_accepts_or_dismisses(page: Page, new_page, server, world):
    client = world.client.name
    sign_in(page, world.coach.email, PASSWORD)
    page.get_by_role("link", name=client, exact=True).click()
    workspace_tabs(page, client).get_by_role("link", name="Contacts").click()

    for name, organisation, notes in (
        ("Hana Ishikawa", "Granta", "Edited my essays years ago; ask about commissioning."),
        ("Pete Quill", "Nowhere Weekly", ""),
    ):
        page.get_by_role("link", name="Suggest a contact").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Suggest a contact to {client}")
        page.get_by_role("textbox", name="Name", exact=True).fill(name)
        page.get_by_role("textbox", name="Organisation", exact=True).fill(organisation)
        page.get_by_role("textbox", name="Position", exact=True).fill("Deputy Editor")
        page.get_by_role("textbox", name="Research notes", exact=True).fill(notes)
        page.get_by_role("button", name="Suggest", exact=True).click()
        expect(notice(page)).to_contain_text(
            f"{name} is suggested to {client}; they can accept or dismiss it."
        )

    waiting = page.get_by_role("region", name="Suggested by you, waiting for an answer")
    expect(waiting.get_by_role("listitem")).to_have_count(2)
    expect(waiting).to_contain_text("Edited my essays years ago")
    expect(waiting.get_by_role("button")).to_have_count(0)  # only the client answers

    # The client sees both, marked as from the coach.
    client_page = new_page()
    sign_in(client_page, world.client.email, PASSWORD)
    workspace_tabs(client_page, client).get_by_role("link", name="Contacts").click()
    waiting = client_page.get_by_role("region", name="Suggested by your coach, waiting for an answer")
    hana = waiting.get_by_role("listitem").filter(has_text="Hana Ishikawa")
    pete = waiting.get_by_role("listitem").filter(has_text="Pete Quill")
    expect(hana).to_contain_text("Deputy Editor, Granta")

    hana.get_by_role("button", name="Accept").click()
    expect(notice(client_page)).to_contain_text("Hana Ishikawa is on your list.")
    expect(waiting.get_by_role("listitem")).to_have_count(1)
    expect(contact_row(client_page, "Hana Ishikawa")).to_contain_text("Suggested by the coach")

    # Dismissed suggestions leave the list; "Undo (keep them)" accepts after all.
    pete.get_by_role("button", name="Dismiss").click()
    expect(notice(client_page)).to_contain_text("Dismissed Pete Quill.")
    expect(waiting).to_have_count(0)
    expect(contact_row(client_page, "Pete Quill")).to_have_count(0)
    notice(client_page).get_by_role("button", name="Undo (keep them)").click()
    expect(notice(client_page)).to_contain_text("Pete Quill is on your list.")
    expect(contact_row(client_page, "Pete Quill")).to_contain_text("Suggested by the coach")

    # The coach's list no longer shows anything waiting.
    page.reload()
    expect(page.get_by_role("region", name="Suggested by you, waiting for an answer")).to_have_count(0)
    expect(contact_row(page, "Hana Ishikawa")).to_be_visible()


def test_client_records_a_referral_and_sees_the_chain(page: Page, server, world):
    client = world.client.name
    sign_in(page, world.client.email, PASSWORD)
    workspace_tabs(page, client).get_by_role("link", name="Contacts").click()
    page.get_by_role("link", name="Add a contact").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a contact")
    page.get_by_label("Where did you find them?").select_option(label="A professional association")
    page.get_by_role("textbox", name="Name", exact=True).fill("Rosa Lind")
    page.get_by_role("textbox", name="Organisation", exact=True).fill("Society of Editors")
    page.get_by_role("checkbox", name=THEME).check()
    page.get_by_role("textbox", name="Tags", exact=True).fill("warm, conference")
    page.get_by_role("button", name="Add contact").click()

    expect(notice(page)).to_contain_text("Added Rosa Lind.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Rosa Lind Identified")
    expect(page.locator("main p.muted").first).to_contain_text("Professional association")

    # Someone Rosa suggested, and someone they suggested in turn.
    referrals = page.get_by_role("region", name="People Rosa Lind suggested")
    referrals.get_by_text("Add someone they suggested").click()
    referrals.get_by_role("textbox", name="Name", exact=True).fill("Sam Ortiz")
    referrals.get_by_role("button", name="Add referral").click()
    expect(notice(page)).to_contain_text("Added Sam Ortiz, referred by Rosa Lind.")
    referrals.get_by_role("link", name="Sam Ortiz").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Sam Ortiz Identified")
    expect(page.get_by_label("Referral chain")).to_have_text(re.compile(r"^Referred by:\s*Rosa Lind\s*$"))
    referrals = page.get_by_role("region", name="People Sam Ortiz suggested")
    referrals.get_by_text("Add someone they suggested").click()
    referrals.get_by_role("textbox", name="Name", exact=True).fill("Tess Udall")
    referrals.get_by_role("button", name="Add referral").click()
    expect(notice(page)).to_contain_text("Added Tess Udall, referred by Sam Ortiz.")
    referrals.get_by_role("link", name="Tess Udall").click()

    chain = page.get_by_label("Referral chain")
    expect(chain).to_have_text(re.compile(r"^Referred by:\s*Sam Ortiz\s*←\s*Rosa Lind\s*$"))
    # A referral inherits the referrer's themes.
    expect(page.get_by_role("checkbox", name=THEME)).to_be_checked()

    # Tags are searchable, and the referrer is shown in the table.
    workspace_tabs(page, client).get_by_role("link", name="Contacts").click()
    search_contacts(page, "conference")
    expect(page.get_by_role("table").get_by_role("caption")).to_have_text("1–1 of 1 contacts")
    expect(contact_row(page, "Rosa Lind")).to_contain_text("Professional association")
    search_contacts(page, "")
    expect(contact_row(page, "Tess Udall")).to_contain_text("Referral (Sam Ortiz)")


def test_demo_client_sees_what_is_due_and_the_pipeline_in_every_stage(page: Page, server, db):
    demo.load_demo(db)
    sign_in(page, demo.CLIENT_EMAIL, demo.DEMO_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Priya Raman")

    due = page.get_by_role("region", name="Due today and overdue")
    expect(due.locator("li.overdue")).to_have_count(2)
    expect(due).to_contain_text("Send a polite follow-up")
    expect(due).to_contain_text("Send a thank-you note")
    expect(due).to_contain_text("No reply yet: write to a second person at")

    workspace_tabs(page, "Priya Raman").get_by_role("link", name="Contacts").click()
    waiting = page.get_by_role("region", name="Suggested by your coach, waiting for an answer")
    expect(waiting).to_contain_text("Ines Calder")
    search_contacts(page, theme=THEME)
    table = page.get_by_role("table")
    # 15 from the pipeline, and one introduction from the alumni office (the alumni_offices demo rows).
    expect(table.get_by_role("caption")).to_have_text("1–16 of 16 contacts")
    for stage in ("Researched", "Requested", "Talked", "Thanked", "Declined", "No response"):
        expect(table.locator(".badge", has_text=re.compile(f"^{stage}$")).first).to_be_visible()
    page.get_by_role("heading", level=1).click()
    screenshot(page, "contacts-table")

    page.get_by_role("group", name="View").get_by_role("link", name="Board").click()
    expect(page).to_have_url(re.compile(r"view=board"))
    expect(page.locator(".board-column")).to_have_count(9)
    requested = page.get_by_role("region", name=re.compile(r"^Requested"))
    expect(requested.get_by_role("heading")).to_have_text("Requested 4")
    page.get_by_role("heading", level=1).click()
    screenshot(page, "contacts-board")
