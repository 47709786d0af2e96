"""The owner's email server page: saving, the password kept encrypted and never shown, a test email."""

from __future__ import annotations

import pytest

from crossroads.core import schemas
from crossroads.core.errors import Forbidden, InvalidInput
from crossroads.core.mail.secrets import SecretKeyMismatch, decrypt, encrypt
from crossroads.core.models import MailSecurity, MessageStatus, OutboxEmail, PracticeMail
from crossroads.core.scoping import Scope
from crossroads.core.services import mail_settings
from crossroads.testing import TEST_SECRET_KEY
from crossroads.web.context import Crossroads

SECRET = TEST_SECRET_KEY  # the settings fixture's key
SMTP_PASSWORD = "hunter2-but-longer"


def form(**changes) -> dict[str, str]:
    values = {
        "host": "smtp.northbridge.example",
        "port": "587",
        "security": "starttls",
        "username": "hello@northbridge.example",
        "password": SMTP_PASSWORD,
        "from_address": "Hello@Northbridge.example",
    }
    values.update(changes)
    return values


def stored(db, practice) -> PracticeMail | None:
    db.expire_all()
    return db.query(PracticeMail).filter_by(practice_id=practice.id).one_or_none()


def test_owner_saves_the_server_and_the_password_is_stored_encrypted(world, db, as_user):
    owner = as_user(world.owner)
    response = owner.post("/practice/email", data=form())
    assert response.status_code == 302 and response.location.endswith("/practice/email")
    mail = stored(db, world.practice)
    assert (mail.host, mail.port, mail.security, mail.username, mail.from_address) == (
        "smtp.northbridge.example",
        587,
        MailSecurity.STARTTLS,
        "hello@northbridge.example",
        "hello@northbridge.example",
    )
    assert SMTP_PASSWORD not in mail.password_encrypted
    assert decrypt(SECRET, mail.password_encrypted) == SMTP_PASSWORD

    page = owner.get("/practice/email")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "smtp.northbridge.example" in html and "A password is stored" in html
    assert SMTP_PASSWORD not in html and mail.password_encrypted not in html


def test_a_blank_password_keeps_the_stored_one(world, db, as_user):
    owner = as_user(world.owner)
    owner.post("/practice/email", data=form())
    token = stored(db, world.practice).password_encrypted
    response = owner.post("/practice/email", data=form(password="", port="2525"))
    assert response.status_code == 302
    mail = stored(db, world.practice)
    assert mail.port == 2525 and mail.password_encrypted == token


def test_the_password_is_only_readable_with_the_same_secret_key():
    token = encrypt(SECRET, SMTP_PASSWORD)
    assert token != encrypt(SECRET, SMTP_PASSWORD)  # a fresh token every time
    with pytest.raises(SecretKeyMismatch, match="Enter the password again"):
        decrypt("another-secret-key", token)


@pytest.mark.parametrize("who", ["coach", "client"])
def test_coaches_and_clients_do_not_find_the_page(world, db, as_user, who):
    user = world.coach if who == "coach" else world.client.user
    browser = as_user(user)
    assert browser.get("/practice/email").status_code == 404
    assert browser.post("/practice/email", data=form()).status_code == 404
    assert browser.post("/practice/email/test").status_code == 404
    assert stored(db, world.practice) is None
    assert db.query(OutboxEmail).count() == 0


def test_the_service_refuses_anyone_but_the_owner(world, db):
    with pytest.raises(Forbidden):
        mail_settings.mail_settings(Scope(db, world.coach))
    with pytest.raises(Forbidden):
        mail_settings.save_mail_settings(
            Scope(db, world.coach),
            {
                "host": "x",
                "port": 25,
                "security": MailSecurity.NONE,
                "username": "",
                "password": "",
                "from_address": "a@b.example",
            },
            SECRET,
        )


@pytest.mark.parametrize(
    ("port", "message"),
    [("70000", "Give a port from 1 to 65535"), ("0", "Give a port from 1 to 65535"), ("smtp", "port number")],
)
def test_a_bad_port_is_named_and_what_was_typed_is_kept(world, db, as_user, port, message):
    response = as_user(world.owner).post(
        "/practice/email", data=form(port=port, host="mail.typed.example", username="typed-user")
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="port-error"' in html and message in html
    assert 'value="mail.typed.example"' in html and 'value="typed-user"' in html
    assert f'value="{port}"' in html
    assert SMTP_PASSWORD not in html  # a password is never written back into the page
    assert stored(db, world.practice) is None


def test_missing_host_and_bad_address_are_named(world, as_user):
    data = form(host=" ", from_address="not-an-address")
    response = as_user(world.owner).post("/practice/email", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="host-error"' in html and 'id="from_address-error"' in html


def test_the_settings_page_links_to_the_email_page(world, as_user):
    html = as_user(world.owner).get("/practice/").get_data(as_text=True)
    assert 'href="/practice/email"' in html


def test_each_practice_has_its_own_server(world, db, as_user):
    as_user(world.owner).post("/practice/email", data=form())
    html = as_user(world.stranger_owner).get("/practice/email").get_data(as_text=True)
    assert "smtp.northbridge.example" not in html
    assert stored(db, world.stranger_practice) is None


def test_a_test_email_needs_a_server_first(world, db, as_user):
    response = as_user(world.owner).post("/practice/email/test", follow_redirects=True)
    assert "Save the email server" in response.get_data(as_text=True)
    assert db.query(OutboxEmail).count() == 0


def test_the_owner_sends_a_test_email_through_the_saved_server(world, db, as_user, app, smtp_server):
    owner = as_user(world.owner)
    settings = form(host=smtp_server.host, port=str(smtp_server.port), security="none", username="")
    assert owner.post("/practice/email", data=settings).status_code == 302

    response = owner.post("/practice/email/test", follow_redirects=True)
    assert "on its way to olivia@northbridge.example" in response.get_data(as_text=True)
    email = db.query(OutboxEmail).one()
    assert email.status == MessageStatus.QUEUED
    assert (email.to_address, email.client_id) == ("olivia@northbridge.example", None)

    queue = app.extensions["crossroads"].queue
    assert isinstance(app.extensions["crossroads"], Crossroads)
    try:
        assert queue.sweep_now() == 1
    finally:
        queue.close()
    [received] = smtp_server.handler.accepted
    message = received.message
    assert message["To"].addresses[0].addr_spec == "olivia@northbridge.example"
    assert message["From"].addresses[0].display_name == "Olivia Owner via Northbridge Coaching"
    assert message["From"].addresses[0].addr_spec == "hello@northbridge.example"
    html = owner.get("/practice/email").get_data(as_text=True)
    assert "Last test email" in html and "<strong>Sent</strong>" in html


# -- where the server may be, and what it may see ------------------------------------------------


PRIVATE_HOSTS = ["127.0.0.1", "localhost", "10.1.2.3", "192.168.0.10", "169.254.169.254", "[::1]"]


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
def test_a_server_on_a_loopback_private_or_link_local_address_is_refused(world, db, as_user, settings, host):
    settings.smtp_allow_private = False  # as in production, unless the administrator allows it
    response = as_user(world.owner).post("/practice/email", data=form(host=host, port="25"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="host-error"' in html and "private" in html and "CROSSROADS_SMTP_ALLOW_PRIVATE" in html
    assert stored(db, world.practice) is None


def test_a_private_address_is_accepted_where_the_deployment_allows_it(world, db, as_user, settings):
    settings.smtp_allow_private = True
    response = as_user(world.owner).post("/practice/email", data=form(host="127.0.0.1", port="25"))
    assert response.status_code == 302
    assert stored(db, world.practice).host == "127.0.0.1"


def test_a_password_is_refused_on_a_connection_without_tls_naming_the_security_field(world, db, as_user):
    response = as_user(world.owner).post("/practice/email", data=form(security="none"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="security-error"' in html and "STARTTLS or TLS" in html
    assert stored(db, world.practice) is None


def test_the_page_never_repeats_what_a_service_that_is_not_an_email_server_said(
    world, db, as_user, app, banner_server
):
    owner = as_user(world.owner)
    data = form(host=banner_server.host, port=str(banner_server.port), security="none", username="")
    assert owner.post("/practice/email", data=data).status_code == 302
    owner.post("/practice/email/test")
    queue = app.extensions["crossroads"].queue
    try:
        assert queue.sweep_now() == 1
    finally:
        queue.close()
    assert db.query(OutboxEmail).one().status == MessageStatus.FAILED
    html = owner.get("/practice/email").get_data(as_text=True)
    assert "that server did not answer as an email server" in html
    assert "SSH-2.0" not in html and "secret-banner" not in html and "internal-build-host" not in html


# -- names and subjects that go into headers -----------------------------------------------------

PW = "a long enough password"
USER = {"practice_id": 1, "email": "o@x.org", "role": "coach", "password": PW}
OWNER = {"owner_email": "o@x.org", "owner_password": PW, "name": "Northbridge"}


@pytest.mark.parametrize(
    ("schema", "field", "data"),
    [
        (schemas.ContactSchema, "name", {}),
        (schemas.InviteClientSchema, "name", {"email": "priya@example.org"}),
        (schemas.InviteCoachSchema, "name", {"email": "priya@example.org"}),
        (schemas.ProfileSchema, "name", {"timezone": "Europe/London"}),
        (schemas.PracticeSettingsSchema, "name", {"timezone": "Europe/London"}),
        (schemas.CreatePracticeSchema, "owner_name", OWNER),
        (schemas.CreateUserSchema, "name", USER),
    ],
)
@pytest.mark.parametrize(
    "name", ["Priya <ceo@bank.example>", "Shah, Priya", 'Priya "CEO"', "Priya; Bcc", "Priya\tShah", "P" * 201]
)
def test_a_name_that_could_read_as_an_address_is_refused_naming_the_field(schema, field, data, name):
    with pytest.raises(InvalidInput) as refused:
        schemas.load(schema(), {**data, field: name})
    assert list(refused.value.errors) == [field]


def test_a_contact_added_with_an_address_in_the_name_is_refused_on_the_page(world, db, as_user):
    response = as_user(world.client.user).post(
        f"/clients/{world.client.id}/contacts", data={"name": "Priya <ceo@bank.example> Chief"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="name-error"' in html and "A name cannot contain" in html


def test_names_and_addresses_in_other_scripts_are_accepted():
    data = schemas.load(schemas.ContactSchema(), {"name": "Łukasz Nowak-Żak", "email": "łukasz@example.org"})
    assert (data["name"], data["email"]) == ("Łukasz Nowak-Żak", "łukasz@example.org")
    invite = schemas.load(schemas.InviteClientSchema(), {"name": "Zoë O'Neil", "email": "zoë@bücher.example"})
    assert invite["email"] == "zoë@bücher.example"


@pytest.mark.parametrize("subject", ["Coffee?\r\nBcc: a@b.example", "Coffee?\nnext", "Coffee?\rnext"])
def test_a_line_break_in_an_outreach_subject_is_refused_naming_the_field(subject):
    data = {"channel": "email", "kind": "first_request", "subject": subject, "body": "Hello"}
    with pytest.raises(InvalidInput) as refused:
        schemas.load(schemas.OutreachSchema(), data)
    assert list(refused.value.errors) == ["subject"]
