"""The owner's reply mailbox (IMAP) settings: saved encrypted, owner only, tested against a real
Dovecot, its errors on the page and in `crossroads check`, polled by the worker and the CLI."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from crossroads.core.errors import Forbidden
from crossroads.core.mail.queue import MailQueue
from crossroads.core.mail.secrets import decrypt
from crossroads.core.models import InboundMail, MailSecurity, PracticeMailbox
from crossroads.core.scoping import Scope
from crossroads.core.services import mailbox_settings
from crossroads.testing import TEST_SECRET_KEY
from crossroads.web.cli import main
from tests.imapserver import configure_mailbox, reply

SECRET = TEST_SECRET_KEY  # the settings fixture's key
PASSWORD = "imap password, quite long"


def form(**changes) -> dict[str, str]:
    values = {
        "host": "imap.northbridge.example",
        "port": "993",
        "security": "tls",
        "username": "replies@northbridge.example",
        "password": PASSWORD,
        "folder": "INBOX",
    }
    values.update(changes)
    return values


def local_form(user, **changes) -> dict[str, str]:
    """The form for the test Dovecot's ``user``: plain IMAP on 127.0.0.1 (allowed in tests)."""
    values = {
        "host": "127.0.0.1",
        "port": str(user.server.port),
        "security": "none",
        "username": user.name,
        "password": user.password,
    }
    return form(**{**values, **changes})


def stored(db, practice) -> PracticeMailbox | None:
    db.expire_all()
    return db.scalar(select(PracticeMailbox).where(PracticeMailbox.practice_id == practice.id))


def test_owner_saves_the_mailbox_with_the_password_encrypted_and_never_shown(world, db, as_user):
    owner = as_user(world.owner)
    response = owner.post("/practice/email/mailbox", data=form())
    assert response.status_code == 302 and response.location.endswith("/practice/email#mailbox")
    mailbox = stored(db, world.practice)
    assert (mailbox.host, mailbox.port, mailbox.security, mailbox.username, mailbox.folder) == (
        "imap.northbridge.example",
        993,
        MailSecurity.TLS,
        "replies@northbridge.example",
        "INBOX",
    )
    assert (
        PASSWORD not in mailbox.password_encrypted and decrypt(SECRET, mailbox.password_encrypted) == PASSWORD
    )
    assert mailbox.uidvalidity is None and mailbox.last_uid == 0
    html = owner.get("/practice/email").get_data(as_text=True)
    assert "Reply mailbox (IMAP)" in html and 'value="imap.northbridge.example"' in html
    assert "A password is stored" in html and PASSWORD not in html and mailbox.password_encrypted not in html
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # the two forms' fields do not share ids


def test_a_blank_password_keeps_the_stored_one_and_a_new_password_keeps_the_read_position(world, db, as_user):
    owner = as_user(world.owner)
    owner.post("/practice/email/mailbox", data=form())
    db.execute(update(PracticeMailbox).values(uidvalidity=7, last_uid=41))
    db.commit()
    token = stored(db, world.practice).password_encrypted
    assert owner.post("/practice/email/mailbox", data=form(password="")).status_code == 302
    mailbox = stored(db, world.practice)
    assert mailbox.password_encrypted == token and (mailbox.uidvalidity, mailbox.last_uid) == (7, 41)
    owner.post("/practice/email/mailbox", data=form(password="a new one, long enough"))
    assert (stored(db, world.practice).uidvalidity, stored(db, world.practice).last_uid) == (7, 41)


def test_pointing_at_another_mailbox_starts_afresh_from_its_first_connection(world, db, as_user):
    owner = as_user(world.owner)
    owner.post("/practice/email/mailbox", data=form())
    db.execute(update(PracticeMailbox).values(uidvalidity=7, last_uid=41))
    db.commit()
    owner.post("/practice/email/mailbox", data=form(password="", folder="Replies"))
    mailbox = stored(db, world.practice)
    assert (mailbox.folder, mailbox.uidvalidity, mailbox.last_uid) == ("Replies", None, 0)


def test_a_first_mailbox_needs_a_password_and_bad_fields_are_named(world, db, as_user):
    response = as_user(world.owner).post("/practice/email/mailbox", data=form(password="", port="99999"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="mailbox-port-error"' in html and 'value="imap.northbridge.example"' in html
    response = as_user(world.owner).post("/practice/email/mailbox", data=form(password="", username=" "))
    assert 'id="mailbox-username-error"' in response.get_data(as_text=True)
    response = as_user(world.owner).post("/practice/email/mailbox", data=form(password=""))
    assert response.status_code == 422 and 'id="mailbox-password-error"' in response.get_data(as_text=True)
    assert stored(db, world.practice) is None


@pytest.mark.parametrize("who", ["coach", "client"])
def test_coaches_and_clients_do_not_find_the_mailbox_settings(world, db, as_user, who):
    user = world.coach if who == "coach" else world.client.user
    browser = as_user(user)
    assert browser.get("/practice/email").status_code == 404
    assert browser.post("/practice/email/mailbox", data=form()).status_code == 404
    assert browser.post("/practice/email/mailbox/test").status_code == 404
    assert stored(db, world.practice) is None


def test_the_service_refuses_anyone_but_the_owner(world, db):
    for user in (world.coach, world.client.user):
        with pytest.raises(Forbidden):
            mailbox_settings.mailbox_settings(Scope(db, user))
        with pytest.raises(Forbidden):
            mailbox_settings.test_mailbox(Scope(db, user), SECRET)


def test_another_practices_owner_sees_and_changes_only_their_own_mailbox(world, db, as_user):
    as_user(world.owner).post("/practice/email/mailbox", data=form())
    stranger = as_user(world.stranger_owner)
    html = stranger.get("/practice/email").get_data(as_text=True)
    assert "imap.northbridge.example" not in html and "replies@northbridge.example" not in html
    assert stranger.post("/practice/email/mailbox/test").status_code == 302  # "save the settings first"
    stranger.post("/practice/email/mailbox", data=form(host="imap.elsewhere.example"))
    assert stored(db, world.practice).host == "imap.northbridge.example"
    assert stored(db, world.stranger_practice).host == "imap.elsewhere.example"


def test_without_tls_only_an_allowed_private_server_is_accepted(world, db, as_user, settings):
    owner = as_user(world.owner)
    response = owner.post("/practice/email/mailbox", data=form(host="93.184.215.14", security="none"))
    assert response.status_code == 422
    assert 'id="mailbox-security-error"' in response.get_data(as_text=True)
    assert (
        owner.post("/practice/email/mailbox", data=form(host="127.0.0.1", security="none")).status_code == 302
    )
    settings.smtp_allow_private = False
    response = owner.post("/practice/email/mailbox", data=form(host="10.1.2.3", security="none"))
    html = response.get_data(as_text=True)
    assert (
        response.status_code == 422
        and 'id="mailbox-host-error"' in html
        and "CROSSROADS_SMTP_ALLOW_PRIVATE" in html
    )


def test_test_connection_logs_in_and_reads_nothing(world, db, as_user, mailbox_user):
    mailbox_user.append([reply(1), reply(2)])
    owner = as_user(world.owner)
    owner.post("/practice/email/mailbox", data=local_form(mailbox_user))
    response = owner.post("/practice/email/mailbox/test", follow_redirects=True)
    assert "Connected: the folder holds 2 messages" in response.get_data(as_text=True)
    assert db.scalar(select(InboundMail.id)) is None and stored(db, world.practice).uidvalidity is None


def test_test_connection_names_a_wrong_password(world, db, as_user, mailbox_user):
    owner = as_user(world.owner)
    owner.post("/practice/email/mailbox", data=local_form(mailbox_user, password="not the password"))
    html = owner.post("/practice/email/mailbox/test", follow_redirects=True).get_data(as_text=True)
    assert "refused the user name or password" in html


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        "CROSSROADS_DATABASE_URL": database_url,
        "CROSSROADS_SECRET_KEY": SECRET,
        "CROSSROADS_SMTP_ALLOW_PRIVATE": "1",
        "CROSSROADS_REDIS_URL": None,
        "CROSSROADS_SMTP_CA_FILE": None,
    }
    env.update(extra)
    return env


def _check_line(output: str, name: str) -> str:
    found = re.search(rf"^(OK|WARN|FAIL) +{re.escape(name)}: (.*)$", output, re.M)
    assert found, output
    return f"{found[1]} {found[2]}"


def test_a_wrong_password_shows_on_the_page_and_in_check_and_mail_from_meanwhile_arrives_after_the_fix(
    world, db, as_user, mailbox_user, database_url, tmp_path
):
    owner = as_user(world.owner)
    owner.post("/practice/email/mailbox", data=local_form(mailbox_user))
    runner = CliRunner()
    env = _env(database_url, CROSSROADS_INSTANCE=str(tmp_path))
    poll = ["inbox", "poll", "--practice", str(world.practice.id)]
    first = runner.invoke(main, poll, env=env)
    assert first.exit_code == 0 and "first connection" in first.output
    # The password is changed on the server; the practice's stored one is now wrong.
    mailbox_user.server.set_password(mailbox_user, "changed on the server")
    mailbox_user.append([reply(1), reply(2), reply(3)])
    failed = runner.invoke(main, poll, env=env)
    assert failed.exit_code == 1 and "refused the user name or password" in failed.output
    html = owner.get("/practice/email").get_data(as_text=True)
    assert 'id="mailbox-error"' in html and "refused the user name or password" in html
    checked = runner.invoke(main, ["check", "--timeout", "5"], env=env)
    line = _check_line(checked.output, "reply mailbox of Northbridge Coaching")
    assert line.startswith("FAIL") and "refused the user name or password" in line and "fail since" in line
    # The owner enters the new password; everything that arrived meanwhile is read.
    owner.post("/practice/email/mailbox", data=local_form(mailbox_user))
    fixed = runner.invoke(main, poll, env=env)
    assert fixed.exit_code == 0 and "3 new, 0 seen before; last UID 3" in fixed.output
    db.expire_all()
    assert db.scalars(select(InboundMail.message_id).order_by(InboundMail.id)).all() == [
        f"<reply-{n}-northbridge@acme.example>" for n in (1, 2, 3)
    ]
    html = owner.get("/practice/email").get_data(as_text=True)
    assert 'id="mailbox-error"' not in html and "Last read" in html
    checked = runner.invoke(main, ["check", "--timeout", "5"], env=env)
    line = _check_line(checked.output, "reply mailbox of Northbridge Coaching")
    assert line.startswith("OK") and "last read" in line


def test_the_worker_polls_every_practices_mailbox_each_minute(world, db, settings, dovecot):
    users = {world.practice.id: dovecot.add_user(), world.stranger_practice.id: dovecot.add_user()}
    for practice_id, user in users.items():
        configure_mailbox(db, practice_id, user, SECRET)
    queue = MailQueue(settings, name="test-inbox")
    queue.huey.immediate = True  # tasks run in place, as a worker thread would run them
    try:
        assert queue.poll_mailboxes() == 2  # first connections
        users[world.practice.id].append([reply(1)])
        users[world.stranger_practice.id].append(
            [reply(1, practice="elsewhere"), reply(2, practice="elsewhere")]
        )
        queue.poll_mailboxes()
    finally:
        queue.close()
    db.expire_all()
    counts = {
        pid: len(db.scalars(select(InboundMail.id).where(InboundMail.practice_id == pid)).all())
        for pid in users
    }
    assert counts == {world.practice.id: 1, world.stranger_practice.id: 2}
    # A periodic task every minute, whatever the minute.
    for minute in (0, 17, 59):
        due = queue.huey.read_periodic(datetime.now().replace(minute=minute))
        assert "inbox" in {task.name for task in due}


def test_inbox_poll_names_a_practice_without_a_mailbox(world, database_url, tmp_path):
    result = CliRunner().invoke(
        main,
        ["inbox", "poll", "--practice", str(world.practice.id)],
        env=_env(database_url, CROSSROADS_INSTANCE=str(tmp_path)),
    )
    assert result.exit_code == 1 and "has no reply mailbox" in result.output
