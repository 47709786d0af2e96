"""Schema migrations through Alembic, and the check that refuses a database that is behind."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from .errors import SchemaOutOfDate
from .plugins import PluginManager

MIGRATIONS = Path(__file__).parent / "migrations"
UPGRADE_COMMAND = "crossroads db upgrade"


def alembic_config(engine: Engine, plugins: PluginManager | None = None) -> Config:
    """Alembic's configuration: the core's versions plus every installed plugin's ``migrations/``."""
    plugins = plugins if plugins is not None else PluginManager()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    locations = [MIGRATIONS / "versions", *plugins.migration_folders()]
    config.set_main_option("version_locations", " ".join(str(p) for p in locations))
    config.set_main_option("path_separator", "space")
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the database up to ``revision`` (the newest by default)."""
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revisions(engine: Engine) -> set[str]:
    """The code's heads: the newest revision of the core's and of each plugin's migrations."""
    return set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    """The revisions Alembic records in the database: only the tips (see :func:`schema_status`)."""
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


@dataclass(frozen=True)
class SchemaStatus:
    """Where the database's schema is against the code's migrations (core's and plugins')."""

    #: The newest revision the database has on each line of migrations, core's and each plugin's.
    at: frozenset[str]
    #: The code's heads: the newest revision of each line.
    expected: frozenset[str]
    #: The code's heads the database has not reached.
    missing: frozenset[str]
    #: Revisions recorded in the database that no installed code knows (an uninstalled plugin's).
    unknown: frozenset[str]

    @property
    def current(self) -> bool:
        """Whether the database has every head of the code."""
        return not self.missing


def schema_status(engine: Engine) -> SchemaStatus:
    """Read the database's revisions and compare them with the code's heads.

    Alembic records only the tips it has reached, and a plugin's revision that
    depends on a core revision (``depends_on``) stands for both: with a plugin
    whose first migration depends on the core's head, Alembic's table lists only
    the plugin's revision. ``at`` gives each line its newest applied revision
    again, so the core's head shows whenever the database has it.
    """
    script = ScriptDirectory.from_config(alembic_config(engine))
    recorded = current_revisions(engine)
    known = tuple(r for r in recorded if _known(script, r))
    expected = frozenset(script.get_heads())
    applied = (
        {rev.revision for rev in script.revision_map.iterate_revisions(known, "base")} if known else set()
    )
    # A line's newest applied revision is one that no applied revision names as its down revision
    # (dependencies left out: they join lines, they do not continue them).
    continued = {
        down
        for revision in applied
        for down in script.revision_map.get_revision(revision)._versioned_down_revisions
    }
    return SchemaStatus(
        at=frozenset(applied - continued),
        expected=expected,
        missing=expected - applied,
        unknown=frozenset(set(recorded) - set(known)),
    )


def missing_revisions(engine: Engine) -> set[str]:
    """Heads of the code (core and plugins) that the database has not reached.

    A revision the code does not know (a plugin since uninstalled) is left alone.
    """
    return set(schema_status(engine).missing)


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.revision_map.get_revision(revision) is not None
    except Exception:  # alembic raises its own ResolutionError for an unknown id
        return False


def ensure_current(engine: Engine) -> None:
    """Raise :class:`SchemaOutOfDate` naming the upgrade command when the database is behind."""
    status = schema_status(engine)
    if not status.current:
        where = ", ".join(sorted(status.at)) or "empty"
        raise SchemaOutOfDate(
            f"The database schema is not current (at {where}; the code needs "
            f"{', '.join(sorted(status.expected))}). Run `{UPGRADE_COMMAND}` to upgrade it."
        )
