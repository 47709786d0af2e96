"""``crossroads db current`` and the production check name the schema's real state, plugins' lines included.

Alembic records only the tips it has reached; a plugin whose first migration depends on the
core's head leaves the core's head out of Alembic's table. The commands must still say the
database has it, and say exactly what is missing when it is behind.
"""

from __future__ import annotations

import os
import sys
import textwrap
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url

from crossroads.core import migrate
from crossroads.core.db import make_engine
from crossroads.core.plugins import PluginManager
from crossroads.core.production_check import check_schema
from crossroads.web.cli import main

PIGEON = "pigeon_0001"


def core_head() -> str:
    """The core's newest revision (the code's heads without any plugin's)."""
    config = migrate.alembic_config(make_engine("sqlite://"), PluginManager(load_entry_points=False))
    from alembic.script import ScriptDirectory

    [head] = ScriptDirectory.from_config(config).get_heads()
    return head


@pytest.fixture
def pigeon_plugin(tmp_path, monkeypatch):
    """An installed third-party plugin whose first migration depends on the core's head."""
    site = tmp_path / "site"
    package = site / "pigeon_post"
    (package / "migrations").mkdir(parents=True)
    (package / "__init__.py").write_text('"""Pigeon post: a plugin with a table of its own."""\n')
    (package / "migrations" / "__init__.py").write_text("")
    (package / "migrations" / "pigeon_0001_lofts.py").write_text(
        textwrap.dedent(
            f'''
            """pigeon post: lofts"""

            import sqlalchemy as sa
            from alembic import op

            revision = "{PIGEON}"
            down_revision = None
            branch_labels = ("pigeon_post",)
            depends_on = "{core_head()}"


            def upgrade() -> None:
                op.create_table("pigeon_loft", sa.Column("id", sa.Integer(), primary_key=True))


            def downgrade() -> None:
                op.drop_table("pigeon_loft")
            '''
        )
    )
    info = site / "pigeon_post-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pigeon_post\nVersion: 1.0.0\n")
    (info / "entry_points.txt").write_text("[crossroads]\npigeon_post = pigeon_post\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "pigeon_post", raising=False)
    yield
    sys.modules.pop("pigeon_post", None)


def _postgres_scratch():
    """A new, empty PostgreSQL database next to the test database; dropped afterwards."""
    import psycopg

    configured = make_url(os.environ["CROSSROADS_TEST_DATABASE_URL"])
    name = f"cr_dbcurrent_{uuid.uuid4().hex[:12]}"
    admin = configured.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield configured.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


ON_POSTGRES = os.environ.get("CROSSROADS_TEST_DATABASE_URL", "").startswith("postgresql")


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not ON_POSTGRES, reason="set CROSSROADS_TEST_DATABASE_URL to a PostgreSQL database"
            ),
        ),
    ]
)
def empty_database(request, tmp_path, monkeypatch, pigeon_plugin):
    """A real, empty database (a SQLite file; a scratch PostgreSQL database too when configured)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'current.sqlite3'}"
        scratch = None
    else:
        scratch = _postgres_scratch()
        url = next(scratch)
    monkeypatch.setenv("CROSSROADS_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("CROSSROADS_DATABASE_URL", url)
    monkeypatch.delenv("CROSSROADS_PLUGINS", raising=False)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    if scratch is not None:
        next(scratch, None)


def current(*args: str):
    return CliRunner().invoke(main, ["db", "current", *args])


def lines(output: str) -> dict[str, str]:
    """``db current``'s ``Label: values`` lines, by label."""
    return {
        label.strip(): value.strip()
        for label, _, value in (line.partition(":") for line in output.splitlines())
        if value
    }


def upgrade_to(engine, revision: str) -> None:
    migrate.upgrade(engine, revision)


def test_db_current_names_the_core_head_that_a_plugins_migration_stands_for(empty_database):
    engine = empty_database
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with engine.connect() as connection:
        recorded = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
    head = core_head()
    assert PIGEON in recorded and head not in recorded  # Alembic's table leaves the core's head out

    expected = ", ".join(sorted(migrate.head_revisions(engine)))
    assert head in expected and PIGEON in expected
    assert f"Database is at revision {expected}." in result.output
    shown = current()
    assert shown.exit_code == 0, shown.output
    assert lines(shown.output)["Database revision"] == expected
    assert lines(shown.output)["Code expects"] == expected
    assert "Missing" not in shown.output and shown.output.endswith("Up to date.\n")
    check = check_schema(engine)
    assert check.status.value == "OK" and head in check.reason


def test_db_current_on_an_empty_database_is_behind_and_names_every_head(empty_database):
    shown = current()
    assert shown.exit_code == 1
    assert lines(shown.output)["Database revision"] == "none (empty database)"
    assert lines(shown.output)["Missing"] == ", ".join(sorted(migrate.head_revisions(empty_database)))
    assert "Up to date" not in shown.output and "Run `crossroads db upgrade`" in shown.output


def test_db_current_partway_up_the_core_is_behind_on_every_line(empty_database):
    upgrade_to(empty_database, "0004")
    shown = current()
    assert shown.exit_code == 1
    assert lines(shown.output)["Database revision"] == "0004"
    assert lines(shown.output)["Missing"] == ", ".join(sorted(migrate.head_revisions(empty_database)))
    assert "Up to date" not in shown.output


def test_db_current_with_only_the_plugins_line_up_names_the_core_head_and_the_missing_plugins(empty_database):
    upgrade_to(empty_database, PIGEON)  # brings the core to its head on the way (depends_on)
    shown = current()
    assert shown.exit_code == 1, shown.output
    assert lines(shown.output)["Database revision"] == f"{core_head()}, {PIGEON}"
    assert lines(shown.output)["Missing"] == "alumni_0001, coaching_0001, progress_report_0001"
    assert "Up to date" not in shown.output
    check = check_schema(empty_database)
    assert check.status.value == "FAIL" and f"at {core_head()}, {PIGEON};" in check.reason
