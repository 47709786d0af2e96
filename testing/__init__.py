"""crossroads.testing: pytest fixtures for testing a Crossroads plugin.

Crossroads registers this module as a pytest plugin (the ``pytest11`` entry
point), so in any environment where Crossroads is installed a plugin's tests
can simply ask for these fixtures by name; nothing needs importing::

    def test_my_panel_is_on_the_client_page(crossroads_page, crossroads_client):
        page = crossroads_page(crossroads_client.user, "/me/")
        assert "Your next step" in page.plugin_part("my_plugin").text

Every test gets a fresh database (SQLite in the test's ``tmp_path``, a copy of
one migrated once per session with the core's and every installed plugin's
migrations), or, with ``CROSSROADS_TEST_DATABASE_URL`` set, the PostgreSQL
database it names (its ``public`` schema dropped and migrated once per session,
every table emptied after each test). The app loads plugins through their entry
points, exactly as ``crossroads serve`` does: the plugin under test must be
installed (``pip install -e .``). Override :func:`crossroads_plugins` to choose which.

All fixtures start with ``crossroads_`` so that they never shadow a project's
own; ``pytest --fixtures`` lists them with their documentation. Importing this
module is cheap and changes nothing: Crossroads itself is imported only when a
fixture is used.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .outbox import Outbox, Worker
from .pages import Page, PluginPart, plugin_parts

if TYPE_CHECKING:
    from click.testing import Result
    from flask import Flask
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from crossroads.core.config import Settings
    from crossroads.core.models import CareerTheme, Client, Contact, Practice, User
    from crossroads.core.plugin_settings import PluginSettings
    from crossroads.core.plugins import PluginManager

    from .browser import Browser

#: The kit's builders (``testing/builders.py``), loaded on first use: they import Crossroads.
_BUILDERS = (
    "PASSWORD",
    "password_hash",
    "make_practice",
    "make_user",
    "make_client",
    "make_contact",
    "make_bank",
    "make_conversation",
    "make_message",
    "History",
    "add_history",
)

__all__ = [
    *_BUILDERS,
    "World",
    "OtherPractice",
    "Outbox",
    "Worker",
    "Page",
    "PluginPart",
    "plugin_parts",
    "TEST_SECRET_KEY",
    "DATABASE_ENV",
]

#: The environment variable naming a PostgreSQL database to test on instead of SQLite.
DATABASE_ENV = "CROSSROADS_TEST_DATABASE_URL"
TEST_SECRET_KEY = "crossroads-testing-secret-key-not-for-production"


def __getattr__(name: str) -> Any:
    """The builders and :data:`PASSWORD`, imported from :mod:`crossroads.testing.builders` when first
    asked for, so that importing the kit (as pytest does in every project) stays cheap."""
    if name not in _BUILDERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import builders

    value = getattr(builders, name)
    globals()[name] = value
    return value


@dataclass
class OtherPractice:
    """A second practice, for proving that nothing crosses between practices: its owner, a coach
    (who may be the owner) and the coach's client."""

    practice: Practice
    owner: User
    coach: User
    client: Client


@dataclass
class World:
    """A small practice: its owner, a coach, and the coach's client with a theme and three contacts.

    ``contacts`` are, in order: an editor with an email address (linked to the
    theme), a planner without one, and a professional association's events
    manager (source ``association``), all at the stage "identified".

    The rest is there when a test asks for it: ``other_client`` (a second client
    of the coach, :func:`crossroads_other_client`), ``owners_client`` (a client of
    the owner's own, so of another coach, :func:`crossroads_owners_client`) and
    ``other_practice`` (:func:`crossroads_other_practice`).
    Everyone signs in with :data:`PASSWORD`.
    """

    practice: Practice
    owner: User
    coach: User
    client: Client
    theme: CareerTheme | None = None
    contacts: list[Contact] = field(default_factory=list)
    other_client: Client | None = None
    owners_client: Client | None = None
    other_practice: OtherPractice | None = None

    @property
    def clients(self) -> list[Client]:
        """Every client the world has so far, in this order: the client, the coach's other client,
        the owner's client, the other practice's client (those not asked for are left out)."""
        other = self.other_practice.client if self.other_practice is not None else None
        return [c for c in (self.client, self.other_client, self.owners_client, other) if c is not None]

    @property
    def stranger_practice(self) -> Practice:
        """The other practice (Crossroads' own tests call it the stranger's)."""
        return self._other().practice

    @property
    def stranger_owner(self) -> User:
        """The other practice's owner."""
        return self._other().owner

    @property
    def stranger_client(self) -> Client:
        """The other practice's client."""
        return self._other().client

    def _other(self) -> OtherPractice:
        assert self.other_practice is not None, "ask for the crossroads_other_practice fixture"
        return self.other_practice


@dataclass(frozen=True)
class _Migrated:
    """The session's migrated database: on SQLite a template file that tests get copies of; on
    PostgreSQL the database itself, which tests share one after the other."""

    url: str
    tables: list[str]
    sqlite_file: Path | None

    def database_for(self, folder: Path) -> str:
        """The URL of a database for one user of it: a copy of the template in ``folder`` (SQLite),
        or the shared database (PostgreSQL; :meth:`empty` it after use)."""
        if self.sqlite_file is None:
            return self.url
        target = folder / "crossroads.sqlite3"
        shutil.copyfile(self.sqlite_file, target)
        return f"sqlite:///{target}"

    def empty(self, url: str) -> None:
        """Delete every row of every table (the migrations' own bookkeeping excepted) at ``url``."""
        from crossroads.core.db import make_engine

        engine = make_engine(url)
        try:
            _empty(engine, self.tables)
        finally:
            engine.dispose()


# -- which plugins, which database ---------------------------------------------------------------


@pytest.fixture
def crossroads_plugins() -> list[str] | None:
    """The plugins the app loads, by entry-point name; ``None`` (the default) loads every installed one.

    Override it in your ``conftest.py`` (or a test module) to test your plugin
    alone, or beside the built-in ones it works with::

        @pytest.fixture
        def crossroads_plugins():
            return ["my_plugin", "email"]

    A name that is not installed, or whose module fails to import, fails the
    test with the reason.
    """
    return None


@pytest.fixture(scope="session")
def _crossroads_migrated(tmp_path_factory: pytest.TempPathFactory) -> _Migrated:
    """A database migrated once per test session, which :func:`crossroads_database_url` hands out.

    On PostgreSQL the ``public`` schema is dropped first, so what an earlier run (of another branch,
    with other migrations) left behind cannot get in the way.
    """
    import warnings

    from sqlalchemy import MetaData, text
    from sqlalchemy.exc import SAWarning

    from crossroads.core import migrate
    from crossroads.core.db import make_engine
    from crossroads.core.search_index import FTS_TABLE

    url = os.environ.get(DATABASE_ENV)
    sqlite_file = None
    if not url:
        sqlite_file = tmp_path_factory.mktemp("crossroads-db") / "migrated.sqlite3"
        url = f"sqlite:///{sqlite_file}"
    engine = make_engine(url)
    try:
        if sqlite_file is None:
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        migrate.upgrade(engine)
        metadata = MetaData()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # expression indexes are not reflected: no matter
            metadata.reflect(engine)
        # The search index's FTS5 table and its shadow tables (SQLite) follow ``contact`` through
        # triggers: emptying them by hand would break the index.
        tables = [
            t.name
            for t in reversed(metadata.sorted_tables)
            if t.name != "alembic_version" and not t.name.startswith(FTS_TABLE)
        ]
    finally:
        engine.dispose()
    return _Migrated(url, tables, sqlite_file)


def _empty(engine: Any, tables: list[str]) -> None:
    from sqlalchemy import table

    with engine.begin() as connection:
        for name in tables:
            connection.execute(table(name).delete())


@dataclass
class _SessionEngine:
    """One engine for the whole session, so SQLAlchemy compiles each statement once (its cache
    is the engine's) and PostgreSQL connections are reused. On SQLite each new connection is
    pointed at the current test's file (``database``), and the pool is emptied between tests."""

    engine: Engine
    database: str | None = None


@pytest.fixture(scope="session")
def _crossroads_session_engine(_crossroads_migrated: _Migrated) -> Iterator[_SessionEngine]:
    """The engine :func:`crossroads_engine` hands out, for tests whose database is the kit's."""
    from sqlalchemy import event

    from crossroads.core.db import make_engine

    shared = _SessionEngine(make_engine(_crossroads_migrated.url))
    if _crossroads_migrated.sqlite_file is not None:

        @event.listens_for(shared.engine, "do_connect")
        def _to_this_tests_file(_dialect: Any, _record: Any, cargs: list[Any], _cparams: Any) -> None:
            assert shared.database is not None, "the session's engine is used outside a test"
            cargs[0] = shared.database

    yield shared
    shared.engine.dispose()


@pytest.fixture
def crossroads_database_url(
    _crossroads_migrated: _Migrated, _crossroads_session_engine: _SessionEngine, tmp_path: Path
) -> Iterator[str]:
    """The URL of this test's database, migrated to the newest revision of the core and every plugin.

    On SQLite, a fresh file in ``tmp_path`` (a copy of one migrated once per
    session). With ``CROSSROADS_TEST_DATABASE_URL`` set, that PostgreSQL
    database, whose every table is emptied after the test.
    """
    url = _crossroads_migrated.database_for(tmp_path)
    yield url
    if _crossroads_migrated.sqlite_file is None:
        _empty(_crossroads_session_engine.engine, _crossroads_migrated.tables)


@pytest.fixture
def crossroads_engine(
    crossroads_database_url: str, _crossroads_session_engine: _SessionEngine
) -> Iterator[Engine]:
    """A SQLAlchemy :class:`~sqlalchemy.engine.Engine` on the test's database.

    :func:`crossroads_db` is a session on it; make your own sessions on it (``make_sessionmaker``)
    to act as a second, concurrent user. The app has an engine of its own on the same database.
    """
    from sqlalchemy.engine import make_url

    from crossroads.core.db import make_engine

    shared = _crossroads_session_engine
    wanted, session_url = make_url(crossroads_database_url), shared.engine.url
    if wanted == session_url:  # PostgreSQL: the session's database
        yield shared.engine
    elif wanted.get_backend_name() == session_url.get_backend_name() == "sqlite" and wanted.database:
        shared.database = wanted.database
        yield shared.engine
        shared.engine.dispose()  # no connection to this test's file stays in the pool
        shared.database = None
    else:  # a database of the test's own choosing (an overridden crossroads_database_url)
        engine = make_engine(crossroads_database_url)
        yield engine
        engine.dispose()


@pytest.fixture
def crossroads_settings(crossroads_database_url: str, tmp_path: Path) -> Settings:
    """The test's :class:`~crossroads.core.config.Settings`: its database and an instance folder."""
    from crossroads.core.config import Settings

    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    return Settings(
        instance_path=instance,
        database_url=crossroads_database_url,
        secret_key=TEST_SECRET_KEY,
        secure_cookies=True,
        smtp_allow_private=True,  # test email servers listen on 127.0.0.1
        testing=True,
    )


@pytest.fixture
def crossroads_plugin_manager(crossroads_plugins: list[str] | None) -> PluginManager:
    """The :class:`~crossroads.core.plugins.PluginManager`, loaded through the entry points.

    Only the plugins :func:`crossroads_plugins` names (all installed ones by
    default). Fails the test when a named plugin is missing or does not load.
    """
    from crossroads.core.plugins import PluginManager

    manager = PluginManager(only=crossroads_plugins)
    for name in crossroads_plugins or []:
        if name in manager.load_errors:
            pytest.fail(f"plugin {name!r} failed to load: {manager.load_errors[name]}", pytrace=False)
        if name not in manager.names:
            pytest.fail(
                f"no plugin named {name!r} is installed (no entry point in the group 'crossroads'); "
                f"installed: {', '.join(sorted(_installed())) or 'none'}. Run `pip install -e .` "
                "in your plugin's folder.",
                pytrace=False,
            )
    return manager


def _installed() -> set[str]:
    from importlib.metadata import entry_points

    from crossroads.core.plugins import ENTRY_POINT_GROUP

    return {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}


# -- the app and its database ---------------------------------------------------------------------


@pytest.fixture
def crossroads_app(
    crossroads_settings: Settings, crossroads_plugin_manager: PluginManager
) -> Iterator[Flask]:
    """The Crossroads Flask app with the chosen plugins, on this test's database.

    CSRF checks are off (so a test can post forms directly), and URLs are
    built as ``https://localhost/...``. Use :func:`crossroads_as_user` for requests.
    """
    from crossroads.web import create_app

    app = create_app(crossroads_settings, plugins=crossroads_plugin_manager)
    app.config.update(WTF_CSRF_ENABLED=False, SERVER_NAME="localhost", PREFERRED_URL_SCHEME="https")
    yield app
    ext = app.extensions["crossroads"]
    ext.queue.close()
    ext.engine.dispose()


@pytest.fixture
def crossroads_db(crossroads_engine: Engine, crossroads_plugin_manager: PluginManager) -> Iterator[Session]:
    """A database session on the test's database, as a request would have it.

    Services you call with it fire events (``message_sent``, ``theme_decided``…)
    to the loaded plugins, as in the web app. Commit what you add: requests and
    CLI commands use their own connections. It does not build the app (which
    takes time): a test of services alone stays fast.
    """
    from crossroads.core import events
    from crossroads.core.db import make_sessionmaker

    session = make_sessionmaker(crossroads_engine)()
    events.attach(session, crossroads_plugin_manager)
    yield session
    session.close()


# -- a small world --------------------------------------------------------------------------------


@pytest.fixture
def crossroads_world(crossroads_db: Session) -> World:
    """A :class:`World`: a practice with its owner, a coach, and the coach's client with a theme and contacts.

    The practice is "Northbridge Coaching" (Europe/London); the owner is
    Olivia Owner (``olivia@northbridge.example``), the coach Colin Coach
    (``colin@northbridge.example``), the client Clara Client (``clara@client.example``)
    exploring "Magazine editing", with the contacts :class:`World` describes, made through the
    core's services. Everyone signs in with :data:`PASSWORD`. Everything is committed.

    Crossroads' own suite uses this cast too: its ``world`` fixture is this one with
    :func:`crossroads_other_client`, :func:`crossroads_owners_client`,
    :func:`crossroads_other_practice` and :func:`add_history` for each client.
    """
    from crossroads.core.models import Role

    from .builders import make_practice, make_user

    session = crossroads_db
    practice = make_practice(session, "Northbridge Coaching", "Europe/London")
    owner = make_user(session, practice, "olivia@northbridge.example", Role.OWNER, "Olivia Owner")
    coach = make_user(session, practice, "colin@northbridge.example", Role.COACH, "Colin Coach")
    people = [
        {
            "name": "Ada Editor",
            "organisation": "The Review",
            "position": "Features editor",
            "email": "ada@review.example",
            "with_theme": True,
        },
        {"name": "Ben Planner", "organisation": "City Council", "position": "Planner"},
        {
            "name": "Eve Events",
            "organisation": "Society of Magazine Editors",
            "position": "Events manager",
            "email": "events@sme.example",
            "source": "association",
        },
    ]
    client, theme, found = _client(
        session, coach, "clara@client.example", "Clara Client", "Magazine editing", people
    )
    return World(practice, owner, coach, client, theme, found)


def _client(
    session: Session, coach: User, email: str, name: str, theme_title: str, people: list[dict[str, Any]]
) -> tuple[Client, CareerTheme, list[Contact]]:
    """A client of ``coach`` with one theme and ``people`` as contacts, made through the services (as
    the client), so the plugins hear of them as in the app. Committed."""
    from crossroads.core.models import Client, ClientStatus, Role
    from crossroads.core.schemas import NewContactSchema, ThemeSchema, load
    from crossroads.core.scoping import Scope
    from crossroads.core.services import contacts, themes

    from .builders import make_user

    user = make_user(session, coach.practice, email, Role.CLIENT, name)
    client = Client(practice_id=coach.practice_id, user=user, coach=coach, status=ClientStatus.EXPLORING)
    session.add(client)
    session.commit()
    as_client = Scope(session, user)
    theme = themes.add_theme(as_client, client.id, load(ThemeSchema(), {"title": theme_title}))
    found = []
    for person in people:
        values = {k: v for k, v in person.items() if k != "with_theme"}
        if person.get("with_theme"):
            values["theme_ids"] = [theme.id]
        found.append(contacts.create_contact(as_client, client.id, load(NewContactSchema(), values)))
    return client, theme, found


@pytest.fixture
def crossroads_other_client(crossroads_db: Session, crossroads_world: World) -> Client:
    """A second client of the world's coach: Otto Other (``otto@client.example``), exploring
    "Urban planning", with one contact (Pia Planner). Also ``crossroads_world.other_client``.

    For proving that a client reaches only their own rows, and that a page about one client
    shows nobody else's.
    """
    world = crossroads_world
    people = [{"name": "Pia Planner", "organisation": "Harbour Trust", "position": "Planner"}]
    world.other_client, _, _ = _client(
        crossroads_db, world.coach, "otto@client.example", "Otto Other", "Urban planning", people
    )
    return world.other_client


@pytest.fixture
def crossroads_owners_client(crossroads_db: Session, crossroads_world: World) -> Client:
    """A client of the owner's own (so not the coach's): Ola Owned, exploring "Data journalism",
    with one contact. Also ``crossroads_world.owners_client``. A coach must not reach them."""
    world = crossroads_world
    people = [{"name": "Dan Data", "organisation": "The Ledger", "position": "Data editor"}]
    world.owners_client, _, _ = _client(
        crossroads_db, world.owner, "ola@client.example", "Ola Owned", "Data journalism", people
    )
    return world.owners_client


@pytest.fixture
def crossroads_other_practice(crossroads_db: Session, crossroads_world: World) -> OtherPractice:
    """A second practice, "Elsewhere Coaching" (America/New_York): its owner Sam Stranger, its
    coach Cora Elsewhere, and her client Bea Beyond (``bea@client.example``) exploring "Systems
    analysis" with one contact. Also ``crossroads_world.other_practice``. Nothing of it may reach,
    or be reached from, the world's practice."""
    from crossroads.core.models import Role

    from .builders import make_practice, make_user

    session = crossroads_db
    practice = make_practice(session, "Elsewhere Coaching", "America/New_York")
    owner = make_user(session, practice, "sam@elsewhere.example", Role.OWNER, "Sam Stranger")
    coach = make_user(session, practice, "cora@elsewhere.example", Role.COACH, "Cora Elsewhere")
    people = [{"name": "Sid Systems", "organisation": "Gridworks", "position": "Analyst"}]
    client, _, _ = _client(session, coach, "bea@client.example", "Bea Beyond", "Systems analysis", people)
    crossroads_world.other_practice = OtherPractice(practice, owner, coach, client)
    return crossroads_world.other_practice


@pytest.fixture
def crossroads_practice(crossroads_world: World) -> Practice:
    """The world's practice (see :func:`crossroads_world`)."""
    return crossroads_world.practice


@pytest.fixture
def crossroads_owner(crossroads_world: World) -> User:
    """The practice's owner, a :class:`~crossroads.core.models.User` (role owner)."""
    return crossroads_world.owner


@pytest.fixture
def crossroads_coach(crossroads_world: World) -> User:
    """The coach, a :class:`~crossroads.core.models.User` (role coach) with one client."""
    return crossroads_world.coach


@pytest.fixture
def crossroads_client(crossroads_world: World) -> Client:
    """The coach's :class:`~crossroads.core.models.Client` (``.user`` signs in), with a theme and contacts."""
    return crossroads_world.client


# -- signed-in browsers and pages -----------------------------------------------------------------


@pytest.fixture
def crossroads_as_user(crossroads_app: Flask) -> Callable[[User | None], Browser]:
    """``crossroads_as_user(user)``: a fresh test client signed in as ``user`` (HTTPS, CSRF off).

    It is a Flask test client with one more method, ``.page(url, status=200)``,
    which returns a :class:`Page` (asserting the status). ``crossroads_as_user(None)``
    is a signed-out visitor's.
    """
    from .browser import browser_for

    return lambda user: browser_for(crossroads_app, user)


@pytest.fixture
def crossroads_as_owner(crossroads_as_user: Callable[[User], Browser], crossroads_owner: User) -> Browser:
    """A test client signed in as the practice's owner."""
    return crossroads_as_user(crossroads_owner)


@pytest.fixture
def crossroads_as_coach(crossroads_as_user: Callable[[User], Browser], crossroads_coach: User) -> Browser:
    """A test client signed in as the coach."""
    return crossroads_as_user(crossroads_coach)


@pytest.fixture
def crossroads_as_client(crossroads_as_user: Callable[[User], Browser], crossroads_client: Client) -> Browser:
    """A test client signed in as the client (``/me/`` is their workspace)."""
    return crossroads_as_user(crossroads_client.user)


@pytest.fixture
def crossroads_page(crossroads_as_user: Callable[[User], Browser]) -> Callable[..., Page]:
    """``crossroads_page(user, url, status=200)``: the page as ``user`` sees it, as a :class:`Page`.

    ``page.plugin_part("my_plugin")`` finds your plugin's part (a panel, a
    report section, a row on the owner's plugins page: the elements the core
    marks ``data-plugin="my_plugin"``) and gives its ``.text`` and ``.html``; when
    it is not there, the :class:`AssertionError` lists the plugins that are.
    """

    def render(user: User, url: str, status: int | None = 200) -> Page:
        return crossroads_as_user(user).page(url, status)

    return render


# -- email and settings ---------------------------------------------------------------------------


@pytest.fixture
def crossroads_outbox(crossroads_app: Flask) -> Outbox:
    """The emails queued during the test (``OutboxEmail`` rows), as :class:`email.message.EmailMessage`.

    ``outbox.subjects``, ``outbox.to("someone@example.com")``, ``outbox.last``,
    ``len(outbox)``, ``Outbox.body(message)``; ``outbox.rows()`` for the rows.
    Nothing is sent unless the test runs :func:`crossroads_worker`. ``outbox.rows(transport)``
    lists the rows queued for a plugin's transport.
    """
    return Outbox(crossroads_app.extensions["crossroads"].sessionmaker)


@pytest.fixture
def crossroads_worker(crossroads_app: Flask) -> Worker:
    """The outbox's worker, run when the test asks: ``crossroads_worker.send_due(now=None)``.

    Delivers every due row once (email through the practice's server, a plugin's rows through
    its channel's transport) and returns their statuses by outbox id.
    """
    return Worker(crossroads_app.extensions["crossroads"].queue)


@pytest.fixture
def crossroads_set_plugin_settings(
    crossroads_db: Session, crossroads_owner: User
) -> Callable[[type[PluginSettings], dict[str, Any]], dict[str, Any]]:
    """``crossroads_set_plugin_settings(MySettings, {"field": value})``: save settings as the owner.

    Stores the practice's settings for the schema's plugin, through the same
    validation as the owner's form, and returns the loaded values.
    """
    from crossroads.core.plugin_settings import save
    from crossroads.core.scoping import Scope

    def set_settings(schema_class: type[PluginSettings], values: dict[str, Any]) -> dict[str, Any]:
        return save(Scope(crossroads_db, crossroads_owner), schema_class, values)

    return set_settings


# -- the command line -----------------------------------------------------------------------------


@pytest.fixture
def crossroads_cli(
    crossroads_settings: Settings,
    crossroads_plugins: list[str] | None,
    crossroads_plugin_manager: PluginManager,
) -> Callable[..., Result]:
    """``crossroads_cli("my-command", "--option", "value")``: run ``crossroads ...`` on the test's database.

    Runs :func:`crossroads.web.cli.main` with click's ``CliRunner`` and the
    environment a real command would have (``CROSSROADS_DATABASE_URL``,
    ``CROSSROADS_INSTANCE``, ``CROSSROADS_SECRET_KEY``, and
    ``CROSSROADS_PLUGINS`` when :func:`crossroads_plugins` chooses); plugins'
    commands come from :func:`crossroads_plugin_manager`. Returns
    click's ``Result`` (``.output``, ``.exit_code``); :class:`AssertionError`
    with the output unless it exits with ``exit_code`` (0; None accepts any).
    Pass ``input="..."`` to answer prompts.
    """
    from click.testing import CliRunner

    from crossroads.web.cli import main

    env = {
        "CROSSROADS_DATABASE_URL": crossroads_settings.database_url,
        "CROSSROADS_INSTANCE": str(crossroads_settings.instance_path),
        "CROSSROADS_SECRET_KEY": crossroads_settings.secret_key,
        "CROSSROADS_SMTP_ALLOW_PRIVATE": "1" if crossroads_settings.smtp_allow_private else None,
        "CROSSROADS_PLUGINS": ",".join(crossroads_plugins) if crossroads_plugins is not None else None,
    }

    def run(*args: str, input: str | None = None, exit_code: int | None = 0) -> Result:
        result = CliRunner().invoke(main, list(args), input=input, env=env, obj=crossroads_plugin_manager)
        if exit_code is not None and result.exit_code != exit_code:
            detail = ""
            if result.exc_info and not isinstance(result.exception, SystemExit):
                import traceback

                detail = "\n" + "".join(traceback.format_exception(*result.exc_info))
            raise AssertionError(
                f"`crossroads {' '.join(args)}` exited {result.exit_code}, not {exit_code}:\n"
                f"{result.output}{detail}"
            )
        return result

    return run


# -- the sweeps -----------------------------------------------------------------------------------


def _plugin_under_test(plugin: str | None, chosen: list[str] | None) -> str:
    if plugin is not None:
        return plugin
    if chosen and len(chosen) == 1:
        return chosen[0]
    raise AssertionError(
        "name the plugin to sweep: sweep(plugin='my_plugin'), or choose it alone in crossroads_plugins"
    )


@pytest.fixture
def crossroads_isolation_sweep(
    crossroads_app: Flask,
    crossroads_world: World,
    crossroads_other_client: Client,
    crossroads_owners_client: Client,
    crossroads_other_practice: OtherPractice,
    crossroads_as_user: Callable[[User], Browser],
    crossroads_plugins: list[str] | None,
) -> Callable[..., list[str]]:
    """``crossroads_isolation_sweep(rightful, plugin=None, other_params=None)``: ids refuse strangers.

    Every route of the plugin's blueprints with an ``<int:...>`` in its path (found in the
    URL map, every method) must answer 404 to another practice's owner, coach and client, to
    the coach for a client of the owner's, to the client for the coach's other client (and
    the other way round for the other practice's client), and send a signed-out visitor to
    the login page. Then the control: ``rightful`` names, for each endpoint, who rightfully
    uses it (``"client"``, ``"coach"``, ``"owner"``; ``crossroads.testing.sweeps`` has
    ``EITHER`` and ``STAFF``) and the form they send (values may be callables of the client),
    and each must get the route's real success (2xx, or a redirect to a page with no error
    notice), so the 404s above are refusals, not broken requests. An endpoint missing from
    ``rightful`` fails the sweep.

    The ids are filled with the client's rows: the core's parameters (``client_id``,
    ``contact_id``, ``conversation_id``, ``message_id``...) by Crossroads, yours through the
    ``crossroads_route_ids`` your plugin module declares (:class:`crossroads.core.route_ids.RouteId`).
    ``other_params`` gives values for path parameters that are not ids. ``plugin`` defaults
    to the only name in :func:`crossroads_plugins`. Returns the endpoints swept; fails the test
    with every failure listed.
    """
    from .sweeps import CLIENT, COACH, OWNER, IsolationSweep, refusal_cases

    world = crossroads_world

    def sweep(
        rightful: dict[str, tuple[tuple[str, ...], dict[str, Any]]],
        plugin: str | None = None,
        other_params: dict[str, str] | None = None,
    ) -> list[str]:
        name = _plugin_under_test(plugin, crossroads_plugins)
        isolation = IsolationSweep(crossroads_app, other_params)
        routes = isolation.routes(plugins=[name])
        assert routes, f"{name} has no route with an id in its path to sweep"
        failures = isolation.refusals(refusal_cases(world), crossroads_as_user, routes)
        failures += isolation.signed_out(_anonymous(crossroads_app), world.client, routes)
        missing = isolation.uncovered(rightful, routes)
        if missing:
            failures.append(f"tell the sweep who rightfully uses {missing} and with what form (rightful=)")
        users = {
            CLIENT: (world.client.user, world.client),
            COACH: (world.coach, crossroads_other_client),
            OWNER: (world.owner, crossroads_other_client),
        }
        failures += isolation.rightful_failures(users, crossroads_as_user, rightful, routes)
        assert not failures, "\n".join(failures)
        return sorted({rule.endpoint for rule, _ in routes})

    return sweep


def _anonymous(app: Flask) -> Browser:
    from .browser import browser_for

    return browser_for(app)


@pytest.fixture
def crossroads_csrf_sweep(
    crossroads_app: Flask,
    crossroads_world: World,
    crossroads_as_user: Callable[[User], Browser],
    crossroads_plugins: list[str] | None,
) -> Callable[..., list[str]]:
    """``crossroads_csrf_sweep(plugin=None)``: every POST route of the plugin refuses a missing CSRF token.

    Turns CSRF on for the test's app (the other fixtures keep it off), posts to each POST route
    of the plugin's blueprints (found in the URL map) as the practice's owner without a token,
    and expects 400 with "Form expired". Returns the routes swept; fails listing the others.
    """
    from .sweeps import csrf_failures, post_routes

    def sweep(plugin: str | None = None) -> list[str]:
        name = _plugin_under_test(plugin, crossroads_plugins)
        routes = post_routes(crossroads_app, plugins=[name])
        crossroads_app.config["WTF_CSRF_ENABLED"] = True
        try:
            failures = csrf_failures(
                crossroads_app, crossroads_as_user(crossroads_world.owner), crossroads_world.client, routes
            )
        finally:
            crossroads_app.config["WTF_CSRF_ENABLED"] = False
        assert not failures, "\n".join(failures)
        return [rule.rule for rule in routes]

    return sweep


@pytest.fixture
def crossroads_export_erasure_sweep(
    crossroads_db: Session,
    crossroads_world: World,
    crossroads_other_client: Client,
    crossroads_as_user: Callable[[User], Browser],
    crossroads_plugins: list[str] | None,
) -> Callable[..., list[str]]:
    """``crossroads_export_erasure_sweep(plugin=None)``: your client tables are exported and erased.

    The plugin's tables are found through its SQLAlchemy models: those with a ``client_id``
    column. Add at least one row of the world's client to each first (and, to see that they
    stay, of :func:`crossroads_other_client`). The sweep downloads the client's export
    (``EXPORT_URL``) and expects each table's rows in a ``<plugin>/<name>.json`` file with as
    many rows; then the owner erases the client (``ERASE_URL``), which must leave none of
    their rows in the plugin's tables and every row of the other client. Returns the tables
    swept (none for a plugin without tables of a client's: then there is nothing to prove).
    """
    from .sweeps import client_tables, export_erasure_failures

    def sweep(plugin: str | None = None) -> list[str]:
        name = _plugin_under_test(plugin, crossroads_plugins)
        manager = crossroads_as_user(crossroads_world.owner).application.extensions["crossroads"].plugins
        tables = sorted(table for table, owner in client_tables(manager).items() if owner == name)
        failures = export_erasure_failures(name, crossroads_db, crossroads_as_user, crossroads_world)
        assert not failures, "\n".join(failures)
        return tables

    return sweep
