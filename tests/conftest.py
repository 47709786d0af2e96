"""The core suite's own fixtures: its options, the mail and IMAP servers, and ``world``: the kit's
cast of two practices with owners, coaches and clients, each client with some history.

The builders (``make_contact``...) and ``PASSWORD`` are the kit's too: import them from
``crossroads.testing``.

The database (SQLite, or PostgreSQL when CROSSROADS_TEST_DATABASE_URL is set), the app, sessions and
signed-in test clients are the kit's (crossroads.testing), which plugin authors use too; ``db``,
``app``, ``as_user``... are aliases of ``crossroads_db``, ``crossroads_app``, ``crossroads_as_user``...
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crossroads.core.config import Settings
from crossroads.core.models import Client, User
from crossroads.core.plugins import PluginManager
from crossroads.testing import OtherPractice, World, add_history
from crossroads.testing.browser import Browser

pytest_plugins = ["tests.mailserver", "tests.imapserver"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-screenshots",
        action="store_true",
        help="browser tests write their screenshots into docs/images/ (the user guide's pictures)",
    )
    parser.addoption(
        "--only-database-tests",
        action="store_true",
        help="run only the tests that use the test database (for a second run on another database)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--only-database-tests``, leave out tests that never touch the database: they cannot
    answer differently on PostgreSQL than on SQLite, so a second run would only repeat them."""
    if not config.getoption("--only-database-tests"):
        return
    kept = [item for item in items if "crossroads_database_url" in getattr(item, "fixturenames", ())]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


# -- the kit's fixtures, under the names this suite has always used ----------------------------
# One implementation of each lives in crossroads.testing (the kit plugin authors use); these are
# aliases, so hundreds of tests need not be renamed. Override the kit's (``crossroads_app``...),
# not these, to change what the others build on.


@pytest.fixture
def database_url(crossroads_database_url: str) -> str:
    """The test's migrated database (:func:`crossroads.testing.crossroads_database_url`)."""
    return crossroads_database_url


@pytest.fixture
def engine(crossroads_engine: Engine) -> Engine:
    """An engine on the test's database (:func:`crossroads.testing.crossroads_engine`)."""
    return crossroads_engine


@pytest.fixture
def db(crossroads_db: Session) -> Session:
    """A session on the test's database; it fires plugin events (:func:`crossroads.testing.crossroads_db`)."""
    return crossroads_db


@pytest.fixture
def settings(crossroads_settings: Settings) -> Settings:
    """The test's settings (:func:`crossroads.testing.crossroads_settings`)."""
    return crossroads_settings


@pytest.fixture
def plugins(crossroads_plugin_manager: PluginManager) -> PluginManager:
    """The plugin manager as installed: built-in plugins found through their entry points."""
    return crossroads_plugin_manager


@pytest.fixture
def app(crossroads_app: Flask) -> Flask:
    """The app, CSRF off (tests/test_security.py covers CSRF with it on), on ``https://localhost``."""
    return crossroads_app


@pytest.fixture
def as_user(crossroads_as_user: Callable[[User | None], Browser]) -> Callable[[User | None], Browser]:
    """``as_user(user)``: a fresh test client signed in as ``user``."""
    return crossroads_as_user


@pytest.fixture
def http(crossroads_as_user: Callable[[User | None], Browser]) -> Browser:
    """An HTTPS test client (secure cookies travel only over HTTPS), signed out."""
    return crossroads_as_user(None)


# -- the world: the kit's cast, with some history ---------------------------------------------


@pytest.fixture
def world(
    db: Session,
    crossroads_world: World,
    crossroads_other_client: Client,
    crossroads_owners_client: Client,
    crossroads_other_practice: OtherPractice,
) -> World:
    """The kit's whole cast (:func:`crossroads.testing.crossroads_world` and the fixtures that add
    to it), each client with some history (:func:`crossroads.testing.add_history`).

    Practice A, Northbridge Coaching: Olivia Owner, Colin Coach, the coach's clients Clara Client
    (``world.client``, with three contacts: ``world.contacts``) and Otto Other
    (``world.other_client``), and the owner's own client Ola Owned (``world.owners_client``).
    Practice B, Elsewhere Coaching (``world.other_practice``, also called the stranger's): Sam
    Stranger, its owner, and Cora Elsewhere, who coaches Bea Beyond. On each client's first contact:
    a held conversation with a prep question and a shared reflection, a handed-off outreach
    message, and a question bank of their coach's for them alone. Everyone signs in with
    :data:`crossroads.testing.PASSWORD`. Committed.
    """
    for client in crossroads_world.clients:
        add_history(db, client)
    db.commit()
    return crossroads_world
