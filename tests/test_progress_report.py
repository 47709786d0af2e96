"""Progress reports: figures against a hand-built week, the formats, the hooks, the caseload, the digest."""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import event, func, select

from crossroads.core.db import make_sessionmaker, utcnow
from crossroads.core.hookspecs import hookimpl
from crossroads.core.mail.queue import make_queue
from crossroads.core.models import (
    ClientStatus,
    ContactSource,
    Conversation,
    Goal,
    GoalMetric,
    GoalPeriod,
    MessageStatus,
    OutboxEmail,
    PracticeMail,
    Reflection,
    Stage,
    StageChange,
    ThemeDecision,
    ThemeStatus,
)
from crossroads.core.reports import (
    Period,
    PeriodChoice,
    ReportFormat,
    ReportRequest,
    Section,
    Subject,
    build_report,
)
from crossroads.core.scoping import Scope
from crossroads.plugins.progress_report.digest import send_digests
from crossroads.plugins.progress_report.figures import caseload_rows, client_figures
from crossroads.plugins.progress_report.models import DigestSubscription, ReportNote
from crossroads.testing import make_client, make_contact, make_conversation, make_message

from .test_concurrency import edit_form

NY = "America/New_York"
# The week of Monday 16 November 2026 in New York (UTC-5): [16 Nov 05:00 UTC, 23 Nov 05:00 UTC).
WEEK = Period.of(PeriodChoice.THIS_WEEK, NY, today=date(2026, 11, 18))
BASE = "/plugins/progress_report"


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def change(db, contact, to_stage, when, from_stage=None, note=""):
    db.add(
        StageChange(
            practice_id=contact.practice_id,
            client_id=contact.client_id,
            contact_id=contact.id,
            from_stage=from_stage,
            to_stage=to_stage,
            note=note,
            at=when,
        )
    )


def contact(db, client, name, created=None, source=ContactSource.MANUAL, **values):
    created = created or at(1, 12)
    return make_contact(
        db, client, name, source=source, created_at=created, stage_changed_at=created, **values
    )


def sent_message(db, person, channel, when, replied=None):
    message = make_message(db, person, status=MessageStatus.SENT, channel=channel)
    message.sent_at, message.replied_at = when, replied
    return message


@pytest.fixture
def week(world, db):
    """Clara's hand-built week, told in UTC; the edges are New York's Monday 00:00 and Sunday 23:59."""
    client = world.client
    theme = client.themes[0]
    R = Stage.REQUESTED
    a = contact(db, client, "Ann Edge-Start", created=at(16, 5), source=ContactSource.LINKEDIN)
    change(db, a, R, at(16, 5))  # Monday 00:00 in New York: in the week
    change(db, a, Stage.REPLIED, at(17, 9), from_stage=R)
    sent_message(db, a, "email", at(16, 5), replied=at(17, 9))
    b = contact(db, client, "Ben Before")
    change(db, b, R, at(16, 4, 59))  # Sunday 23:59 in New York: the week before
    c = contact(db, client, "Cai Edge-End")
    change(db, c, R, at(23, 4, 59))  # Sunday 23:59 in New York: in the week
    change(db, c, Stage.REPLIED, at(25, 10), from_stage=R)  # answered after the week: still counts
    sent_message(db, c, "linkedin", at(23, 4, 59))
    d = contact(db, client, "Dee After")
    change(db, d, R, at(23, 5))  # Monday 00:00 in New York: the week after
    e = contact(db, client, "Eve Evening")
    change(db, e, R, at(23, 3))  # Sunday 22:00 in New York, Monday 03:00 in London
    # Follow-ups: due 7 business days after the request, in the client's (London) calendar.
    f = contact(db, client, "Fay Late")
    change(db, f, R, at(2, 15))
    change(db, f, R, at(17, 15), from_stage=R, note="follow_up")  # due 11 Nov: late
    g = contact(db, client, "Gil Prompt")
    change(db, g, R, at(9, 15))
    change(db, g, R, at(18, 15), from_stage=R, note="follow_up")  # due 18 Nov: on time
    # Conversations and thank-yous: within a day is on time.
    h = contact(db, client, "Hal Thanked")
    change(db, h, Stage.TALKED, at(17, 14))
    change(db, h, Stage.THANKED, at(18, 10), from_stage=Stage.TALKED)
    i = contact(db, client, "Ida Slow")
    change(db, i, Stage.TALKED, at(16, 14))
    change(db, i, Stage.THANKED, at(19, 10), from_stage=Stage.TALKED)
    held_h = make_conversation(db, h, starts_at=at(17, 14), shared_reflection=True)
    held_h.theme_id = theme.id
    held_i = make_conversation(db, i, starts_at=at(16, 14), shared_reflection=False)
    held_i.theme_id = theme.id
    db.flush()
    shared = db.scalar(select(Reflection).where(Reflection.conversation_id == held_h.id))
    shared.energy, shared.fit, shared.insights = 2, 5, "Deadlines rule everything"
    private = db.scalar(select(Reflection).where(Reflection.conversation_id == held_i.id))
    private.energy, private.fit, private.insights = -2, 1, "A private doubt"
    contact(db, client, "Jo Referred", created=at(19, 12), source=ContactSource.REFERRAL, referred_by_id=h.id)
    db.add(
        ThemeDecision(
            practice_id=client.practice_id,
            client_id=client.id,
            theme_id=theme.id,
            decision=ThemeStatus.CHOSEN,
            note="It fits",
            at=at(19, 16),
        )
    )
    db.add(
        Goal(
            practice_id=client.practice_id,
            client_id=client.id,
            period=GoalPeriod.WEEK,
            metric=GoalMetric.CONVERSATIONS,
            target=2,
        )
    )
    db.add(
        Goal(
            practice_id=client.practice_id,
            client_id=client.id,
            period=GoalPeriod.QUARTER,
            metric=GoalMetric.REQUESTS,
            target=26,
        )
    )
    world.coach.timezone = NY
    db.commit()
    return world


# -- periods --------------------------------------------------------------------------------


def test_periods_are_whole_days_in_the_viewers_zone_and_weeks_start_on_monday():
    assert (WEEK.start, WEEK.end) == (date(2026, 11, 16), date(2026, 11, 23))
    assert (WEEK.since, WEEK.until) == (at(16, 5), at(23, 5))
    sunday = Period.of(PeriodChoice.THIS_WEEK, NY, today=date(2026, 11, 22))
    assert sunday.start == date(2026, 11, 16)
    last = Period.of(PeriodChoice.LAST_WEEK, "Europe/London", today=date(2026, 11, 16))
    assert (last.start, last.last_day) == (date(2026, 11, 9), date(2026, 11, 15))
    month = Period.of(PeriodChoice.LAST_MONTH, "UTC", today=date(2026, 1, 10))
    assert (month.start, month.end) == (date(2025, 12, 1), date(2026, 1, 1))
    quarter = Period.of(PeriodChoice.THIS_QUARTER, "UTC", today=date(2026, 11, 25))
    assert (quarter.start, quarter.end) == (date(2026, 10, 1), date(2027, 1, 1))
    custom = Period.of(PeriodChoice.CUSTOM, "UTC", start=date(2026, 3, 1), end=date(2026, 3, 31))
    assert (custom.days, custom.slug) == (31, "2026-03-01-to-2026-03-31")
    # The clocks change inside this range (29 March in London): the bounds are still local midnights.
    london = Period.of(PeriodChoice.CUSTOM, "Europe/London", start=date(2026, 3, 23), end=date(2026, 3, 29))
    assert (london.since, london.until) == (at(23, 0, month=3), at(29, 23, month=3))
    with pytest.raises(ValueError):
        Period.of(PeriodChoice.CUSTOM, "UTC", start=date(2026, 3, 2), end=date(2026, 3, 1))


# -- the figures ----------------------------------------------------------------------------


def test_client_figures_match_the_hand_built_week(week, db):
    figures = client_figures(Scope(db, week.coach), week.client.id, WEEK)
    assert figures.requests == 3  # Ann (Monday 00:00), Cai (Sunday 23:59), Eve; not Ben nor Dee
    assert figures.replied == 2 and figures.reply_rate == 66.7
    channels = {row.channel: (row.requests, row.replied) for row in figures.channels}
    assert channels == {"email": (1, 1), "linkedin": (1, 1), "by_hand": (1, 0)}
    assert (figures.follow_ups, figures.follow_ups_on_time) == (2, 1)
    assert (figures.thank_yous, figures.thank_yous_on_time) == (2, 1)
    assert figures.conversations == 3  # Hal's, Ida's, and the world's conversation of 20 November
    goals = {g.metric: (g.done, g.expected) for g in figures.goals}
    assert goals[GoalMetric.CONVERSATIONS] == (3, 2)
    assert goals[GoalMetric.REQUESTS] == (3, 2)  # 26 a quarter is 2 for a week
    assert goals[GoalMetric.THANK_YOUS] == (2, None)
    assert figures.new_contacts == {ContactSource.LINKEDIN: 1, ContactSource.REFERRAL: 1}
    assert figures.referrals == [("Jo Referred", "Hal Thanked")]
    theme = figures.themes[0]
    assert (theme.held_in_period, theme.held_to_date, theme.target) == (2, 2, 5)
    # Only the shared reflection counts, whoever looks.
    assert (theme.average_energy, theme.average_fit) == (2, 5)
    assert theme.insights == [("Hal Thanked", "Deadlines rule everything")]
    assert [(d.decision, d.note) for d in theme.decisions] == [(ThemeStatus.CHOSEN, "It fits")]
    mine = client_figures(Scope(db, week.client.user), week.client.id, WEEK)
    assert mine.themes[0].insights == theme.insights and mine.themes[0].average_energy == 2
    this_week = next(w for w in figures.weeks if w.start == WEEK.start)
    assert (this_week.requests, this_week.follow_ups, this_week.conversations, this_week.thank_yous) == (
        3,
        2,
        3,
        2,
    )
    assert len(figures.weeks) == 6 and figures.weeks[-1].start == WEEK.start


def test_the_same_events_fall_in_a_different_week_for_a_viewer_in_london(week, db):
    london = Period.of(PeriodChoice.THIS_WEEK, "Europe/London", today=date(2026, 11, 18))
    figures = client_figures(Scope(db, week.coach), week.client.id, london)
    assert figures.requests == 2  # Ann and Ben; Cai and Eve are on Monday 23 in London


def test_caseload_rows_flag_stalled_clients_and_count_overdue_outreach(week, db):
    now = utcnow()
    other = week.other_client
    other.created_at = now - timedelta(days=40)
    other.last_activity_at = now - timedelta(days=20)  # the client's own last step
    for change_row in db.scalars(select(StageChange).where(StageChange.client_id == other.id)):
        change_row.at = now - timedelta(days=2)  # a coach's move is not the client's activity
    overdue = contact(db, other, "Old Request", created=now - timedelta(days=40))
    overdue.stage, overdue.stage_changed_at = Stage.REQUESTED, now - timedelta(days=20)
    talked = contact(db, other, "Unthanked", created=now - timedelta(days=40))
    talked.stage, talked.stage_changed_at = Stage.TALKED, now - timedelta(days=20)
    db.commit()
    period = Period.of(PeriodChoice.THIS_WEEK, NY, today=now.date())
    rows = {r.name: r for r in caseload_rows(Scope(db, week.coach), period, now)}
    assert set(rows) == {"Clara Client", "Otto Other"}  # not the owner's client
    assert rows["Otto Other"].stalled and rows["Otto Other"].idle_days == 20
    assert (rows["Otto Other"].overdue_follow_ups, rows["Otto Other"].overdue_thank_yous) == (1, 1)
    assert not rows["Clara Client"].stalled
    other.status = ClientStatus.PAUSED  # quiet on purpose
    assert not next(r for r in caseload_rows(Scope(db, week.coach), period, now) if r.client is other).stalled
    everyone = caseload_rows(Scope(db, week.owner), period, now, sort="name")
    assert [r.name for r in everyone] == ["Clara Client", "Ola Owned", "Otto Other"]
    by_idle = caseload_rows(Scope(db, week.owner), period, now, sort="-idle")
    assert by_idle[0].name == "Otto Other"


def test_caseload_momentum_is_activity_per_week(week, db):
    rows = {r.name: r for r in caseload_rows(Scope(db, week.coach), WEEK, at(25, 12))}
    clara = rows["Clara Client"]
    # 3 requests, 2 follow-ups, 2 thank-yous, 3 conversations in one week.
    assert (clara.activity, clara.momentum, clara.conversations, clara.conversations_expected) == (
        10,
        10,
        3,
        2,
    )
    fortnight = Period.of(PeriodChoice.CUSTOM, NY, start=date(2026, 11, 9), end=date(2026, 11, 22))
    # Two weeks add Ben's request (Sunday 15 in New York) and Gil's of 9 November: 12 steps.
    assert caseload_rows(Scope(db, week.coach), fortnight, at(25, 12), sort="name")[0].momentum == 6


# -- the pages and the formats --------------------------------------------------------------


def week_url(client_id: int, path: str = "", **args) -> str:
    query = "&".join(
        f"{k}={v}"
        for k, v in {"period": "custom", "start": "2026-11-16", "end": "2026-11-22", **args}.items()
    )
    return f"{BASE}/clients/{client_id}/report{path}?{query}"


def test_the_client_and_their_coach_see_the_report_with_every_section(week, as_user):
    for viewer in (week.coach, week.client.user, week.owner):
        page = as_user(viewer).get(week_url(week.client.id))
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        for key in ("outreach", "goals", "activity", "contacts", "themes"):
            assert f'data-section="{key}"' in html
        assert "Deadlines rule everything" in html and "A private doubt" not in html
        assert '<img src="data:image/svg+xml;base64,' in html  # the charts: pictures of their own (CSP)
        # The period is in each viewer's zone: New York for the coach, London for the others.
        assert f'data-figure="requests">{3 if viewer is week.coach else 2}<' in html


def test_the_pdf_opens_and_has_the_practice_the_sections_and_page_numbers(week, as_user):
    response = as_user(week.coach).get(week_url(week.client.id, "/download", format="pdf"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert "progress-report-clara-client-2026-11-16-to-2026-11-22-made-" in disposition
    reader = PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for words in (
        "Northbridge",
        "Progress report: Clara Client",
        "Outreach",
        "Against goals",
        "Weekly activity",
        "New contacts",
        "Themes",
        "Deadlines rule everything",
    ):
        assert words in text, words
    assert f"Page 1 of {len(reader.pages)}" in text
    assert "Activity per week" in text  # the chart's title, drawn in the PDF


def test_the_pdf_reports_are_tagged_for_screen_readers_with_their_language(week, as_user):
    for url in (week_url(week.client.id, "/download", format="pdf"), f"{BASE}/caseload/download?format=pdf"):
        reader = PdfReader(io.BytesIO(as_user(week.coach).get(url).data))
        catalog = reader.trailer["/Root"]
        assert bool(catalog["/MarkInfo"]["/Marked"]), url
        structure = catalog["/StructTreeRoot"].get_object()
        assert structure["/K"], url  # a tree with content: headings, tables, paragraphs
        assert catalog["/Lang"] == "en", url


def test_the_csv_parses_into_a_block_per_section(week, as_user):
    response = as_user(week.coach).get(week_url(week.client.id, "/download", format="csv"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].endswith('.csv"')
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "Progress report: Clara Client"
    start = rows.index(["# Outreach"])
    header = rows[start + 1]
    assert header == ["Channel", "Requests sent", "Follow-ups sent", "Replied", "Reply rate"]
    table = [dict(zip(header, r, strict=True)) for r in rows[start + 2 : rows.index([], start)]]
    assert table[-1] == {
        "Channel": "All channels",
        "Requests sent": "3",
        "Follow-ups sent": "2",
        "Replied": "2",
        "Reply rate": "66.7%",
    }
    assert ["# Themes"] in rows and ["# Weekly activity"] in rows


def test_an_unknown_format_or_a_bad_period_is_not_found_and_a_bad_query_falls_back(week, as_user):
    browser = as_user(week.coach)
    assert browser.get(week_url(week.client.id, "/download", format="docx")).status_code == 404
    bad = browser.get(f"{BASE}/clients/{week.client.id}/report?period=custom&start=2026-11-22&end=2026-11-01")
    assert bad.status_code == 200 and "must end on or after" in bad.get_data(as_text=True)


def test_the_coach_adds_a_note_for_the_period_and_the_client_reads_it(week, as_user, db):
    form = {
        "period": "custom",
        "start": "2026-11-16",
        "end": "2026-11-22",
        "body": "Great week: keep the pace.",
    }
    coach = as_user(week.coach)
    assert coach.post(f"{BASE}/clients/{week.client.id}/report/note", data=form).status_code == 302
    note = db.scalar(select(ReportNote))
    assert (note.period_start, note.period_end, note.author_id) == (
        date(2026, 11, 16),
        date(2026, 11, 22),
        week.coach.id,
    )
    html = as_user(week.client.user).get(week_url(week.client.id)).get_data(as_text=True)
    assert 'data-section="coach_note"' in html and "Great week: keep the pace." in html
    other_week = as_user(week.client.user).get(f"{BASE}/clients/{week.client.id}/report?period=this_week")
    assert "Great week" not in other_week.get_data(as_text=True)
    assert (
        as_user(week.client.user).post(f"{BASE}/clients/{week.client.id}/report/note", data=form).status_code
        == 403
    )
    too_long = coach.post(f"{BASE}/clients/{week.client.id}/report/note", data={**form, "body": "x" * 5001})
    assert too_long.status_code == 400
    coach.post(f"{BASE}/clients/{week.client.id}/report/note", data={**form, "body": ""})
    db.expire_all()
    assert db.scalar(select(ReportNote)) is None


def test_a_stale_save_of_a_coachs_note_is_refused_with_both_texts_kept(week, as_user, db):
    url, marker = f"{BASE}/clients/{week.client.id}/report/note", 'action="/plugins/progress_report/clients/'
    coach, owner = as_user(week.coach), as_user(week.owner)
    first = edit_form(coach.get(week_url(week.client.id)), marker, body="First note")
    assert coach.post(url, data=first).status_code == 302
    owners_form = edit_form(owner.get(week_url(week.client.id)), marker, body="The owner's stale note")
    coachs_form = edit_form(coach.get(week_url(week.client.id)), marker, body="The coach's note")
    assert coach.post(url, data=coachs_form).status_code == 302
    refused = owner.post(url, data=owners_form)
    assert refused.status_code == 409
    page = unescape(refused.get_data(as_text=True))
    assert "The coach's note" in page and "The owner's stale note" in page
    db.expire_all()
    assert db.scalar(select(ReportNote)).body == "The coach's note"
    again = owner.post(url, data=edit_form(refused, marker, body="The owner's note, on purpose"))
    assert again.status_code == 302
    db.expire_all()
    assert db.scalar(select(ReportNote)).body == "The owner's note, on purpose"


def test_the_caseload_report_shows_a_coach_only_their_caseload_and_links_each_client(week, as_user):
    html = as_user(week.coach).get(f"{BASE}/caseload").get_data(as_text=True)
    assert "Clara Client" in html and "Otto Other" in html and "Ola Owned" not in html
    assert f'href="{BASE}/clients/{week.client.id}/report"' in html
    owner = as_user(week.owner).get(f"{BASE}/caseload?sort=name").get_data(as_text=True)
    assert "Ola Owned" in owner
    assert owner.index(f'data-client="{week.client.id}"') < owner.index(
        f'data-client="{week.owners_client.id}"'
    )
    only = as_user(week.owner).get(f"{BASE}/caseload?coach_id={week.coach.id}").get_data(as_text=True)
    assert "Ola Owned" not in only and "Clara Client" in only
    assert as_user(week.owner).get(f"{BASE}/caseload?coach_id={week.stranger_owner.id}").status_code == 404
    assert as_user(week.client.user).get(f"{BASE}/caseload").status_code == 404
    assert as_user(week.stranger_owner).get(f"{BASE}/caseload").get_data(as_text=True).count("Clara") == 0
    csv_text = as_user(week.coach).get(f"{BASE}/caseload/download?format=csv").data.decode("utf-8-sig")
    assert "Clara Client" in csv_text and "Ola Owned" not in csv_text


def test_the_owner_sets_the_stalled_threshold_for_the_practice(week, as_user, db):
    week.other_client.created_at = utcnow() - timedelta(days=20)
    week.other_client.last_activity_at = utcnow() - timedelta(days=20)  # his contact in the world
    for change_row in db.scalars(select(StageChange).where(StageChange.client_id == week.other_client.id)):
        change_row.at = utcnow() - timedelta(days=20)
    for conversation in db.scalars(
        select(Conversation).where(Conversation.client_id == week.other_client.id)
    ):
        conversation.held_at = utcnow() - timedelta(days=20)
    db.commit()
    assert "data-stalled" in as_user(week.coach).get(f"{BASE}/caseload").get_data(as_text=True)
    assert as_user(week.coach).post(f"{BASE}/settings", data={"stalled_days": "30"}).status_code == 404
    as_user(week.owner).post(f"{BASE}/settings", data={"stalled_days": "30"})
    assert "data-stalled" not in as_user(week.coach).get(f"{BASE}/caseload").get_data(as_text=True)


def test_the_menus_link_to_both_reports(week, as_user):
    html = as_user(week.coach).get(f"/coach/clients/{week.client.id}").get_data(as_text=True)
    assert f"{BASE}/clients/{week.client.id}/report" in html and f"{BASE}/caseload" in html
    assert f"{BASE}/clients/{week.client.id}/report" in as_user(week.client.user).get("/me/").get_data(
        as_text=True
    )


# -- the hooks: a plugin adds a section and a format; a raising one is contained ------------


class Extra:
    @hookimpl
    def report_sections(self, request):
        return Section(key="extra", title="Extra things", rows=[{"what": "biscuits", "how_many": 3}], order=1)

    @hookimpl
    def report_formats(self):
        class Text(ReportFormat):
            name, label, media_type, extension = "txt", "Plain text", "text/plain; charset=utf-8", "txt"

            def render(self, report):
                return "\n".join(s.title for s in report.sections).encode()

        return Text()


class Raising:
    @hookimpl
    def report_sections(self, request):
        raise RuntimeError("this plugin is broken")


def test_a_plugin_adds_a_section_and_a_format_and_a_raising_one_leaves_the_rest(week, plugins, as_user):
    plugins.register(Extra(), "extra")
    plugins.register(Raising(), "raising")
    browser = as_user(week.coach)
    html = browser.get(week_url(week.client.id)).get_data(as_text=True)
    assert 'data-section="extra"' in html and "biscuits" in html
    assert 'data-plugin="raising" data-unavailable' in html
    assert 'data-section="outreach"' in html and 'data-figure="requests">3<' in html
    text = browser.get(week_url(week.client.id, "/download", format="txt"))
    assert text.status_code == 200 and text.data.decode().splitlines()[0] == "Extra things"
    pdf = PdfReader(io.BytesIO(browser.get(week_url(week.client.id, "/download", format="pdf")).data))
    assert "Extra things" in "".join(p.extract_text() for p in pdf.pages)


def test_build_report_orders_sections_and_names_the_unavailable_plugin(week, plugins, db):
    plugins.register(Extra(), "extra")
    plugins.register(Raising(), "raising")
    request = ReportRequest(
        session=db,
        scope=Scope(db, week.coach),
        subject=Subject(client=week.client),
        period=WEEK,
        viewer=week.coach,
        practice=week.practice,
    )
    report = build_report(plugins, None, request, isolate=db.begin_nested)
    assert [s.key for s in report.sections][:2] == ["extra", "outreach"]
    assert [(u.plugin, "broken" in u.error) for u in report.unavailable] == [("raising", True)]
    assert report.section("extra").plugin == "extra"


# -- no N+1 ---------------------------------------------------------------------------------


@contextmanager
def count_statements(engine):
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_reports_run_as_many_statements_for_a_quiet_or_a_busy_client(week, db, as_user, app):
    engine = app.extensions["crossroads"].engine  # the requests' (the test's session has its own)
    browser = as_user(week.coach)
    url = f"{BASE}/clients/{week.client.id}/report?period=this_quarter"
    browser.get(url)
    browser.get(f"{BASE}/caseload")
    with count_statements(engine) as quiet:
        assert browser.get(url).status_code == 200
    with count_statements(engine) as quiet_caseload:
        browser.get(f"{BASE}/caseload?period=this_quarter")
    now = utcnow()
    for n in range(30):
        person = contact(db, week.client, f"Busy {n}", created=now - timedelta(days=n))
        change(db, person, Stage.REQUESTED, now - timedelta(days=n))
        change(db, person, Stage.TALKED, now - timedelta(days=n, hours=-1))
        held = make_conversation(db, person, starts_at=now - timedelta(days=n), shared_reflection=True)
        held.theme_id = week.client.themes[0].id
        sent_message(db, person, "email", now - timedelta(days=n))
        make_client(db, week.coach, f"busy{n}@a.example") if n < 5 else None
    db.commit()
    with count_statements(engine) as busy:
        assert browser.get(url).status_code == 200
    with count_statements(engine) as busy_caseload:
        browser.get(f"{BASE}/caseload?period=this_quarter")
    assert quiet and quiet_caseload, "no statement was seen: the count would prove nothing"
    assert len(busy) == len(quiet), busy
    assert len(busy_caseload) == len(quiet_caseload), busy_caseload


# -- the weekly digest ----------------------------------------------------------------------


def test_a_coach_opts_in_and_gets_one_digest_a_week_from_monday_morning(week, db, as_user):
    db.add(
        PracticeMail(
            practice_id=week.practice.id, host="mail.example", from_address="hello@northbridge.example"
        )
    )
    db.commit()
    as_user(week.coach).post(f"{BASE}/digest", data={"subscribe": "true"})
    assert db.scalar(select(DigestSubscription.user_id)) == week.coach.id
    # Monday 30 November, 06:30 in New York: too early.
    assert send_digests(db, at(30, 11, 30)) == 0
    assert send_digests(db, at(30, 12, 30)) == 1
    db.commit()
    assert send_digests(db, at(30, 13, 30)) == 0  # once a week
    email = db.scalar(select(OutboxEmail))
    assert (email.to_address, email.status) == ("colin@northbridge.example", MessageStatus.QUEUED)
    assert "23–29 Nov 2026" in email.subject and "Clara Client" in email.body
    assert "Ola Owned" not in email.body
    assert send_digests(db, at(7, 13, 0, month=12)) == 1  # the next Monday
    db.commit()
    as_user(week.coach).post(f"{BASE}/digest", data={"subscribe": "false"})
    db.expire_all()
    assert db.scalar(select(DigestSubscription)) is None


def test_without_an_email_server_the_digest_sign_up_promises_no_monday_email(week, db, as_user):
    coach = as_user(week.coach)
    before = coach.get(f"{BASE}/caseload").get_data(as_text=True)
    assert "no email server set up, so no digest can be sent yet" in before
    signed = coach.post(f"{BASE}/digest", data={"subscribe": "true"}, follow_redirects=True)
    page = signed.get_data(as_text=True)
    assert "no digest goes until one is set up" in page
    assert "You will get the caseload digest by email every Monday morning." not in page
    assert "You get this report by email every Monday morning." not in page
    assert "once the practice can send email" in page
    db.add(PracticeMail(practice_id=week.practice.id, host="mail.example", from_address="hi@a.example"))
    db.commit()
    page = coach.get(f"{BASE}/caseload").get_data(as_text=True)
    assert "You get this report by email every Monday morning." in page and "no email server" not in page


def test_two_workers_running_the_digest_job_queue_it_once(week, db, engine):
    """Every worker runs the schedule; the second to reach a coach finds the week already claimed."""
    db.add(PracticeMail(practice_id=week.practice.id, host="mail.example", from_address="hi@a.example"))
    db.add(DigestSubscription(practice_id=week.practice.id, user_id=week.coach.id))
    db.commit()
    other_worker = make_sessionmaker(engine)()
    try:
        # The other worker has read the subscription (never sent) before this one commits its claim.
        assert other_worker.scalar(select(DigestSubscription)).last_sent_week is None
        assert send_digests(db, at(30, 12, 30)) == 1
        db.commit()
        assert send_digests(other_worker, at(30, 12, 31)) == 0
        other_worker.commit()
    finally:
        other_worker.close()
    assert db.scalar(select(func.count(OutboxEmail.id))) == 1


def test_the_digest_is_a_scheduled_job_of_the_mail_worker(settings, plugins, world, db):
    db.add(PracticeMail(practice_id=world.practice.id, host="mail.example", from_address="hi@a.example"))
    db.add(DigestSubscription(practice_id=world.practice.id, user_id=world.coach.id))
    db.commit()
    queue = make_queue(settings, plugins)
    try:
        job = queue.jobs["job:progress_report:weekly_digest"]
        job()  # runs in the worker's own session, and commits
        job()
    finally:
        queue.close()
    db.expire_all()
    sent_week = db.scalar(select(DigestSubscription.last_sent_week))
    today = utcnow().astimezone(ZoneInfo("Europe/London"))
    if today.weekday() == 0 and today.hour < 7:
        assert sent_week is None  # Monday before seven: not yet
    else:
        assert sent_week == today.date() - timedelta(days=today.weekday())
        assert len(db.scalars(select(OutboxEmail)).all()) == 1


def test_a_client_cannot_opt_in(world, as_user, db):
    assert as_user(world.client.user).post(f"{BASE}/digest", data={"subscribe": "true"}).status_code == 404
    assert db.scalar(select(DigestSubscription)) is None


def test_the_demo_has_a_coachs_note_and_a_digest_subscriber(db):
    from crossroads.core.demo import COACH_EMAIL, load_demo

    load_demo(db)
    note = db.scalar(select(ReportNote))
    assert note is not None and "A good month" in note.body
    assert db.scalar(select(DigestSubscription).join(DigestSubscription.user)).user.email == COACH_EMAIL


def test_charts_keep_their_own_style_prefix_which_weasyprint_needs_to_draw_them():
    from crossroads.plugins.progress_report.charts import data_uri, weekly_activity
    from crossroads.plugins.progress_report.figures import WeekRow

    svg = str(weekly_activity([WeekRow(date(2026, 11, 16), 1, 0, 1, 1)]))
    chart_id = svg.split('id="', 1)[1].split('"', 1)[0]
    assert chart_id.startswith("chart-") and f"#{chart_id} " in svg  # without it, black boxes in the PDF
    assert 'role="img"' in svg and "<script" not in svg
    assert data_uri(svg).startswith("data:image/svg+xml;base64,")


def test_a_theme_title_is_text_in_the_chart_never_markup():
    from crossroads.plugins.progress_report.charts import energy_and_fit
    from crossroads.plugins.progress_report.figures import ThemeFigures

    class Theme:
        title = '<img src=x onerror="alert(1)">'

    svg = str(energy_and_fit([ThemeFigures(Theme(), energies=[1], fits=[4])]))
    assert "<img" not in svg and "&lt;img src=x" in svg and "<script" not in svg


def test_a_practice_that_switches_the_plugin_off_has_no_reports(world, db, as_user):
    from crossroads.core.models import PracticePlugin

    db.add(PracticePlugin(practice_id=world.practice.id, plugin_name="progress_report", enabled=False))
    db.commit()
    browser = as_user(world.coach)
    assert browser.get(f"{BASE}/clients/{world.client.id}/report").status_code == 404
    assert browser.get(f"{BASE}/caseload").status_code == 404
    assert f"{BASE}/caseload" not in browser.get("/coach/").get_data(as_text=True)
    # Another practice keeps its reports.
    assert as_user(world.stranger_owner).get(f"{BASE}/caseload").status_code == 200


class BrokenSql:
    @hookimpl
    def report_sections(self, request):
        from sqlalchemy import text

        request.session.execute(text("SELECT * FROM table_this_plugin_forgot_to_migrate"))


def test_a_section_whose_sql_fails_leaves_the_rest_of_the_report_working(week, plugins, as_user):
    """On PostgreSQL a failed statement aborts the transaction; the plugin's savepoint contains it."""
    plugins.register(BrokenSql(), "broken_sql")
    response = as_user(week.coach).get(week_url(week.client.id))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-plugin="broken_sql" data-unavailable' in html and 'data-figure="requests">3<' in html


def test_the_html_download_is_a_page_of_its_own(week, as_user):
    response = as_user(week.client.user).get(week_url(week.client.id, "/download", format="html"))
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<title>Progress report: Clara Client" in html and "Northbridge" in html
    assert 'href="/static/' not in html  # nothing to fetch: styles and charts are inside


# -- channels are named by their own label ---------------------------------------------------


class PigeonPost:
    """A third-party plugin with a channel whose name and label differ."""

    @hookimpl
    def outreach_channels(self):
        from crossroads.core.outreach.channels import Channel

        class Pigeon(Channel):
            name, label = "carrier_pigeon", "Pigeon post (slow)"

        return Pigeon()


def test_the_outreach_table_names_each_channel_by_its_label_on_the_page_csv_and_pdf(
    week, plugins, as_user, db
):
    plugins.register(PigeonPost(), "pigeon_post")
    person = contact(db, week.client, "Pia Pigeon")
    change(db, person, Stage.REQUESTED, at(18, 12))
    sent_message(db, person, "carrier_pigeon", at(18, 12))
    other = contact(db, week.client, "Olu Office")
    change(db, other, Stage.REQUESTED, at(18, 13))
    sent_message(db, other, "alumni_office", at(18, 13))
    db.commit()
    browser = as_user(week.coach)

    html = browser.get(week_url(week.client.id)).get_data(as_text=True)
    for name, label in (
        ("carrier_pigeon", "Pigeon post (slow)"),
        ("alumni_office", "Alumni or career office"),
    ):
        assert f'<tr data-channel="{name}"><th scope="row">{label}</th>' in html
    assert '<th scope="row">LinkedIn</th>' in html and '<th scope="row">Email</th>' in html

    rows = list(
        csv.reader(
            io.StringIO(
                browser.get(week_url(week.client.id, "/download", format="csv")).data.decode("utf-8-sig")
            )
        )
    )
    start = rows.index(["# Outreach"])
    channels = [r[0] for r in rows[start + 2 : rows.index([], start)]]
    assert {"Pigeon post (slow)", "Alumni or career office", "Email", "LinkedIn"} <= set(channels)
    assert "carrier_pigeon" not in channels and "alumni_office" not in channels

    pdf = PdfReader(io.BytesIO(browser.get(week_url(week.client.id, "/download", format="pdf")).data))
    text = "".join(p.extract_text() for p in pdf.pages)
    assert "Pigeon post (slow)" in text and "Alumni or career office" in text and "carrier_pigeon" not in text


def test_a_channel_whose_plugin_is_gone_is_shown_by_its_name(week, as_user, db):
    person = contact(db, week.client, "Pia Pigeon")
    change(db, person, Stage.REQUESTED, at(18, 12))
    sent_message(db, person, "carrier_pigeon", at(18, 12))
    db.commit()
    html = as_user(week.coach).get(week_url(week.client.id)).get_data(as_text=True)
    assert '<tr data-channel="carrier_pigeon"><th scope="row">carrier_pigeon</th>' in html
