"""Is this configuration safe for production? One result per check, for ``crossroads check``.

Each ``check_*`` function looks at one thing and returns :class:`CheckResult`
values (OK, WARN or FAIL, with a reason in words); :func:`run_checks` runs them
all in order. Nothing here prints or exits, so the checks are testable without
the command line. A configuration passes when no result is FAIL.
"""

from __future__ import annotations

import contextlib
import enum
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import migrate
from .config import Settings
from .db import utcnow
from .inbox import imap, pending
from .mail import smtp
from .mail.secrets import SecretKeyMismatch, decrypt
from .models import MailSecurity, Practice, PracticeMail, PracticeMailbox

#: Seconds to wait for the database, Redis or an email server before calling it unreachable.
DEFAULT_TIMEOUT = 5.0
#: A secret key shorter than this is easy to guess.
MIN_SECRET_KEY_LENGTH = 32


class Status(enum.StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    reason: str

    def line(self) -> str:
        return f"{self.status.value:<4}  {self.name}: {self.reason}"


def ok(name: str, reason: str) -> CheckResult:
    return CheckResult(name, Status.OK, reason)


def warn(name: str, reason: str) -> CheckResult:
    return CheckResult(name, Status.WARN, reason)


def fail(name: str, reason: str) -> CheckResult:
    return CheckResult(name, Status.FAIL, reason)


def passed(results: list[CheckResult]) -> bool:
    return all(r.status != Status.FAIL for r in results)


# -- configuration alone ----------------------------------------------------------------------


def check_secret_key(settings: Settings, environ: Mapping[str, str]) -> CheckResult:
    """The key must come from CROSSROADS_SECRET_KEY, not the instance folder's generated file."""
    name = "secret key"
    if not environ.get("CROSSROADS_SECRET_KEY"):
        return fail(
            name,
            "CROSSROADS_SECRET_KEY is not set, so each host uses a key generated in its own instance "
            f"folder ({settings.instance_path / 'secret_key'}); set the same long random key everywhere",
        )
    if len(settings.secret_key) < MIN_SECRET_KEY_LENGTH:
        return warn(
            name,
            f"CROSSROADS_SECRET_KEY is set but has only {len(settings.secret_key)} characters; "
            f"use at least {MIN_SECRET_KEY_LENGTH} random ones",
        )
    return ok(name, "set explicitly through CROSSROADS_SECRET_KEY")


def check_secure_cookies(settings: Settings) -> CheckResult:
    name = "secure cookies"
    if not settings.secure_cookies:
        return fail(
            name,
            "CROSSROADS_SECURE_COOKIES is off: session cookies would travel over plain HTTP; "
            "serve over HTTPS and leave it unset",
        )
    return ok(name, "cookies are sent over HTTPS only")


def check_base_url(settings: Settings) -> CheckResult:
    name = "base URL"
    if not settings.base_url.startswith("https://"):
        return warn(
            name,
            f"CROSSROADS_BASE_URL is {settings.base_url}; "
            "links in emails should use the public https:// address",
        )
    return ok(name, settings.base_url)


def check_database_kind(settings: Settings) -> CheckResult:
    name = "database kind"
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        where = "the embedded SQLite file" if settings.uses_embedded_database else "a SQLite database"
        return warn(
            name,
            f"{where}: fine for one host and light use; use PostgreSQL for several web hosts or workers",
        )
    return ok(name, make_url(settings.database_url).get_backend_name())


# -- services ---------------------------------------------------------------------------------


def database_engine(settings: Settings, timeout: float = DEFAULT_TIMEOUT) -> Engine:
    """An engine that gives up connecting after ``timeout`` seconds instead of waiting for minutes."""
    url = make_url(settings.database_url)
    connect_args: dict[str, object] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, int(timeout))
    engine = create_engine(url, connect_args=connect_args)
    if url.get_backend_name() == "sqlite":

        @event.listens_for(engine, "connect")
        def _busy_timeout(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            cursor.close()

    return engine


def _sqlite_file_missing(settings: Settings) -> Path | None:
    """The path of a SQLite database file that does not exist (connecting would create it)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = Path(url.database)
    return None if path.exists() else path


def check_database(settings: Settings, engine: Engine) -> CheckResult:
    name = "database"
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    if missing := _sqlite_file_missing(settings):
        return fail(name, f"there is no database file at {missing}; run `{migrate.UPGRADE_COMMAND}`")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return fail(name, f"cannot connect to {shown}: {_first_line(exc)}")
    return ok(name, f"reachable at {shown}")


def check_schema(engine: Engine) -> CheckResult:
    name = "schema"
    try:
        status = migrate.schema_status(engine)
    except SQLAlchemyError as exc:
        return fail(name, f"cannot read the schema's revision: {_first_line(exc)}")
    if not status.current:
        at = ", ".join(sorted(status.at)) or "an empty database"
        return fail(
            name,
            f"behind the code (at {at}; missing {', '.join(sorted(status.missing))}); "
            f"run `{migrate.UPGRADE_COMMAND}`",
        )
    return ok(name, f"current ({', '.join(sorted(status.at))})")


def check_queue(settings: Settings, timeout: float = DEFAULT_TIMEOUT) -> CheckResult:
    """Redis answers PING when configured; without it, say what the SQLite queue implies."""
    name = "queue"
    if not settings.redis_url:
        return warn(
            name,
            f"CROSSROADS_REDIS_URL is not set: the queue is a SQLite file ({settings.queue_path}), so "
            "the web processes and every `crossroads worker` must run on this host with the same "
            "CROSSROADS_INSTANCE",
        )
    from redis import Redis  # here, not at import: only this check needs the client
    from redis.exceptions import RedisError

    shown = _without_password(settings.redis_url)
    try:
        client = Redis.from_url(settings.redis_url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
    except (RedisError, OSError, ValueError) as exc:
        return fail(name, f"Redis at {shown} is unreachable: {_first_line(exc)}")
    return ok(name, f"Redis at {shown} answers")


def _without_password(url: str) -> str:
    """``url`` without its password, for showing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.hostname or ""
    if parts.username:
        netloc = f"{parts.username}:***@{netloc}"
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def check_mail_addresses(settings: Settings) -> CheckResult:
    """Whether practices may send through servers on private addresses (``CROSSROADS_SMTP_ALLOW_PRIVATE``)."""
    name = "email server addresses"
    if settings.smtp_allow_private:
        return warn(
            name,
            f"{smtp.PRIVATE_ENV} is on: owners can point Crossroads at loopback and private "
            "addresses of this network; turn it off unless the email server is on it",
        )
    return ok(name, "only public addresses")


def check_mail_server(
    practice_name: str, mail: PracticeMail, settings: Settings, timeout: float = DEFAULT_TIMEOUT
) -> CheckResult:
    """Connect to one practice's server with its security setting and say EHLO; nothing is sent."""
    name = f"email server of {practice_name}"
    where = f"{mail.host}:{mail.port} ({mail.security.value})"
    if mail.username and mail.password_encrypted:
        try:
            decrypt(settings.secret_key, mail.password_encrypted)
        except SecretKeyMismatch:
            return fail(
                name,
                f"{where}: the stored password cannot be decrypted with this secret key; "
                "the owner must enter it again",
            )
    server = smtp.SmtpServer(
        host=mail.host,
        port=mail.port,
        security=mail.security,
        ca_file=settings.smtp_ca_file,
        timeout=timeout,
        allow_private=settings.smtp_allow_private,
    )
    try:
        _greet(server)
    except smtp.DeliveryError as exc:
        return fail(name, f"{where}: {exc.reason}")
    return ok(name, f"{where} answered EHLO")


def _greet(server: smtp.SmtpServer) -> None:
    """Connect, EHLO (and STARTTLS when set), QUIT; raise a :class:`smtp.DeliveryError` on failure."""
    try:
        context = smtp.tls_context(server.ca_file) if server.security != MailSecurity.NONE else None
    except OSError as exc:
        raise smtp.TemporaryFailure(
            f"cannot read the certificate authorities in {server.ca_file} ({exc})"
        ) from None
    try:
        conn = smtp._connect(server, context)
    except smtp.DeliveryError:
        raise
    except Exception as exc:
        raise smtp._classify(exc, server) from None
    with contextlib.suppress(Exception):
        conn.quit()
    smtp._close(conn)


def _practices_with(
    engine: Engine, model: type, what: str, settings_name: str, none: str
) -> list | CheckResult:
    """(practice name, row of ``model``) for each practice that has one, or the check's answer
    when there are none or they cannot be read."""
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(Practice.name, model)
                .join(model, model.practice_id == Practice.id)
                .order_by(Practice.id)
            ).all()
    except SQLAlchemyError as exc:
        return fail(what, f"cannot read the practices' {settings_name} settings: {_first_line(exc)}")
    return rows or ok(what, f"no practice has set up {none} yet")


def check_mail_servers(
    settings: Settings, engine: Engine, timeout: float = DEFAULT_TIMEOUT
) -> list[CheckResult]:
    rows = _practices_with(engine, PracticeMail, "email servers", "email", "an email server")
    if isinstance(rows, CheckResult):
        return [rows]
    return [check_mail_server(name, mail, settings, timeout) for name, mail in rows]


#: A mailbox not read for this long suggests that no worker is running.
MAILBOX_QUIET = timedelta(minutes=10)


def check_mailbox(
    practice_name: str, mailbox: PracticeMailbox, settings: Settings, timeout: float = DEFAULT_TIMEOUT
) -> CheckResult:
    """Log in to a practice's reply mailbox and open its folder (nothing read); say how polling goes."""
    name = f"reply mailbox of {practice_name}"
    where = (
        f"{mailbox.username} at {mailbox.host}:{mailbox.port} ({mailbox.security.value}), {mailbox.folder}"
    )
    try:
        server = imap.server_for(
            mailbox, settings.secret_key, settings.smtp_ca_file, settings.smtp_allow_private, timeout
        )
        imap.test_connection(server)
    except imap.MailboxError as exc:
        since = (
            f"; polls fail since {mailbox.failing_since:%Y-%m-%d %H:%M} UTC" if mailbox.failing_since else ""
        )
        return fail(name, f"{where}: {exc.reason}{since}")
    if mailbox.last_error:
        return warn(name, f"{where} answers now, but the last poll failed: {mailbox.last_error}")
    if mailbox.last_polled_at is None or mailbox.last_polled_at < utcnow() - MAILBOX_QUIET:
        when = f"since {mailbox.last_polled_at:%Y-%m-%d %H:%M} UTC" if mailbox.last_polled_at else "yet"
        return warn(name, f"{where} answers, but has not been read {when}: is `crossroads worker` running?")
    return ok(name, f"{where} answers; last read {mailbox.last_polled_at:%Y-%m-%d %H:%M} UTC")


def check_mailboxes(
    settings: Settings, engine: Engine, timeout: float = DEFAULT_TIMEOUT
) -> list[CheckResult]:
    rows = _practices_with(engine, PracticeMailbox, "reply mailboxes", "mailbox", "a reply mailbox")
    if isinstance(rows, CheckResult):
        return [rows]
    return [check_mailbox(name, mailbox, settings, timeout) for name, mailbox in rows]


#: Mail recorded this long ago and still not processed suggests that no worker is running.
INCOMING_QUIET = timedelta(minutes=10)


def check_incoming_mail(engine: Engine) -> list[CheckResult]:
    """Per practice with incoming mail in trouble: messages given up as failed, or waiting too long."""
    try:
        with Session(engine) as session:
            practices = session.execute(select(Practice.id, Practice.name).order_by(Practice.id)).all()
            states = [(name, pending.inbox_state(session, pid)) for pid, name in practices]
    except SQLAlchemyError as exc:
        return [fail("incoming mail", f"cannot read the incoming mail: {_first_line(exc)}")]
    results = []
    quiet_since = utcnow() - INCOMING_QUIET
    for name, state in states:
        if state.failed:
            results.append(
                warn(
                    f"incoming mail of {name}",
                    f"{state.failed} message(s) could not be processed after {pending.MAX_ATTEMPTS} "
                    "tries (their errors are on the practice's email settings page)",
                )
            )
        if state.oldest_pending is not None and state.oldest_pending < quiet_since:
            results.append(
                warn(
                    f"incoming mail of {name}",
                    f"{state.pending} message(s) waiting since {state.oldest_pending:%Y-%m-%d %H:%M} UTC: "
                    "is `crossroads worker` running?",
                )
            )
    return results or [ok("incoming mail", "nothing waiting for long, nothing failed")]


# -- all of them ------------------------------------------------------------------------------


def run_checks(
    settings: Settings, environ: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT
) -> list[CheckResult]:
    """Every check, in the order ``crossroads check`` prints them."""
    environ = os.environ if environ is None else environ
    results = [
        check_secret_key(settings, environ),
        check_secure_cookies(settings),
        check_base_url(settings),
        check_database_kind(settings),
        check_mail_addresses(settings),
    ]
    with _disposing(database_engine(settings, timeout)) as engine:
        database = check_database(settings, engine)
        schema = check_schema(engine) if database.status == Status.OK else None
        results.append(database)
        results.append(schema or fail("schema", "not checked without the database"))
        results.append(check_queue(settings, timeout))
        if schema is not None and schema.status == Status.OK:
            results.extend(check_mail_servers(settings, engine, timeout))
            results.extend(check_mailboxes(settings, engine, timeout))
            results.extend(check_incoming_mail(engine))
        else:
            results.append(warn("email servers", "not checked until the database is reachable and current"))
            results.append(warn("reply mailboxes", "not checked until the database is reachable and current"))
    return results


@contextlib.contextmanager
def _disposing(engine: Engine) -> Iterator[Engine]:
    try:
        yield engine
    finally:
        engine.dispose()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text_ = str(orig).strip().splitlines()
    return text_[0] if text_ else type(orig).__name__
