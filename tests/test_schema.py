"""Migrations: the same schema on SQLite and PostgreSQL, and an app that refuses a stale database."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from crossroads.core import migrate
from crossroads.core.config import Settings
from crossroads.core.db import Base, make_engine
from crossroads.core.errors import SchemaOutOfDate
from crossroads.web import create_app


def test_migrations_match_the_models(engine):
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    # DateTime(timezone=True) columns are declared through a TypeDecorator; types are not compared.
    assert [d for d in diff if d[0] not in ("modify_type",)] == []


def test_app_refuses_to_start_on_an_empty_database_and_names_the_command(tmp_path):
    settings = Settings(
        instance_path=tmp_path, database_url=f"sqlite:///{tmp_path / 'new.sqlite3'}", secret_key="k"
    )
    with pytest.raises(SchemaOutOfDate, match="Run `crossroads db upgrade`"):
        create_app(settings)


def test_app_refuses_a_database_one_migration_behind_and_starts_after_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    config = migrate.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        # The core's head, one step down ("-1" alone is ambiguous with the plugins' branches).
        script = ScriptDirectory.from_config(config)
        core_head = next(
            head
            for head in migrate.head_revisions(engine)
            if "0001" in {r.revision for r in script.iterate_revisions(head, "base")}
        )
        command.downgrade(config, f"{core_head}-1")
    settings = Settings(instance_path=tmp_path, database_url=url, secret_key="k")
    with pytest.raises(SchemaOutOfDate):
        create_app(settings)
    migrate.upgrade(engine)
    assert create_app(settings).name == "crossroads.web"
