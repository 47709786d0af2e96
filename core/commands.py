"""What a plugin's command-line command needs: a database session on the configured database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from . import events, migrate
from .config import Settings
from .db import make_engine, make_sessionmaker
from .plugins import PluginManager


@contextmanager
def open_session(settings: Settings | None = None) -> Iterator[Session]:
    """A session on Crossroads' database (from the environment, as ``crossroads serve`` uses).

    Refuses a database whose schema is behind the code
    (:class:`~crossroads.core.errors.SchemaOutOfDate`). Services called with
    it fire events to plugins as they do in the web app. Commit what you change.
    """
    settings = settings or Settings.from_env()
    engine = make_engine(settings.database_url)
    try:
        migrate.ensure_current(engine)
        with make_sessionmaker(engine)() as session:
            events.attach(session, PluginManager())
            yield session
    finally:
        engine.dispose()
