"""crossroads.testing, the fixtures a plugin author's tests use, tried against the built-in plugins."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from marshmallow import fields

from crossroads.core.hookspecs import hookimpl
from crossroads.core.models import MessageStatus, OutreachMessage, PracticeMail
from crossroads.core.plugin_settings import PluginSettings
from crossroads.testing import DATABASE_ENV, Outbox, Page, World, plugin_parts

ON_SQLITE = not os.environ.get(DATABASE_ENV)


def test_importing_the_kit_is_cheap_and_changes_nothing():
    code = (
        "import os, sys; before = dict(os.environ); import crossroads.testing; "
        "heavy = ('flask', 'sqlalchemy', 'crossroads.web', 'crossroads.core'); "
        "heavy = [m for m in heavy if m in sys.modules]; "
        "assert not heavy, heavy; assert dict(os.environ) == before"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_plugin_that_is_not_installed_fails_the_test_saying_so(tmp_path):
    (tmp_path / "test_missing.py").write_text(
        "import pytest\n\n\n@pytest.fixture\ndef crossroads_plugins():\n    return ['not_installed']\n\n\n"
        "def test_it(crossroads_app):\n    pass\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSROADS_")}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_missing.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1
    assert (
        "no plugin named 'not_installed' is installed (no entry point in the group 'crossroads')"
        in run.stdout
    )
    assert "installed: alumni_offices, email," in run.stdout


def test_the_kit_is_registered_with_pytest(pytestconfig):
    assert pytestconfig.pluginmanager.hasplugin("crossroads")


def test_the_world_is_a_practice_with_owner_coach_client_theme_and_contacts(
    crossroads_world: World, crossroads_database_url, tmp_path
):
    world = crossroads_world
    assert world.owner.role == "owner" and world.coach.role == "coach"
    assert world.client.coach_id == world.coach.id and world.client.practice_id == world.practice.id
    assert [theme.title for theme in world.client.themes] == ["Magazine editing"]
    assert [c.name for c in world.contacts] == ["Ada Editor", "Ben Planner", "Eve Events"]
    assert world.contacts[0].themes == [world.theme]
    assert world.contacts[2].source == "association"
    if ON_SQLITE:  # a fresh database file for this test only
        assert crossroads_database_url == f"sqlite:///{tmp_path / 'crossroads.sqlite3'}"


def test_each_test_starts_from_an_empty_database(crossroads_db, crossroads_world):
    # The world above committed a practice; this test's world is the only one here.
    from crossroads.core.models import Practice

    assert crossroads_db.query(Practice).count() == 1


def test_a_panel_is_found_on_the_client_and_the_coach_page(crossroads_page, crossroads_world):
    client = crossroads_world.client
    part = crossroads_page(client.user, "/me/").plugin_part("theme_progress")
    assert "Themes against targets" in part.text and "Magazine editing" in part.text
    assert part.tag == "section" and not part.unavailable
    coach_page = crossroads_page(crossroads_world.coach, f"/coach/clients/{client.id}")
    assert "Magazine editing" in coach_page.plugin_part("theme_progress")


def test_a_missing_part_fails_naming_the_parts_that_are_there(crossroads_as_client):
    page = crossroads_as_client.page("/me/")
    with pytest.raises(AssertionError, match=r"no part of plugin 'nowhere' on /me/ .*theme_progress"):
        page.plugin_part("nowhere")


def test_page_asserts_the_status(crossroads_as_client):
    with pytest.raises(AssertionError, match="GET /practice/ answered 404, not 200"):
        crossroads_as_client.page("/practice/")
    assert crossroads_as_client.page("/practice/", status=404).status == 404


def test_each_role_has_a_signed_in_browser(crossroads_as_owner, crossroads_as_coach, crossroads_as_client):
    owner_page = crossroads_as_owner.page("/practice/")
    assert "theme_progress" in owner_page.plugins  # the plugin rows of the owner's settings page
    assert "Clara Client" in crossroads_as_coach.page("/coach/").html
    assert crossroads_as_client.get("/coach/").status_code == 404


def test_a_report_section_is_found(crossroads_page, crossroads_world):
    page = crossroads_page(
        crossroads_world.coach, f"/plugins/progress_report/clients/{crossroads_world.client.id}/report"
    )
    sections = page.plugin_parts("progress_report")
    assert len(sections) > 1 and all(part.attrs.get("data-section") for part in sections)


class Raising:
    @hookimpl
    def client_panels(self, client, viewer):
        raise RuntimeError("boom")


def test_an_unavailable_part_fails_unless_asked_for(crossroads_plugin_manager, crossroads_as_client):
    crossroads_plugin_manager.register(Raising(), "raising")
    page = crossroads_as_client.page("/me/")
    with pytest.raises(AssertionError, match="plugin 'raising' is shown as unavailable"):
        page.plugin_part("raising")
    [part] = page.plugin_parts("raising", available=False)
    assert part.unavailable


class TestChoosingPlugins:
    @pytest.fixture
    def crossroads_plugins(self):
        return ["theme_progress"]

    def test_only_the_chosen_plugins_load(self, crossroads_plugin_manager, crossroads_as_client):
        assert crossroads_plugin_manager.names == {"theme_progress"}
        assert crossroads_as_client.page("/me/").plugins == ["theme_progress"]

    def test_the_cli_loads_the_same_plugins(self, crossroads_cli):
        output = crossroads_cli("plugins").output
        assert output.startswith("theme_progress ") and "linkedin" not in output


def test_the_outbox_holds_what_the_test_queued(
    crossroads_outbox: Outbox, crossroads_world, crossroads_db, crossroads_as_client
):
    assert len(crossroads_outbox) == 0 and not crossroads_outbox
    crossroads_db.add(
        PracticeMail(
            practice_id=crossroads_world.practice.id, host="mail.example", from_address="hello@nb.example"
        )
    )
    crossroads_db.commit()
    ada = crossroads_world.contacts[0]
    response = crossroads_as_client.post(
        f"/contacts/{ada.id}/write",
        data={
            "channel": "email",
            "kind": "first_request",
            "subject": "Twenty minutes?",
            "body": "Dear Ada, ...",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert crossroads_outbox.subjects == ["Twenty minutes?"]
    [email] = crossroads_outbox.to("ADA@review.example")
    assert email is not None and crossroads_outbox.to("someone@else.example") == []
    last = crossroads_outbox.last
    assert last["Reply-To"] == "clara@client.example"
    assert str(last["From"]) == "Clara Client via Northbridge Coaching <hello@nb.example>"
    assert Outbox.body(last).strip() == "Dear Ada, ..."
    [row] = crossroads_outbox.rows()
    assert row.status == MessageStatus.QUEUED
    assert crossroads_db.query(OutreachMessage).one().outbox_id == row.id


def test_an_empty_outbox_has_no_last_email(crossroads_outbox):
    with pytest.raises(AssertionError, match="no email was queued"):
        _ = crossroads_outbox.last


class Targets(PluginSettings):
    plugin = "theme_progress"
    target = fields.Integer(load_default=3)


def test_plugin_settings_are_saved_as_the_owner(
    crossroads_set_plugin_settings, crossroads_db, crossroads_practice
):
    assert Targets.read(crossroads_db, crossroads_practice.id) == {"target": 3}
    assert crossroads_set_plugin_settings(Targets, {"target": "5"}) == {"target": 5}
    assert Targets.read(crossroads_db, crossroads_practice.id) == {"target": 5}


def test_the_cli_runs_on_the_test_database(crossroads_cli, crossroads_world, crossroads_settings):
    assert "Up to date." in crossroads_cli("db", "current").output
    result = crossroads_cli(
        "create-user",
        "--practice",
        str(crossroads_world.practice.id),
        "--email",
        "nina@northbridge.example",
        "--name",
        "Nina New",
        "--password",
        "a long enough password",
    )
    assert "Created coach nina@northbridge.example" in result.output
    with pytest.raises(AssertionError, match=r"`crossroads no-such-command` exited 2, not 0"):
        crossroads_cli("no-such-command")
    assert crossroads_cli("no-such-command", exit_code=2).exit_code == 2


def test_plugin_parts_reads_nested_and_unclosed_markup():
    markup = (
        '<main><section class="panel" data-plugin="a"><h2>A &amp; B</h2><p>Hi <b>Clara</b>.<br>next<p>more'
        '</section><li class="plugin-row" data-plugin="b">b<img src="x"></li>'
        '<section class="report-section" data-plugin="c" data-unavailable><h2>C</h2></section></main>'
    )
    a, b, c = plugin_parts(markup)
    assert a.text == "A & B Hi Clara. next more" and a.html.startswith("<h2>A &amp; B</h2>")
    assert (b.plugin, b.tag, b.html) == ("b", "li", 'b<img src="x">')
    assert c.unavailable and not a.unavailable
    assert Page("/x", 200, markup).plugins == ["a", "b", "c"]


def test_the_kit_documents_every_fixture():
    import crossroads.testing as kit

    fixtures = [name for name in dir(kit) if name.startswith("crossroads_")]
    assert len(fixtures) >= 15
    undocumented = [name for name in fixtures if not (getattr(kit, name).__doc__ or "").strip()]
    assert not undocumented
