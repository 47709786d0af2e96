"""The plugin manager: discovery by entry point, per-practice switches, and isolation."""

from __future__ import annotations

import ast
import html
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from crossroads.core.hookspecs import hookimpl
from crossroads.core.models import PracticePlugin
from crossroads.core.plugins import Panel, PluginManager
from crossroads.testing.browser import browser_for
from crossroads.web import create_app
from crossroads.web.cli import main

ROOT = Path(__file__).resolve().parents[1]
PANEL_TITLE = "Themes against targets"


@pytest.fixture
def third_party_site(tmp_path, monkeypatch):
    """A directory on sys.path holding two installed distributions with ``crossroads`` entry points:
    one that works and one whose module raises on import."""
    (tmp_path / "hello_panel.py").write_text(
        textwrap.dedent(
            """
            from crossroads.core.hookspecs import hookimpl
            from crossroads.core.plugins import Panel

            @hookimpl
            def client_panels(client, viewer):
                return Panel("Hello from a package", "hello_panel/panel.html", {"name": client.name})
            """
        )
    )
    (tmp_path / "templates" / "hello_panel").mkdir(parents=True)
    (tmp_path / "templates" / "hello_panel" / "panel.html").write_text("<p>Hi {{ name }}</p>")
    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('missing dependency')\n")
    for dist, name, module in (
        ("hello_panel", "hello", "hello_panel"),
        ("broken", "broken", "broken_plugin"),
    ):
        info = tmp_path / f"{dist}-2.5.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 2.5.0\n")
        (info / "entry_points.txt").write_text(f"[crossroads]\n{name} = {module}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for module in ("hello_panel", "broken_plugin"):
        sys.modules.pop(module, None)


class Raising:
    @hookimpl
    def client_panels(self, client, viewer):
        raise RuntimeError("boom")


class WrongType:
    @hookimpl
    def client_panels(self, client, viewer):
        return "<p>a string is not a Panel</p>"


class MissingTemplate:
    @hookimpl
    def client_panels(self, client, viewer):
        return Panel("Ghost", "no_such_plugin/nothing.html")


def test_builtin_plugin_is_discovered_through_its_entry_point():
    infos = {info.name: info for info in PluginManager().plugins()}
    builtin = infos["theme_progress"]
    assert builtin.source == "crossroads"
    assert builtin.module == "crossroads.plugins.theme_progress"
    assert builtin.hooks == ("client_panels",)


def test_crossroads_plugins_command_lists_name_version_source_and_hooks():
    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "theme_progress 0.1.0" in result.output
    assert "from:  crossroads (crossroads.plugins.theme_progress)" in result.output
    assert "hooks: client_panels" in result.output


def test_third_party_package_is_loaded_and_a_broken_one_is_reported(third_party_site):
    manager = PluginManager()
    infos = {info.name: info for info in manager.plugins()}
    assert infos["hello"].version == "2.5.0" and infos["hello"].source == "hello_panel"
    assert "broken" not in infos
    assert "missing dependency" in manager.load_errors["broken"]


def test_environment_variable_limits_which_plugins_load(third_party_site, monkeypatch):
    monkeypatch.setenv("CROSSROADS_PLUGINS", "hello")
    assert PluginManager().names == {"hello"}


def test_third_party_panel_renders_with_its_own_template(third_party_site, settings, db, world):
    app = create_app(settings, plugins=PluginManager())
    page = browser_for(app, world.client.user).get("/me/").get_data(as_text=True)
    assert "Hello from a package" in page and "Hi Clara Client" in page


def test_panel_shows_on_the_client_home_and_the_coach_client_page(world, as_user):
    assert PANEL_TITLE in as_user(world.client.user).get("/me/").get_data(as_text=True)
    page = as_user(world.coach).get(f"/coach/clients/{world.client.id}").get_data(as_text=True)
    assert PANEL_TITLE in page and "1 of 3 active themes" in page


def test_panel_asks_for_clarity_when_a_client_has_no_active_theme(world, db, as_user):
    world.client.themes[0].status = "parked"
    db.commit()
    page = as_user(world.client.user).get("/me/").get_data(as_text=True)
    assert "Name up to 3 career themes before you reach out" in page


def test_owner_switching_a_plugin_off_removes_it_from_that_practice_only(world, db, as_user):
    owner = as_user(world.owner)
    response = owner.post("/practice/plugins/theme_progress/off", follow_redirects=True)
    assert "The plugin theme_progress is off for this practice." in response.get_data(as_text=True)
    assert PANEL_TITLE not in as_user(world.client.user).get("/me/").get_data(as_text=True)
    assert PANEL_TITLE in as_user(world.stranger_client.user).get("/me/").get_data(as_text=True)
    owner.post("/practice/plugins/theme_progress/on")  # the undo button
    assert PANEL_TITLE in as_user(world.client.user).get("/me/").get_data(as_text=True)
    row = db.query(PracticePlugin).filter_by(practice_id=world.practice.id).one()
    assert row.enabled is True


def test_switching_an_unknown_plugin_is_refused_with_a_message(world, db, as_user):
    response = as_user(world.owner).post("/practice/plugins/nonexistent/on", follow_redirects=True)
    assert "No plugin named 'nonexistent' is installed." in html.unescape(response.get_data(as_text=True))
    assert db.query(PracticePlugin).count() == 0


@pytest.mark.parametrize("bad_plugin", [Raising(), WrongType(), MissingTemplate()], ids=type)
def test_a_failing_plugin_leaves_the_page_at_200_with_its_panel_unavailable(
    bad_plugin, plugins, world, as_user, caplog
):
    plugins.register(bad_plugin, "bad")
    response = as_user(world.client.user).get("/me/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-plugin="bad"' in page
    assert "This part is unavailable right now." in page
    assert PANEL_TITLE in page  # the healthy plugin still renders
    assert "Hello, Clara Client" in page
    assert "bad" in caplog.text  # and the failure is in the log


def test_hook_results_record_time_and_errors_per_plugin(world, db):
    manager = PluginManager()
    manager.register(Raising(), "bad")
    results = {
        r.plugin: r for r in manager.call("client_panels", None, client=world.client, viewer=world.coach)
    }
    assert results["theme_progress"].ok and isinstance(results["theme_progress"].value, Panel)
    assert results["bad"].error == "RuntimeError: boom"
    assert results["bad"].seconds >= 0


def test_the_core_imports_neither_web_nor_plugins():
    offenders = []
    for path in (ROOT / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.ImportFrom) and node.level >= 2:
                # "from ...web import x" in crossroads.core.services climbs out of the core;
                # "from ..plugins import x" there is crossroads.core.plugins, the core's own.
                depth = len(path.relative_to(ROOT / "core").parts) - 1
                if node.level > depth + 1:
                    names = [f"crossroads.{node.module}"]
            offenders += [
                f"{path.relative_to(ROOT)}: {n}"
                for n in names
                if n.startswith(("crossroads.web", "crossroads.plugins", "web", "plugins"))
            ]
    assert not offenders


class BrokenSql:
    @hookimpl
    def client_panels(self, client, viewer):
        from sqlalchemy import text
        from sqlalchemy.orm import object_session

        object_session(client).execute(text("SELECT * FROM table_this_plugin_forgot_to_migrate"))


def test_a_plugin_whose_sql_fails_leaves_the_rest_of_the_page_working(plugins, world, as_user):
    """On PostgreSQL a failed statement aborts the transaction; the plugin's savepoint contains it."""
    plugins.register(BrokenSql(), "broken_sql")
    response = as_user(world.coach).get(f"/coach/clients/{world.client.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-plugin="broken_sql"' in page and PANEL_TITLE in page and "Due and overdue outreach" in page
