"""The demo shows email working: ``serve --demo``'s mail catcher, its Sent mail page, and the contact
who answers. Real parts: the catcher is a real SMTP server, the outbox is delivered by the queue's
own delivery, and ``serve`` runs as a real process where it matters."""

from __future__ import annotations

import html
import os
import re
import signal
import smtplib
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import timedelta
from email.message import EmailMessage
from http.cookiejar import CookieJar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crossroads.core.db import make_engine, make_sessionmaker, utcnow
from crossroads.core.demo import ANSWERING_CONTACT, CLIENT_EMAIL, COACH_EMAIL, OWNER_EMAIL, load_demo
from crossroads.core.demo_mail import (
    ANSWERING_DOMAIN,
    DEMO_REPLY_ADDRESS,
    record,
    remind_now,
    start_catcher,
)
from crossroads.core.inbox.receive import parse
from crossroads.core.models import (
    Client,
    ClientStatus,
    Contact,
    DemoMail,
    InboundMail,
    MailSecurity,
    MessageStatus,
    Notification,
    NotificationKind,
    OutboxEmail,
    OutreachMessage,
    PracticeMail,
    Stage,
    User,
)
from crossroads.testing.browser import browser_for
from crossroads.web import create_app
from tests.mailserver import configure_mail
from tests.processes import STOP_SECONDS, start_crossroads


@pytest.fixture
def demo(db):
    """The demo practice, loaded as ``serve --demo`` loads it."""
    return load_demo(db)


@pytest.fixture
def demo_app(settings, plugins, demo, db):
    """The app as ``serve --demo`` builds it: in demo mode for the demo practice."""
    settings.demo_practice_id = demo.id
    app = create_app(settings, plugins=plugins)
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def catcher(demo_app, demo):
    """The mail catcher, started as ``serve --demo`` starts it (with the worker's sessions),
    answering without delay."""
    running = start_catcher(demo_app.extensions["crossroads"].queue.session, demo.id, reply_delay=0)
    yield running
    running.stop()


def user(db, email: str) -> User:
    return db.scalar(select(User).where(User.email == email))


def send_first_request(db, app, contact: Contact) -> OutreachMessage:
    """The client writes a first request to ``contact`` by email through the real form."""
    browser = browser_for(app, contact.client.user)
    response = browser.post(
        f"/contacts/{contact.id}/write",
        data={
            "channel": "email",
            "kind": "first_request",
            "subject": "A question about technical writing",
            "body": f"Dear {contact.name.split()[0]},\n\nWould you have 20 minutes for a call?\n\nPriya",
        },
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    db.expire_all()
    return db.scalars(
        select(OutreachMessage).where(OutreachMessage.contact_id == contact.id).order_by(OutreachMessage.id)
    ).all()[-1]


def test_the_catcher_points_the_demo_practice_at_itself_on_a_free_local_port(db, demo, catcher):
    settings = db.scalar(select(PracticeMail).where(PracticeMail.practice_id == demo.id))
    assert (settings.host, settings.port) == ("127.0.0.1", catcher.port)
    assert settings.security == MailSecurity.NONE and not settings.username
    with smtplib.SMTP(catcher.host, catcher.port, timeout=5) as smtp:
        assert smtp.noop()[0] == 250


def test_a_first_request_is_delivered_shown_as_received_and_answered_through_the_reply_path(
    db, demo, catcher, demo_app
):
    rosa = db.scalar(select(Contact).where(Contact.name == ANSWERING_CONTACT))
    assert rosa.email.endswith(f"@{ANSWERING_DOMAIN}") and rosa.client.email == CLIENT_EMAIL
    message = send_first_request(db, demo_app, rosa)
    assert message.status == MessageStatus.QUEUED

    queue = demo_app.extensions["crossroads"].queue
    assert queue.sweep_now() >= 1  # the worker's own delivery, over SMTP to the catcher
    db.expire_all()
    assert db.get(OutreachMessage, message.id).status == MessageStatus.SENT

    # Rosa may already have answered (the catcher answers at once here): find the request itself.
    [caught] = db.scalars(
        select(DemoMail).where(DemoMail.practice_id == demo.id, DemoMail.rcpt_tos == rosa.email)
    ).all()
    assert caught.message_id == message.outbox.message_id
    assert caught.party_client_id == rosa.client_id

    owner = browser_for(demo_app, user(db, OWNER_EMAIL))
    listing = owner.page("/demo/mail/")
    assert "A question about technical writing" in listing.html and f"/demo/mail/{caught.id}" in listing.html
    shown = owner.page(f"/demo/mail/{caught.id}").html
    assert f"Message-ID: {message.outbox.message_id}" in shown.replace("&lt;", "<").replace("&gt;", ">")
    plus_address = DEMO_REPLY_ADDRESS.replace("@", f"+{message.reply_token}@")
    assert f"Reply-To: {plus_address}" in shown and "Would you have 20 minutes for a call?" in shown
    assert f"<h1>{caught.subject}</h1>" in shown

    catcher.wait_for_answers()  # Rosa answers through core.inbox.receive (record, then process)
    db.expire_all()
    [inbound] = db.scalars(select(InboundMail).where(InboundMail.practice_id == demo.id)).all()
    assert inbound.source == "post" and rosa.email in inbound.from_address
    assert inbound.reason == "Matched by reply address." and inbound.outreach_message_id == message.id
    reply = parse(inbound.raw)
    assert reply["In-Reply-To"] == message.outbox.message_id
    assert message.outbox.message_id in reply["References"]
    assert reply["To"].addresses[0].addr_spec == plus_address
    assert str(reply["Subject"]) == "Re: A question about technical writing"
    assert "Hi Priya" in reply.get_body(("plain",)).get_content()


def notified(db, email: str, kind: NotificationKind) -> list[str]:
    """The texts of ``email``'s notifications of ``kind``."""
    return list(
        db.scalars(
            select(Notification.text)
            .join(User, Notification.user_id == User.id)
            .where(User.email == email, Notification.kind == kind)
        )
    )


def test_the_demo_reply_moves_rosa_to_replied_notifies_priya_and_her_coach_and_copies_it_to_priya(
    db, demo, catcher, demo_app
):
    rosa = db.scalar(select(Contact).where(Contact.name == ANSWERING_CONTACT))
    coach_email = rosa.client.coach.email
    message = send_first_request(db, demo_app, rosa)
    queue = demo_app.extensions["crossroads"].queue
    queue.sweep_now()
    catcher.wait_for_answers()  # here Rosa answers at once, so there is no "before" to look at
    db.expire_all()
    assert db.get(Contact, rosa.id).stage == Stage.REPLIED
    assert db.get(OutreachMessage, message.id).replied_at is not None
    assert notified(db, CLIENT_EMAIL, NotificationKind.REPLY) == [
        f"{ANSWERING_CONTACT} replied to your first request."
    ]
    assert notified(db, coach_email, NotificationKind.REPLY) == [
        f"Priya Raman: {ANSWERING_CONTACT} replied to their first request."
    ]
    queue.sweep_now()  # the client's copy and the coach's notice, over SMTP to the catcher
    subjects = {
        (mail.rcpt_tos, mail.subject)
        for mail in db.scalars(select(DemoMail).where(DemoMail.practice_id == demo.id))
    }
    assert (CLIENT_EMAIL, f"{ANSWERING_CONTACT} replied: Re: A question about technical writing") in subjects
    assert (coach_email, "A contact replied: Priya Raman") in subjects


def test_the_demo_practice_gets_a_plus_addressed_reply_address_once_and_keeps_the_owners_own(db, demo):
    from crossroads.core.demo_mail import point_practice_at

    settings = point_practice_at(db, demo.id, "127.0.0.1", 2525)
    assert (settings.reply_address, settings.plus_addressing) == (DEMO_REPLY_ADDRESS, True)
    settings.reply_address, settings.plus_addressing = "answers@northbridge.example", False
    db.commit()
    settings = point_practice_at(db, demo.id, "127.0.0.1", 2526)
    assert (settings.reply_address, settings.plus_addressing, settings.port) == (
        "answers@northbridge.example",
        False,
        2526,
    )


def test_remind_now_sends_the_demo_clients_with_something_due_todays_reminder_once(
    db, demo, catcher, demo_app, world, smtp_server
):
    configure_mail(db, world.practice.id, smtp_server)  # another practice, whose clients are not touched
    make_due(db, world.client)
    world.client.reminder_hour = 0  # their hour has come: only the demo's run leaves them out
    db.commit()
    now = utcnow()
    demo_clients = db.scalars(select(Client).where(Client.practice_id == demo.id)).all()
    hours_before = {c.id: c.reminder_hour for c in demo_clients}

    sent = remind_now(db, demo.id, now, demo_app.config["SECRET_KEY"], "http://localhost:5000")

    db.expire_all()
    reminded = {c.id for c in db.scalars(select(Client).where(Client.last_reminded_on.is_not(None)))}
    priya = db.scalar(select(User).where(User.email == CLIENT_EMAIL)).client
    kenji = db.scalar(select(User).where(User.email == "kenji@northbridge.example")).client
    assert sent >= 1 and priya.id in reminded and kenji.status == ClientStatus.PAUSED
    assert kenji.id not in reminded and world.client.id not in reminded
    for client in db.scalars(select(Client).where(Client.practice_id == demo.id)):
        local_hour = now.astimezone(ZoneInfo(client.timezone)).hour
        assert client.reminder_hour in {hours_before[client.id], local_hour}  # only ever brought to now
    assert priya.reminder_hour <= now.astimezone(ZoneInfo(priya.timezone)).hour

    demo_app.extensions["crossroads"].queue.sweep_now()  # to the catcher: the Sent mail page shows it
    [caught] = db.scalars(
        select(DemoMail).where(
            DemoMail.rcpt_tos == CLIENT_EMAIL, DemoMail.subject.startswith("Crossroads today")
        )
    ).all()
    assert "Send a polite follow-up" in parse(caught.raw).get_body(("plain",)).get_content()
    client_view = browser_for(demo_app, user(db, CLIENT_EMAIL)).page("/demo/mail/").html
    assert f'href="/demo/mail/{caught.id}"' in client_view
    assert smtp_server.received == []

    # Started again the same day: the day is taken, nobody gets a second one. (At the same moment:
    # a few minutes later could be another client's reminder hour, which is no second reminder.)
    assert remind_now(db, demo.id, now, demo_app.config["SECRET_KEY"], "http://x") == 0
    assert (
        db.scalar(
            select(func.count())
            .select_from(OutboxEmail)
            .where(OutboxEmail.subject.startswith("Crossroads today"))
        )
        == sent
    )


def make_due(db, client: Client) -> Contact:
    """A contact of ``client`` asked three weeks ago and never answered: a follow-up is due."""
    from crossroads.testing import make_contact

    contact = make_contact(
        db,
        client,
        "Long Silent",
        "Acme",
        stage=Stage.REQUESTED,
        stage_changed_at=utcnow() - timedelta(days=21),
    )
    db.commit()
    return contact


def test_only_a_first_request_to_an_answering_address_is_answered(db, demo, catcher, demo_app):
    other = db.scalar(
        select(Contact).where(
            Contact.client_id
            == db.scalar(select(Contact.client_id).where(Contact.name == ANSWERING_CONTACT)),
            Contact.email != "",
            ~Contact.email.endswith(ANSWERING_DOMAIN),
        )
    )
    if other is None:  # give a contact an ordinary address
        other = db.scalar(select(Contact).where(Contact.name != ANSWERING_CONTACT, Contact.email == ""))
        other.email = "someone@example.org"
        db.commit()
    send_first_request(db, demo_app, other)
    demo_app.extensions["crossroads"].queue.sweep_now()
    catcher.wait_for_answers()
    assert db.scalar(select(DemoMail.rcpt_tos)) == other.email
    assert db.scalars(select(InboundMail)).all() == []


def _message(to: str, reply_to: str = "", subject: str = "Hello", html: str = "") -> bytes:
    message = EmailMessage()
    message["From"] = "Northbridge <hello@northbridge.example>"
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@northbridge.example>"
    message.set_content("Plain words.")
    if html:
        message.add_alternative(html, subtype="html")
    return bytes(message)


def test_staff_see_the_practices_mail_and_a_client_only_mail_to_or_from_them(db, demo, demo_app):
    daniel = "daniel@northbridge.example"
    rows = {
        "to priya": record(db, demo.id, "hello@northbridge.example", [CLIENT_EMAIL], _message(CLIENT_EMAIL)),
        "from priya": record(
            db, demo.id, "x@northbridge.example", ["a@example.org"], _message("a@example.org", CLIENT_EMAIL)
        ),
        "from daniel": record(
            db, demo.id, "x@northbridge.example", ["b@example.org"], _message("b@example.org", daniel)
        ),
        "to the coach": record(db, demo.id, "x@northbridge.example", [COACH_EMAIL], _message(COACH_EMAIL)),
    }
    db.commit()
    ids = {name: row.id for name, row in rows.items()}

    def listed(email: str) -> set[str]:
        text = browser_for(demo_app, user(db, email)).page("/demo/mail/").html
        return {name for name, mail_id in ids.items() if f'href="/demo/mail/{mail_id}"' in text}

    assert listed(OWNER_EMAIL) == listed(COACH_EMAIL) == set(ids)
    assert listed(CLIENT_EMAIL) == {"to priya", "from priya"}
    priya = browser_for(demo_app, user(db, CLIENT_EMAIL))
    assert priya.get(f"/demo/mail/{ids['from priya']}").status_code == 200
    for name in ("from daniel", "to the coach"):
        assert priya.get(f"/demo/mail/{ids[name]}").status_code == 404


def test_html_parts_and_headers_are_shown_as_escaped_text_never_rendered(db, demo, demo_app):
    html = '<p onclick="x()">Hi</p><script>alert("caught")</script>'
    raw = _message(OWNER_EMAIL, subject="<b>bold</b> subject", html=html)
    mail = record(db, demo.id, "hello@northbridge.example", [OWNER_EMAIL], raw)
    db.commit()
    page = browser_for(demo_app, user(db, OWNER_EMAIL)).page(f"/demo/mail/{mail.id}").html
    assert "<script>alert" not in page and "<b>bold</b>" not in page and '<p onclick="x()">' not in page
    assert "&lt;script&gt;alert(" in page and "&lt;p onclick=" in page
    assert "text/html" in page and "HTML is shown as its source" in page
    assert "&lt;b&gt;bold&lt;/b&gt; subject" in page


def test_the_sent_mail_menu_item_is_there_in_the_demo_for_its_users(db, demo, demo_app):
    for email in (OWNER_EMAIL, COACH_EMAIL, CLIENT_EMAIL):
        assert 'href="/demo/mail/"' in browser_for(demo_app, user(db, email)).page("/account").html


def test_outside_demo_mode_there_is_no_sent_mail_page_or_menu_item(db, demo, app):
    assert not [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/demo")]
    owner = browser_for(app, user(db, OWNER_EMAIL))
    assert owner.get("/demo/mail/").status_code == 404
    assert "/demo/mail/" not in owner.page("/account").html


def test_in_demo_mode_another_practices_users_have_no_sent_mail_page(world, demo_app):
    browser = browser_for(demo_app, world.owner)
    assert browser.get("/demo/mail/").status_code == 404
    assert "/demo/mail/" not in browser.page("/account").html


# -- `crossroads serve`, as a real process --------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening_ports(pid: int) -> set[int]:
    """The TCP ports process ``pid`` listens on (from /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _serve(tmp_path, *args: str, **environment: str) -> tuple[subprocess.Popen, int, str]:
    """Start ``crossroads serve`` on a fresh instance (with ``environment`` as CROSSROADS_ variables);
    return it when /login answers, with its output."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSROADS_")}
    env["CROSSROADS_INSTANCE"] = str(tmp_path / "instance")
    env.update({f"CROSSROADS_{name.upper()}": value for name, value in environment.items()})
    process = start_crossroads(["serve", "--port", str(port), *args], env, text=True)
    output = ""
    deadline = time.monotonic() + 60
    while "Crossroads is running" not in output or ("--demo" in args and "Try it:" not in output):
        assert time.monotonic() < deadline and process.poll() is None, output
        output += process.stdout.readline()
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login").close()
            return process, port, output
        except OSError:
            time.sleep(0.05)
    process.kill()
    pytest.fail(f"the server never answered\n{output}")


def _status(url: str) -> int:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(url) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_serve_demo_runs_a_catcher_on_the_port_it_prints_and_stops_it_on_ctrl_c(tmp_path):
    process, port, output = _serve(tmp_path, "--demo")
    try:
        line = next(line for line in output.splitlines() if "mail catcher on 127.0.0.1:" in line)
        catcher_port = int(line.split("127.0.0.1:")[1].split()[0])
        assert catcher_port in _listening_ports(process.pid)
        with smtplib.SMTP("127.0.0.1", catcher_port, timeout=5) as smtp:
            assert smtp.ehlo()[0] == 250
        assert f"http://localhost:{port}/demo/mail/" in output and ANSWERING_CONTACT in output
        assert _status(f"http://127.0.0.1:{port}/demo/mail/") == 302  # there, behind the sign-in
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(STOP_SECONDS)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", catcher_port), timeout=2):
        pass


class Visitor:
    """A browser without JavaScript over real HTTP: cookies kept, forms sent with their hidden fields."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def submit(self, path: str, action: str, **fields: str) -> str:
        """Open ``path``, and send its form posting to ``action`` with ``fields`` filled in."""
        page = self.get(path)
        form = page[page.index(f'action="{action}"') :]
        form = form[: form.index("</form>")]
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
        data = urllib.parse.urlencode({**{k: html.unescape(v) for k, v in hidden.items()}, **fields}).encode()
        with self.opener.open(self.base + action, data=data, timeout=30) as response:
            return response.read().decode()


def _wait_for(check, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"{what} did not happen within {timeout} seconds")


def test_serve_demo_end_to_end_rosa_answers_at_once_is_replied_both_are_notified_and_reminders_went(
    tmp_path,
):
    process, port, output = _serve(tmp_path, "--demo", demo_reply_seconds="0", secure_cookies="0")
    database = make_engine(f"sqlite:///{tmp_path / 'instance' / 'crossroads.sqlite3'}")
    try:
        output += process.stdout.readline()  # the line after "Try it:"
        assert "Daily reminders:" in output and "sent today's reminder email" in output
        with make_sessionmaker(database)() as session:
            # At the start: today's reminder reached the catcher, so Sent mail shows it.
            _wait_for(
                lambda: session.scalar(
                    select(DemoMail.id).where(
                        DemoMail.rcpt_tos == CLIENT_EMAIL, DemoMail.subject.startswith("Crossroads today")
                    )
                ),
                "the reminder's delivery to the catcher",
            )
            rosa = session.scalar(select(Contact).where(Contact.name == ANSWERING_CONTACT))
            coach_email = rosa.client.coach.email

        priya = Visitor(f"http://127.0.0.1:{port}")
        home = priya.submit("/login", "/login", email=CLIENT_EMAIL, password="crossroads-demo")
        assert 'Notifications <span class="nav-count">(2' in home  # a comment and a suggestion
        sent = priya.submit(
            f"/contacts/{rosa.id}/write?channel=email&kind=first_request",
            f"/contacts/{rosa.id}/write",
            subject="A question about technical writing",
            body="Dear Rosa,\n\nWould you have 20 minutes for a call?\n\nPriya",
        )
        assert "is on its way" in sent

        def replied() -> bool:
            with make_sessionmaker(database)() as session:
                return session.scalar(select(Contact.stage).where(Contact.id == rosa.id)) == Stage.REPLIED

        _wait_for(replied, "Rosa's answer moving her to Replied")
        with make_sessionmaker(database)() as session:
            assert notified(session, CLIENT_EMAIL, NotificationKind.REPLY) == [
                f"{ANSWERING_CONTACT} replied to your first request."
            ]
            assert notified(session, coach_email, NotificationKind.REPLY) == [
                f"Priya Raman: {ANSWERING_CONTACT} replied to their first request."
            ]
        assert 'Notifications <span class="nav-count">(3' in priya.get("/me/")
        # The worker delivers the client's copy at once (the catcher's sessions wake it).
        _wait_for(
            lambda: "replied: Re: A question about technical writing" in priya.get("/demo/mail/"),
            "the client's copy of the answer on Sent mail",
            timeout=30,
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(STOP_SECONDS)
        database.dispose()


def test_serve_without_demo_starts_no_catcher_and_has_no_sent_mail_page(tmp_path):
    process, port, output = _serve(tmp_path)
    try:
        assert "catcher" not in output.lower()
        assert _listening_ports(process.pid) == {port}
        assert _status(f"http://127.0.0.1:{port}/demo/mail/") == 404
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(STOP_SECONDS)


def test_the_sent_mail_pages_are_valid_html(db, demo, demo_app, tmp_path):
    import json

    from tests.test_markup import VNU_JAR, checker_is_out_of_date

    html = '<p>Hi</p><script>alert("caught")</script>'
    mail = record(db, demo.id, "hello@northbridge.example", [OWNER_EMAIL], _message(OWNER_EMAIL, html=html))
    db.commit()
    owner = browser_for(demo_app, user(db, OWNER_EMAIL))
    pages = tmp_path / "pages"
    pages.mkdir()
    for name, url in (("index", "/demo/mail/"), ("show", f"/demo/mail/{mail.id}")):
        (pages / f"{name}.html").write_text(owner.page(url).html)
    result = subprocess.run(
        ["java", "-jar", str(VNU_JAR), "--errors-only", "--format", "json", str(pages)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    messages = json.loads(result.stderr or result.stdout)["messages"]
    assert [m for m in messages if not checker_is_out_of_date(m)] == []
