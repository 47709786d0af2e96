"""Hooks called through pluggy, one plugin at a time: wrappers, monitoring, tracing, deprecations, events."""

from __future__ import annotations

import inspect
import logging
import re
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from crossroads.core.hookdocs import hook_specs
from crossroads.core.hookspecs import HookDeprecationWarning, hookimpl
from crossroads.core.models import Contact, Conversation, ConversationStatus, ThemeStatus
from crossroads.core.plugins import MenuItem, Panel, PluginManager, as_items
from crossroads.web.cli import main

ROOT = Path(__file__).resolve().parents[1]


class Answers:
    """A plain plugin: one panel."""

    @hookimpl
    def client_panels(self, client):
        return Panel("Plain", "plain/panel.html", {"name": client.name})


class AnswersTwo:
    @hookimpl
    def client_panels(self):
        return [Panel("First", "first.html"), Panel("Second", "second.html")]


class Retitles:
    """A new-style wrapper: sees each plugin's answer and retitles its panels."""

    def __init__(self):
        self.seen: list[list] = []

    @hookimpl(wrapper=True)
    def client_panels(self):
        answer = yield
        panels = [panel for part in answer for panel in as_items(part)]
        self.seen.append(panels)
        return [replace(panel, title=f"{panel.title} (wrapped)") for panel in panels]


class OldStyleWrapper:
    """An old-style hookwrapper: replaces the answer through pluggy's Result."""

    @hookimpl(hookwrapper=True)
    def client_panels(self):
        outcome = yield
        outcome.force_result([Panel("Replaced", "replaced.html")])


class BrokenWrapper:
    @hookimpl(wrapper=True)
    def client_panels(self):
        yield
        raise RuntimeError("the wrapper broke")


class Raising:
    @hookimpl
    def client_panels(self, client):
        raise RuntimeError("boom")


def bare(*plugins: tuple[object, str], trace: bool | None = None) -> PluginManager:
    manager = PluginManager(load_entry_points=False, trace=trace)
    for plugin, name in plugins:
        manager.register(plugin, name)
    return manager


# -- wrappers ---------------------------------------------------------------------------------


def test_a_wrapper_sees_each_plugins_answer_and_changes_it(world):
    wrapper = Retitles()
    manager = bare((Answers(), "plain"), (AnswersTwo(), "two"), (wrapper, "wrapper"))
    results = manager.call("client_panels", None, expect=Panel, client=world.client, viewer=world.coach)
    assert {r.plugin: [p.title for p in r.items] for r in results} == {
        "plain": ["Plain (wrapped)"],
        "two": ["First (wrapped)", "Second (wrapped)"],
    }
    assert sorted([p.title for p in answer] for answer in wrapper.seen) == [["First", "Second"], ["Plain"]]


def test_a_wrapper_changes_a_built_in_panel_on_the_page(plugins, world, as_user):
    plugins.register(Retitles(), "wrapper")
    page = as_user(world.client.user).get("/me/").get_data(as_text=True)
    assert "Themes against targets (wrapped)" in page


def test_an_old_style_hookwrapper_replaces_the_answer(world):
    manager = bare((Answers(), "plain"), (OldStyleWrapper(), "old_wrapper"))
    [result] = manager.call("client_panels", None, expect=Panel, client=world.client, viewer=world.coach)
    assert [p.title for p in result.items] == ["Replaced"]


def test_a_wrapper_runs_only_where_its_plugin_is_switched_on(world):
    wrapper = Retitles()
    manager = bare((Answers(), "plain"), (wrapper, "wrapper"))
    [result] = manager.call("client_panels", {"plain"}, client=world.client, viewer=world.coach)
    assert result.value.title == "Plain" and wrapper.seen == []


def test_a_wrapper_that_raises_is_blamed_and_the_other_plugins_still_answer(world, caplog):
    manager = bare((Answers(), "plain"), (Raising(), "raising"), (BrokenWrapper(), "broken_wrapper"))
    results = {
        r.plugin: r for r in manager.call("client_panels", None, client=world.client, viewer=world.coach)
    }
    assert results["plain"].error == "broken_wrapper's wrapper: RuntimeError: the wrapper broke"
    assert results["raising"].error == "RuntimeError: boom"  # its own failure, passed through the wrapper
    assert "plugin broken_wrapper failed in client_panels (wrapping plugin plain)" in caplog.text
    assert "plugin raising failed in client_panels" in caplog.text


def test_a_wrapper_that_turns_an_answer_into_the_wrong_type_is_refused(world, caplog):
    class Stringifies:
        @hookimpl(wrapper=True)
        def client_panels(self):
            yield
            return ["<p>not a panel</p>"]

    manager = bare((Answers(), "plain"), (Stringifies(), "stringifies"))
    [result] = manager.call("client_panels", None, expect=Panel, client=world.client, viewer=world.coach)
    assert result.error == "TypeError: returned str, which client_panels does not take (it takes a Panel)"


# -- monitoring and tracing -------------------------------------------------------------------


def test_hookcall_monitoring_sees_every_plugins_call_with_its_wrappers(world):
    manager = bare((Answers(), "plain"), (Raising(), "raising"), (Retitles(), "wrapper"))
    calls, outcomes = [], []
    undo = manager.add_hookcall_monitoring(
        lambda hook, impls, kwargs: calls.append(
            (hook, sorted(i.plugin_name for i in impls), sorted(kwargs))
        ),
        lambda outcome, hook, impls, kwargs: outcomes.append(outcome.exception is None),
    )
    manager.call("client_panels", None, client=world.client, viewer=world.coach)
    undo()
    manager.call("client_panels", None, client=world.client, viewer=world.coach)
    assert sorted(calls) == [
        ("client_panels", ["plain", "wrapper"], ["client", "viewer"]),
        ("client_panels", ["raising", "wrapper"], ["client", "viewer"]),
    ]
    assert sorted(outcomes) == [False, True]


def test_the_environment_variable_traces_every_hook_call_with_plugin_and_time(world, monkeypatch, caplog):
    monkeypatch.setenv("CROSSROADS_TRACE_HOOKS", "1")
    manager = PluginManager(only=["theme_progress"])
    manager.register(Raising(), "raising")
    with caplog.at_level(logging.INFO, logger="crossroads.plugins.trace"):
        manager.call("client_panels", None, client=world.client, viewer=world.coach)
    lines = [r.getMessage() for r in caplog.records if r.name == "crossroads.plugins.trace"]
    assert len(lines) == 2, lines
    assert any(
        re.fullmatch(
            r"hook client_panels\(client, viewer\): theme_progress \d+\.\d\d ms, answered Panel", line
        )
        for line in lines
    ), lines
    assert any(
        re.fullmatch(r"hook client_panels\(client, viewer\): raising \d+\.\d\d ms, raised RuntimeError", line)
        for line in lines
    ), lines
    assert "Clara" not in " ".join(lines)  # argument names only, never what they hold


def test_no_tracing_without_the_environment_variable(world, monkeypatch, caplog):
    monkeypatch.delenv("CROSSROADS_TRACE_HOOKS", raising=False)
    manager = PluginManager(only=["theme_progress"])
    with caplog.at_level(logging.INFO, logger="crossroads.plugins.trace"):
        manager.call("client_panels", None, client=world.client, viewer=world.coach)
    assert not [r for r in caplog.records if r.name == "crossroads.plugins.trace"]


# -- one normaliser ---------------------------------------------------------------------------


def test_one_or_a_list_becomes_a_list_and_every_item_is_checked():
    item = MenuItem("Report", "x.report")
    assert as_items(None) == [] and as_items(item) == [item] and as_items([item, item]) == [item, item]
    assert as_items([item], MenuItem) == [item]
    with pytest.raises(TypeError, match="str is not a MenuItem"):
        as_items([item, "Report"], MenuItem)


def test_no_hook_answer_is_normalised_by_hand_in_the_core_or_the_web_layer():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("core", "web")
        for path in (ROOT / folder).rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"isinstance\(.*\.value, list\)|_as_list\(|_is_list_of\(", line)
    ]
    assert offenders == []


# -- deprecating a hook -----------------------------------------------------------------------


class OldListener:
    """Written against hooks 0.3: one conversation_changed for both changes."""

    def __init__(self):
        self.seen: list[tuple] = []

    @hookimpl
    def conversation_changed(self, conversation, change):
        self.seen.append((change, conversation.id, conversation.sequence))


class MovedListener(OldListener):
    """Moved to the new event for cancellations, kept the old one for the rest."""

    @hookimpl
    def conversation_cancelled(self, conversation):
        self.seen.append(("cancelled (new)", conversation.id, conversation.sequence))


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


def _in_days(days: int, hour: int = 10) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime(f"%Y-%m-%dT{hour:02d}:00")


def _reschedule_then_cancel(as_user, world, conversation) -> None:
    browser = as_user(world.client.user)
    form = {"starts_at": _in_days(5), "minutes": "30", "medium": "phone", "location": "+44 20 0000"}
    assert browser.post(f"/conversations/{conversation.id}/reschedule", data=form).status_code == 302
    assert browser.post(f"/conversations/{conversation.id}/cancel").status_code == 302


def test_implementing_a_deprecated_hook_warns_at_load_naming_the_replacement(caplog):
    manager = PluginManager(load_entry_points=False)
    with pytest.warns(
        HookDeprecationWarning, match="implement conversation_rescheduled and conversation_cancelled"
    ):
        manager.register(OldListener(), "old_listener")
    assert (
        "conversation_changed is deprecated since hooks 0.4 and goes in 0.5"
        in manager.load_warnings["old_listener"][0]
    )
    assert "plugin old_listener: the hook conversation_changed is deprecated" in caplog.text


def test_the_deprecated_conversation_changed_is_still_called_for_a_reschedule_and_a_cancellation(
    plugins, world, db, as_user
):
    listener = OldListener()
    with pytest.warns(HookDeprecationWarning):
        plugins.register(listener, "old_listener")
    conversation = _scheduled(db, world)
    _reschedule_then_cancel(as_user, world, conversation)
    assert listener.seen == [("rescheduled", conversation.id, 1), ("cancelled", conversation.id, 2)]


def test_a_plugin_on_the_new_event_is_not_called_twice_through_the_old_one(plugins, world, db, as_user):
    listener = MovedListener()
    with pytest.warns(HookDeprecationWarning):
        plugins.register(listener, "moved_listener")
    conversation = _scheduled(db, world)
    _reschedule_then_cancel(as_user, world, conversation)
    assert listener.seen == [("rescheduled", conversation.id, 1), ("cancelled (new)", conversation.id, 2)]


@pytest.fixture
def old_plugin_site(tmp_path, monkeypatch):
    """An installed distribution whose plugin still implements conversation_changed."""
    (tmp_path / "old_events.py").write_text(
        "from crossroads.core.hookspecs import hookimpl\n\n\n"
        "@hookimpl\ndef conversation_changed(conversation, change):\n    pass\n"
    )
    info = tmp_path / "old_events-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: old_events\nVersion: 1.0.0\n")
    (info / "entry_points.txt").write_text("[crossroads]\nold_events = old_events\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("old_events", None)


def test_crossroads_plugins_lists_the_deprecated_hook_a_plugin_implements(old_plugin_site, monkeypatch):
    monkeypatch.setenv("CROSSROADS_PLUGINS", "old_events")
    with pytest.warns(HookDeprecationWarning):
        result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "old_events 1.0.0\n" in result.output
    assert (
        "  warns: the hook conversation_changed is deprecated since hooks 0.4 and goes in 0.5"
        in result.output
    )


def test_the_reference_marks_a_deprecated_hook_and_names_its_replacement():
    reference = (ROOT / "docs" / "plugins" / "hooks.md").read_text(encoding="utf-8")
    section = reference.split("## conversation_changed", 1)[1].split("\n## ", 1)[0]
    assert "**Deprecated:** the hook conversation_changed is deprecated since hooks 0.4" in section
    assert "implement conversation_rescheduled and conversation_cancelled instead" in section


def test_the_built_in_plugins_implement_no_deprecated_hook(recwarn):
    manager = PluginManager()
    assert manager.load_warnings == {}
    assert not [w for w in recwarn if issubclass(w.category, HookDeprecationWarning)]


# -- events -----------------------------------------------------------------------------------


class ConversationListener:
    def __init__(self):
        self.seen: list[tuple] = []

    @hookimpl
    def conversation_scheduled(self, conversation):
        self.seen.append(("scheduled", conversation.status.value))

    @hookimpl
    def conversation_rescheduled(self, conversation):
        self.seen.append(("rescheduled", conversation.sequence))

    @hookimpl
    def conversation_cancelled(self, conversation):
        self.seen.append(("cancelled", conversation.status.value))

    @hookimpl
    def conversation_held(self, conversation):
        self.seen.append(("held", conversation.status.value))

    @hookimpl
    def theme_decided(self, theme, status):
        self.seen.append(("decided", type(status), status))


def test_each_change_of_a_conversation_is_its_own_event(plugins, world, db, as_user):
    listener = ConversationListener()
    plugins.register(listener, "listener")
    contact = db.scalars(select(Contact).where(Contact.client_id == world.client.id)).first()
    browser = as_user(world.client.user)
    form = {"minutes": "20", "medium": "video", "location": "https://meet.example"}
    assert (
        browser.post(
            f"/contacts/{contact.id}/conversations", data={**form, "starts_at": _in_days(7)}
        ).status_code
        == 302
    )
    conversation = db.scalars(
        select(Conversation).where(Conversation.contact_id == contact.id).order_by(Conversation.id.desc())
    ).first()
    _reschedule_then_cancel(as_user, world, conversation)
    past = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT10:00")
    browser.post(
        f"/contacts/{contact.id}/conversations", data={**form, "starts_at": past, "already_happened": "y"}
    )
    browser.post(f"/themes/{world.client.themes[0].id}/status/chosen")
    assert listener.seen == [
        ("scheduled", "scheduled"),
        ("rescheduled", 1),
        ("cancelled", "cancelled"),
        ("held", "held"),  # recorded after the fact: held, never scheduled
        ("decided", ThemeStatus, "chosen"),
    ]


EVENT_ROW = re.compile(r"^\| `(\w+)\(", re.MULTILINE)


def test_every_event_is_named_thing_past_participle_and_listed_in_the_guide():
    events = {
        spec.__name__
        for spec in hook_specs()
        if (inspect.getdoc(spec) or "").startswith(("Event:", "Deprecated event:"))
    }
    assert {"message_sent", "message_replied", "conversation_scheduled", "conversation_held"} <= events
    for name in events:
        thing, _, happened = name.rpartition("_")
        assert thing and re.fullmatch(r"[a-z]+(ed|d|t|n)", happened), name
    guide = (ROOT / "docs" / "plugins" / "guide.md").read_text(encoding="utf-8")
    listed = set(EVENT_ROW.findall(guide.split("## 8. Events", 1)[1].split("\n## ", 1)[0]))
    assert listed == events


# -- a failing menu entry ---------------------------------------------------------------------


class BrokenMenu:
    @hookimpl
    def menu_items(self, viewer, client):
        raise RuntimeError("menu broke")


def test_a_failing_menu_entry_shows_staff_a_failed_plugin_and_is_logged(plugins, world, as_user, caplog):
    plugins.register(BrokenMenu(), "broken_menu")
    note = '<span class="plugin-failed" data-plugin="broken_menu">broken menu: a plugin failed</span>'
    coach = as_user(world.coach)
    caseload = coach.get("/coach/").get_data(as_text=True)
    assert note in caseload and "/plugins/progress_report/caseload" in caseload  # the others' links stay
    client_tabs = coach.get(f"/coach/clients/{world.client.id}").get_data(as_text=True)
    assert client_tabs.count(note) == 2  # the top menu and the client's tabs
    own = as_user(world.client.user).get("/me/")
    assert own.status_code == 200 and "plugin-failed" not in own.get_data(as_text=True)  # staff only
    assert "plugin broken_menu failed in menu_items" in caplog.text
