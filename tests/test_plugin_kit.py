"""What the platform offers a third-party plugin: compatibility checks, ordering, settings,
commands, events and per-request timing."""

from __future__ import annotations

import html
import logging
import sys
import textwrap
import uuid
from datetime import UTC, datetime, timedelta

import click
import pytest
from click.testing import CliRunner
from marshmallow import fields, validate
from sqlalchemy import select

from crossroads.core import hookspecs
from crossroads.core.hookspecs import hookimpl
from crossroads.core.models import Contact, Conversation, ConversationStatus, PracticePlugin
from crossroads.core.plugin_settings import PluginSettings
from crossroads.core.plugins import IncompatiblePlugin, PluginManager
from crossroads.testing.browser import browser_for
from crossroads.web import create_app
from crossroads.web.cli import main


class GuestSettings(PluginSettings):
    plugin = "guest"

    association = fields.String(
        load_default="City Design Society",
        validate=validate.Length(min=2, max=100),
        metadata={"label": "Association", "description": "Whose events clients ask to attend."},
    )
    max_requests = fields.Integer(
        load_default=3, validate=validate.Range(min=1, max=10), metadata={"label": "Requests a month"}
    )
    sign_off = fields.String(load_default="warm", validate=validate.OneOf(["warm", "formal"]))
    copy_coach = fields.Boolean(load_default=True)


class GuestPlugin:
    @hookimpl
    def plugin_settings(self):
        return GuestSettings


@pytest.fixture
def guest(plugins):
    plugins.register(GuestPlugin(), "guest")
    return plugins


# -- compatibility ----------------------------------------------------------------------------


@pytest.fixture
def newer_plugin_site(tmp_path, monkeypatch):
    """An installed distribution whose plugin declares a hook set newer than this Crossroads's."""
    (tmp_path / "from_the_future.py").write_text(
        textwrap.dedent(
            """
            from crossroads.core.hookspecs import hookimpl

            crossroads_hooks = "9.1"

            @hookimpl
            def client_panels(client, viewer):
                return None
            """
        )
    )
    info = tmp_path / "from_the_future-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: from_the_future\nVersion: 1.0.0\n")
    (info / "entry_points.txt").write_text("[crossroads]\nfuture = from_the_future\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("from_the_future", None)


def test_a_plugin_built_for_newer_hooks_is_refused_with_a_clear_message(newer_plugin_site):
    manager = PluginManager()
    assert "future" not in manager.names
    error = manager.load_errors["future"]
    assert f"needs Crossroads hooks 9.1, but this Crossroads offers {hookspecs.HOOKS_VERSION}" in error
    result = CliRunner().invoke(main, ["plugins"])
    assert "future: failed to load: IncompatiblePlugin: needs Crossroads hooks 9.1" in result.output


@pytest.fixture
def impostor_site(tmp_path, monkeypatch):
    """An installed distribution whose entry point claims the built-in email plugin's name."""
    (tmp_path / "impostor_mail.py").write_text("")
    info = tmp_path / "impostor_mail-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: impostor_mail\nVersion: 1.0.0\n")
    (info / "entry_points.txt").write_text("[crossroads]\nemail = impostor_mail\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("impostor_mail", None)


def test_a_second_plugin_with_a_taken_name_is_reported_not_silently_dropped(impostor_site):
    manager = PluginManager()
    loaded = {i.name: i.module for i in manager.plugins()}["email"]
    # The first on the path wins (here the impostor, prepended); the other is named in the errors.
    other, winner = (
        ("crossroads.plugins.email_channel", "impostor_mail")
        if loaded == "impostor_mail"
        else ("impostor_mail", "crossroads")
    )
    assert manager.load_errors[f"email ({other})"] == (
        f"the name 'email' is already taken by {winner}; rename the entry point"
    )


def test_a_plugin_declaring_the_current_hook_set_loads():
    manager = PluginManager(load_entry_points=False)
    plugin = type("Current", (), {"crossroads_hooks": hookspecs.HOOKS_VERSION})()
    manager.register(plugin, "current")
    assert manager.names == {"current"}


def test_a_plugin_implementing_an_unknown_hook_is_refused_whole():
    class Misspelt:
        @hookimpl
        def client_panels(self, client, viewer):
            return None

        @hookimpl
        def client_pannels(self, client, viewer):
            return None

    manager = PluginManager(load_entry_points=False)
    with pytest.raises(IncompatiblePlugin, match="implements client_pannels, which this Crossroads"):
        manager.register(Misspelt(), "misspelt")
    assert manager.names == set()
    assert manager.call("client_panels", None, client=None, viewer=None) == []


def test_a_plugin_asking_for_an_argument_a_hook_does_not_pass_is_refused():
    class Greedy:
        @hookimpl
        def client_panels(self, client, viewer, practice):
            return None

    manager = PluginManager(load_entry_points=False)
    with pytest.raises(IncompatiblePlugin, match="practice"):
        manager.register(Greedy(), "greedy")
    assert manager.names == set()


# -- ordering ---------------------------------------------------------------------------------


def _naming(label: str, **opts):
    class Plugin:
        @hookimpl(**opts)
        def outreach_channels(self):
            calls.append(label)

    return Plugin()


calls: list[str] = []


def test_hooks_run_tryfirst_first_and_trylast_last_whatever_the_registration_order():
    calls.clear()
    manager = PluginManager(load_entry_points=False)
    manager.register(_naming("last", trylast=True), "last")
    manager.register(_naming("plain"), "plain")
    manager.register(_naming("first", tryfirst=True), "first")
    manager.call("outreach_channels", None)
    assert calls == ["first", "plain", "last"]


# -- settings per practice ---------------------------------------------------------------------


def test_settings_read_defaults_before_the_owner_sets_anything(guest, world, db):
    assert GuestSettings.read(db, world.practice.id) == {
        "association": "City Design Society",
        "max_requests": 3,
        "sign_off": "warm",
        "copy_coach": True,
    }


def test_the_owner_page_renders_a_form_from_the_schema(guest, world, as_user):
    page = as_user(world.owner).get("/practice/plugins/guest/settings")
    assert page.status_code == 200
    text = html.unescape(page.get_data(as_text=True))
    assert 'name="association"' in text and 'value="City Design Society"' in text
    assert "Whose events clients ask to attend." in text
    assert 'type="number"' in text and 'min="1" max="10"' in text
    assert '<option value="formal"' in text and '<option value="false"' in text
    practice_page = as_user(world.owner).get("/practice/").get_data(as_text=True)
    assert "/practice/plugins/guest/settings" in practice_page


def test_saved_settings_are_validated_stored_and_read_back_for_that_practice_only(guest, world, db, as_user):
    owner = as_user(world.owner)
    data = {
        "association": "Urbanists' Guild",
        "max_requests": "5",
        "sign_off": "formal",
        "copy_coach": "false",
    }
    response = owner.post("/practice/plugins/guest/settings", data=data, follow_redirects=True)
    assert "Settings of guest saved." in response.get_data(as_text=True)
    db.expire_all()
    assert GuestSettings.read(db, world.practice.id) == {
        "association": "Urbanists' Guild",
        "max_requests": 5,
        "sign_off": "formal",
        "copy_coach": False,
    }
    assert GuestSettings.read(db, world.stranger_practice.id)["association"] == "City Design Society"
    row = db.scalar(select(PracticePlugin).where(PracticePlugin.practice_id == world.practice.id))
    assert row.enabled is True  # saving settings does not switch the plugin


def test_bad_settings_are_refused_by_field_and_keep_what_was_typed(guest, world, db, as_user):
    response = as_user(world.owner).post(
        "/practice/plugins/guest/settings",
        data={"association": "Urbanists' Guild", "max_requests": "50", "sign_off": "casual"},
    )
    assert response.status_code == 422
    text = html.unescape(response.get_data(as_text=True))
    assert 'id="max_requests-error"' in text and 'id="sign_off-error"' in text
    assert 'value="Urbanists\' Guild"' in text and 'value="50"' in text
    assert db.scalar(select(PracticePlugin)) is None


def test_only_the_owner_reaches_plugin_settings(guest, world, as_user):
    for user in (world.coach, world.client.user):
        assert as_user(user).get("/practice/plugins/guest/settings").status_code in (403, 404)
        assert as_user(user).post("/practice/plugins/guest/settings", data={}).status_code in (403, 404)


def test_a_plugin_without_settings_has_no_settings_page(world, as_user):
    assert as_user(world.owner).get("/practice/plugins/theme_progress/settings").status_code == 404
    assert as_user(world.owner).get("/practice/plugins/nonexistent/settings").status_code == 404


def test_a_schema_naming_another_plugin_is_refused(plugins, world, as_user, caplog):
    class Impostor:
        @hookimpl
        def plugin_settings(self):
            return GuestSettings  # says plugin = "guest"

    plugins.register(Impostor(), "impostor")
    assert as_user(world.owner).get("/practice/plugins/impostor/settings").status_code == 404
    assert "its settings schema says plugin = 'guest'" in caplog.text


# -- commands ---------------------------------------------------------------------------------


@click.command("guest-stats")
@click.option("--month", default="2026-11")
def guest_stats(month: str) -> None:
    """Count guest requests."""
    click.echo(f"guest requests in {month}: 0")


@click.command("serve")
def fake_serve() -> None:
    """A plugin trying to replace the core's serve."""
    click.echo("hijacked")


class CommandPlugin:
    @hookimpl
    def cli_commands(self):
        return [guest_stats, fake_serve]


def test_a_plugin_command_runs_under_crossroads_and_cannot_replace_a_built_in(caplog):
    manager = PluginManager(load_entry_points=False)
    manager.register(CommandPlugin(), "guest")
    runner = CliRunner()
    help_text = runner.invoke(main, ["--help"], obj=manager).output
    assert "guest-stats" in help_text and "Count guest requests." in help_text
    result = runner.invoke(main, ["guest-stats", "--month", "2026-10"], obj=manager)
    assert result.exit_code == 0 and result.output == "guest requests in 2026-10: 0\n"
    assert "hijacked" not in runner.invoke(main, ["serve", "--help"], obj=manager).output
    assert "command 'serve' refused; the name is taken" in caplog.text


def test_plugins_command_shows_whether_each_is_on_for_a_practice(world, db, settings, monkeypatch):
    monkeypatch.setenv("CROSSROADS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CROSSROADS_INSTANCE", str(settings.instance_path))
    db.add(PracticePlugin(practice_id=world.practice.id, plugin_name="linkedin", enabled=False, settings={}))
    db.commit()
    result = CliRunner().invoke(main, ["plugins", "--practice", str(world.practice.id)])
    assert result.exit_code == 0, result.output
    assert f"linkedin 0.1.0  [off for practice {world.practice.id}]" in result.output
    assert f"email 0.1.0  [on for practice {world.practice.id}]" in result.output
    result = CliRunner().invoke(main, ["plugins", "--practice", str(world.stranger_practice.id)])
    assert f"linkedin 0.1.0  [on for practice {world.stranger_practice.id}]" in result.output
    missing = CliRunner().invoke(main, ["plugins", "--practice", "999999"])
    assert missing.exit_code == 1 and "No practice has the id 999999." in missing.output


# -- events -----------------------------------------------------------------------------------


class Listener:
    """Records each event with what the object looked like when it fired."""

    def __init__(self):
        self.seen: list[tuple] = []

    @hookimpl
    def conversation_held(self, session, conversation):
        self.seen.append(("held", conversation.id, conversation.status.value))

    @hookimpl
    def reflection_shared(self, session, reflection):
        self.seen.append(("shared", reflection.conversation_id, reflection.shared_at is not None))

    @hookimpl
    def client_invited(self, session, client):
        self.seen.append(("invited", client.user.email, client.coach_id))

    @hookimpl
    def theme_decided(self, session, theme, status):
        self.seen.append(("decided", theme.id, status))


def _scheduled(db, world) -> Conversation:
    contact = db.scalars(select(Contact).where(Contact.client_id == world.client.id)).first()
    conversation = Conversation(
        practice_id=contact.practice_id,
        client_id=contact.client_id,
        contact=contact,
        starts_at=datetime.now(UTC) + timedelta(days=2),
        uid=f"{uuid.uuid4()}@test",
        status=ConversationStatus.SCHEDULED,
    )
    db.add(conversation)
    db.commit()
    return conversation


def test_events_fire_once_each_with_the_changed_object(plugins, world, db, as_user):
    listener = Listener()
    plugins.register(listener, "listener")
    client = as_user(world.client.user)
    conversation = _scheduled(db, world)
    conversation.starts_at = datetime.now(UTC) - timedelta(minutes=30)  # held only once it has started
    db.commit()
    client.post(f"/conversations/{conversation.id}/held")
    client.post(f"/conversations/{conversation.id}/held")  # already held: no second event
    reflection = {"energy": "1", "fit": "4", "insights": "Deadlines rule", "share": "true"}
    client.post(f"/conversations/{conversation.id}/reflection", data=reflection)
    client.post(f"/conversations/{conversation.id}/reflection", data=reflection)  # an edit, still shared
    theme = world.client.themes[0]
    client.post(f"/themes/{theme.id}/status/chosen")
    client.post(f"/themes/{theme.id}/status/parked")  # not a decision
    as_user(world.coach).post("/coach/invite", data={"name": "Nina New", "email": "nina@a.example"})
    assert listener.seen == [
        ("held", conversation.id, "held"),
        ("shared", conversation.id, True),
        ("decided", theme.id, "chosen"),
        ("invited", "nina@a.example", world.coach.id),
    ]


def test_the_events_of_another_practice_do_not_reach_a_plugin_it_switched_off(plugins, world, db, as_user):
    listener = Listener()
    plugins.register(listener, "listener")
    db.add(PracticePlugin(practice_id=world.practice.id, plugin_name="listener", enabled=False, settings={}))
    db.commit()
    as_user(world.client.user).post(f"/themes/{world.client.themes[0].id}/status/dropped")
    as_user(world.stranger_client.user).post(f"/themes/{world.stranger_client.themes[0].id}/status/dropped")
    assert listener.seen == [("decided", world.stranger_client.themes[0].id, "dropped")]


# -- timing -----------------------------------------------------------------------------------


class Slowish:
    @hookimpl
    def client_panels(self, client, viewer):
        return None


def test_each_plugins_time_on_a_request_is_logged_and_sent_to_the_browser_in_debug(
    plugins, world, db, settings, caplog
):
    plugins.register(Slowish(), "slowish")
    app = create_app(settings, plugins=plugins)
    browser = browser_for(app, world.client.user)
    with caplog.at_level(logging.INFO, logger="crossroads.plugins.timing"):
        response = browser.get("/me/")
    assert "Server-Timing" not in response.headers
    line = next(r.getMessage() for r in caplog.records if r.name == "crossroads.plugins.timing")
    assert line.startswith("plugin time for GET /me/: ")
    assert "slowish " in line and "theme_progress " in line and " ms in " in line
    app.debug = True
    timing = browser.get("/me/").headers["Server-Timing"]
    assert "plugin-slowish;dur=" in timing and 'desc="slowish, 1 call(s)"' in timing


# -- templates --------------------------------------------------------------------------------


def test_a_deployment_overrides_a_plugins_template_from_its_instance_folder(world, settings, as_user):
    folder = settings.instance_path / "templates" / "theme_progress"
    folder.mkdir(parents=True)
    (folder / "panel.html").write_text("<p>Our own wording: {{ active_count }} of {{ max_active }}</p>")
    page = as_user(world.client.user).get("/me/").get_data(as_text=True)
    assert "Our own wording: 1 of 3" in page
