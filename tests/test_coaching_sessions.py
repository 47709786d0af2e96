"""The coaching sessions plugin: scheduling, the drafted agenda, private notes and shared summaries,
action items in the client's due list and daily reminder, the caseload column and report section,
events, export and erasure, and isolation of every route."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crossroads.core.db import utcnow
from crossroads.core.errors import InvalidInput, NotFound
from crossroads.core.hookspecs import hookimpl
from crossroads.core.models import Contact, Goal, GoalMetric, GoalPeriod, Reflection
from crossroads.core.reports import Period, PeriodChoice, ReportRequest, Subject
from crossroads.core.schemas import load
from crossroads.core.scoping import Scope
from crossroads.core.services.reminders import send_reminders
from crossroads.plugins.coaching_sessions import agenda, client_data, report, services
from crossroads.plugins.coaching_sessions import due_entries as due_entries_hook
from crossroads.plugins.coaching_sessions.models import ActionItem, Assignee, CoachingSession, SessionStatus
from crossroads.plugins.coaching_sessions.schemas import ActionSchema, NotesSchema, ScheduleSchema
from crossroads.testing import TEST_SECRET_KEY, make_contact
from crossroads.testing.sweeps import EITHER, STAFF, read_archive

from .mailserver import configure_mail

BASE = "/plugins/coaching_sessions"
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # a Wednesday


def as_scope(db, user) -> Scope:
    return Scope(db, user)


def scheduled(db, world, starts: str = "2026-12-02T15:00", **extra) -> CoachingSession:
    data = load(ScheduleSchema(), {"starts_at": starts, "minutes": "50", **extra})
    return services.schedule(as_scope(db, world.coach), world.client.id, data)


def notes(db, world, row, **values) -> CoachingSession:
    data = load(NotesSchema(), {"private_notes": "", "summary": "", **values})
    return services.save_notes(as_scope(db, world.coach), row.id, data)


def action(db, world, row, text="Write to three people in policy analysis", due="2026-12-04", **extra):
    data = load(ActionSchema(), {"text": text, "due_on": due, **extra})
    return services.add_action(as_scope(db, world.coach), row.id, data)


# -- services, without HTTP -------------------------------------------------------------------------


def test_a_session_is_scheduled_in_the_coachs_zone_and_stored_in_utc(db, world):
    world.coach.timezone = "America/New_York"
    db.commit()
    row = scheduled(db, world, "2026-12-02T09:30")
    assert row.starts_at == datetime(2026, 12, 2, 14, 30, tzinfo=UTC)
    assert (row.timezone, row.status, row.coach_id) == (
        "America/New_York",
        SessionStatus.SCHEDULED,
        world.coach.id,
    )


def test_sessions_do_not_exist_for_a_client_nor_for_another_coachs_client(db, world):
    row = scheduled(db, world)
    with pytest.raises(NotFound):
        services.session_for_staff(as_scope(db, world.client.user), row.id)
    with pytest.raises(NotFound):
        services.client_for_staff(as_scope(db, world.coach), world.owners_client.id)
    with pytest.raises(NotFound):
        services.session_for_staff(as_scope(db, world.stranger_owner), row.id)


def test_a_summary_is_the_clients_only_once_shared_and_private_notes_never(db, world):
    row = scheduled(db, world)
    notes(db, world, row, private_notes="Seems tired of policy work.", summary="We agreed on two steps.")
    client_scope = as_scope(db, world.client.user)
    assert services.shared_summaries(client_scope, world.client.id) == []
    notes(
        db,
        world,
        row,
        private_notes="Seems tired of policy work.",
        summary="We agreed on two steps.",
        share="y",
    )
    [shared] = services.shared_summaries(client_scope, world.client.id)
    assert shared.summary == "We agreed on two steps." and shared.shared_at is not None
    # Unticking "share" takes it back.
    notes(db, world, row, summary="We agreed on two steps.")
    assert services.shared_summaries(client_scope, world.client.id) == []


def test_sharing_an_empty_summary_is_refused_naming_the_field(db, world):
    row = scheduled(db, world)
    with pytest.raises(InvalidInput) as refused:
        notes(db, world, row, private_notes="Notes", share="y")
    assert "summary" in refused.value.errors


def test_an_action_item_links_only_the_clients_own_theme_and_contact(db, world):
    row = scheduled(db, world)
    other_contact = db.scalars(select(Contact).where(Contact.client_id == world.other_client.id)).first()
    with pytest.raises(InvalidInput) as refused:
        action(
            db, world, row, theme_id=str(world.other_client.themes[0].id), contact_id=str(other_contact.id)
        )
    assert set(refused.value.errors) == {"theme_id", "contact_id"}
    item = action(db, world, row, theme_id=str(world.theme.id), contact_id=str(world.contacts[0].id))
    assert (item.theme_id, item.contact_id, item.client_id) == (
        world.theme.id,
        world.contacts[0].id,
        world.client.id,
    )


class Listener:
    def __init__(self):
        self.seen: list[tuple[str, int]] = []

    @hookimpl
    def coaching_session_held(self, session, coaching_session):
        self.seen.append(("held", coaching_session.id))

    @hookimpl
    def action_item_completed(self, session, action_item):
        self.seen.append(("completed", action_item.id))


def test_holding_a_session_and_ticking_an_item_off_are_events_for_other_plugins(plugins, db, world):
    listener = Listener()
    plugins.register(listener, "listener")
    row = scheduled(db, world)
    item = action(db, world, row)
    services.mark_held(as_scope(db, world.coach), row.id)
    services.mark_held(as_scope(db, world.coach), row.id)  # held already: no second event
    _, changed = services.complete_action(as_scope(db, world.client.user), item.id)
    assert changed
    services.complete_action(as_scope(db, world.client.user), item.id)  # done already: no event
    services.reopen_action(as_scope(db, world.client.user), item.id)
    services.complete_action(as_scope(db, world.coach), item.id)
    assert listener.seen == [("held", row.id), ("completed", item.id), ("completed", item.id)]


def test_a_client_ticks_off_only_their_own_items_not_the_coachs(db, world):
    row = scheduled(db, world)
    mine = action(db, world, row, assignee="coach", text="Find a contact at a publisher")
    with pytest.raises(NotFound):
        services.complete_action(as_scope(db, world.client.user), mine.id)
    with pytest.raises(NotFound):
        services.complete_action(as_scope(db, world.other_client.user), action(db, world, row).id)


def test_the_due_entries_are_the_clients_open_items_due_within_a_week_overdue_first(db, world):
    row = scheduled(db, world)
    overdue = action(db, world, row, text="Overdue one", due="2026-11-30")
    soon = action(db, world, row, text="Due Friday", due="2026-12-04")
    action(db, world, row, text="Next month", due="2027-01-15")
    action(db, world, row, text="The coach's", due="2026-12-03", assignee="coach")
    done = action(db, world, row, text="Done already", due="2026-12-03")
    services.complete_action(as_scope(db, world.coach), done.id)
    entries = due_entries_hook(db, [world.client, world.other_client], NOW)
    assert [(e.label.rpartition(": ")[2], e.overdue, e.done_values) for e in entries] == [
        ("Overdue one", True, {"action_id": overdue.id}),
        ("Due Friday", False, {"action_id": soon.id}),
    ]
    assert {e.client_id for e in entries} == {world.client.id}


def test_counts_for_the_caseload_one_rule_for_overdue_in_the_clients_calendar(db, world):
    world.client.user.timezone = "Pacific/Auckland"  # already Thursday 3 December there
    db.commit()
    row = scheduled(db, world)
    action(db, world, row, due="2026-12-02")  # overdue in Auckland, not in London
    services.complete_action(as_scope(db, world.coach), action(db, world, row, due="2026-12-09").id)
    action(db, world, row, due="2026-12-20")
    thursday_there = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    counts = services.action_counts(
        as_scope(db, world.coach), [world.client, world.other_client], thursday_there
    )
    assert counts[world.client.id] == services.ActionCounts(open=2, overdue=1, done=1)
    assert counts[world.other_client.id] == services.ActionCounts()


def test_the_agenda_holds_what_changed_since_the_last_session_and_only_shared_reflections(db, world):
    coach = as_scope(db, world.coach)
    earlier = scheduled(db, world, "2026-11-18T10:00")
    services.mark_held(coach, earlier.id, now=datetime(2026, 11, 18, 11, 0, tzinfo=UTC))
    action(db, world, earlier, text="Still open from last time", due="2026-11-25")
    # The world's reflection was shared before the last session; one shared since, one kept private.
    for before in db.scalars(select(Reflection).where(Reflection.client_id == world.client.id)):
        before.shared_at = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    shared_since = _reflection(
        db, world, shared_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC), insights="Loved it"
    )
    _reflection(db, world, shared_at=None, insights="Private thoughts")
    world.contacts[0].themes.append(world.theme)  # "Magazine editing" has a contact
    world.client.themes.append(_theme(db, world, "Technical writing"))
    db.add(
        Goal(
            practice_id=world.practice.id,
            client_id=world.client.id,
            period=GoalPeriod.WEEK,
            metric=GoalMetric.REQUESTS,
            target=3,
        )
    )
    db.commit()
    today = scheduled(db, world, "2026-12-02T15:00")
    drafted = agenda.draft(coach, today, now=NOW)
    assert drafted.previous.id == earlier.id
    assert [r.id for r in drafted.reflections] == [shared_since.id]
    assert [a.text for a in drafted.overdue_actions] == ["Still open from last time"]
    assert [t.title for t in drafted.themes_without_contacts] == ["Technical writing"]
    assert {(g.start, g.done, g.target) for g in drafted.goals_missed} == {
        (date(2026, 11, 16), 0, 3),
        (date(2026, 11, 23), 0, 3),
    }


def _reflection(db, world, shared_at, insights):
    from crossroads.testing import make_conversation

    contact = make_contact(db, world.client, f"Person {insights}", "Acme", "Editor")
    conversation = make_conversation(db, contact)
    reflection = db.scalar(select(Reflection).where(Reflection.conversation_id == conversation.id))
    if reflection is None:
        reflection = Reflection(
            practice_id=world.practice.id,
            client_id=world.client.id,
            conversation_id=conversation.id,
            energy=1,
            fit=4,
        )
        db.add(reflection)
    reflection.shared_at, reflection.insights = shared_at, insights
    db.commit()
    return reflection


def _theme(db, world, title):
    from crossroads.core.models import CareerTheme

    theme = CareerTheme(practice_id=world.practice.id, client_id=world.client.id, title=title, position=5)
    db.add(theme)
    db.flush()
    return theme


def test_the_report_counts_actions_done_on_time_in_the_clients_calendar(db, world):
    row = scheduled(db, world)
    coach = as_scope(db, world.coach)
    on_time = action(db, world, row, text="On time", due="2026-12-01")
    services.complete_action(coach, on_time.id, now=datetime(2026, 12, 1, 20, 0, tzinfo=UTC))
    late = action(db, world, row, text="Late", due="2026-12-01")
    services.complete_action(coach, late.id, now=datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    action(db, world, row, text="Open", due="2026-12-03")
    action(db, world, row, text="Other month", due="2027-01-03")
    period = Period.of(PeriodChoice.THIS_MONTH, "Europe/London", today=date(2026, 12, 2))
    request = ReportRequest(db, coach, Subject(client=world.client), period, world.coach, world.practice, NOW)
    section = report.client_section(request)
    assert [(r["action"], r["state"]) for r in section.rows] == [
        ("On time", "done on time"),
        ("Late", "done late"),
        ("Open", "open"),
    ]
    assert section.intro.startswith("1 of 3 actions due in this period done on time; 2 done, 1 open")
    caseload = report.caseload_section(
        ReportRequest(db, coach, Subject(coach=world.coach), period, world.coach, world.practice, NOW)
    )
    assert caseload.rows == [{"client": "Clara Client", "due": 3, "done_on_time": 1, "done": 2, "open": 1}]


def test_the_clients_own_export_has_no_private_notes_their_coachs_has(db, world):
    row = scheduled(db, world)
    notes(db, world, row, private_notes="Coach's eyes only", summary="Draft, not shared")
    action(db, world, row)
    own = client_data.export_rows(as_scope(db, world.client.user), world.client)
    staff = client_data.export_rows(as_scope(db, world.coach), world.client)
    assert "Coach's eyes only" not in json.dumps(own) and "Draft, not shared" not in json.dumps(own)
    assert staff["sessions"][0]["private_notes"] == "Coach's eyes only"
    assert len(own["action_items"]) == len(staff["action_items"]) == 1


def test_the_daily_reminder_lists_action_items_beside_follow_ups(db, world, smtp_server, crossroads_outbox):
    configure_mail(db, world.practice.id, smtp_server)
    row = scheduled(db, world)
    action(db, world, row, text="Write to three people in policy analysis", due="2026-12-02")
    world.client.user.password_hash = "set"
    world.client.reminders_on, world.client.reminder_hour = True, 8
    db.commit()
    assert send_reminders(db, NOW, TEST_SECRET_KEY, "https://crossroads.example") >= 1
    [email] = crossroads_outbox.to(world.client.user.email)
    body = email.get_body().get_content()
    assert "Action from your coaching session: Write to three people in policy analysis. Due 2 dec." in body
    assert "Tick it off in your workspace: https://crossroads.example/me/" in body


# -- the pages ----------------------------------------------------------------------------------------


def in_days(days: int, hour: int = 15) -> str:
    moment = utcnow().astimezone(ZoneInfo("Europe/London")) + timedelta(days=days)
    return moment.replace(hour=hour, minute=0).strftime("%Y-%m-%dT%H:%M")


def test_a_coach_schedules_from_the_clients_sessions_page_and_gets_the_calendar_file(world, as_user, db):
    coach = as_user(world.coach)
    page = coach.get(f"{BASE}/clients/{world.client.id}").get_data(as_text=True)
    assert "No session with Clara Client yet" in page and 'name="csrf_token"' in page
    response = coach.post(
        f"{BASE}/clients/{world.client.id}", data={"starts_at": in_days(1), "minutes": "45"}
    )
    assert response.status_code == 302
    row = db.scalars(select(CoachingSession)).one()
    assert response.location.endswith(f"{BASE}/sessions/{row.id}")
    session_page = coach.get(response.location).get_data(as_text=True)
    assert "Drafted agenda" in session_page and "Themes without contacts" in session_page
    ics = coach.get(f"{BASE}/sessions/{row.id}/calendar.ics")
    assert ics.headers["Content-Type"].startswith("text/calendar")
    assert f"UID:{row.uid}" in ics.get_data(as_text=True)


def test_a_failed_schedule_names_the_field_and_keeps_what_was_typed(world, as_user):
    response = as_user(world.coach).post(
        f"{BASE}/clients/{world.client.id}", data={"starts_at": "next tuesday", "location": "Room 4"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="starts_at-error"' in page and 'value="Room 4"' in page


def test_with_an_email_server_the_client_gets_an_invitation_with_the_calendar_file(
    world, as_user, db, smtp_server, crossroads_outbox
):
    configure_mail(db, world.practice.id, smtp_server)
    response = as_user(world.coach).post(
        f"{BASE}/clients/{world.client.id}", data={"starts_at": in_days(2), "invite": "y"}
    )
    assert response.status_code == 302
    [email] = crossroads_outbox.to(world.client.user.email)
    assert email["Subject"] == "A coaching session with your coach"
    calendars = [part for part in email.walk() if part.get_content_type() == "text/calendar"]
    assert calendars and "METHOD:REQUEST" in calendars[0].get_content()


def test_the_client_sees_the_shared_summary_and_ticks_an_item_off_in_their_due_list(world, as_user, db):
    row = scheduled(db, world)
    notes(db, world, row, private_notes="PRIVATE-NOTE-TEXT", summary="Two requests this week.", share="y")
    today = utcnow().astimezone(ZoneInfo(world.client.timezone)).date()
    item = action(db, world, row, text="Send two requests", due=today.isoformat())
    client = as_user(world.client.user)
    home = client.get("/me/").get_data(as_text=True)
    assert "Two requests this week." in home and "PRIVATE-NOTE-TEXT" not in home
    assert "Action from your coaching session: Send two requests" in home
    assert f'action="{BASE}/actions/{item.id}/done"' in home
    response = client.post(f"{BASE}/actions/{item.id}/done")
    assert response.status_code == 302 and response.location.endswith("/me/")
    db.refresh(item)
    assert item.done_at is not None and item.done_by_id == world.client.user.id
    after = client.get("/me/").get_data(as_text=True)
    assert "Done: Send two requests" in after and f"{BASE}/actions/{item.id}/reopen" in after  # the undo
    assert "Action from your coaching session: Send two requests" not in after


def test_the_coachs_caseload_shows_each_clients_session_actions(world, as_user, db):
    row = scheduled(db, world)
    action(db, world, row, due="2020-01-01")
    services.complete_action(as_scope(db, world.coach), action(db, world, row, due="2030-01-01").id)
    page = as_user(world.coach).get("/coach/").get_data(as_text=True)
    assert "Session actions" in page
    assert '<span class="badge badge-overdue">1 open, 1 done (1 overdue)</span>' in page


def test_prepare_for_my_sessions_today_lists_each_sessions_agenda(world, as_user, db):
    now = utcnow().astimezone(ZoneInfo(world.coach.timezone))
    later = now.replace(hour=23, minute=30) if now.hour < 23 else now
    scheduled(db, world, later.strftime("%Y-%m-%dT%H:%M"))
    page = as_user(world.coach).get(f"{BASE}/today").get_data(as_text=True)
    assert "Clara Client" in page and "Drafted agenda" not in page and "Reflections shared" in page
    assert as_user(world.client.user).get(f"{BASE}/today").status_code == 404


def test_a_client_chooses_summaries_by_email(world, as_user, db, smtp_server, crossroads_outbox):
    configure_mail(db, world.practice.id, smtp_server)
    client = as_user(world.client.user)
    assert client.post(f"{BASE}/preferences", data={"email_summaries": "y"}).status_code == 302
    row = scheduled(db, world)
    notes(db, world, row, summary="What we agreed.", share="y")
    [email] = crossroads_outbox.to(world.client.user.email)
    assert email["Subject"] == "The summary of your coaching session"
    assert "What we agreed." in email.get_body().get_content()


# -- isolation, CSRF, export and erasure -----------------------------------------------------------


def _fresh_session(client) -> int:
    """A session still to come, for the cancel route (the first one may be held by then)."""
    from sqlalchemy.orm import Session

    from crossroads.plugins.coaching_sessions.route_ids import _session

    db = Session.object_session(client)
    row = _session(db, client)
    row.uid = f"coaching-fresh-{client.id}-{utcnow().timestamp()}@crossroads.test"
    db.add(row)
    db.commit()
    return row.id


RIGHTFUL = {
    "coaching_sessions.history": (STAFF, {}),
    "coaching_sessions.schedule": (STAFF, {"starts_at": "2031-06-03T10:00", "minutes": "50"}),
    "coaching_sessions.show": (STAFF, {}),
    "coaching_sessions.save_notes": (
        STAFF,
        {"private_notes": "Tired.", "summary": "Two steps.", "share": "y"},
    ),
    "coaching_sessions.held": (STAFF, {}),
    "coaching_sessions.cancel": (STAFF, {"_ids": {"session_id": _fresh_session}}),
    "coaching_sessions.calendar": (STAFF, {}),
    "coaching_sessions.add_action": (STAFF, {"text": "Write to two editors", "due_on": "2031-06-10"}),
    "coaching_sessions.complete_action": (EITHER, {}),
    "coaching_sessions.reopen_action": (EITHER, {}),
    "coaching_sessions_api.list_sessions": (EITHER, {}),
    "coaching_sessions_api.list_action_items": (EITHER, {}),
    "coaching_sessions_api.complete_action_item": (EITHER, {}),
}


def test_every_route_with_an_id_refuses_whoever_may_not_reach_it(crossroads_isolation_sweep):
    crossroads_isolation_sweep(RIGHTFUL, plugin="coaching_sessions")


def test_every_form_needs_its_csrf_token(crossroads_csrf_sweep):
    crossroads_csrf_sweep(plugin="coaching_sessions")


def test_the_clients_rows_are_in_their_export_and_gone_after_erasure(
    crossroads_export_erasure_sweep, crossroads_db, crossroads_world, crossroads_other_client
):
    db = crossroads_db
    for client in (crossroads_world.client, crossroads_other_client):
        row = CoachingSession(
            practice_id=client.practice_id,
            client_id=client.id,
            coach_id=client.coach_id,
            starts_at=NOW,
            minutes=50,
            uid=f"coaching-erase-{client.id}@x",
        )
        db.add(row)
        db.flush()
        db.add(
            ActionItem(
                practice_id=client.practice_id,
                client_id=client.id,
                session_id=row.id,
                assignee=Assignee.CLIENT,
                text="Something",
                due_on=date(2026, 12, 9),
            )
        )
    db.commit()
    crossroads_export_erasure_sweep(plugin="coaching_sessions")


def test_the_staff_archive_holds_the_private_notes(world, as_user, db):
    row = scheduled(db, world)
    notes(db, world, row, private_notes="Only for staff")
    files = read_archive(as_user(world.coach).post(f"/coach/clients/{world.client.id}/export").data)
    assert "Only for staff" in files["coaching_sessions/sessions.json"].decode()
    own = read_archive(as_user(world.client.user).post("/me/export").data)
    assert "Only for staff" not in own["coaching_sessions/sessions.json"].decode()


def test_a_coachs_view_of_a_session_and_their_notes_are_in_the_audit_log(world, as_user, db):
    from crossroads.core.models import AuditAction, AuditEvent

    row = scheduled(db, world)
    coach = as_user(world.coach)
    assert coach.get(f"{BASE}/sessions/{row.id}").status_code == 200
    form = {"private_notes": "Notes", "summary": ""}
    assert coach.post(f"{BASE}/sessions/{row.id}/notes", data=form).status_code == 302
    events = db.scalars(select(AuditEvent).where(AuditEvent.client_id == world.client.id)).all()
    seen = {(e.actor_id, e.action, e.what) for e in events}
    assert (world.coach.id, AuditAction.VIEWED, f"coaching sessions: show session {row.id}") in seen
    assert (world.coach.id, AuditAction.CHANGED, f"coaching sessions: save notes session {row.id}") in seen
    # The client's own use of their workspace is not logged.
    item = action(db, world, row)
    as_user(world.client.user).post(f"{BASE}/actions/{item.id}/done")
    assert not db.scalars(select(AuditEvent).where(AuditEvent.actor_id == world.client.user_id)).all()


def test_a_cancelled_session_cannot_be_held_nor_a_held_one_cancelled(world, as_user, db):
    coach = as_user(world.coach)
    cancelled, held = scheduled(db, world), scheduled(db, world, "2026-12-03T15:00")
    assert coach.post(f"{BASE}/sessions/{cancelled.id}/cancel").status_code == 302
    coach.post(f"{BASE}/sessions/{cancelled.id}/held")
    assert "This session was cancelled" in coach.get(f"{BASE}/sessions/{cancelled.id}").get_data(as_text=True)
    form = {"private_notes": "Kept?", "held": "y"}
    response = coach.post(f"{BASE}/sessions/{cancelled.id}/notes", data=form)
    assert response.status_code == 422 and "This session was cancelled" in response.get_data(as_text=True)
    services.mark_held(as_scope(db, world.coach), held.id)
    coach.post(f"{BASE}/sessions/{held.id}/cancel")
    db.expire_all()
    assert (db.get(CoachingSession, cancelled.id).status, db.get(CoachingSession, held.id).status) == (
        SessionStatus.CANCELLED,
        SessionStatus.HELD,
    )
    assert db.get(CoachingSession, cancelled.id).private_notes == ""


# -- the JSON API -----------------------------------------------------------------------------------


def _token(db, user) -> dict[str, str]:
    from crossroads.core.services.api_tokens import issue_for

    return {"Authorization": f"Bearer {issue_for(db, user)}"}


def test_the_api_gives_staff_the_private_notes_and_the_client_only_shared_summaries(db, world, http):
    private = "Seems tired of policy work."
    unshared = scheduled(db, world, "2026-12-09T15:00")
    notes(db, world, unshared, private_notes=private, summary="Not shared yet.")
    row = scheduled(db, world)
    notes(db, world, row, private_notes=private, summary="We agreed on two steps.", share="y")
    mine = action(db, world, row)
    action(db, world, row, text="Send Clara the policy reading list", assignee="coach")
    url = f"/api/v1/plugins/coaching_sessions/clients/{world.client.id}/sessions"

    staff = http.get(url, headers=_token(db, world.coach)).get_json()
    assert [s["id"] for s in staff] == [unshared.id, row.id]
    assert {s["private_notes"] for s in staff} == {private}
    assert len(staff[1]["actions"]) == 2

    answer = http.get(url, headers=_token(db, world.client.user))
    assert answer.status_code == 200 and private not in answer.get_data(as_text=True)
    [seen] = answer.get_json()
    assert (seen["id"], seen["summary"]) == (row.id, "We agreed on two steps.")
    assert [a["id"] for a in seen["actions"]] == [mine.id]  # the coach's own item is not theirs
    other = f"/api/v1/plugins/coaching_sessions/clients/{world.other_client.id}/sessions"
    assert http.get(other, headers=_token(db, world.client.user)).status_code == 404


def test_the_client_ticks_an_action_item_off_through_the_api(db, world, http):
    row = scheduled(db, world)
    item = action(db, world, row)
    headers = _token(db, world.client.user)
    base = "/api/v1/plugins/coaching_sessions"
    items = f"{base}/clients/{world.client.id}/action-items"
    assert [a["id"] for a in http.get(items, headers=headers).get_json()] == [item.id]
    done = http.post(f"{base}/action-items/{item.id}/done", headers=headers)
    assert done.status_code == 200 and done.get_json()["done_at"] is not None
    assert http.get(items, headers=headers).get_json() == []
