"""Invitations and password resets: signed, expiring, single-use links."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crossroads.core.db import make_sessionmaker, utcnow
from crossroads.core.errors import InvalidInput, NotFound
from crossroads.core.mail.outbox import deliver, due_ids
from crossroads.core.models import (
    Client,
    ClientStatus,
    Invitation,
    InvitationPurpose,
    OutboxEmail,
    Role,
    User,
)
from crossroads.core.schemas import InviteClientSchema, load
from crossroads.core.scoping import Scope
from crossroads.core.security import LinkSigner
from crossroads.core.services import invitations
from crossroads.testing import TEST_SECRET_KEY

from .mailserver import configure_mail

SIGNER_KEY = TEST_SECRET_KEY
SIGNER = LinkSigner(SIGNER_KEY)
NEW_PASSWORD = "my own good passphrase"


def invite(db, inviter, **data):
    payload = {"name": "Nia New", "email": "nia@a.example", **data}
    invited = invitations.invite_client(Scope(db, inviter), SIGNER, load(InviteClientSchema(), payload))
    return invited.client, invited


def token_in(page: str) -> str:
    return re.search(r"/invitation/([\w.\-]+)", page).group(1)


def test_coach_invites_a_client_into_their_caseload_and_sees_the_link(world, db, as_user, caplog):
    caplog.set_level(logging.WARNING)
    browser = as_user(world.coach)
    response = browser.post("/coach/invite", data={"name": "Nia New", "email": "Nia@A.example"})
    assert response.status_code == 302
    client = (
        db.query(Client).join(User, Client.user_id == User.id).filter(User.email == "nia@a.example").one()
    )
    assert client.coach_id == world.coach.id
    assert client.status == ClientStatus.ONBOARDING
    assert client.user.password_hash is None
    assert client.user.timezone == world.practice.timezone  # the practice default
    page = browser.get(response.location).get_data(as_text=True)
    assert "Nia New is invited" in page
    link_token = token_in(page)
    assert link_token in caplog.text  # written to the log until outreach email exists


def test_invitation_link_sets_password_signs_in_and_works_only_once(world, db, http):
    client, link = invite(db, world.coach)
    page = http.get(f"/invitation/{link.token}")
    assert page.status_code == 200
    assert "Welcome to Northbridge Coaching, Nia New" in page.get_data(as_text=True)

    response = http.post(
        f"/invitation/{link.token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302 and response.location.endswith("/me/")
    assert b"Hello, Nia New" in http.get("/me/").data
    db.expire_all()
    assert db.get(Invitation, link.invitation.id).used_at is not None

    http.post("/logout")
    again = http.get(f"/invitation/{link.token}")
    assert again.status_code == 404
    assert "expired or has already been used" in again.get_data(as_text=True)
    assert http.post("/login", data={"email": "nia@a.example", "password": NEW_PASSWORD}).status_code == 302


def test_mismatched_passwords_are_reported_and_the_link_stays_usable(world, db, http):
    _, link = invite(db, world.coach)
    response = http.post(f"/invitation/{link.token}", data={"password": NEW_PASSWORD, "confirm": "different"})
    assert response.status_code == 422
    assert "The two passwords differ." in response.get_data(as_text=True)
    short = http.post(f"/invitation/{link.token}", data={"password": "short", "confirm": "short"})
    assert "Use between 10 and 256 characters." in short.get_data(as_text=True)
    assert http.get(f"/invitation/{link.token}").status_code == 200


def test_expired_link_is_refused(world, db, http):
    _, link = invite(db, world.coach)
    link.invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    assert http.get(f"/invitation/{link.token}").status_code == 404


def test_forged_or_mangled_link_is_refused(world, db, http):
    _, link = invite(db, world.coach)
    assert http.get(f"/invitation/{link.token[:-2]}xx").status_code == 404
    forged = LinkSigner("some other key").sign("made-up-secret")
    assert http.get(f"/invitation/{forged}").status_code == 404
    with pytest.raises(NotFound):
        invitations.find_usable(db, SIGNER, "not-a-token", InvitationPurpose.INVITE)


def test_reissuing_revokes_the_old_link(world, db, as_user, http):
    client, first = invite(db, world.coach)
    response = as_user(world.coach).post(f"/coach/people/{client.user_id}/reinvite")
    assert response.status_code == 302
    assert http.get(f"/invitation/{first.token}").status_code == 404
    assert len(invitations.pending_invitations(Scope(db, world.coach))) == 1


def test_withdrawn_invitation_link_stops_working(world, db, as_user, http):
    client, link = invite(db, world.coach)
    assert as_user(world.coach).post(f"/coach/people/{client.user_id}/revoke").status_code == 302
    assert http.get(f"/invitation/{link.token}").status_code == 404


def test_cannot_reinvite_someone_who_already_accepted(world, db):
    with pytest.raises(InvalidInput) as caught:
        invitations.reissue_invitation(Scope(db, world.coach), SIGNER, world.client.user_id)
    assert "already accepted" in str(caught.value)


def test_an_email_in_use_cannot_be_invited_again(world, db, as_user):
    response = as_user(world.coach).post(
        "/coach/invite", data={"name": "Dup", "email": "otto@client.example"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="email-error"' in page and 'value="Dup"' in page


def test_coach_cannot_invite_into_another_coaches_caseload(world, db):
    with pytest.raises(InvalidInput) as caught:
        invite(db, world.coach, coach_id=world.owner.id)
    assert "coach_id" in caught.value.errors


def test_owner_may_assign_a_new_client_to_a_coach_of_the_practice_only(world, db):
    client, _ = invite(db, world.owner, coach_id=world.coach.id)
    assert client.coach_id == world.coach.id
    with pytest.raises(InvalidInput):
        invite(db, world.owner, email="x@a.example", coach_id=world.stranger_owner.id)


def test_owner_invites_a_coach_who_then_sees_an_empty_caseload(world, db, as_user, http):
    response = as_user(world.owner).post(
        "/practice/coaches", data={"name": "Cora", "email": "cora@a.example"}
    )
    assert response.status_code == 302
    invitation = (
        db.query(Invitation)
        .join(User, Invitation.user_id == User.id)
        .filter(User.email == "cora@a.example")
        .one()
    )
    assert invitation.user.role == Role.COACH
    page = as_user(world.owner).get("/practice/").get_data(as_text=True)
    assert "Cora" in page


def test_coach_cannot_invite_coaches(world, as_user):
    response = as_user(world.coach).post("/practice/coaches", data={"name": "X", "email": "x@a.example"})
    assert response.status_code == 404


def test_password_reset_link_changes_the_password_and_ends_old_sessions(world, db, http, as_user, caplog):
    caplog.set_level(logging.WARNING)
    old_session = as_user(world.coach)
    response = http.post("/reset", data={"email": "colin@northbridge.example"})
    assert response.status_code == 302
    token = re.search(r"/reset/([\w.\-]+)", caplog.text).group(1)
    response = http.post(f"/reset/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert old_session.get("/coach/").status_code == 302
    assert http.get(f"/reset/{token}").status_code == 404  # single use


def test_reset_for_unknown_email_looks_the_same_and_issues_nothing(world, db, http):
    known = http.post("/reset", data={"email": "colin@northbridge.example"}, follow_redirects=True)
    unknown = http.post("/reset", data={"email": "nobody@a.example"}, follow_redirects=True)
    assert "If that address has an account" in unknown.get_data(as_text=True)
    assert known.status_code == unknown.status_code == 200
    assert invitations.request_password_reset(db, SIGNER, "nobody@a.example") is None


def test_the_reset_pages_promise_no_email_and_answer_alike_for_any_address(world, http):
    form = http.get("/reset").get_data(as_text=True)
    assert "Crossroads does not email reset links" in form and "Send a reset link" not in form
    answers = [
        http.post("/reset", data={"email": email}, follow_redirects=True).get_data(as_text=True)
        for email in ("colin@northbridge.example", "nobody@a.example")
    ]
    for answer in answers:
        assert "does not email reset links" in answer and "on its way" not in answer
        assert "ask your coach (or, if you are a coach, your practice owner)" in answer
    # The same page but for the address typed and the form's one-time tokens.
    tokens = re.compile(r'name="(csrf_token|form_token)" value="[^"]*"')
    assert tokens.sub("", answers[0]).replace("colin@northbridge.example", "") == tokens.sub(
        "", answers[1]
    ).replace("nobody@a.example", "")


def test_reset_is_not_offered_to_someone_who_never_accepted(world, db):
    client, _ = invite(db, world.coach)
    assert invitations.request_password_reset(db, SIGNER, client.email) is None


def test_an_invitation_link_cannot_be_used_as_a_reset_link(world, db, http):
    _, link = invite(db, world.coach)
    assert http.get(f"/reset/{link.token}").status_code == 404
    assert http.get(f"/invitation/{link.token}").status_code == 200


def test_of_two_requests_racing_with_one_link_only_one_sets_the_password(world, db, engine):
    from crossroads.core.db import make_sessionmaker

    _, link = invite(db, world.coach)
    slow = make_sessionmaker(engine)()
    try:
        # The slow request has already found the link usable when the fast one spends it.
        assert invitations.find_usable(slow, SIGNER, link.token, InvitationPurpose.INVITE).used_at is None
        invitations.accept(db, SIGNER, link.token, InvitationPurpose.INVITE, NEW_PASSWORD)
        with pytest.raises(NotFound):
            invitations.accept(slow, SIGNER, link.token, InvitationPurpose.INVITE, "the racer's password")
    finally:
        slow.close()


def test_a_save_that_collides_with_another_answers_409_not_500(app, world, as_user):
    from sqlalchemy.exc import IntegrityError

    @app.get("/collide")
    def collide():
        raise IntegrityError("INSERT ...", {}, Exception("duplicate key"))

    response = as_user(world.coach).get("/collide")
    assert response.status_code == 409 and "Reload the page" in response.get_data(as_text=True)


# -- an address with an account in another practice ---------------------------------------------


def notice_of(browser, response) -> tuple[str, str]:
    """The notice on the page the answer leads to, with its link's token taken out; and the token."""
    page = browser.get(response.location).get_data(as_text=True)
    notices = re.search(r'<div class="notices".*?\n  </div>', page, re.S).group(0)
    return re.sub(r"/invitation/[\w.\-]+", "/invitation/TOKEN", notices), token_in(notices)


def send_outbox(engine) -> None:
    sessions = make_sessionmaker(engine)
    with sessions() as worker:
        due = due_ids(worker)
    for outbox_id in due:
        deliver(sessions, outbox_id, SIGNER_KEY, allow_private=True)  # the test server is on 127.0.0.1


def test_inviting_an_address_with_an_account_elsewhere_answers_as_for_a_new_one_and_emails_the_person(
    world, db, as_user, http, engine, smtp_server
):
    configure_mail(db, world.practice.id, smtp_server)
    coach = as_user(world.coach)
    new = coach.post("/coach/invite", data={"name": "Nia New", "email": "nia@a.example"})
    new_notice, _ = notice_of(coach, new)
    taken = coach.post("/coach/invite", data={"name": "Bea B", "email": "Bea@Client.example"})
    assert (taken.status_code, taken.location) == (new.status_code, new.location) == (302, "/coach/")
    taken_notice, token = notice_of(coach, taken)
    assert "Nia New is invited. Send them this link" in new_notice
    assert taken_notice == new_notice.replace("Nia New", "Bea B")
    # Nothing was made in this practice, and the account elsewhere is as it was.
    db.expire_all()
    bea = db.scalar(select(User).where(User.email == "bea@client.example"))
    assert (bea.practice_id, bea.name, bea.has_password) == (world.stranger_practice.id, "Bea Beyond", True)
    assert db.scalar(select(Invitation).where(Invitation.user_id == bea.id)) is None
    # The link the coach may pass on leads where an expired link does, and says nothing more.
    link = http.get(f"/invitation/{token}")
    assert link.status_code == 404 and "expired or has already been used" in link.get_data(as_text=True)

    send_outbox(engine)
    mails = {r.message["To"].addresses[0].addr_spec: r.message for r in smtp_server.received}
    assert set(mails) == {"bea@client.example"}  # the new address gets its link from the coach
    mail = mails["bea@client.example"]
    assert mail["Subject"] == "Colin Coach invited you to Northbridge Coaching on Crossroads"
    assert mail["Reply-To"] == "colin@northbridge.example"
    text = mail.get_content()
    assert "already a Crossroads account with this address (bea@client.example)" in text
    assert "Colin Coach has not been told that you have an account" in text
    assert "as a client" in text and "Elsewhere Coaching" not in text and "/invitation/" not in text


def test_the_owner_inviting_a_coach_with_an_account_elsewhere_gets_the_same_answer(
    world, db, as_user, engine, smtp_server
):
    configure_mail(db, world.practice.id, smtp_server)
    owner = as_user(world.owner)
    new = owner.post("/practice/coaches", data={"name": "Cora", "email": "cora@a.example"})
    new_notice, _ = notice_of(owner, new)
    taken = owner.post("/practice/coaches", data={"name": "Cora", "email": "sam@elsewhere.example"})
    assert (taken.status_code, taken.location) == (new.status_code, new.location)
    assert notice_of(owner, taken)[0] == new_notice
    assert "Cora is invited as a coach" in new_notice
    send_outbox(engine)
    [received] = smtp_server.received
    assert received.message["To"].addresses[0].addr_spec == "sam@elsewhere.example"
    assert "as a coach" in received.message.get_content()


def test_without_an_email_server_the_inviter_is_told_nothing_different(world, db, as_user):
    coach = as_user(world.coach)
    taken = coach.post("/coach/invite", data={"name": "Bea B", "email": "bea@client.example"})
    assert (taken.status_code, taken.location) == (302, "/coach/")
    assert "Bea B is invited. Send them this link" in coach.get(taken.location).get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(OutboxEmail)) == 0
