"""The ``crossroads`` command line: serve, db, create-practice, create-user."""

from __future__ import annotations

import os
import socket
import time
import urllib.request

import pytest
from click.testing import CliRunner

from crossroads.core import migrate
from crossroads.core.db import make_engine
from crossroads.core.models import Practice, Role, User
from crossroads.core.security import verify_password
from crossroads.web.cli import main
from tests.processes import STOP_SECONDS, start_crossroads


@pytest.fixture
def fresh_env(tmp_path, monkeypatch):
    """An empty instance folder and the embedded default database."""
    monkeypatch.setenv("CROSSROADS_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.delenv("CROSSROADS_DATABASE_URL", raising=False)
    monkeypatch.delenv("CROSSROADS_SECRET_KEY", raising=False)
    return tmp_path / "instance"


@pytest.fixture
def test_db_env(database_url, db, monkeypatch, tmp_path):
    """The migrated test database (rows are removed after the test by the db fixture)."""
    monkeypatch.setenv("CROSSROADS_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("CROSSROADS_DATABASE_URL", database_url)
    return database_url


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["db"],
        ["db", "upgrade"],
        ["db", "current"],
        ["create-practice"],
        ["create-user"],
        ["plugins"],
    ],
)
def test_every_command_has_help(command):
    result = run(*command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output


def test_db_current_says_behind_then_upgrade_brings_it_current(fresh_env):
    behind = run("db", "current")
    assert behind.exit_code == 1
    assert "none (empty database)" in behind.output and "crossroads db upgrade" in behind.output
    upgraded = run("db", "upgrade")
    head = ", ".join(sorted(migrate.head_revisions(make_engine("sqlite://"))))
    assert upgraded.exit_code == 0 and f"Database is at revision {head}." in upgraded.output
    current = run("db", "current")
    assert current.exit_code == 0 and "Up to date." in current.output
    assert (fresh_env / "secret_key").stat().st_mode & 0o077 == 0  # the generated key is private


def test_create_practice_with_its_owner(test_db_env, db):
    result = run(
        "create-practice",
        "--name",
        "Harbour Coaching",
        "--owner-email",
        "Lena@Harbour.example",
        "--owner-name",
        "Lena Harbour",
        "--timezone",
        "Europe/Oslo",
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code == 0, result.output
    owner = db.query(User).filter_by(email="lena@harbour.example").one()
    assert owner.role == Role.OWNER and owner.practice.timezone == "Europe/Oslo"
    assert verify_password(owner.password_hash, "a long enough password")
    assert owner.password_hash.startswith("$argon2id$")


def test_create_practice_names_the_bad_options_without_a_traceback(test_db_env, db):
    result = run(
        "create-practice",
        "--name",
        "X",
        "--owner-email",
        "not-an-email",
        "--owner-name",
        "Y",
        "--timezone",
        "Nowhere/Land",
        "--owner-password",
        "short",
    )
    assert result.exit_code == 1
    assert "--owner-email: Not a valid email address." in result.output
    assert "--timezone: Choose a time zone" in result.output
    assert "--owner-password: Use between 10 and 256 characters." in result.output
    assert "Traceback" not in result.output
    assert db.query(Practice).count() == 0


def test_create_user_adds_a_coach_to_a_practice(test_db_env, world, db):
    result = run(
        "create-user",
        "--practice",
        str(world.practice.id),
        "--email",
        "new@a.example",
        "--name",
        "New Coach",
        "--password",
        "another long password",
    )
    assert result.exit_code == 0, result.output
    assert db.query(User).filter_by(email="new@a.example").one().role == Role.COACH


def test_create_user_in_a_missing_practice_is_a_clear_error(test_db_env, db):
    result = run(
        "create-user",
        "--practice",
        "999999",
        "--email",
        "n@x.example",
        "--name",
        "N",
        "--password",
        "another long password",
    )
    assert result.exit_code == 1 and "--practice: There is no practice 999999." in result.output


def test_commands_refuse_a_database_that_is_behind(fresh_env):
    result = run(
        "create-practice",
        "--name",
        "X",
        "--owner-email",
        "x@x.example",
        "--owner-name",
        "Y",
        "--owner-password",
        "long enough password",
    )
    assert result.exit_code == 1
    assert "Run `crossroads db upgrade`" in result.output and "Traceback" not in result.output


def test_unreachable_database_is_a_clear_error(fresh_env, monkeypatch):
    monkeypatch.setenv("CROSSROADS_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    result = run("db", "current")
    assert result.exit_code == 1 and "Cannot use the database" in result.output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_demo_creates_the_database_loads_the_demo_and_prints_logins(tmp_path):
    """The README's first command, as a real process on a real port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSROADS_")}
    env["CROSSROADS_INSTANCE"] = str(tmp_path / "instance")
    process = start_crossroads(["serve", "--demo", "--port", str(port)], env, text=True)
    try:
        output = ""
        deadline = time.monotonic() + 60
        while "practice owner" not in output or "client " not in output:
            assert time.monotonic() < deadline, output
            line = process.stdout.readline()
            assert line or process.poll() is None, output
            output += line
        assert f"http://localhost:{port}/" in output
        assert "maya@northbridge.example" in output and "password: crossroads-demo" in output
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login") as response:
                    assert response.status == 200 and b"Sign in" in response.read()
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the server never answered")
        assert (tmp_path / "instance" / "crossroads.sqlite3").exists()
    finally:
        process.terminate()
        process.wait(STOP_SECONDS)
