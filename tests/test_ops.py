"""Operations: `crossroads check`, JSON logs with a request id, and /healthz, against real services
(a SQLite file migrated for the test, the Redis at 127.0.0.1:6379, aiosmtpd, PostgreSQL's closed ports)."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from crossroads.core import migrate
from crossroads.core.config import Settings
from crossroads.core.db import make_engine, make_sessionmaker
from crossroads.core.models import MailSecurity, Practice
from crossroads.core.production_check import Status, check_mail_servers, run_checks
from crossroads.testing.browser import browser_for
from crossroads.web import create_app
from crossroads.web.cli import main
from crossroads.web.ops import configure_logging
from tests.mailserver import PASSWORD, USERNAME, MailServer, configure_mail, free_port

GOOD_KEY = "k" * 20 + "a-long-random-production-key"
REDIS_URL = "redis://127.0.0.1:6379/0"


def _database(path: Path, revision: str = "heads") -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate.upgrade(engine, revision)
    engine.dispose()
    return url


def _environment(instance: Path, **values: str | None) -> dict[str, str | None]:
    """A complete Crossroads environment for CliRunner: everything not given is unset."""
    names = ["INSTANCE", "DATABASE_URL", "SECRET_KEY", "SECURE_COOKIES", "TRUSTED_PROXIES", "PLUGINS"]
    names += ["REDIS_URL", "SMTP_CA_FILE", "SMTP_ALLOW_PRIVATE", "BASE_URL", "LOG_FORMAT"]
    env: dict[str, str | None] = {f"CROSSROADS_{name}": None for name in names}
    env["CROSSROADS_INSTANCE"] = str(instance)
    env.update({f"CROSSROADS_{name.upper()}": value for name, value in values.items()})
    return env


def _check(env: dict[str, str | None]):
    return CliRunner().invoke(main, ["check", "--timeout", "2"], env=env)


def _lines(output: str) -> dict[str, str]:
    """``{check name: "STATUS reason"}`` from the command's output."""
    lines = (re.fullmatch(r"(OK|WARN|FAIL) +([^:]+): (.*)", line) for line in output.splitlines())
    return {m[2]: f"{m[1]} {m[3]}" for m in lines if m}


def _practice_with_mail(url: str, name: str, server: MailServer, secret_key: str, **options) -> None:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        practice = Practice(name=name, timezone="UTC")
        session.add(practice)
        session.flush()
        configure_mail(session, practice.id, server, secret_key=secret_key, **options)
    engine.dispose()


# -- crossroads check -------------------------------------------------------------------------


def test_check_fails_and_names_each_unsafe_setting(tmp_path):
    url = _database(tmp_path / "behind.sqlite3", revision="0002")
    closed = free_port()
    env = _environment(
        tmp_path / "instance",
        database_url=url,
        redis_url=f"redis://127.0.0.1:{closed}/0",
        secure_cookies="0",
    )  # and no CROSSROADS_SECRET_KEY: the instance folder's generated key

    result = _check(env)

    assert result.exit_code == 1, result.output
    lines = _lines(result.output)
    assert lines["secret key"].startswith("FAIL CROSSROADS_SECRET_KEY is not set")
    assert lines["secure cookies"].startswith("FAIL CROSSROADS_SECURE_COOKIES is off")
    assert lines["database"].startswith("OK reachable")
    assert lines["schema"].startswith("FAIL behind the code (at 0002;")
    assert "crossroads db upgrade" in lines["schema"]
    assert lines["queue"].startswith(f"FAIL Redis at redis://127.0.0.1:{closed}/0 is unreachable")
    assert lines["database kind"].startswith("WARN")
    assert lines["email servers"].startswith("WARN not checked")
    assert "Not ready for production: secret key, secure cookies, schema, queue." in result.output


def test_check_passes_on_a_good_configuration(tmp_path, starttls_server, ca_file):
    url = _database(tmp_path / "good.sqlite3")
    _practice_with_mail(url, "Northbridge", starttls_server, GOOD_KEY, username=USERNAME, password=PASSWORD)
    env = _environment(
        tmp_path / "instance",
        database_url=url,
        secret_key=GOOD_KEY,
        redis_url=REDIS_URL,
        smtp_ca_file=ca_file,
        smtp_allow_private="1",  # the test server listens on 127.0.0.1
        base_url="https://crossroads.example.org",
    )

    result = _check(env)

    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    assert lines["secret key"] == "OK set explicitly through CROSSROADS_SECRET_KEY"
    assert lines["secure cookies"].startswith("OK")
    assert lines["database"].startswith("OK reachable at sqlite:///")
    assert lines["schema"].startswith("OK current")
    assert lines["queue"] == "OK Redis at redis://127.0.0.1:6379/0 answers"
    address = f"127.0.0.1:{starttls_server.port} (starttls)"
    assert lines["email server of Northbridge"] == f"OK {address} answered EHLO"
    assert lines["email server addresses"].startswith("WARN CROSSROADS_SMTP_ALLOW_PRIVATE is on")
    # SQLite works, but is not what several hosts should share.
    assert lines["database kind"].startswith("WARN a SQLite database")
    assert starttls_server.received == []  # nothing was sent


def test_check_without_redis_warns_that_workers_must_share_the_host(tmp_path):
    url = _database(tmp_path / "db.sqlite3")
    env = _environment(tmp_path / "instance", database_url=url, secret_key=GOOD_KEY)

    result = _check(env)

    assert result.exit_code == 0, result.output
    queue = _lines(result.output)["queue"]
    assert queue.startswith("WARN CROSSROADS_REDIS_URL is not set")
    assert "must run on this host" in queue
    assert _lines(result.output)["email servers"] == "OK no practice has set up an email server yet"


def test_check_reports_an_unreachable_postgresql(tmp_path):
    env = _environment(
        tmp_path / "instance",
        database_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/crossroads",
        secret_key=GOOD_KEY,
    )

    result = _check(env)

    assert result.exit_code == 1
    lines = _lines(result.output)
    assert lines["database"].startswith("FAIL cannot connect to postgresql+psycopg://postgres@127.0.0.1:")
    assert lines["database kind"] == "OK postgresql"
    assert lines["schema"] == "FAIL not checked without the database"


def test_check_connects_to_each_practices_server_with_its_security(
    tmp_path, tls_server, untrusted_tls_server, stopped_smtp_server, ca_file
):
    url = _database(tmp_path / "db.sqlite3")
    _practice_with_mail(url, "Implicit TLS", tls_server, GOOD_KEY)
    _practice_with_mail(url, "Untrusted", untrusted_tls_server, GOOD_KEY)
    _practice_with_mail(url, "Nobody home", stopped_smtp_server, GOOD_KEY)
    # Saved under an earlier secret key: the password can no longer be read.
    _practice_with_mail(url, "Old key", tls_server, "an-earlier-key", username=USERNAME, password=PASSWORD)
    _practice_with_mail(url, "Wrong mode", tls_server, GOOD_KEY, security=MailSecurity.STARTTLS)
    settings = Settings(
        instance_path=tmp_path,
        database_url=url,
        secret_key=GOOD_KEY,
        smtp_ca_file=ca_file,
        smtp_allow_private=True,
    )
    engine = make_engine(url)

    results = {r.name.removeprefix("email server of "): r for r in check_mail_servers(settings, engine, 2)}

    engine.dispose()
    assert results["Implicit TLS"].status == Status.OK
    assert results["Untrusted"].status == Status.FAIL
    assert "is not trusted" in results["Untrusted"].reason
    assert results["Nobody home"].status == Status.FAIL
    assert "connection refused" in results["Nobody home"].reason
    assert results["Old key"].status == Status.FAIL
    assert "cannot be decrypted" in results["Old key"].reason
    assert results["Wrong mode"].status == Status.FAIL


def test_run_checks_reads_the_secret_key_from_the_given_environment(tmp_path):
    url = _database(tmp_path / "db.sqlite3")
    settings = Settings(instance_path=tmp_path, database_url=url, secret_key="x" * 40)
    assert run_checks(settings, environ={})[0].status == Status.FAIL
    assert run_checks(settings, environ={"CROSSROADS_SECRET_KEY": "x" * 40})[0].status == Status.OK
    settings.secret_key = "short"
    assert run_checks(settings, environ={"CROSSROADS_SECRET_KEY": "short"})[0].status == Status.WARN


# -- request ids and JSON logs ----------------------------------------------------------------


@pytest.fixture
def json_logs(settings, request):
    """The app of this test logs JSON; returns a function that reads the lines written so far."""
    settings.log_format = "json"
    root = logging.getLogger()
    level = root.level
    request.getfixturevalue("app")  # built now, with the JSON format
    handler = next(h for h in root.handlers if getattr(h, "crossroads", False))
    stream = io.StringIO()
    handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def _access(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "crossroads.access"]


def test_every_response_carries_a_request_id(http):
    made_up = http.get("/login").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made_up)
    assert http.get("/login").headers["X-Request-ID"] != made_up  # one per request

    given = "edge-7f3a.42:b_x"
    assert http.get("/login", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given
    # Even when a guard answers before the view: a signed-out visitor sent to the login page.
    redirected = http.get("/coach/", headers={"X-Request-ID": given})
    assert redirected.status_code == 302 and redirected.headers["X-Request-ID"] == given


@pytest.mark.parametrize(
    "insane", ["", "has space", "line\u2028break", "<script>", "-leading-dash", "x" * 129, "ä-umlaut"]
)
def test_an_insane_incoming_request_id_is_replaced(http, insane):
    answered = http.get("/login", headers={"X-Request-ID": insane}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", answered)


def test_json_logs_one_access_line_per_request_with_the_user(json_logs, world, as_user):
    response = as_user(world.coach).get("/coach/?q=Bea+Beyond", headers={"X-Request-ID": "req-1"})

    assert response.status_code == 200
    (line,) = _access(json_logs())
    assert line["request_id"] == "req-1"
    assert line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/coach/", 200)
    assert line["message"] == "GET /coach/ 200"  # no query string: it may hold a person's name
    assert (line["user_id"], line["practice_id"]) == (world.coach.id, world.practice.id)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert datetime.fromisoformat(line["time"]).tzinfo is not None


def test_json_logs_a_signed_out_request_without_user_fields(json_logs, http):
    http.get("/login")
    (line,) = _access(json_logs())
    assert line["status"] == 200 and "user_id" not in line and "practice_id" not in line


def test_json_logs_an_exception_as_a_field_of_its_request(json_logs, app, http):
    @app.get("/ops-test/boom")
    def boom():
        logging.getLogger("crossroads.web.boom").warning("about to fail\nsecond line")
        return 1 / 0

    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: a 500 page, not a test error
    response = http.get("/ops-test/boom", headers={"X-Request-ID": "boom-1"})

    assert response.status_code == 500
    lines = json_logs()
    warning = next(line for line in lines if line["logger"] == "crossroads.web.boom")
    assert warning["message"] == "about to fail\nsecond line" and warning["request_id"] == "boom-1"
    error = next(line for line in lines if "exception" in line)
    assert error["level"] == "ERROR" and error["request_id"] == "boom-1"
    assert "ZeroDivisionError" in error["exception"]
    assert _access(lines)[-1]["status"] == 500


def test_configure_logging_for_a_worker_outside_any_request(tmp_path):
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    try:
        handler = configure_logging(Settings(instance_path=tmp_path, log_format="json"), stream)
        assert configure_logging(Settings(instance_path=tmp_path, log_format="json"), stream) is not handler
        assert sum(getattr(h, "crossroads", False) for h in root.handlers) == 1  # replaced, not added
        logging.getLogger("huey").info("Executing %s", "task")
        (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
        assert (line["logger"], line["level"], line["message"]) == ("huey", "INFO", "Executing task")
        assert "request_id" not in line

        configure_logging(Settings(instance_path=tmp_path), stream)
        logging.getLogger("huey").info("plain")
        assert stream.getvalue().splitlines()[-1].endswith("INFO huey: plain")
    finally:
        for h in [h for h in root.handlers if getattr(h, "crossroads", False)]:
            root.removeHandler(h)
        root.setLevel(level)


def test_log_format_must_be_text_or_json(tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSROADS_INSTANCE", str(tmp_path))
    monkeypatch.setenv("CROSSROADS_LOG_FORMAT", "JSON")
    assert Settings.from_env().log_format == "json"
    monkeypatch.setenv("CROSSROADS_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="CROSSROADS_LOG_FORMAT"):
        Settings.from_env()


# -- /healthz ---------------------------------------------------------------------------------


def test_healthz_answers_without_sign_in(http):
    response = http.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert http.head("/healthz").status_code == 200


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path, plugins):
    port = free_port()
    url = f"postgresql+psycopg://crossroads:hunter2-secret@127.0.0.1:{port}/crossroads"
    settings = Settings(instance_path=tmp_path, database_url=url, secret_key=GOOD_KEY, testing=True)
    app = create_app(settings, plugins=plugins, check_schema=False)

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}
    body = response.get_data(as_text=True)
    assert "hunter2" not in body and "Traceback" not in body and str(port) not in body
    assert response.headers["X-Request-ID"]


def test_a_page_answers_503_with_a_plain_page_when_the_database_is_unreachable(tmp_path, plugins, world):
    url = f"postgresql+psycopg://crossroads:hunter2-secret@127.0.0.1:{free_port()}/crossroads"
    settings = Settings(instance_path=tmp_path, database_url=url, secret_key=GOOD_KEY, testing=True)
    app = create_app(settings, plugins=plugins, check_schema=False)
    # Signed in (the session cookie needs no database); loading the user then needs it.
    response = browser_for(app, world.coach).get("/coach/", headers={"X-Request-ID": "req-db-down-1"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "10"
    body = response.get_data(as_text=True)
    assert "Crossroads is briefly unavailable" in body and "Nothing was saved by this request" in body
    assert "req-db-down-1" in body
    assert "hunter2" not in body and "Traceback" not in body


def test_an_unexpected_error_answers_a_plain_500_page_with_the_request_id(settings, plugins, db):
    app = create_app(settings, plugins=plugins)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production

    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/broken", "broken", broken)
    response = app.test_client().get("/broken", headers={"X-Request-ID": "req-bug-7"})
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong on our side" in body and "req-bug-7" in body
    assert "a bug" not in body and "Traceback" not in body
