"""Browser fixtures: the real app served over HTTP in a background thread, and Debian's chromium
driven by Playwright.

The server is the app as deployed: CSRF on, Secure session cookies on (chromium treats
``http://localhost`` as a secure context, so it keeps them), TESTING off. It runs for the whole
session on one database (on SQLite a copy of the kit's migrated one, on PostgreSQL the kit's
database), so here every test gets that database rather than a copy of its own: each starts
from an empty database (plus whatever ``world`` or the test itself adds) and it is emptied
afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask, got_request_exception
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

from crossroads.core.config import Settings
from crossroads.core.plugins import PluginManager
from crossroads.web import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The session cookie is Secure; chromium keeps Secure cookies on plain HTTP for localhost (a
# "potentially trustworthy" origin). Invitation links are built from the request's host, so they
# point at this host too.
HOST = "localhost"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
_UPDATE_SCREENSHOTS = {"on": False}


@pytest.fixture(scope="session", autouse=True)
def _screenshot_destination(request: pytest.FixtureRequest) -> None:
    _UPDATE_SCREENSHOTS["on"] = bool(request.config.getoption("--update-screenshots"))


expect.set_options(timeout=10_000)

#: Reports each Content-Security-Policy violation on the console, where :func:`watch_csp` sees it.
#: An init script is the browser's own, not the page's: the policy does not apply to it.
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


def watch_csp(context: BrowserContext) -> list[str]:
    """Collect every Content-Security-Policy violation in ``context``'s pages, as console lines."""
    violations: list[str] = []
    context.add_init_script(CSP_REPORTER)

    def seen(message) -> None:
        text = message.text
        if "CSP violation" in text or "Content Security Policy" in text:
            violations.append(f"{message.page.url if message.page else '?'}: {text}")

    context.on("console", seen)
    return violations


@dataclass
class LiveServer:
    """The running app: its URL, the Flask app, and the exceptions it raised while serving."""

    url: str
    app: Flask
    errors: list[BaseException] = field(default_factory=list)


@pytest.fixture(scope="session")
def browser_database_url(_crossroads_migrated, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The live server's database for the whole session: a copy of the kit's migrated database."""
    return _crossroads_migrated.database_for(tmp_path_factory.mktemp("browser-db"))


@pytest.fixture
def crossroads_database_url(_crossroads_migrated, browser_database_url: str) -> Iterator[str]:
    """Here, the kit's per-test database is the live server's, emptied after each test."""
    yield browser_database_url
    _crossroads_migrated.empty(browser_database_url)


@pytest.fixture(scope="session")
def live_server(browser_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app served on a free port of localhost for the whole session, stopped cleanly at the end."""
    settings = Settings(
        instance_path=tmp_path_factory.mktemp("browser-instance"),
        database_url=browser_database_url,
        secret_key="browser-test-secret-key-not-for-production",
        secure_cookies=True,
        smtp_allow_private=True,  # the test email servers listen on 127.0.0.1
        testing=False,
    )
    app = create_app(settings, plugins=PluginManager())
    assert app.config.get("WTF_CSRF_ENABLED", True), "browser tests run with CSRF protection on"
    assert app.config["SESSION_COOKIE_SECURE"]

    server: BaseWSGIServer = make_server(HOST, 0, app, threaded=True)
    live = LiveServer(url=f"http://{HOST}:{server.server_port}", app=app)
    settings.base_url = live.url  # links in pages and emails point at this server

    def record(_sender: Flask, exception: BaseException, **_extra) -> None:
        live.errors.append(exception)

    got_request_exception.connect(record, app)
    thread = threading.Thread(target=server.serve_forever, name="crossroads-live-server", daemon=True)
    thread.start()
    try:
        yield live
    finally:
        got_request_exception.disconnect(record, app)
        server.shutdown()  # returns once serve_forever has left its loop
        thread.join(timeout=10)
        server.server_close()
        app.extensions["crossroads"].engine.dispose()
        assert not thread.is_alive(), "the live server thread did not stop"


@pytest.fixture
def server(live_server: LiveServer, db: Session) -> Iterator[LiveServer]:
    """The live server for one test. Depends on ``db`` (so on ``crossroads_database_url``) so the
    tables are emptied after the test (and after its pages are closed, and the session is); fails
    the test if the app raised while serving it."""
    live_server.errors.clear()
    yield live_server
    errors, live_server.errors[:] = list(live_server.errors), []
    assert not errors, f"the app raised while serving this test: {errors!r}"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def new_page(browser: Browser, server: LiveServer) -> Iterator[Callable[..., Page]]:
    """``new_page(viewport=..., **context_options)``: a page in a fresh browser context (its own
    cookies), with the live server as base URL. Every context is closed after the test, which fails
    if any page broke the Content-Security-Policy."""
    contexts: list[BrowserContext] = []
    reports: list[list[str]] = []

    def make(viewport: dict[str, int] = DESKTOP, **options) -> Page:
        context = browser.new_context(base_url=server.url, viewport=viewport, locale="en-GB", **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        reports.append(watch_csp(context))
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    violations = [line for found in reports for line in found]
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A desktop-sized page (1280 wide)."""
    return new_page()


@pytest.fixture
def phone_page(new_page: Callable[..., Page]) -> Page:
    """A phone-sized page (390x844, touch, mobile viewport meta honoured)."""
    return new_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG of ``page`` as ``<name>.png``: into ``test-artifacts/screenshots/`` on
    an ordinary run, into the docs' ``docs/images/`` only when pytest runs with
    ``--update-screenshots`` (so a test run never rewrites tracked files by accident)."""
    folder = IMAGES if _UPDATE_SCREENSHOTS["on"] else ARTIFACTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, email: str, password: str) -> None:
    """Sign in through the real login form: type the email and password, click Sign in."""
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_role("textbox", name="Email", exact=True).fill(email)
    page.get_by_role("textbox", name="Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page: Page) -> None:
    """Click "Sign out" in the header and wait for the login page that confirms it."""
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("You are signed out.")
