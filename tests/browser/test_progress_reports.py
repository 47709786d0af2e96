"""A coach opens a client's progress report, downloads its PDF, and finds a stalled client flagged
on the caseload report; both reports are photographed for the user guide."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import select

from crossroads.core.db import utcnow
from crossroads.core.models import (
    ContactSource,
    Conversation,
    Goal,
    GoalMetric,
    GoalPeriod,
    MessageStatus,
    Reflection,
    Stage,
    StageChange,
)
from crossroads.testing import PASSWORD, make_contact, make_conversation, make_message

from .conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

INSIGHTS = [
    "Deadlines shape every week; the craft is in the edit, not the writing.",
    "Agencies hire editors who can pitch: build a portfolio of three pieces.",
    "Technical writing pays steadily and values clear thinking over flair.",
]


@pytest.fixture
def busy_world(world, db):
    """Clara has been active over the last six weeks; Otto has done nothing for three weeks."""
    now = utcnow()
    clara = world.client
    theme = clara.themes[0]
    for n in range(12):
        when = now - timedelta(days=3 * n + 1)
        source = [ContactSource.LINKEDIN, ContactSource.REFERRAL, ContactSource.MANUAL][n % 3]
        person = make_contact(
            db,
            clara,
            f"Contact {n + 1}",
            "Acme Media",
            "Editor",
            source=source,
            created_at=when - timedelta(days=1),
            stage_changed_at=when,
        )
        db.add(
            StageChange(
                practice_id=clara.practice_id,
                client_id=clara.id,
                contact_id=person.id,
                from_stage=Stage.RESEARCHED,
                to_stage=Stage.REQUESTED,
                at=when,
            )
        )
        message = make_message(db, person, status=MessageStatus.SENT, channel=["email", "linkedin"][n % 2])
        message.sent_at = when
        if n % 3 == 0:
            message.replied_at = when + timedelta(days=1)
            held = make_conversation(db, person, starts_at=when + timedelta(days=1), shared_reflection=True)
            held.theme_id = theme.id
            db.flush()
            reflection = db.scalar(select(Reflection).where(Reflection.conversation_id == held.id))
            reflection.energy, reflection.fit = [2, 1, 2, 0][n // 3], [5, 4, 4, 3][n // 3]
            reflection.insights = INSIGHTS[(n // 3) % 3]
            db.add(
                StageChange(
                    practice_id=clara.practice_id,
                    client_id=clara.id,
                    contact_id=person.id,
                    from_stage=Stage.SCHEDULED,
                    to_stage=Stage.TALKED,
                    at=when + timedelta(days=1),
                )
            )
            db.add(
                StageChange(
                    practice_id=clara.practice_id,
                    client_id=clara.id,
                    contact_id=person.id,
                    from_stage=Stage.TALKED,
                    to_stage=Stage.THANKED,
                    at=when + timedelta(days=1, hours=5),
                )
            )
    db.add(
        Goal(
            practice_id=clara.practice_id,
            client_id=clara.id,
            period=GoalPeriod.WEEK,
            metric=GoalMetric.CONVERSATIONS,
            target=1,
        )
    )
    otto = world.other_client
    otto.created_at = now - timedelta(days=60)
    otto.last_activity_at = now - timedelta(days=21)  # his contact, added when the world was made
    for change in db.scalars(select(StageChange).where(StageChange.client_id == otto.id)):
        change.at = now - timedelta(days=21)
    for conversation in db.scalars(select(Conversation).where(Conversation.client_id == otto.id)):
        conversation.held_at = now - timedelta(days=25)
    db.commit()
    return world


def test_coach_reviews_a_clients_report_downloads_the_pdf_and_spots_a_stalled_client(
    page: Page, server, busy_world
):
    sign_in(page, busy_world.coach.email, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Caseload report").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Caseload report")

    otto = page.locator(f'tr[data-client="{busy_world.other_client.id}"]')
    expect(otto.get_by_text("Stalled")).to_be_visible()
    clara = page.locator(f'tr[data-client="{busy_world.client.id}"]')
    expect(clara.get_by_text("Stalled")).to_have_count(0)
    expect(page.get_by_text("Ola Owned")).to_have_count(0)  # a colleague's client
    screenshot(page, "report-caseload")

    clara.get_by_role("link", name="Clara Client").click()
    expect(page).to_have_url(re.compile(rf"/clients/{busy_world.client.id}/report$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Clara Client: progress report")
    for title in ("Outreach", "Against goals", "Weekly activity", "New contacts", "Themes"):
        expect(page.get_by_role("heading", level=2, name=title, exact=True)).to_be_visible()
    expect(page.locator('section[data-section="activity"] img[alt="Activity per week"]')).to_be_visible()
    expect(page.get_by_text(INSIGHTS[0]).first).to_be_visible()

    page.get_by_label("Note").fill(
        "Strong month: two more conversations in editing, then compare the themes."
    )
    page.get_by_role("button", name="Save the note").click()
    expect(page.get_by_role("status")).to_contain_text("Note saved")
    expect(page.locator('section[data-section="coach_note"]')).to_contain_text("Strong month")
    page.locator("details.panel").evaluate("d => d.open = false")
    screenshot(page, "report-client")

    # WeasyPrint lays the PDF out while the browser waits: 2 s on a quiet machine, far more on a busy one.
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("link", name="Download PDF").click()
    download = info.value
    assert re.fullmatch(
        r"progress-report-clara-client-\d{4}-\d\d-\d\d-to-\d{4}-\d\d-\d\d-made-\d{4}-\d\d-\d\d\.pdf",
        download.suggested_filename,
    )
    reader = PdfReader(download.path())
    text = "\n".join(p.extract_text() for p in reader.pages)
    for words in (
        "Northbridge",
        "Progress report: Clara Client",
        "Strong month",
        "Outreach",
        "Themes",
        "Page 1 of",
    ):
        assert words in text, words
