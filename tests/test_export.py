"""A client's data export: one ZIP archive of all their data, plugins' and the progress report included."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crossroads.core.db import Base, utcnow
from crossroads.core.hookspecs import hookimpl
from crossroads.core.models import (
    AuditAction,
    AuditEvent,
    Client,
    ClientPluginSetting,
    Contact,
    Goal,
    GoalMetric,
    GoalPeriod,
    InboundKind,
    InboundMail,
    Invitation,
    InvitationPurpose,
    LoginFailure,
    MessageStatus,
    NotificationKind,
    OutboxEmail,
    OutreachMessage,
    Reflection,
    ReflectionComment,
    ThemeDecision,
    ThemeStatus,
)
from crossroads.core.plugins import PluginManager
from crossroads.core.reports import Section
from crossroads.core.scoping import Scope
from crossroads.core.services import export
from crossroads.core.services.notifications import notify
from crossroads.plugins.alumni_offices.models import (
    Affiliation,
    Institution,
    Introduction,
    IntroductionRequest,
    Office,
)
from crossroads.plugins.alumni_offices.services import fill_institution
from crossroads.plugins.coaching_sessions.models import ActionItem, CoachingSession
from crossroads.plugins.progress_report.models import ReportNote
from crossroads.testing import World, make_contact, make_conversation, sweeps

#: The core's tables that carry a client's rows, and the archive file that holds them. A new
#: table with ``client_id`` fails test_every_core_table_with_a_client_is_exported until added here
#: (and to the erasure, core/services/erasure.py).
CORE_FILES = {
    "career_theme": "themes",
    "theme_decision": "theme_decisions",
    "goal": "goals",
    "contact": "contacts",
    "stage_change": "contact_stage_history",
    "conversation": "conversations",
    "prep_question": "prep_questions",
    "reflection": "reflections",
    "reflection_comment": "reflection_comments",
    "outreach_message": "outreach_messages",
    "outbox_email": "emails",
    "inbound_mail": "replies",
    "client_plugin_setting": "plugin_settings",
    "bank_client": "question_banks",
    "audit_event": "access_log",
    "notification": "notifications",
}
PLUGIN_TABLES = {
    "alumni_introduction": "alumni_offices/introductions",
    "alumni_introduction_request": "alumni_offices/introduction_requests",
    "alumni_affiliation": "alumni_offices/affiliations",
    "progress_report_note": "progress_report/notes",
    "coaching_session": "coaching_sessions/sessions",
    "coaching_action_item": "coaching_sessions/action_items",
}
SECRET = "Only for me: I am afraid of phone calls"


def seed_everything(db: Session, client: Client) -> None:
    """At least one row for ``client`` in every table that can hold one, core and plugins'."""
    contact = db.scalars(select(Contact).where(Contact.client_id == client.id)).first()
    theme = client.themes[0]
    contact.themes.append(theme)
    private = make_conversation(
        db, make_contact(db, client, "Pat Private", "Beacon"), datetime(2026, 11, 21, 9, tzinfo=UTC)
    )
    db.add(
        Reflection(
            practice_id=client.practice_id,
            client_id=client.id,
            conversation=private,
            energy=-1,
            fit=2,
            feelings=SECRET,
        )
    )
    shared = db.scalars(
        select(Reflection).where(Reflection.client_id == client.id, Reflection.shared_at.is_not(None))
    ).first()
    db.add(
        ReflectionComment(
            practice_id=client.practice_id,
            client_id=client.id,
            reflection_id=shared.id,
            author_id=client.coach_id,
            text="=SUM(A1) is not a formula here",
        )
    )
    db.add(
        Goal(
            practice_id=client.practice_id,
            client_id=client.id,
            period=GoalPeriod.WEEK,
            metric=GoalMetric.REQUESTS,
            target=3,
            set_by_id=client.coach_id,
        )
    )
    db.add(
        ThemeDecision(
            practice_id=client.practice_id,
            client_id=client.id,
            theme_id=theme.id,
            decision=ThemeStatus.PARKED,
            note="Not now",
        )
    )
    outbox = OutboxEmail(
        practice_id=client.practice_id,
        client_id=client.id,
        to_address="pat@beacon.example",
        subject="Twenty minutes?",
        body="Hello",
        message_id=f"<{client.id}-{utcnow().timestamp()}@test>",
        status=MessageStatus.SENT,
    )
    db.add(outbox)
    db.flush()
    message = db.scalars(select(OutreachMessage).where(OutreachMessage.client_id == client.id)).first()
    db.add(
        OutreachMessage(
            practice_id=client.practice_id,
            client_id=client.id,
            contact_id=contact.id,
            channel="email",
            kind="follow_up",
            subject="Following up",
            body="-- a line starting with dashes",
            status=MessageStatus.SENT,
            in_reply_to_id=message.id,
            outbox_id=outbox.id,
        )
    )
    db.add(
        ClientPluginSetting(
            practice_id=client.practice_id,
            client_id=client.id,
            plugin_name="linkedin",
            settings={"premium": True},
        )
    )
    db.add(
        Invitation(
            practice_id=client.practice_id,
            user_id=client.user_id,
            invited_by_id=client.coach_id,
            purpose=InvitationPurpose.RESET,
            token_hash=f"{client.id:064d}",
            expires_at=utcnow() + timedelta(hours=2),
        )
    )
    db.add(LoginFailure(email=client.user.email, remote_addr="203.0.113.9"))
    for told in (client.user, client.coach):
        notify(db, told, NotificationKind.REPLY, f"A reply, told to {told.name}", "/me/", client)
    institution = db.scalar(select(Institution).where(Institution.practice_id == client.practice_id))
    if institution is None:
        institution = Institution(practice_id=client.practice_id)
        fill_institution(
            institution,
            {"name": f"University of {client.practice.name}", "alumni_email": "alumni@uni.example"},
        )
        db.add(institution)
        db.flush()
    affiliation = Affiliation(
        practice_id=client.practice_id,
        client_id=client.id,
        institution_id=institution.id,
        programme="MA Journalism",
        year=2015,
    )
    db.add(affiliation)
    db.flush()
    request = IntroductionRequest(
        practice_id=client.practice_id,
        client_id=client.id,
        institution_id=institution.id,
        affiliation_id=affiliation.id,
        office=Office.ALUMNI,
        message_id=message.id,
        note="They will forward it",
    )
    db.add(request)
    db.flush()
    introduced = make_contact(db, client, "Ina Introduced", "Gazette")
    db.add(
        Introduction(
            practice_id=client.practice_id,
            client_id=client.id,
            request_id=request.id,
            contact_id=introduced.id,
        )
    )
    coaching = CoachingSession(
        practice_id=client.practice_id,
        client_id=client.id,
        coach_id=client.coach_id,
        starts_at=datetime(2026, 11, 24, 10, tzinfo=UTC),
        private_notes="The coach's own notes",
        summary="Two steps agreed",
        uid=f"coaching-export-{client.id}@test",
    )
    db.add(coaching)
    db.flush()
    db.add(
        ActionItem(
            practice_id=client.practice_id,
            client_id=client.id,
            session_id=coaching.id,
            text="Write to two editors",
            due_on=date(2026, 12, 1),
            contact_id=contact.id,
        )
    )
    db.add(
        ReportNote(
            practice_id=client.practice_id,
            client_id=client.id,
            period_start=date(2026, 11, 1),
            period_end=date(2026, 11, 30),
            body="Good momentum this month",
            author_id=client.coach_id,
        )
    )
    db.add(
        AuditEvent(
            practice_id=client.practice_id,
            actor_id=client.coach_id,
            client_id=client.id,
            action=AuditAction.VIEWED,
            what="client page",
        )
    )
    db.add(
        InboundMail(
            practice_id=client.practice_id,
            client_id=client.id,
            contact_id=contact.id,
            outreach_message_id=message.id,
            message_id=f"<reply-{client.id}@beacon.example>",
            source="post",
            from_address="Pat <pat@beacon.example>",
            subject="Re: Twenty minutes?",
            raw=b"From: Pat <pat@beacon.example>\r\n\r\nYes, gladly.\r\n",
            kind=InboundKind.REPLY,
            text="Yes, gladly.",
        )
    )
    db.commit()


def client_tables() -> dict[str, str]:
    """Every table with a ``client_id`` column that this suite seeds: table name → "core" or "plugin".

    Found by the kit's sweep (the plugins' tables through their models). A plugin installed beside
    the ones Crossroads ships proves its own tables in its suite (crossroads_export_erasure_sweep).
    """
    plugins = PluginManager()
    shipped = {info.name for info in plugins.plugins() if info.module.startswith("crossroads.plugins")}
    return {
        name: "core" if owner == "core" else "plugin"
        for name, owner in sweeps.client_tables(plugins).items()
        if owner == "core" or owner in shipped
    }


def read(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        assert zf.testzip() is None
        return {name: zf.read(name) for name in zf.namelist()}


def rows_of(files: dict[str, bytes], stem: str) -> tuple[list[dict], list[dict]]:
    as_json = json.loads(files[f"{stem}.json"])
    as_csv = list(csv.DictReader(io.StringIO(files[f"{stem}.csv"].decode("utf-8-sig"))))
    return as_json, as_csv


def build(db: Session, world: World, user=None, plugins: PluginManager | None = None) -> export.Archive:
    scope = Scope(db, user or world.client.user)
    return export.build_archive(scope, scope.get(Client, world.client.id), plugins or PluginManager())


def test_every_core_table_with_a_client_is_exported():
    tables = client_tables()
    assert {name for name, where in tables.items() if where == "core"} == set(CORE_FILES)
    assert {name for name, where in tables.items() if where == "plugin"} == set(PLUGIN_TABLES)
    assert set(CORE_FILES.values()) <= {kind.name for kind in export.KINDS}


def test_the_archive_opens_and_holds_every_file_described_in_the_readme(db, world):
    seed_everything(db, world.client)
    archive = build(db, world)
    files = read(archive.data)
    readme = files["README.txt"].decode()
    assert "Clara Client" in readme and "INCOMPLETE" not in readme
    for kind in export.KINDS:
        assert f"{kind.name}.json" in files and f"{kind.name}.csv" in files
        assert f"{kind.name}.json, {kind.name}.csv" in readme
    for stem in PLUGIN_TABLES.values():
        assert f"{stem}.json" in files and f"{stem}.csv" in files and stem in readme
    assert "report/progress-report.csv" in files and "report/progress-report.csv" in readme
    assert archive.errors == {}
    assert re.fullmatch(r"crossroads-export-clara-client-\d{4}-\d\d-\d\d\.zip", archive.filename)


def test_every_table_of_the_client_has_its_rows_in_the_archive(db, world):
    seed_everything(db, world.client)
    files = read(build(db, world).data)
    for table in Base.metadata.sorted_tables:
        if table.name not in client_tables() or table.name == "bank_client":
            continue
        stem = CORE_FILES.get(table.name) or PLUGIN_TABLES[table.name]
        in_db = db.scalar(select(func.count()).select_from(table).where(table.c.client_id == world.client.id))
        as_json, _ = rows_of(files, stem)
        assert in_db > 0, f"seed_everything left {table.name} empty"
        assert len(as_json) == in_db, stem
    assert [b["name"] for b in rows_of(files, "question_banks")[0]] == ["Questions for Clara Client"]
    profile = rows_of(files, "profile")[0][0]
    assert (profile["name"], profile["email"], profile["coach"]) == (
        "Clara Client",
        "clara@client.example",
        "Colin Coach",
    )


def test_json_and_csv_agree_for_every_file(db, world):
    seed_everything(db, world.client)
    files = read(build(db, world).data)
    stems = {name.rsplit(".", 1)[0] for name in files if name.endswith(".json")}
    assert len(stems) >= len(export.KINDS) + len(PLUGIN_TABLES)
    for stem in stems:
        as_json, as_csv = rows_of(files, stem)
        assert len(as_json) == len(as_csv), stem
        for json_row, csv_row in zip(as_json, as_csv, strict=True):
            assert set(csv_row) >= set(json_row), stem
            assert {k: export.csv_cell(v) for k, v in json_row.items()} == {k: csv_row[k] for k in json_row}
    comments, comments_csv = rows_of(files, "reflection_comments")
    assert comments[0]["text"].startswith("=") and comments_csv[0]["text"].startswith("'=")


def test_secrets_and_search_copies_stay_out(db, world):
    seed_everything(db, world.client)
    files = read(build(db, world).data)
    everything = b"".join(files.values()).decode("utf-8", "replace")
    assert "token_hash" not in everything and "password_hash" not in everything
    assert "search_text" not in everything
    assert "Bea Beyond" not in everything and "Otto Other" not in everything  # no one else's data


def unshare_with_a_comment(db: Session, client: Client) -> None:
    """A second reflection the client shared, got a comment on, then unshared: private again."""
    conversation = make_conversation(
        db, make_contact(db, client, "Una Unshared", "Delta"), datetime(2026, 11, 22, 9, tzinfo=UTC)
    )
    reflection = Reflection(
        practice_id=client.practice_id,
        client_id=client.id,
        conversation=conversation,
        energy=1,
        fit=3,
        insights="Unshared insight: I want to leave coaching",
    )
    db.add(reflection)
    db.flush()
    db.add(
        ReflectionComment(
            practice_id=client.practice_id,
            client_id=client.id,
            reflection_id=reflection.id,
            author_id=client.coach_id,
            text="Comment on what was unshared",
        )
    )
    db.commit()


PRIVATE_TEXTS = (SECRET, "Unshared insight: I want to leave coaching", "Comment on what was unshared")


def test_staff_export_holds_only_shared_reflections(db, world, as_user):
    seed_everything(db, world.client)
    unshare_with_a_comment(db, world.client)
    for user in (world.coach, world.owner):
        response = as_user(user).post(f"/coach/clients/{world.client.id}/export")
        assert response.status_code == 200, user.name
        files = read(response.data)
        everything = b"".join(files.values()).decode("utf-8", "replace")
        for text in PRIVATE_TEXTS:
            assert text not in everything, (user.name, text)
        reflections, as_csv = rows_of(files, "reflections")
        assert [r["shared"] for r in reflections] == [True] and len(as_csv) == 1
        comments, _ = rows_of(files, "reflection_comments")
        assert [c["text"] for c in comments] == ["=SUM(A1) is not a formula here"]
        # Prep notes and prep sheets are never private from the coach (user guide): they stay.
        assert rows_of(files, "prep_questions")[0] and rows_of(files, "conversations")[0]
        readme = files["README.txt"].decode()
        assert "Made by " + user.name + " on the client's behalf" in readme and "INCOMPLETE" not in readme
        assert "Progress report: Clara Client" in files["report/progress-report.html"].decode()
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.EXPORTED)).all()
    assert {(e.actor_id, e.client_id) for e in events} == {
        (world.coach.id, world.client.id),
        (world.owner.id, world.client.id),
    }
    assert {e.what for e in events} == {"data export on the client's behalf (shared reflections only)"}


def test_the_clients_own_export_keeps_their_private_reflections(db, world, as_user):
    seed_everything(db, world.client)
    unshare_with_a_comment(db, world.client)
    files = read(as_user(world.client.user).post("/me/export").data)
    everything = b"".join(files.values()).decode("utf-8", "replace")
    for text in PRIVATE_TEXTS:
        assert text in everything, text
    reflections, _ = rows_of(files, "reflections")
    assert sorted(r["shared"] for r in reflections) == [False, False, True]
    assert "on the client's behalf" not in files["README.txt"].decode()


def test_a_staff_export_leaves_out_what_staff_never_see(db, world):
    seed_everything(db, world.client)
    invite = Invitation(
        practice_id=world.practice.id,
        user_id=world.client.user_id,
        invited_by_id=world.coach.id,
        purpose=InvitationPurpose.INVITE,
        token_hash="f" * 64,
        expires_at=utcnow() + timedelta(days=7),
    )
    db.add(invite)
    db.commit()
    coach = read(export.export_client(Scope(db, world.coach), world.client.id, PluginManager()).data)
    owner = read(export.export_client(Scope(db, world.owner), world.client.id, PluginManager()).data)
    own = read(build(db, world).data)
    assert rows_of(coach, "access_log")[0] == []  # the audit log is the owner's
    assert "client page" in [e["what"] for e in rows_of(owner, "access_log")[0]]
    for staff in (coach, owner):
        assert rows_of(staff, "sign_in_failures")[0] == []
        assert [i["purpose"] for i in rows_of(staff, "invitations")[0]] == ["invite"]
    assert len(rows_of(own, "sign_in_failures")[0]) == 1
    assert sorted(i["purpose"] for i in rows_of(own, "invitations")[0]) == ["invite", "reset"]


def reflections_plugin() -> SimpleNamespace:
    """A plugin that exports, and reports, every reflection its scope lets it read."""

    def export_client_data(scope, client):
        rows = scope.session.scalars(scope.select(Reflection).where(Reflection.client_id == client.id))
        return {"feelings": [{"feelings": r.feelings} for r in rows]}

    def report_sections(request):
        rows = request.session.scalars(request.scope.select(Reflection))
        return Section("feelings", "Feelings", rows=[{"feelings": r.feelings} for r in rows])

    return SimpleNamespace(
        export_client_data=hookimpl(export_client_data), report_sections=hookimpl(report_sections)
    )


def test_plugin_files_and_the_report_of_a_staff_export_are_read_through_the_staff_scope(db, world):
    seed_everything(db, world.client)
    plugins = PluginManager()
    plugins.register(reflections_plugin(), "feelings_plugin")
    staff = read(build(db, world, user=world.coach, plugins=plugins).data)
    own = read(build(db, world, plugins=plugins).data)
    assert SECRET in [r["feelings"] for r in rows_of(own, "feelings_plugin/feelings")[0]]
    assert SECRET in own["report/progress-report.csv"].decode("utf-8-sig")
    assert rows_of(staff, "feelings_plugin/feelings")[0] == [{"feelings": ""}]  # the shared one only
    assert "Feelings" in staff["report/progress-report.csv"].decode("utf-8-sig")
    assert SECRET not in staff["report/progress-report.csv"].decode("utf-8-sig")


def test_plugin_data_comes_under_the_plugins_name(db, world):
    seed_everything(db, world.client)
    files = read(build(db, world).data)
    affiliations, _ = rows_of(files, "alumni_offices/affiliations")
    assert [(a["programme"], a["year"]) for a in affiliations] == [("MA Journalism", 2015)]
    notes, _ = rows_of(files, "progress_report/notes")
    assert [n["body"] for n in notes] == ["Good momentum this month"]
    introductions, _ = rows_of(files, "alumni_offices/introductions")
    assert [i["contact_name"] for i in introductions] == ["Ina Introduced"]


def test_a_failing_plugin_makes_the_archive_say_it_is_incomplete(db, world):
    plugins = PluginManager()

    def broken(client):
        raise RuntimeError("export broke")

    plugins.register(SimpleNamespace(export_client_data=hookimpl(broken)), "misbehaving")
    archive = build(db, world, plugins=plugins)
    files = read(archive.data)
    assert "misbehaving" in archive.errors
    readme = files["README.txt"].decode()
    assert "INCOMPLETE" in readme and "misbehaving: RuntimeError: export broke" in readme
    assert "alumni_offices/affiliations.json" in files  # the others are all there


def test_the_report_comes_as_a_web_page_too_when_the_app_renders_it(app, db, world):
    seed_everything(db, world.client)
    with app.test_request_context():
        files = read(build(db, world).data)
    page = files["report/progress-report.html"].decode()
    assert "Progress report: Clara Client" in page and "<html" in page.lower()


def test_the_client_downloads_their_own_archive(db, world, as_user):
    response = as_user(world.client.user).post("/me/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    disposition = response.headers["Content-Disposition"]
    assert 'attachment; filename="crossroads-export-clara-client-' in disposition
    assert response.headers["Cache-Control"] == "private, no-store"
    files = read(response.data)
    assert "report/progress-report.html" in files and "profile.json" in files
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.EXPORTED)).one()
    assert (event.actor_id, event.client_id, event.what) == (
        world.client.user_id,
        world.client.id,
        "data export",
    )


def test_the_coach_and_the_owner_download_for_the_client(world, as_user):
    for user in (world.coach, world.owner):
        response = as_user(user).post(f"/coach/clients/{world.client.id}/export")
        assert response.status_code == 200, user.name
        assert rows_of(read(response.data), "profile")[0][0]["name"] == "Clara Client"


def test_nobody_else_downloads_a_clients_archive(world, as_user):
    url = f"/coach/clients/{world.client.id}/export"
    assert as_user(world.stranger_owner).post(url).status_code == 404
    assert as_user(world.other_client.user).post(url).status_code == 404
    assert as_user(world.client.user).post(url).status_code == 404  # the staff side is not a client's
    assert as_user(world.coach).post(f"/coach/clients/{world.owners_client.id}/export").status_code == 404
    assert as_user(world.coach).post(f"/coach/clients/{world.stranger_client.id}/export").status_code == 404
    assert as_user(world.coach).post("/me/export").status_code == 404
    assert as_user(world.client.user).get("/me/export").status_code == 405


def test_the_pages_offer_the_download(world, as_user):
    assert b"/me/export" in as_user(world.client.user).get("/me/").data
    page = as_user(world.coach).get(f"/coach/clients/{world.client.id}").data
    assert f"/coach/clients/{world.client.id}/export".encode() in page
    assert b"/erase" not in page  # only the owner erases
    owner_page = as_user(world.owner).get(f"/coach/clients/{world.client.id}").data
    assert f"/coach/clients/{world.client.id}/erase".encode() in owner_page


def test_csv_cells_follow_the_documented_rules():
    assert [export.csv_cell(v) for v in (None, True, False, 3, 1.5, [1, 2], {"a": "é"})] == [
        "", "true", "false", "3", "1.5", "[1, 2]", '{"a": "é"}'
    ]  # fmt: skip
    assert [export.csv_cell(v) for v in ("=1+1", "+44", "-x", "@me", "plain")] == [
        "'=1+1", "'+44", "'-x", "'@me", "plain"
    ]  # fmt: skip
