"""Erasing a client: the owner deletes every row about them, core and plugins'; all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crossroads.core.db import Base, make_sessionmaker, utcnow
from crossroads.core.errors import Forbidden, InvalidInput, NotFound
from crossroads.core.hookspecs import hookimpl
from crossroads.core.mail.outbox import deliver, due_ids, queue_email
from crossroads.core.models import (
    AuditAction,
    AuditEvent,
    Client,
    Invitation,
    LoginFailure,
    OutboxEmail,
    User,
    bank_client,
    contact_theme,
)
from crossroads.core.plugins import PluginManager
from crossroads.core.scoping import Scope
from crossroads.core.services import erasure
from crossroads.plugins.alumni_offices.models import Institution
from crossroads.plugins.progress_report.digest import send_digests
from crossroads.plugins.progress_report.models import DigestSubscription
from crossroads.testing import TEST_SECRET_KEY, World

from .mailserver import configure_mail
from .test_export import PLUGIN_TABLES, client_tables, seed_everything


def client_rows(db: Session, client_id: int) -> dict[str, int]:
    """Rows per table (every table with ``client_id``, core and the shipped plugins') for this client."""
    db.expire_all()
    counts = {}
    known = client_tables()
    for table in Base.metadata.sorted_tables:
        if table.name in known and table.name != "audit_event":
            counts[table.name] = db.scalar(
                select(func.count()).select_from(table).where(table.c.client_id == client_id)
            )
    return counts


def account_rows(db: Session, user_id: int, email: str) -> dict[str, int]:
    db.expire_all()
    return {
        "user_account": db.scalar(select(func.count()).select_from(User).where(User.id == user_id)),
        "invitation": db.scalar(
            select(func.count()).select_from(Invitation).where(Invitation.user_id == user_id)
        ),
        "login_failure": db.scalar(
            select(func.count()).select_from(LoginFailure).where(LoginFailure.email == email)
        ),
    }


@pytest.fixture
def seeded(db, world: World) -> World:
    seed_everything(db, world.client)
    seed_everything(db, world.other_client)
    return world


def erase(db: Session, world: World, plugins: PluginManager | None = None, name: str = "Clara Client"):
    return erasure.erase_client(Scope(db, world.owner), world.client.id, name, plugins or PluginManager())


def test_every_table_is_seeded_before_the_erasure(db, seeded: World):
    before = client_rows(db, seeded.client.id)
    assert set(before) == set(client_tables()) - {"audit_event"}
    assert all(before.values()), before
    assert set(PLUGIN_TABLES) <= set(before)
    assert all(account_rows(db, seeded.client.user_id, "clara@client.example").values())


def test_the_owner_erases_a_client_from_every_core_and_plugin_table(db, seeded: World, as_user):
    client_id, user_id = seeded.client.id, seeded.client.user_id
    other_before = client_rows(db, seeded.other_client.id)
    owner = as_user(seeded.owner)
    page = owner.get(f"/coach/clients/{client_id}/erase")
    assert page.status_code == 200 and b"This cannot be undone" in page.data
    response = owner.post(f"/coach/clients/{client_id}/erase", data={"confirm_name": "  clara   client "})
    assert response.status_code == 302 and response.location.endswith("/coach/")
    after = client_rows(db, client_id)
    assert after == dict.fromkeys(after, 0), after
    for table in PLUGIN_TABLES:  # the plugins' hook reached their tables
        assert after[table] == 0
    assert account_rows(db, user_id, "clara@client.example") == {
        "user_account": 0,
        "invitation": 0,
        "login_failure": 0,
    }
    assert (
        db.scalar(select(func.count()).select_from(bank_client).where(bank_client.c.client_id == client_id))
        == 0
    )
    assert db.get(Client, client_id) is None
    # Nobody else lost anything; the practice's directory stays.
    assert client_rows(db, seeded.other_client.id) == other_before
    assert db.scalar(select(func.count()).select_from(Institution)) == 1
    assert db.scalar(select(func.count()).select_from(contact_theme)) == 1  # the other client's link
    assert owner.get(f"/coach/clients/{client_id}").status_code == 404


def test_the_record_keeps_a_number_and_counts_but_no_name_or_email(db, seeded: World, as_user):
    as_user(seeded.coach).get(f"/coach/clients/{seeded.client.id}")  # an earlier view stays logged
    done = erase(db, seeded)
    assert done.plugins == ["alumni_offices", "coaching_sessions", "progress_report"]
    assert done.counts["contacts"] == 5 and done.counts["reflections"] == 2  # the world's 3, the seed's 2
    record = db.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.ERASED)).one()
    assert (record.actor_id, record.client_id) == (seeded.owner.id, seeded.client.id)
    assert record.what.startswith(
        f"client #{seeded.client.id} erased with their account (themes: 1, contacts: 5"
    )
    for event in db.scalars(select(AuditEvent)):
        for value in (event.what, event.ip or "", str(event.client_id)):
            for identifying in ("Clara", "Client", "clara@client.example"):
                assert identifying not in value
    page = as_user(seeded.owner).get("/practice/audit/").data.decode()
    assert f"Erased client #{seeded.client.id}" in page and "Clara" not in page


def test_a_raising_plugin_rolls_the_whole_erasure_back_and_names_itself(db, seeded: World, as_user, plugins):
    def broken(client):
        raise RuntimeError("disk on fire")

    plugins.register(SimpleNamespace(erase_client_data=hookimpl(broken)), "misbehaving")
    before = client_rows(db, seeded.client.id)
    with pytest.raises(erasure.ErasureFailed) as failed:
        erase(db, seeded, plugins)
    assert failed.value.plugin == "misbehaving"
    assert (
        "misbehaving" in failed.value.errors["_schema"][0]
        and "Nothing was erased" in failed.value.errors["_schema"][0]
    )
    # The alumni offices and progress report plugins had deleted their rows: rolled back with the rest.
    assert client_rows(db, seeded.client.id) == before
    assert all(account_rows(db, seeded.client.user_id, "clara@client.example").values())
    assert db.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.ERASED)).all() == []
    # Through the page: the owner is told which plugin failed.
    response = as_user(seeded.owner).post(
        f"/coach/clients/{seeded.client.id}/erase", data={"confirm_name": "Clara Client"}
    )
    assert response.status_code == 422
    assert b"the plugin misbehaving could not delete its data" in response.data
    assert client_rows(db, seeded.client.id) == before


def test_a_wrong_name_erases_nothing(db, seeded: World, as_user):
    before = client_rows(db, seeded.client.id)
    response = as_user(seeded.owner).post(
        f"/coach/clients/{seeded.client.id}/erase", data={"confirm_name": "Otto Other"}
    )
    assert response.status_code == 422 and b"Type the client&#39;s name exactly" in response.data
    assert as_user(seeded.owner).post(f"/coach/clients/{seeded.client.id}/erase").status_code == 422
    with pytest.raises(InvalidInput):
        erase(db, seeded, name="Clara")
    assert client_rows(db, seeded.client.id) == before


def test_only_the_owner_erases(db, world: World, as_user):
    url = f"/coach/clients/{world.client.id}/erase"
    form = {"confirm_name": "Clara Client"}
    assert as_user(world.coach).get(url).status_code == 403  # their own client: they know it exists
    assert as_user(world.coach).post(url, data=form).status_code == 403
    assert as_user(world.stranger_owner).get(url).status_code == 404
    assert as_user(world.stranger_owner).post(url, data=form).status_code == 404
    assert as_user(world.client.user).post(url, data=form).status_code == 404
    assert as_user(world.other_client.user).get(url).status_code == 404
    assert as_user(world.coach).get(f"/coach/clients/{world.owners_client.id}/erase").status_code == 404
    with pytest.raises(Forbidden):
        erasure.erase_client(Scope(db, world.coach), world.client.id, "Clara Client", PluginManager())
    with pytest.raises(NotFound):
        erasure.erase_client(
            Scope(db, world.stranger_owner), world.client.id, "Clara Client", PluginManager()
        )
    assert db.get(Client, world.client.id) is not None


SECRET_KEY = TEST_SECRET_KEY  # the settings fixture's key


def test_erasure_leaves_no_pending_email_that_names_or_reaches_the_client(
    db, world: World, engine, smtp_server
):
    """A queued digest naming the client goes without them; mail to or about them is never sent."""
    configure_mail(db, world.practice.id, smtp_server)
    client = world.client
    db.add(DigestSubscription(practice_id=world.practice.id, user_id=world.coach.id))
    db.commit()
    # A Monday five weeks on: every client of the coach is stalled, and the digest names them.
    later = utcnow() + timedelta(days=35)
    monday = datetime.combine(later.date() - timedelta(days=later.weekday()), time(12), UTC)
    assert send_digests(db, monday) == 1
    common = {"practice_id": world.practice.id, "sender_name": "Northbridge", "reply_to": ""}
    queue_email(
        db,
        client_id=client.id,
        to_address="zoe@acme.example",
        subject="Twenty minutes?",
        body="Dear Zoë,\n\nClara Client",
        **common,
    )
    queue_email(
        db,
        client_id=None,
        to_address="clara@client.example",
        to_name="Clara Client",
        subject="A reminder",
        body="Hello Clara Client, your link expires soon.",
        **common,
    )
    queue_email(
        db,
        client_id=None,
        to_address="olivia@northbridge.example",
        subject="Clara Client joined",
        body="Clara Client (clara@client.example) accepted; Otto Other too.",
        **common,
    )
    db.commit()
    digest = db.scalar(select(OutboxEmail).where(OutboxEmail.to_address == "colin@northbridge.example"))
    assert "Clara Client" in digest.body  # the digest names her before the erasure

    erase(db, world)
    sessions = make_sessionmaker(engine)
    with sessions() as worker:
        due = due_ids(worker, now=monday)
    for outbox_id in due:
        deliver(sessions, outbox_id, SECRET_KEY, allow_private=True)  # the test server is on 127.0.0.1
    received = [r.message for r in smtp_server.received]
    assert sorted(m["To"] for m in received) == [
        "Colin Coach <colin@northbridge.example>",
        "olivia@northbridge.example",
    ]
    for message in received:
        text = message.as_string()
        assert "Clara" not in text and "clara@client.example" not in text, text
    owners = next(m for m in received if m["To"] == "olivia@northbridge.example")
    assert owners["Subject"] == "a former client joined"
    assert "a former client (a former client) accepted; Otto Other too." in owners.get_content()
    assert "Otto Other" in next(m for m in received if m["To"] != "olivia@northbridge.example").get_content()
