"""Screenshots for the docs are refreshed on purpose, never as a side effect of a test run."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from .conftest import _UPDATE_SCREENSHOTS, ARTIFACTS, IMAGES, screenshot

pytestmark = pytest.mark.browser


def test_an_ordinary_run_keeps_screenshots_out_of_the_docs(page: Page, server, monkeypatch):
    # As a run without --update-screenshots has it, whatever this run was given.
    monkeypatch.setitem(_UPDATE_SCREENSHOTS, "on", False)
    page.goto("/login")
    before = {path: path.stat().st_mtime_ns for path in IMAGES.glob("*.png")}

    path = screenshot(page, "login")

    assert path == ARTIFACTS / "login.png" and path.stat().st_size > 0
    assert {path: path.stat().st_mtime_ns for path in IMAGES.glob("*.png")} == before
