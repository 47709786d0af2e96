"""The WSGI app for benchmarking under gunicorn: Crossroads, plus one bare route on the same app.

gunicorn --chdir bench wsgi:app        (settings from CROSSROADS_* environment variables)

``/bench/bare`` is a plain view function returning a few bytes of text: no
database, no template, no sign-in, no CSRF (a GET). Served by the same
processes as the real pages, it shows what the stack under Crossroads (gunicorn,
Flask, the session cookie, the login manager's request hooks) costs on its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crossroads.web import create_app  # noqa: E402

app = create_app()


@app.get("/bench/bare")
def bench_bare():
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


@app.get("/bench/bare.json")
def bench_bare_json():
    """The API's baseline: a JSON answer from a plain view (bench/api_contacts.py)."""
    return {"items": [], "next_cursor": None}
