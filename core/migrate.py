"""Schema migrations through Alembic, and the check that refuses a database that is behind."""

from __future__ import annotations

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
    return set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def missing_revisions(engine: Engine) -> set[str]:
    """Heads of the code (core and plugins) that the database has not reached.

    Alembic records only the tips it has reached; a plugin's first revision
    that depends on a core revision stands for both. A revision the code does
    not know (a plugin since uninstalled) is left alone.
    """
    script = ScriptDirectory.from_config(alembic_config(engine))
    current = current_revisions(engine)
    known = tuple(r for r in current if _known(script, r))
    if not known:
        return set(script.get_heads())
    applied = {rev.revision for rev in script.revision_map.iterate_revisions(known, "base")}
    return set(script.get_heads()) - applied


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.revision_map.get_revision(revision) is not None
    except Exception:  # alembic raises its own ResolutionError for an unknown id
        return False


def ensure_current(engine: Engine) -> None:
    """Raise :class:`SchemaOutOfDate` naming the upgrade command when the database is behind."""
    current, heads = current_revisions(engine), head_revisions(engine)
    if missing_revisions(engine):
        where = ", ".join(sorted(current)) or "empty"
        raise SchemaOutOfDate(
            f"The database schema is not current (at {where}; the code needs "
            f"{', '.join(sorted(heads))}). Run `{UPGRADE_COMMAND}` to upgrade it."
        )
