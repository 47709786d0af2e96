"""The JSON API: personal access tokens, the same scope and rules as the pages, and the conventions
(cursor pages, ETags and If-Match, problem details, idempotency keys, the per-token rate limit)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crossroads.core.models import ApiToken, CareerTheme, Contact, TokenAccess
from crossroads.core.services.api_tokens import issue_for


@pytest.fixture
def api(http, db):
    """Send API requests with a token of a user: ``api(user).get(path)`` and so on."""

    class Caller:
        def __init__(self, user, access=TokenAccess.WRITE):
            self.headers = {"Authorization": f"Bearer {issue_for(db, user, access=access)}"}

        def open(self, method, path, headers=None, **kwargs):
            return http.open(path, method=method, headers={**self.headers, **(headers or {})}, **kwargs)

        def get(self, path, **kwargs):
            return self.open("GET", path, **kwargs)

        def post(self, path, **kwargs):
            return self.open("POST", path, **kwargs)

        def patch(self, path, **kwargs):
            return self.open("PATCH", path, **kwargs)

    return Caller


def test_a_token_reads_its_own_user(api, world):
    answer = api(world.client.user).get("/api/v1/me")
    assert answer.status_code == 200
    assert answer.json["client_id"] == world.client.id
    assert answer.json["role"] == "client"


def test_without_a_token_or_with_only_a_session_cookie_the_api_answers_401(world, as_user, http):
    assert http.get("/api/v1/me").status_code == 401
    signed_in = as_user(world.coach)
    answer = signed_in.get("/api/v1/me")
    assert answer.status_code == 401
    assert answer.mimetype == "application/problem+json"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused_and_last_use_is_recorded(api, world, db):
    caller = api(world.coach)
    assert caller.get("/api/v1/me").status_code == 200
    token = db.scalars(select(ApiToken).where(ApiToken.user_id == world.coach.id)).one()
    db.refresh(token)
    assert token.last_used_at is not None
    assert token.token_hash not in caller.headers["Authorization"]
    token.revoked_at = token.last_used_at
    db.commit()
    assert caller.get("/api/v1/me").status_code == 401


def test_a_read_only_token_cannot_write(api, world):
    reader = api(world.client.user, TokenAccess.READ)
    answer = reader.post(f"/api/v1/clients/{world.client.id}/themes", json={"title": "Policy"})
    assert answer.status_code == 403


def test_a_coach_lists_their_caseload_by_cursor_in_a_stable_order(api, world, db, crossroads_other_client):
    from crossroads.core.models import Client

    caller = api(world.coach)
    seen, cursor = [], ""
    for _ in range(10):
        page = caller.get(f"/api/v1/clients?limit=1&cursor={cursor}").json
        assert len(page["items"]) <= 1
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    caseload = db.scalars(
        select(Client.id).where(Client.coach_id == world.coach.id).order_by(Client.id)
    ).all()
    assert seen == list(caseload) and len(seen) >= 2


def test_a_broken_cursor_is_a_problem_naming_the_field(api, world):
    answer = api(world.coach).get("/api/v1/clients?cursor=%%%")
    assert answer.status_code == 422
    assert "cursor" in answer.json["errors"]


def test_the_fourth_active_theme_is_refused_as_on_the_page(api, world, db):
    caller = api(world.client.user)
    url = f"/api/v1/clients/{world.client.id}/themes"
    for title in ("Policy", "Planning"):
        assert caller.post(url, json={"title": title}).status_code == 201
    answer = caller.post(url, json={"title": "A fourth"})
    assert answer.status_code == 422
    assert answer.mimetype == "application/problem+json"
    assert "status" in answer.json["errors"]
    assert db.scalar(select(func.count()).where(CareerTheme.client_id == world.client.id)) == 3


def test_schema_errors_name_the_fields(api, world):
    answer = api(world.client.user).post(
        f"/api/v1/clients/{world.client.id}/themes", json={"target_conversations": 500}
    )
    assert answer.status_code == 422
    assert set(answer.json["errors"]) == {"title", "target_conversations"}


def test_a_query_parameter_given_twice_is_refused_naming_it(api, world):
    """Schemathesis found ``?days=&days=Inf`` answered 200 with the default period."""
    caller = api(world.client.user)
    figures = f"/api/v1/clients/{world.client.id}/figures"
    answer = caller.get(f"{figures}?days=7&days=9")
    assert answer.status_code == 422 and answer.json["errors"] == {"days": ["Give this parameter once."]}
    assert caller.get(f"{figures}?days=7").status_code == 200


def test_etag_gives_304_and_a_stale_if_match_gives_409(api, world):
    caller = api(world.client.user)
    url = f"/api/v1/themes/{world.theme.id}"
    first = caller.get(url)
    etag = first.headers["ETag"]
    assert caller.get(url, headers={"If-None-Match": etag}).status_code == 304
    saved = caller.patch(url, json={"title": "Renamed"}, headers={"If-Match": etag})
    assert saved.status_code == 200 and saved.json["title"] == "Renamed"
    stale = caller.patch(url, json={"title": "Again"}, headers={"If-Match": etag})
    assert stale.status_code == 409
    assert caller.get(url).json["title"] == "Renamed"
    assert (
        caller.patch(
            url,
            json={"title": "Again"},
            headers={"If-Match": caller.get(url).headers["ETag"]},
        ).status_code
        == 200
    )


def test_an_idempotency_key_creates_once_and_replays_the_answer(api, world, db):
    caller = api(world.client.user)
    url = f"/api/v1/clients/{world.client.id}/contacts"
    body = {"name": "Nia Newton", "organisation": "Acme"}
    headers = {"Idempotency-Key": "create-nia-1"}
    first = caller.post(url, json=body, headers=headers)
    again = caller.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json == again.json and again.headers["Idempotent-Replayed"] == "true"
    assert db.scalar(select(func.count()).where(Contact.name == "Nia Newton")) == 1
    other = caller.post(url, json={**body, "name": "Someone Else"}, headers=headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.json["errors"]


def test_staff_see_only_shared_reflections(api, world, db):
    from crossroads.core.models import Reflection
    from crossroads.testing import make_conversation

    conversation = make_conversation(db, world.contacts[0])
    private = Reflection(
        practice_id=world.practice.id,
        client_id=world.client.id,
        conversation=conversation,
        energy=1,
        fit=3,
        insights="Only mine",
    )
    db.add(private)
    db.commit()
    assert api(world.client.user).get(f"/api/v1/reflections/{private.id}").status_code == 200
    assert api(world.coach).get(f"/api/v1/reflections/{private.id}").status_code == 404
    listed = api(world.coach).get(f"/api/v1/clients/{world.client.id}/reflections")
    assert private.id not in [item["id"] for item in listed.json["items"]]
    assert all(item["shared_at"] for item in listed.json["items"])


def test_the_rate_limit_answers_429_with_retry_after(api, world, settings, app):
    app.extensions["crossroads"].settings.api_rate_limit = 2
    caller = api(world.coach)
    assert [caller.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 429]
    assert int(caller.get("/api/v1/me").headers["Retry-After"]) >= 1


def test_the_openapi_document_and_its_reference_page(http):
    document = http.get("/api/v1/openapi.json")
    assert document.status_code == 200
    assert document.json["openapi"].startswith("3.1")
    assert "/api/v1/clients/{client_id}/contacts" in document.json["paths"]
    page = http.get("/api/v1/docs")
    assert page.status_code == 200 and b"/api/v1/clients/{client_id}/contacts" in page.data


def test_the_account_page_makes_a_token_shows_it_once_and_revokes_it(world, as_user, db):
    browser = as_user(world.coach)
    made = browser.post("/account/tokens", data={"name": "CRM sync", "access": "read_write"})
    assert made.status_code == 302
    page = browser.get("/account").get_data(as_text=True)
    secret = page.split('id="api-token-value" type="text" readonly value="')[1].split('"')[0]
    assert secret.startswith("crt_")
    assert secret not in browser.get("/account").get_data(as_text=True)  # shown once
    token = db.scalars(select(ApiToken).where(ApiToken.user_id == world.coach.id)).one()
    assert token.token_hash != secret and token.name == "CRM sync" and token.can_write
    headers = {"Authorization": f"Bearer {secret}"}
    assert browser.get("/api/v1/me", headers=headers).json["id"] == world.coach.id
    assert browser.post(f"/account/tokens/{token.id}/revoke").status_code == 302
    assert browser.get("/api/v1/me", headers=headers).status_code == 401


def test_a_token_without_a_name_is_refused_naming_the_field(world, as_user):
    answer = as_user(world.coach).post("/account/tokens", data={"name": " ", "access": "read"})
    assert answer.status_code == 422
    assert 'id="token-name"' in answer.get_data(as_text=True)


def test_a_plugins_resources_are_in_the_openapi_document_and_follow_its_switch(api, world, db, http):
    from crossroads.core.models import PracticePlugin

    document = http.get("/api/v1/openapi.json").json
    assert "/api/v1/plugins/alumni_offices/institutions" in document["paths"]
    caller = api(world.client.user)
    assert caller.get("/api/v1/plugins/alumni_offices/institutions").status_code == 200
    db.add(
        PracticePlugin(
            practice_id=world.practice.id, plugin_name="alumni_offices", enabled=False, settings={}
        )
    )
    db.commit()
    answer = caller.get("/api/v1/plugins/alumni_offices/institutions")
    assert answer.status_code == 404 and answer.mimetype == "application/problem+json"


def test_the_contact_list_takes_as_many_statements_for_many_contacts_as_for_few(api, world, db):
    from contextlib import contextmanager

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from crossroads.testing import make_contact

    @contextmanager
    def counted():
        statements: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        event.listen(Engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(Engine, "before_cursor_execute", record)

    caller = api(world.client.user)
    url = f"/api/v1/clients/{world.client.id}/contacts?limit=200"
    caller.get(url)  # the token's last use is written once a minute: not in the counts below
    with counted() as few:
        assert caller.get(url).status_code == 200
    for n in range(40):
        contact = make_contact(db, world.client, f"Person {n}")
        contact.themes = [world.theme]
    db.commit()
    with counted() as many:
        answer = caller.get(url)
    assert len(answer.json["items"]) >= 40
    assert len(many) == len(few)


def test_a_coach_invites_a_client_and_gets_the_link_a_client_cannot(api, world, db):
    from crossroads.core.models import Client, User

    answer = api(world.coach).post(
        "/api/v1/invitations", json={"name": "Ines Invited", "email": "ines@example.org"}
    )
    assert answer.status_code == 202
    assert answer.json["invitation_url"].startswith("http") and answer.json["email"] == "ines@example.org"
    user = db.scalars(select(User).where(User.email == "ines@example.org")).one()
    assert db.scalars(select(Client).where(Client.user_id == user.id)).one().coach_id == world.coach.id
    refused = api(world.client.user).post(
        "/api/v1/invitations", json={"name": "Xu", "email": "xu@example.org"}
    )
    assert refused.status_code == 403
