"""One definition of each figure (crossroads.core.figures), shown the same everywhere; the caseload's
"last activity" and "stalled" by the client's own activity."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from crossroads.core.db import utcnow
from crossroads.core.models import (
    ClientStatus,
    GoalMetric,
    GoalPeriod,
    OutboxEmail,
    PracticeMail,
    Stage,
)
from crossroads.core.outreach import service as outreach
from crossroads.core.reports import Period, PeriodChoice
from crossroads.core.schemas import GoalSchema, ScheduleSchema, load
from crossroads.core.scoping import Scope
from crossroads.core.services import contacts, conversations, goals
from crossroads.plugins.alumni_offices import services as alumni
from crossroads.plugins.alumni_offices.services import CHANNEL as ALUMNI
from crossroads.plugins.email_channel import CHANNEL as EMAIL
from crossroads.plugins.linkedin import CHANNEL as LINKEDIN
from crossroads.plugins.progress_report.digest import send_digests
from crossroads.plugins.progress_report.figures import client_figures
from crossroads.plugins.progress_report.models import DigestSubscription
from crossroads.testing import PASSWORD, make_client, make_contact

BASE = "/plugins/progress_report"
CHANNELS = {"email": EMAIL, "linkedin": LINKEDIN, ALUMNI.name: ALUMNI}
ASK = "Dana suggested I write. Would you have 20 minutes next week? Not a job request."


def _send(scope, contact, channel, kind="first_request", fmt=""):
    """The client writes on ``channel``; the message is handed to them, and they mark it sent."""
    data = {"channel": channel, "kind": kind, "format": fmt, "subject": "Magazine editing", "body": ASK}
    message = outreach.send(scope, CHANNELS, contact.id, data)
    return outreach.mark_sent(scope, message.id)


def build_a_mixed_week(world, db):
    """This week, through the services: a request on every channel and one marked by hand, replies,
    a follow-up, a conversation held and its thank-you; and one contact asked (by hand) last week
    and written to again this week, which is not a new request."""
    client = world.client
    scope = Scope(db, client.user)
    ann = make_contact(db, client, "Ann Email", "Riverside Press", "Editor", email="ann@riverside.example")
    ben = make_contact(
        db, client, "Ben Linked", "Acme", "Editor", linkedin_url="https://www.linkedin.com/in/ben-linked"
    )
    cat = make_contact(db, client, "Cat Hand", "Acme", "Writer")
    eve = make_contact(
        db, client, "Eve Earlier", "Acme", "Writer", linkedin_url="https://www.linkedin.com/in/eve-earlier"
    )
    db.commit()
    goals.set_goal(
        scope, client.id, load(GoalSchema(), {"period": "week", "metric": "requests", "target": "5"})
    )

    email = _send(scope, ann, "email")
    _send(scope, ben, "linkedin", fmt="connection_note")
    contacts.move_to_stage(scope, cat.id, Stage.REQUESTED)
    institution = alumni.create_institution(
        Scope(db, world.coach), {"name": "Riverside University", "alumni_email": "alumni@riverside.example"}
    )
    alumni.add_affiliation(
        scope, client.id, {"institution_id": institution.id, "programme": "BA", "year": 2012}
    )
    introduction = alumni.send_request(
        scope,
        client.id,
        {
            "institution_id": institution.id,
            "office": "alumni",
            "theme_id": None,
            "hoped_for": 2,
            "subject": "Introductions to alumni in magazine editing",
            "body": "Dear alumni office, could you introduce me to 2 alumni in magazine editing?",
        },
    )
    outreach.mark_sent(scope, introduction.message.id)
    # Eve was asked by hand ten days ago; a LinkedIn note to her now is not a second first request.
    contacts.move_to_stage(scope, eve.id, Stage.REQUESTED, utcnow() - timedelta(days=10))
    _send(scope, eve, "linkedin", fmt="connection_note")

    outreach.mark_replied(scope, email.id)
    contacts.move_to_stage(scope, cat.id, Stage.REPLIED)
    alumni.mark_answered(scope, introduction.id, {})
    _send(scope, ben, "linkedin", kind="follow_up", fmt="message")
    # A conversation a few minutes ago, recorded as held (none can be held before it starts).
    earlier = (utcnow() - timedelta(minutes=3)).astimezone(ZoneInfo(client.timezone))
    conversations.schedule(
        scope,
        ann.id,
        load(ScheduleSchema(), {"starts_at": earlier.strftime("%Y-%m-%dT%H:%M"), "already_happened": "1"}),
    )
    _send(scope, ann, "email", kind="thank_you")
    return client


def figure(html: str, name: str) -> int:
    return int(re.search(rf'data-figure="{name}">(\d+)<', html).group(1))


def client_row(html: str, client_id: int, attribute: str) -> str:
    row = re.search(rf'<tr data-client="{client_id}".*?</tr>', html, re.S).group(0)
    return re.search(rf'data-figure="{attribute}">(\d+)<', row).group(1)


def csv_block(text: str, title: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text)))
    start = rows.index([f"# {title}"])
    header = rows[start + 1]
    end = rows.index([], start) if [] in rows[start:] else len(rows)
    return [dict(zip(header, r, strict=True)) for r in rows[start + 2 : end]]


def test_every_place_counts_a_mixed_week_on_every_channel_the_same(world, db, as_user):
    client = build_a_mixed_week(world, db)
    week = Period.of(PeriodChoice.THIS_WEEK, world.coach.timezone)
    requests, replied, follow_ups, thank_yous, held = 4, 3, 1, 1, 1
    steps = requests + follow_ups + thank_yous + held

    # The goals service, on the client's home and on the coach's page about the client.
    progress = {(p.period, p.metric): p.done for p in goals.progress(Scope(db, client.user), client.id)}
    assert progress[(GoalPeriod.WEEK, GoalMetric.REQUESTS)] == requests
    assert progress[(GoalPeriod.WEEK, GoalMetric.THANK_YOUS)] == thank_yous
    assert progress[(GoalPeriod.WEEK, GoalMetric.CONVERSATIONS)] == held
    for page in (as_user(client.user).get("/me/"), as_user(world.coach).get(f"/coach/clients/{client.id}")):
        html = page.get_data(as_text=True)
        assert figure(html, "requests-week") == requests
        assert figure(html, "thank_yous-week") == thank_yous
        assert figure(html, "conversations-week") == held

    # The progress report: its figures, page and CSV, the channel table adding up to the total.
    figures = client_figures(Scope(db, world.coach), client.id, week)
    assert (
        figures.requests,
        figures.replied,
        figures.follow_ups,
        figures.thank_yous,
        figures.conversations,
    ) == (
        requests,
        replied,
        follow_ups,
        thank_yous,
        held,
    )
    assert {row.channel: (row.requests, row.replied, row.follow_ups) for row in figures.channels} == {
        "email": (1, 1, 0),
        "linkedin": (1, 0, 1),
        "alumni_office": (1, 1, 0),
        "by_hand": (1, 1, 0),
    }
    assert {g.metric: g.done for g in figures.goals}[GoalMetric.REQUESTS] == requests
    browser = as_user(world.coach)
    html = browser.get(f"{BASE}/clients/{client.id}/report?period=this_week").get_data(as_text=True)
    assert (figure(html, "requests"), figure(html, "replied"), figure(html, "follow_ups")) == (
        requests,
        replied,
        follow_ups,
    )
    assert figure(html, "thank_yous") == thank_yous
    assert re.search(rf'data-goal="requests"><th scope="row">[^<]*</th><td class="num">{requests}<', html)
    report_csv = browser.get(f"{BASE}/clients/{client.id}/report/download?period=this_week&format=csv")
    outreach_rows = csv_block(report_csv.data.decode("utf-8-sig"), "Outreach")
    assert outreach_rows[-1]["Requests sent"] == str(requests) and outreach_rows[-1]["Replied"] == str(
        replied
    )
    assert sum(int(r["Requests sent"]) for r in outreach_rows[:-1]) == requests

    # The caseload, the caseload report (page and CSV) and the weekly digest.
    caseload = browser.get("/coach/").get_data(as_text=True)
    assert f'data-requests="{requests}" data-conversations="{held}"' in caseload
    report = browser.get(f"{BASE}/caseload?period=this_week").get_data(as_text=True)
    assert client_row(report, client.id, "requests") == str(requests)
    assert client_row(report, client.id, "conversations") == str(held)
    caseload_csv = browser.get(f"{BASE}/caseload/download?period=this_week&format=csv")
    clara = next(
        r for r in csv_block(caseload_csv.data.decode("utf-8-sig"), "Clients") if r["Client"] == client.name
    )
    assert (clara["Requests"], clara["Conversations"], clara["Thank yous"]) == (
        str(requests),
        str(held),
        str(thank_yous),
    )
    db.add(PracticeMail(practice_id=world.practice.id, host="mail.example", from_address="hi@a.example"))
    db.add(DigestSubscription(practice_id=world.practice.id, user_id=world.coach.id))
    db.commit()
    next_monday = datetime.combine(week.end, time(9), tzinfo=ZoneInfo(week.zone)).astimezone(UTC)
    assert send_digests(db, next_monday) == 1
    body = db.scalar(select(OutboxEmail.body).where(OutboxEmail.to_address == world.coach.email))
    assert f"{requests} requests sent, {held} conversations held" in body
    assert f"- {client.name}: {steps} steps, {requests} requests sent, {held} conversations held" in body


def test_the_caseload_shows_the_clients_own_activity_and_flags_sorts_and_filters_the_stalled(
    world, db, as_user, http
):
    now = utcnow()
    stalled, active, paused = world.client, world.other_client, world.owners_client
    stalled.created_at = now - timedelta(days=90)
    stalled.last_activity_at = now - timedelta(days=55)
    active.last_activity_at = now - timedelta(days=2)
    paused.created_at = now - timedelta(days=90)
    paused.last_activity_at = now - timedelta(days=60)
    paused.status = ClientStatus.PAUSED  # quiet on purpose: not stalled
    db.commit()
    # The client signs in, and their coach suggests a contact: neither is the client's own activity.
    assert http.post("/login", data={"email": stalled.user.email, "password": PASSWORD}).status_code == 302
    contacts.create_contact(Scope(db, world.coach), stalled.id, {"name": "Suggested Person"})
    db.expire_all()
    assert stalled.last_activity_at.date() == (now - timedelta(days=55)).date()

    browser = as_user(world.owner)
    html = browser.get("/coach/").get_data(as_text=True)
    row = re.search(rf'<a href="/coach/clients/{stalled.id}">.*?</tr>', html, re.S).group(0)
    assert 'data-stalled="true"' in row and "stalled 55 days" in row and "55 days ago" in row
    report = browser.get(f"{BASE}/caseload").get_data(as_text=True)
    assert re.search(rf'<tr data-client="{stalled.id}"[^>]*class="stalled"', report)
    assert "(55 days)" in re.search(rf'<tr data-client="{stalled.id}".*?</tr>', report, re.S).group(0)

    def names(**args) -> list[str]:
        page = browser.get("/coach/", query_string=args).get_data(as_text=True)
        return re.findall(r'<a href="/coach/clients/\d+">([^<]+)</a>', page)

    assert names(stalled="true") == [stalled.name]
    assert sorted(names(stalled="false")) == sorted([active.name, paused.name])
    assert names(sort="-stalled")[0] == stalled.name
    assert names(sort="stalled")[-1] == stalled.name


def test_the_caseload_with_its_figures_runs_at_most_fifteen_statements_however_busy(world, db, as_user):
    browser = as_user(world.owner)
    browser.get("/coach/")  # warm up: the first request loads the user and the plugin states

    def statements() -> int:
        seen: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        # The app has its own engine: listen to every engine.
        event.listen(Engine, "before_cursor_execute", record)
        try:
            assert browser.get("/coach/?sort=-stalled").status_code == 200
        finally:
            event.remove(Engine, "before_cursor_execute", record)
        return len(seen)

    quiet = statements()
    build_a_mixed_week(world, db)
    for n in range(10):
        make_client(db, world.coach, f"busy{n}@a.example", themes=("One",))
    db.commit()
    # Per page: the user, the stalled days, the count, the clients, their themes, their open
    # contacts, the practice, this week's figures, the recent replies, and the menu's user, plugins
    # and unread notifications; and the plugins' caseload columns (the coaching sessions' one query,
    # in its savepoint: three statements); whatever the number of clients and steps.
    assert statements() == quiet <= 15
