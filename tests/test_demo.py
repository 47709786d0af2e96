"""The demo practice that ``crossroads serve --demo`` loads."""

from __future__ import annotations

from crossroads.core.demo import OWNER_EMAIL, demo_logins, load_demo
from crossroads.core.models import Client, ClientStatus, Role, User
from crossroads.core.scoping import Scope
from crossroads.core.services.accounts import authenticate


def test_demo_has_two_coaches_and_clients_at_every_stage_with_themes(db):
    practice = load_demo(db)
    staff = db.query(User).filter(User.practice_id == practice.id, User.role != Role.CLIENT).all()
    assert len(staff) == 2
    clients = db.query(Client).filter_by(practice_id=practice.id).all()
    assert len(clients) >= 6
    assert {c.status for c in clients} == set(ClientStatus)
    assert sum(1 for c in clients if c.themes) >= 6
    assert {c.coach_id for c in clients} == {u.id for u in staff}


def test_loading_the_demo_twice_changes_nothing(db):
    first = load_demo(db)
    count = db.query(User).count()
    assert load_demo(db).id == first.id and db.query(User).count() == count


def test_printed_demo_logins_work_and_see_their_own_data(db):
    load_demo(db)
    for login in demo_logins():
        user = authenticate(db, login.email, login.password)
        assert user.name == login.name
    owner = db.query(User).filter_by(email=OWNER_EMAIL).one()
    assert len(db.scalars(Scope(db, owner).select(Client)).all()) == 8


def test_demo_clients_have_contacts_in_every_stage_conversations_reflections_goals_and_banks(db):
    from crossroads.core.models import (
        Contact,
        Conversation,
        ConversationStatus,
        Goal,
        QuestionBank,
        Reach,
        Reflection,
        Stage,
        ThemeDecision,
    )

    load_demo(db)
    assert {stage for (stage,) in db.query(Contact.stage).distinct()} == set(Stage)
    assert db.query(Contact).filter(Contact.referred_by_id.isnot(None)).count() >= 1
    assert {status for (status,) in db.query(Conversation.status).distinct()} >= {
        ConversationStatus.HELD,
        ConversationStatus.SCHEDULED,
    }
    shared = db.query(Reflection).filter(Reflection.shared_at.isnot(None)).count()
    assert 0 < shared < db.query(Reflection).count()  # some shared, some private
    assert {reach for (reach,) in db.query(QuestionBank.reach).distinct()} == set(Reach)
    assert db.query(Goal).count() >= 2 and db.query(ThemeDecision).count() >= 1


def test_demo_has_sent_failed_and_handed_off_messages_with_threads(db):
    from crossroads.core.demo import CLIENT_EMAIL
    from crossroads.core.models import MessageKind, MessageStatus, OutreachMessage

    load_demo(db)
    client = db.query(User).filter_by(email=CLIENT_EMAIL).one().client
    messages = db.query(OutreachMessage).filter_by(client_id=client.id).all()
    assert {MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.HANDED_OFF} <= {
        m.status for m in messages
    }
    assert {"email", "linkedin"} <= {m.channel for m in messages}
    failed = next(m for m in messages if m.status == MessageStatus.FAILED)
    assert failed.error.startswith("550")
    thanks = [m for m in messages if m.kind == MessageKind.THANK_YOU]
    assert thanks and all(m.outbox.in_reply_to == m.in_reply_to.outbox.message_id for m in thanks)


def test_the_demo_logins_find_notifications_made_by_the_real_services_waiting(db, app):
    from sqlalchemy import select

    from crossroads.core.demo import CLIENT_EMAIL, COACH_EMAIL
    from crossroads.core.models import (
        MessageStatus,
        Notification,
        NotificationKind,
        OutboxEmail,
        ReflectionComment,
    )
    from crossroads.testing.browser import browser_for

    load_demo(db)
    expected = {
        OWNER_EMAIL: {NotificationKind.REFLECTION_SHARED},  # Priya's coach: her clients shared
        COACH_EMAIL: {NotificationKind.REFLECTION_SHARED},
        CLIENT_EMAIL: {NotificationKind.COMMENT, NotificationKind.SUGGESTION},
    }
    for email, kinds in expected.items():
        user = db.scalar(select(User).where(User.email == email))
        rows = db.scalars(select(Notification).where(Notification.user_id == user.id)).all()
        assert {row.kind for row in rows} == kinds and all(row.read_at is None for row in rows)
        page = browser_for(app, user).page("/notifications/").html
        assert f'<span class="nav-count">({len(rows)}<' in page
        assert all(row.text.replace("'", "&#39;") in page for row in rows)
    assert db.query(ReflectionComment).count() == 2  # the coaches' comments, through the service
    # No email server while the demo loads: nothing waits to be emailed when the catcher starts.
    assert db.query(OutboxEmail).filter(OutboxEmail.status == MessageStatus.QUEUED).count() == 0


ALL_BUT = {
    "email": ["theme_progress", "linkedin", "alumni_offices", "progress_report"],
    "linkedin": ["theme_progress", "email", "alumni_offices", "progress_report"],
}


def _demo_messages_by_channel(db, plugins):
    from sqlalchemy import func, select

    from crossroads.core.models import OutboxEmail, OutreachMessage
    from crossroads.core.plugins import PluginManager

    practice = load_demo(db, PluginManager(only=plugins))
    channels = dict(
        db.execute(
            select(OutreachMessage.channel, func.count())
            .where(OutreachMessage.practice_id == practice.id)
            .group_by(OutreachMessage.channel)
        ).all()
    )
    outbox = db.scalar(
        select(func.count()).select_from(OutboxEmail).where(OutboxEmail.practice_id == practice.id)
    )
    return channels, outbox


def test_without_the_email_plugin_the_demo_loads_with_linkedin_drafts_and_no_email(db):
    channels, _ = _demo_messages_by_channel(db, ALL_BUT["email"])
    assert set(channels) == {"linkedin", "alumni_office"} and channels["linkedin"] > 0
    assert db.query(Client).count() == 8


def test_without_the_linkedin_plugin_the_demo_has_its_email_but_no_linkedin_drafts(db):
    from crossroads.core.models import Contact, Stage

    channels, outbox = _demo_messages_by_channel(db, ALL_BUT["linkedin"])
    assert "linkedin" not in channels and channels["email"] > 0 and outbox >= channels["email"]
    # The core still gives the contacts the channels write to their addresses.
    moved = db.query(Contact).filter(Contact.stage != Stage.IDENTIFIED).all()
    assert moved and all(contact.email for contact in moved)


def test_the_core_demo_writes_no_channels_messages_itself():
    import ast
    from pathlib import Path

    import crossroads.core.demo as demo

    tree = ast.parse(Path(demo.__file__).read_text(encoding="utf-8"))
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not {"OutreachMessage", "OutboxEmail"} & names
