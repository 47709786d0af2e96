"""CSRF on every form, cookie flags, password storage."""

from __future__ import annotations

import logging
import re

import pytest

from crossroads.core.models import User
from crossroads.testing import PASSWORD
from crossroads.testing.browser import browser_for
from crossroads.testing.sweeps import CSRF_EXEMPT, TOKEN_AUTHORISED, csrf_failures, post_routes
from crossroads.web import create_app


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_every_post_route_refuses_a_request_without_a_csrf_token(csrf_app, world, as_user):
    """Every POST route in the URL map, the plugins' included (found by the kit's sweep, the one a
    plugin's own suite runs): only the machine-posted inbound endpoint is exempt, and the reminder
    links, authorised by their signed token, refuse as invalid links."""
    routes = post_routes(csrf_app)
    assert len(routes) >= 12
    assert {rule.rule for rule in routes} >= TOKEN_AUTHORISED
    assert {"inbound.receive_mail"} == CSRF_EXEMPT
    failures = csrf_failures(csrf_app, as_user(world.owner), world.client, routes)
    assert not failures, "\n".join(failures)


def test_a_form_with_its_token_is_accepted(csrf_app, world, http):
    page = http.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"email": "colin@northbridge.example", "password": PASSWORD, "csrf_token": token}
    # Over HTTPS the token must also come with a same-site Referer, as browsers send.
    assert http.post("/login", data=form).status_code == 400
    response = http.post("/login", data=form, headers={"Referer": "https://localhost/login"})
    assert response.status_code == 302


def test_session_cookie_is_secure_httponly_and_samesite(world, http):
    response = http.post("/login", data={"email": "colin@northbridge.example", "password": PASSWORD})
    cookie = next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_passwords_are_stored_as_argon2id_hashes(world, db, http):
    http.post("/reset", data={"email": "colin@northbridge.example"})
    stored = db.get(User, world.coach.id).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_pages_do_not_render_user_input_as_html(world, db, as_user):
    world.client.user.name = "<script>alert(1)</script>"
    db.commit()
    page = as_user(world.coach).get("/coach/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_behind_a_trusted_proxy_the_client_address_feeds_the_throttle(settings, plugins, world, db):
    from crossroads.core.models import LoginFailure
    from crossroads.web import create_app

    settings.trusted_proxies = 1
    app = create_app(settings, plugins=plugins)
    app.config["WTF_CSRF_ENABLED"] = False
    app.test_client().post(
        "/login",
        data={"email": "colin@northbridge.example", "password": "wrong"},
        headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
    )
    assert db.query(LoginFailure).one().remote_addr == "203.0.113.7"


# -- links come from CROSSROADS_BASE_URL, never from the request's Host ------------------------


def test_reset_and_invitation_links_use_the_base_url_whatever_host_the_request_names(
    world, settings, as_user, http, caplog
):
    caplog.set_level(logging.WARNING)
    evil = {"Host": "evil.example"}
    http.post("/reset", data={"email": "colin@northbridge.example"}, headers=evil)
    reset_link = re.search(r"password reset link for \S+: (\S+)", caplog.text).group(1)
    assert reset_link.startswith(f"{settings.base_url}/reset/")

    coach = as_user(world.coach)
    coach.set_cookie("session", coach.get_cookie("session").value, domain="evil.example")
    response = coach.post("/coach/invite", data={"name": "Nia New", "email": "nia@a.example"}, headers=evil)
    assert response.status_code == 302
    invitation_link = re.search(r"invitation link for \S+: (\S+)", caplog.text).group(1)
    assert invitation_link.startswith(f"{settings.base_url}/invitation/")
    assert "evil.example" not in caplog.text


@pytest.fixture
def public_app(settings, plugins, db):
    """The app as deployed on its public address behind one proxy."""
    settings.base_url = "https://crossroads.example.org"
    settings.trusted_proxies = 1
    app = create_app(settings, plugins=plugins)
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def test_requests_naming_another_host_are_refused_on_a_public_address(public_app, world, caplog):
    caplog.set_level(logging.WARNING)
    http = browser_for(public_app)
    assert http.get("/login", base_url="https://crossroads.example.org").status_code == 200
    assert http.get("/login", base_url="https://evil.example").status_code == 400
    assert http.get("/healthz", base_url="https://10.0.0.5:8000").status_code == 200  # a probe
    forwarded = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    response = http.post("/reset", data={"email": "colin@northbridge.example"}, headers=forwarded)
    assert response.status_code == 400
    assert "reset link" not in caplog.text
    forwarded["X-Forwarded-Host"] = "crossroads.example.org"
    assert (
        http.post("/reset", data={"email": "colin@northbridge.example"}, headers=forwarded).status_code == 302
    )
    assert "https://crossroads.example.org/reset/" in caplog.text


def test_a_base_url_on_this_machine_accepts_any_host_for_serve_on_a_laptop(settings):
    assert settings.trusted_hosts is None  # http://localhost:5000, the default
    settings.base_url = "http://127.0.0.1:8000"
    assert settings.trusted_hosts is None
    settings.base_url = "https://crossroads.example.org:8443/app"
    assert settings.trusted_hosts == ["crossroads.example.org"]
