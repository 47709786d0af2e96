"""Every response carries the security headers: a strict Content-Security-Policy, no framing, no
MIME sniffing, no referrer to other sites. The sweep walks the URL map, so a new page is covered."""

from __future__ import annotations

import pytest

from crossroads.testing.sweeps import IsolationSweep
from crossroads.web import create_app

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
CSP_DIRECTIVES = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
}


def assert_secure_headers(response, what: str) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, f"{what}: {name} is {response.headers.get(name)!r}"
    policy = {d.strip() for d in response.headers.get("Content-Security-Policy", "").split(";")}
    assert policy >= CSP_DIRECTIVES, f"{what}: Content-Security-Policy lacks {CSP_DIRECTIVES - policy}"
    assert not any("unsafe" in d for d in policy), f"{what}: the policy allows {policy}"


def get_routes(app):
    return [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods]


def test_every_get_route_sends_the_security_headers(app, world, as_user, http):
    routes = get_routes(app)
    sweep = IsolationSweep(app)
    endpoints = {rule.endpoint for rule in routes}
    # The pages that matter most if framed, and plugins' pages, are in the sweep.
    assert {"client_data.confirm_erase", "coach.client_page", "progress_report.client_report"} <= endpoints
    assert len(routes) >= 40
    visitors = {
        "the coach": as_user(world.coach),
        "the owner": as_user(world.owner),
        "the client": as_user(world.client.user),
        "nobody signed in": http,
    }
    statuses = set()
    for rule in routes:
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            url = rule.build({"filename": "app.css"})[1]  # a plugin's static folder answers 404: checked too
        else:
            url = sweep.url(rule, world.client)
        for who, browser in visitors.items():
            response = browser.get(url)
            statuses.add(response.status_code)
            assert_secure_headers(response, f"GET {url} as {who} ({response.status_code})")
    # Pages, redirects, refusals and not-found pages were all among them.
    assert {200, 302, 404} <= statuses


def test_error_pages_send_the_security_headers(settings, plugins, db, http):
    assert_secure_headers(http.get("/no-such-page"), "a 404 page")
    assert_secure_headers(http.post("/healthz"), "a 405 page")
    app = create_app(settings, plugins=plugins)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: a 500 page

    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/broken", "broken", broken)
    response = app.test_client().get("/broken")
    assert response.status_code == 500
    assert_secure_headers(response, "a 500 page")


@pytest.mark.parametrize("path", ["/static/app.css", "/static/live.js"])
def test_static_files_send_the_security_headers(http, path):
    response = http.get(path)
    assert response.status_code == 200
    assert_secure_headers(response, path)
