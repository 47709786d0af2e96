"""Signing in and out: credentials, throttling, session rotation, and password changes."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest

from crossroads.core.db import make_sessionmaker, utcnow
from crossroads.core.errors import InvalidInput, TooManyAttempts
from crossroads.core.models import LoginFailure
from crossroads.core.services import accounts
from crossroads.testing import PASSWORD
from crossroads.testing.browser import browser_for


def sign_in(http, email: str, password: str = PASSWORD, **extra):
    return http.post("/login", data={"email": email, "password": password, **extra})


def test_coach_signs_in_and_lands_on_caseload(world, http):
    response = sign_in(http, "colin@northbridge.example")
    assert response.status_code == 302
    assert response.location.endswith("/coach/")
    assert b"Clara Client" in http.get("/coach/").data


def test_client_signs_in_and_lands_on_own_workspace(world, http):
    response = sign_in(http, "  CLARA@Client.example ")  # case and spaces do not matter
    assert response.location.endswith("/me/")
    assert b"Hello, Clara Client" in http.get("/me/").data


def test_wrong_password_names_the_field_and_keeps_the_email(world, http):
    response = sign_in(http, "colin@northbridge.example", "not the password")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "That email and password do not match an account." in page
    assert 'value="colin@northbridge.example"' in page
    assert "not the password" not in page  # a password is never echoed back


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(world, http):
    response = sign_in(http, "nobody@a.example")
    assert response.status_code == 422
    assert "That email and password do not match an account." in response.get_data(as_text=True)


def test_invalid_email_is_reported_on_the_email_field(world, http):
    response = sign_in(http, "not-an-email")
    assert response.status_code == 422
    assert 'id="email-error"' in response.get_data(as_text=True)


def test_invited_user_without_password_cannot_sign_in(world, db, http):
    world.client.user.password_hash = None
    db.commit()
    assert sign_in(http, "clara@client.example").status_code == 422


def test_deactivated_user_cannot_sign_in_and_loses_open_sessions(world, db, as_user):
    browser = as_user(world.coach)
    assert browser.get("/coach/").status_code == 200
    world.coach.is_active = False
    db.commit()
    assert browser.get("/coach/").status_code == 302  # to the login page
    with pytest.raises(InvalidInput):
        accounts.authenticate(db, "colin@northbridge.example", PASSWORD)


def test_login_is_throttled_after_five_failures_even_with_the_right_password(world, http):
    for _ in range(accounts.MAX_FAILURES_PER_EMAIL):
        assert sign_in(http, "colin@northbridge.example", "wrong").status_code == 422
    response = sign_in(http, "colin@northbridge.example")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in response.get_data(as_text=True)


def test_throttle_lifts_after_the_window(world, db):
    start = utcnow()
    for _ in range(accounts.MAX_FAILURES_PER_EMAIL):
        with pytest.raises(InvalidInput):
            accounts.authenticate(db, "colin@northbridge.example", "wrong", now=start)
    with pytest.raises(TooManyAttempts):
        accounts.authenticate(db, "colin@northbridge.example", PASSWORD, now=start + timedelta(minutes=5))
    later = start + accounts.THROTTLE_WINDOW + timedelta(seconds=1)
    assert accounts.authenticate(db, "colin@northbridge.example", PASSWORD, now=later).id == world.coach.id


def test_parallel_wrong_passwords_reach_the_password_check_at_most_five_times(world, engine, monkeypatch):
    checks = []
    real_verify = accounts.verify_password

    def counting_verify(password_hash, password):
        checks.append(password)
        return real_verify(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", counting_verify)
    attempts = 25
    start = threading.Barrier(attempts)
    outcomes = []

    def guess(n: int) -> None:
        with make_sessionmaker(engine)() as session:
            start.wait()
            try:
                accounts.authenticate(
                    session, "colin@northbridge.example", f"guess {n}", remote_addr=f"203.0.113.{n}"
                )
            except (InvalidInput, TooManyAttempts) as exc:
                outcomes.append(type(exc))

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(outcomes) == attempts
    assert len(checks) <= accounts.MAX_FAILURES_PER_EMAIL
    assert outcomes.count(TooManyAttempts) >= attempts - accounts.MAX_FAILURES_PER_EMAIL


def test_a_strangers_failures_on_other_emails_never_block_a_correct_password(world, db, http, caplog):
    caplog.set_level(logging.WARNING)
    http.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for i in range(accounts.MAX_FAILURES_PER_ADDRESS + 1):
        assert sign_in(http, f"guess{i}@a.example", "wrong").status_code == 422
    assert "31 failed sign-ins from 203.0.113.9" not in caplog.text
    assert "30 failed sign-ins from 203.0.113.9" in caplog.text  # the operator hears of it

    # Behind a proxy that is everyone's address: a correct password still signs in.
    assert sign_in(http, "colin@northbridge.example").status_code == 302


def test_a_strangers_failures_never_lock_the_owner_out_of_the_browser_they_signed_in_with(world, app):
    owner, stranger = browser_for(app), browser_for(app)
    assert sign_in(owner, "colin@northbridge.example").status_code == 302  # this browser becomes known
    owner.post("/logout")

    for _ in range(accounts.MAX_FAILURES_PER_EMAIL):
        assert sign_in(stranger, "colin@northbridge.example", "wrong").status_code == 422
    assert (
        sign_in(stranger, "colin@northbridge.example").status_code == 429
    )  # locked, even the right password

    assert sign_in(owner, "colin@northbridge.example").status_code == 302
    # The owner's success does not reset the stranger's count.
    assert sign_in(stranger, "colin@northbridge.example", "wrong").status_code == 429


def test_a_device_cookie_of_another_account_or_forged_counts_as_a_stranger(world, app):
    owner = browser_for(app)
    assert sign_in(owner, "colin@northbridge.example").status_code == 302
    owner.post("/logout")
    for _ in range(accounts.MAX_FAILURES_PER_EMAIL):
        assert sign_in(browser_for(app), "olivia@northbridge.example", "wrong").status_code == 422
    # Known to the coach's account only: for the owner's account this browser is a stranger.
    assert sign_in(owner, "olivia@northbridge.example", "wrong").status_code == 429
    forged = browser_for(app)
    forged.set_cookie("crossroads_device", "eyJhIjoiZm9yZ2VkIn0.forged", domain="localhost")
    assert sign_in(forged, "olivia@northbridge.example", "wrong").status_code == 429


def test_an_unknown_email_is_throttled_like_a_known_one(world, http):
    for email in ("colin@northbridge.example", "nobody@a.example"):
        for _ in range(accounts.MAX_FAILURES_PER_EMAIL):
            assert sign_in(http, email, "wrong").status_code == 422
        assert sign_in(http, email, "wrong").status_code == 429


def test_successful_sign_in_clears_earlier_failures(world, db):
    for _ in range(3):
        with pytest.raises(InvalidInput):
            accounts.authenticate(db, "colin@northbridge.example", "wrong")
    accounts.authenticate(db, "colin@northbridge.example", PASSWORD)
    assert db.query(LoginFailure).filter_by(email="colin@northbridge.example").count() == 0


def test_sign_in_rotates_the_session(world, http):
    with http.session_transaction() as session:
        session["planted"] = "by an attacker"
    sign_in(http, "colin@northbridge.example")
    with http.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == world.coach.get_id()


def test_next_parameter_returns_to_a_local_page_only(world, http):
    response = sign_in(http, "colin@northbridge.example", next="/account")
    assert response.location.endswith("/account")
    http.post("/logout")
    response = sign_in(http, "colin@northbridge.example", next="https://evil.example/phish")
    assert response.location.endswith("/coach/")
    http.post("/logout")
    response = sign_in(http, "colin@northbridge.example", next="//evil.example/")
    assert response.location.endswith("/coach/")


def test_pages_ask_for_sign_in_and_come_back_after(world, http):
    response = http.get("/coach/?q=clara")
    assert response.status_code == 302
    assert "/login?next=" in response.location


def test_sign_out_ends_the_session(world, as_user):
    browser = as_user(world.coach)
    assert browser.post("/logout").status_code == 302
    assert browser.get("/coach/").status_code == 302


def test_a_session_cookie_saved_before_sign_out_no_longer_opens_the_account(world, app, http):
    assert sign_in(http, "clara@client.example").status_code == 302
    saved = http.get_cookie("session").value
    assert http.get("/me/").status_code == 200
    assert http.post("/logout").status_code == 302

    # The stolen copy, replayed from another browser on another network.
    thief = app.test_client()
    thief.environ_base.update(
        {"HTTP_USER_AGENT": "curl/8.0", "REMOTE_ADDR": "198.51.100.77", "wsgi.url_scheme": "https"}
    )
    thief.set_cookie("session", saved, domain="localhost")
    response = thief.get("/me/")
    assert response.status_code == 302
    assert "/login" in response.location


def test_sign_out_is_post_only(world, as_user):
    # A GET (an <img src>, a prefetch) must not sign anyone out.
    assert as_user(world.coach).get("/logout").status_code == 405


def test_password_change_signs_out_other_sessions(world, as_user):
    laptop, phone = as_user(world.coach), as_user(world.coach)
    response = laptop.post(
        "/account/password",
        data={"current": PASSWORD, "password": "a brand new passphrase", "confirm": "a brand new passphrase"},
    )
    assert response.status_code == 302
    assert laptop.get("/coach/").status_code == 200  # this device got a fresh session
    assert phone.get("/coach/").status_code == 302  # the other one is signed out


def test_password_change_needs_the_current_password(world, as_user):
    response = as_user(world.coach).post(
        "/account/password",
        data={"current": "wrong", "password": "a brand new passphrase", "confirm": "a brand new passphrase"},
    )
    assert response.status_code == 422
    assert "That is not your current password." in response.get_data(as_text=True)


def test_profile_rejects_an_unknown_time_zone_and_keeps_the_name(world, as_user):
    response = as_user(world.coach).post("/account", data={"name": "Colin C.", "timezone": "Mars/Olympus"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="timezone-error"' in page
    assert 'value="Colin C."' in page


def test_profile_change_sets_the_time_zone_used_for_times(world, db, as_user):
    response = as_user(world.coach).post("/account", data={"name": "Colin", "timezone": "Asia/Tokyo"})
    assert response.status_code == 302
    db.refresh(world.coach)
    assert world.coach.timezone == "Asia/Tokyo"
