"""Operations: `crossroads check`, JSON logs with a request id, and /healthz, against real services
(a SQLite file migrated for the test, the Redis at 127.0.0.1:6379, aiosmtpd, PostgreSQL's closed ports)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from crossroads.core import migrate
from crossroads.core.config import Settings
from crossroads.core.db import make_engine, make_sessionmaker
from crossroads.core.models import MailSecurity, Practice
from crossroads.core.production_check import Status, check_mail_servers, run_checks
from crossroads.web.cli import main
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
    names += ["REDIS_URL", "SMTP_CA_FILE", "BASE_URL", "LOG_FORMAT"]
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
    settings = Settings(instance_path=tmp_path, database_url=url, secret_key=GOOD_KEY, smtp_ca_file=ca_file)
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
