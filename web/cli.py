"""The ``crossroads`` command: run the app, manage the database, create practices and users."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from crossroads.core import events, migrate
from crossroads.core.config import Settings
from crossroads.core.db import make_engine, make_sessionmaker
from crossroads.core.demo import ANSWERING_CONTACT, demo_logins, load_demo
from crossroads.core.errors import InvalidInput, SchemaOutOfDate
from crossroads.core.models import Practice, User
from crossroads.core.plugins import PluginManager
from crossroads.core.schemas import CreatePracticeSchema, CreateUserSchema, load
from crossroads.core.scoping import Scope
from crossroads.core.services import imports, practices
from crossroads.core.sources import Importer, ImportRefused
from crossroads.core.sources import registry as source_registry

from .ops import configure_logging
from .plugin_cli import PluginCommandsGroup, warn_about_imports


@contextmanager
def user_errors(options: dict[str, str] | None = None) -> Iterator[None]:
    """Turn the errors a user can cause into one clear line instead of a traceback.

    ``options`` maps schema field names to the command-line options that fed them.
    """
    options = options or {}
    try:
        yield
    except InvalidInput as exc:
        lines = [f"{options.get(field, field)}: {' '.join(msgs)}" for field, msgs in exc.errors.items()]
        raise click.ClickException("\n".join(lines)) from None
    except SchemaOutOfDate as exc:
        raise click.ClickException(str(exc)) from None
    except OperationalError as exc:
        raise click.ClickException(f"Cannot use the database: {exc.orig}") from None


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:  # a malformed environment variable
        raise click.ClickException(str(exc)) from None


@click.group(cls=PluginCommandsGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Crossroads: informational interviews, run by a coach.

    Configuration comes from environment variables (CROSSROADS_DATABASE_URL,
    CROSSROADS_SECRET_KEY, CROSSROADS_INSTANCE, ...); see the README.
    Installed plugins may add commands of their own.
    """


@main.command()
@click.option("--demo", is_flag=True, help="Load a demo practice and print its logins.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option("--debug", is_flag=True, help="Reload on code changes and show debug pages.")
@click.option(
    "--no-worker", is_flag=True, help="Do not send email from this process (run `crossroads worker`)."
)
def serve(demo: bool, host: str, port: int, debug: bool, no_worker: bool) -> None:
    """Run Crossroads with the built-in web server.

    On the embedded default (a SQLite file in the instance folder) the schema
    is created or upgraded first. With CROSSROADS_DATABASE_URL set, run
    `crossroads db upgrade` yourself; serve refuses a database that is behind.

    Email is sent by a background worker running inside this process, unless
    --no-worker is given.
    """
    from crossroads.web import create_app

    settings = _settings()
    if demo:  # a trial on a laptop: its mail catcher or relay is on this machine or network
        settings.smtp_allow_private = True
    shown_host = "localhost" if host in ("127.0.0.1", "localhost") else host
    if not os.environ.get("CROSSROADS_BASE_URL", "").strip() and ":" not in host:
        # Links (invitations, resets) come from the base URL alone: by default, the address served.
        settings.base_url = f"http://{'localhost' if host == '0.0.0.0' else shown_host}:{port}"
    with user_errors():
        engine = make_engine(settings.database_url)
        if settings.uses_embedded_database:
            migrate.upgrade(engine)
        migrate.ensure_current(engine)
        if demo:
            with make_sessionmaker(engine)() as session:
                practice = load_demo(session)
            settings.demo_practice_id = practice.id  # the Sent mail page exists for it, in this run only
        app = create_app(settings)
    # With --debug the reloader runs the app in a child process; the worker and catcher belong there.
    serving = not debug or os.environ.get("WERKZEUG_RUN_MAIN") == "true"
    catcher = None
    reminded = 0
    if demo and serving:
        from crossroads.core.db import utcnow
        from crossroads.core.demo_mail import remind_now, start_catcher

        # The catcher's sessions are the worker's: plugins hear of the demo reply, and the emails it
        # makes (the client's copy, the coach's notice) go at once; so do the reminders below.
        queue = app.extensions["crossroads"].queue
        catcher = start_catcher(queue.session, practice.id, settings.demo_reply_seconds)
        with queue.session() as session:
            reminded = remind_now(session, practice.id, utcnow(), settings.secret_key, settings.base_url)
    click.echo(f"Crossroads is running at http://{shown_host}:{port}/")
    click.echo(f"Database: {engine.url.render_as_string(hide_password=True)}")
    if demo:
        click.echo(f"Demo practice: {practice.name}. Sign in as:")
        for login in demo_logins():
            click.echo(f"  {login.role:<15} {login.email:<28} password: {login.password}")
        for line in demo_mail_instructions(settings.base_url, catcher, settings.demo_reply_seconds, reminded):
            click.echo(line)
    if settings.secure_cookies and shown_host != "localhost":
        click.echo(
            "Note: cookies are HTTPS-only. Over plain HTTP on another address, browsers will not keep "
            "you signed in; put Crossroads behind TLS, or set CROSSROADS_SECURE_COOKIES=0 on a private LAN.",
            err=True,
        )
    consumer = None
    if not no_worker and serving:
        queue = app.extensions["crossroads"].queue
        consumer = queue.start_background(workers=2)
        click.echo(f"Sending email in the background; queue: {queue.backend}")
    try:
        app.run(host=host, port=port, debug=debug, use_reloader=debug)
    finally:
        if consumer is not None:
            click.echo("Stopping the email worker (finishing messages being sent)...")
            consumer.stop(graceful=True)
        if catcher is not None:  # after the worker: it may still be delivering to it
            catcher.stop()


def _after(seconds: float) -> str:
    if seconds == 0:
        return "at once"
    return f"after about {seconds:g} second{'' if seconds == 1 else 's'}"


def demo_mail_instructions(base_url: str, catcher: Any, reply_seconds: float, reminded: int = 0) -> list[str]:
    """What ``serve --demo`` prints about its email: the catcher, Sent mail, the answering contact,
    and the reminders sent at the start."""
    if catcher is None:  # the reloader's watching process: the serving child prints it
        return []
    lines = [
        f"Demo email: the practice sends through a mail catcher on {catcher.host}:{catcher.port} "
        "(nothing leaves this machine).",
        f"  Sent mail: {base_url}/demo/mail/ shows each message as the catcher received it.",
        f"  Try it: sign in as the client, open the contact {ANSWERING_CONTACT} and write a first request "
        f"by email; {ANSWERING_CONTACT.split()[0]} answers {_after(reply_seconds)}, and the client "
        "and the coach are notified.",
    ]
    if reminded:
        lines.append(
            f"  Daily reminders: {reminded} demo client{'' if reminded == 1 else 's'} with something due "
            f"{'was' if reminded == 1 else 'were'} sent today's reminder email (on Sent mail)."
        )
    return lines


@main.command()
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Messages sent at the same time (threads).",
)
def worker(workers: int) -> None:
    """Send queued email: run the background worker in the foreground (Ctrl-C stops it).

    Uses Redis when CROSSROADS_REDIS_URL is set, otherwise a SQLite file in the
    instance folder (then run it on the same host, with the same
    CROSSROADS_INSTANCE, as the web processes). Several workers may run at once:
    a message is never sent twice.
    """
    from crossroads.core.mail.queue import make_queue

    settings = _settings()
    with user_errors():
        engine = make_engine(settings.database_url)
        if settings.uses_embedded_database:  # as serve does on a laptop
            migrate.upgrade(engine)
        migrate.ensure_current(engine)
        engine.dispose()
    configure_logging(settings)  # CROSSROADS_LOG_FORMAT=json gives one JSON object per line
    queue = make_queue(settings, PluginManager())
    click.echo(f"Crossroads email worker: {workers} thread(s); queue: {queue.backend}")
    click.echo(f"Database: {engine.url.render_as_string(hide_password=True)}")
    try:
        queue.consumer(workers=workers).run()
    finally:
        queue.close()


@main.group()
def inbox() -> None:
    """The practices' reply mailboxes (IMAP)."""


@inbox.command("poll")
@click.option(
    "--practice", "practice_id", type=int, help="Only this practice's mailbox (default: every one)."
)
def inbox_poll(practice_id: int | None) -> None:
    """Read new messages in the reply mailboxes once and process them, in the foreground (the worker
    does it every minute).

    Records what is new, then processes the practice's pending mail. Exits with 1 when a mailbox
    could not be read; a mailbox another worker is reading at the moment is left to it.
    """
    from crossroads.core.inbox.imap import mailbox_practices, poll
    from crossroads.core.inbox.pending import process_pending

    settings = _settings()
    with user_errors():
        engine = make_engine(settings.database_url)
        migrate.ensure_current(engine)
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            practice_ids = mailbox_practices(session)
            if practice_id is not None:
                if practice_id not in practice_ids:
                    raise click.ClickException(f"Practice {practice_id} has no reply mailbox.")
                practice_ids = [practice_id]
            failed = False
            for pid in practice_ids:
                result = poll(
                    session,
                    pid,
                    settings.secret_key,
                    ca_file=settings.smtp_ca_file,
                    allow_private=settings.smtp_allow_private,
                )
                if result.busy:
                    click.echo(f"practice {pid}: another worker is reading it; left to it")
                elif result.error:
                    failed = True
                    click.echo(f"practice {pid}: FAILED: {result.error}", err=True)
                elif result.first_connection:
                    click.echo(f"practice {pid}: first connection; reading from UID {result.last_uid + 1} on")
                else:
                    click.echo(
                        f"practice {pid}: {result.received} new, {result.duplicates} seen before; "
                        f"last UID {result.last_uid}"
                    )
                done = process_pending(sessions, pid)
                if done.processed or done.failed:
                    click.echo(f"practice {pid}: {done.processed} processed, {done.failed} failed")
                    failed = failed or bool(done.failed)
        engine.dispose()
    if not practice_ids:
        click.echo("No practice has a reply mailbox.")
    if failed:
        sys.exit(1)


@main.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Apply every migration the database has not had yet."""
    settings = _settings()
    with user_errors():
        engine = make_engine(settings.database_url)
        migrate.upgrade(engine, revision)
        status = migrate.schema_status(engine)
    click.echo(f"Database is at revision {', '.join(sorted(status.at))}.")


@db.command("current")
def db_current() -> None:
    """Show the database's revision and whether it is up to date (exit 1 when behind)."""
    settings = _settings()
    with user_errors():
        engine = make_engine(settings.database_url)
        status = migrate.schema_status(engine)
    click.echo(f"Database revision: {', '.join(sorted(status.at)) or 'none (empty database)'}")
    if status.unknown:
        click.echo(f"Not installed:     {', '.join(sorted(status.unknown))} (a removed plugin's)")
    click.echo(f"Code expects:      {', '.join(sorted(status.expected))}")
    if not status.current:
        click.echo(f"Missing:           {', '.join(sorted(status.missing))}")
        click.echo(f"The schema is behind. Run `{migrate.UPGRADE_COMMAND}`.")
        sys.exit(1)
    click.echo("Up to date.")


def _with_session(action: Callable[[Any], Any]) -> Any:
    settings = _settings()
    engine = make_engine(settings.database_url)
    migrate.ensure_current(engine)
    with make_sessionmaker(engine)() as session:
        return action(session)


@main.command("create-practice")
@click.option("--name", required=True, help="The practice's name.")
@click.option("--owner-email", required=True, help="Email of the practice owner.")
@click.option("--owner-name", required=True, help="Name of the practice owner.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone, e.g. Europe/London.")
@click.password_option("--owner-password", help="Owner's password (prompted when not given).")
def create_practice(name: str, owner_email: str, owner_name: str, timezone: str, owner_password: str) -> None:
    """Create a practice and its owner."""
    options = {
        "name": "--name",
        "owner_email": "--owner-email",
        "owner_name": "--owner-name",
        "timezone": "--timezone",
        "owner_password": "--owner-password",
    }
    with user_errors(options):
        data = load(
            CreatePracticeSchema(),
            {
                "name": name,
                "owner_email": owner_email,
                "owner_name": owner_name,
                "timezone": timezone,
                "owner_password": owner_password,
            },
        )
        practice = _with_session(lambda session: practices.create_practice(session, data))
    click.echo(f"Created practice {practice.id} ({practice.name}); {data['owner_email']} can sign in.")


@main.command("create-user")
@click.option("--practice", "practice_id", required=True, type=int, help="Practice id.")
@click.option("--email", required=True, help="Email to sign in with.")
@click.option("--name", required=True, help="Full name.")
@click.option("--role", type=click.Choice(["coach", "owner"]), default="coach", show_default=True)
@click.password_option("--password", help="Password (prompted when not given).")
def create_user(practice_id: int, email: str, name: str, role: str, password: str) -> None:
    """Create a coach (or another owner) in an existing practice.

    Clients are invited by their coach from the portal instead.
    """
    options = {"practice_id": "--practice", "email": "--email", "name": "--name", "password": "--password"}
    with user_errors(options):
        data = load(
            CreateUserSchema(),
            {"practice_id": practice_id, "email": email, "name": name, "role": role, "password": password},
        )
        user = _with_session(lambda session: practices.create_staff_user(session, data))
    click.echo(f"Created {user.role.value} {user.email} in practice {practice_id}.")


#: The importers ``crossroads import-linkedin`` chooses between, by the file's header.
LINKEDIN_IMPORTERS = ("linkedin_connections", "linkedin_connections_older")


@main.command("import-linkedin")
@click.option("--client", "client_email", required=True, help="Email of the client whose contacts these are.")
@click.argument("file", type=click.File("rb"))
def import_linkedin_command(client_email: str, file) -> None:
    """Import a LinkedIn Connections.csv export (either layout) into a client's contacts.

    Importing again updates known contacts (matched by profile URL, or in the
    older layout by email, or name and company) and never duplicates them. A
    broken file is refused whole, naming its lines.
    """
    _import_file(client_email, file, LINKEDIN_IMPORTERS)


@main.command("import-contacts")
@click.option("--client", "client_email", required=True, help="Email of the client whose contacts these are.")
@click.option(
    "--format",
    "format_name",
    default=None,
    help="The importer's name (see --list); without it, the one that recognises the file.",
)
@click.option("--list", "list_formats", is_flag=True, help="List the importers on for the client's practice.")
@click.argument("file", type=click.File("rb"), required=False)
def import_contacts_command(client_email: str, format_name: str | None, list_formats: bool, file) -> None:
    """Import a file of contacts (LinkedIn, vCard, or a plugin's format) into a client's contacts.

    All or nothing: a broken file is refused whole, naming its lines.
    Importing again updates the people already there and never duplicates them.
    """
    if list_formats:
        _with_session(lambda session: _list_importers(session, client_email))
        return
    if file is None:
        raise click.UsageError("Name the FILE to import (or --list the formats).")
    _import_file(client_email, file, (format_name,) if format_name else None)


def _client_user(session, client_email: str) -> User:
    user = session.scalar(select(User).where(User.email == client_email.strip().lower()))
    if user is None or user.client is None:
        raise InvalidInput({"client": [f"No client has the email {client_email}."]})
    return user


def _enabled_importers(session, user: User) -> dict[str, Importer]:
    plugins = PluginManager()
    events.attach(session, plugins)
    return source_registry(plugins).importers_for(plugins.enabled_for(session, user.practice_id))


def _list_importers(session, client_email: str) -> None:
    with user_errors({"client": "--client"}):
        user = _client_user(session, client_email)
    for name, importer in _enabled_importers(session, user).items():
        click.echo(f"{name}: {importer.label}")


def _import_file(client_email: str, file, formats: tuple[str, ...] | None) -> None:
    """Import ``file`` with the first of ``formats`` (None: any) that recognises it, else the first named."""
    data = file.read(imports.MAX_UPLOAD_BYTES + 1)
    if len(data) > imports.MAX_UPLOAD_BYTES:
        raise click.ClickException(f"{file.name} is larger than {imports.MAX_UPLOAD_BYTES // 2**20} MB.")

    def run_import(session):
        user = _client_user(session, client_email)
        available = _enabled_importers(session, user)
        wanted = available if formats is None else {n: available[n] for n in formats if n in available}
        if formats is not None and not wanted:
            raise InvalidInput({"format": [f"No importer {formats[0]!r} is on for this practice."]})
        importer = imports.find_importer(wanted, data)
        if importer is None and formats is not None:
            importer = next(iter(wanted.values()))
        if importer is None:
            raise InvalidInput({"format": ["No importer recognises this file; name one with --format."]})
        with click.progressbar(length=1, label="Importing", show_percent=True) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            result = imports.import_contacts(Scope(session, user), user.client.id, importer, data, progress)
        return user, result

    try:
        with user_errors({"client": "--client", "format": "--format"}):
            user, result = _with_session(run_import)
    except ImportRefused as exc:
        lines = [f"  line {n}: {message}" if n else f"  {message}" for n, message in exc.problems]
        if exc.total > len(exc.problems):
            lines.append(f"  … and {exc.total - len(exc.problems)} more")
        raise click.ClickException(
            "Nothing was imported; the file was refused:\n" + "\n".join(lines)
        ) from None
    click.echo(
        f"{user.name}: {result.added} added, {result.updated} updated, "
        f"{result.unchanged} already up to date, {len(result.skipped)} skipped."
    )
    for line, why in result.skipped[:20]:
        click.echo(f"  skipped line {line}: {why}")
    if len(result.skipped) > 20:
        click.echo(f"  … and {len(result.skipped) - 20} more skipped")


@main.command("plugins")
@click.option(
    "--practice", "practice_id", type=int, help="Also show whether each plugin is on for this practice id."
)
def list_plugins(practice_id: int | None) -> None:
    """List installed plugins: name, version, where each comes from, and the hooks it implements.

    Set CROSSROADS_PLUGINS=name,name to load only those (to find a broken install).
    """
    manager = PluginManager()
    infos = manager.plugins()
    enabled: set[str] | None = None
    if practice_id is not None:

        def lookup(session: Any) -> set[str]:
            if session.get(Practice, practice_id) is None:
                raise click.ClickException(f"No practice has the id {practice_id}.")
            return manager.enabled_for(session, practice_id)

        with user_errors():
            enabled = _with_session(lookup)
    if not infos and not manager.load_errors:
        click.echo("No plugins are installed.")
    for info in infos:
        state = ""
        if enabled is not None:
            state = f"  [{'on' if info.name in enabled else 'off'} for practice {practice_id}]"
        click.echo(f"{info.name} {info.version}{state}")
        click.echo(f"  from:  {info.source} ({info.module})")
        click.echo(f"  hooks: {', '.join(info.hooks) or '(none)'}")
        for warning in manager.load_warnings.get(info.name, []):
            click.echo(f"  warns: {warning}")
    for name, error in manager.load_errors.items():
        click.echo(f"{name}: failed to load: {error}", err=True)
    warn_about_imports(infos)


from .cli_check import check  # noqa: E402  (a command in its own module)

main.add_command(check)

from .scaffold import plugin  # noqa: E402  (crossroads plugin new: start a plugin package)

main.add_command(plugin)
