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
from crossroads.testing.sweeps import CLIENT

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
    assert "installed: alumni_offices, coaching_sessions, email," in run.stdout


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


def test_the_builders_load_on_first_use_and_hash_the_password_once():
    code = (
        "import sys, crossroads.testing as kit; assert 'crossroads.core' not in sys.modules; "
        "make = kit.make_contact; assert 'crossroads.testing.builders' in sys.modules; "
        "from crossroads.testing import builders; assert make is builders.make_contact; "
        "assert kit.password_hash() is kit.password_hash(); assert kit.PASSWORD == builders.PASSWORD"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with pytest.raises(AttributeError):
        import crossroads.testing as kit

        kit.make_nothing  # noqa: B018


def test_everyone_in_the_cast_signs_in_with_the_kits_password(
    crossroads_world, crossroads_other_practice, crossroads_as_user
):
    from crossroads.testing import PASSWORD

    people = [crossroads_world.owner, crossroads_world.coach, crossroads_world.client.user]
    people += [crossroads_other_practice.owner, crossroads_other_practice.coach]
    for person in people:
        browser = crossroads_as_user(None)
        response = browser.post("/login", data={"email": person.email, "password": PASSWORD})
        assert response.status_code == 302 and "/login" not in response.location, person.email


def test_the_worlds_clients_are_the_ones_asked_for(
    crossroads_world, crossroads_other_client, crossroads_owners_client, crossroads_other_practice
):
    world = crossroads_world
    assert [c.name for c in world.clients] == ["Clara Client", "Otto Other", "Ola Owned", "Bea Beyond"]
    assert world.clients[1:] == [crossroads_other_client, crossroads_owners_client, world.stranger_client]
    assert crossroads_other_practice.coach.id != crossroads_other_practice.owner.id


def test_only_the_clients_asked_for_are_in_the_world(crossroads_world):
    assert crossroads_world.clients == [crossroads_world.client]


def test_a_clients_history_is_on_their_first_contact(crossroads_db, crossroads_world):
    from crossroads.core.models import ConversationStatus, MessageStatus, Reach
    from crossroads.testing import add_history, make_contact

    world = crossroads_world
    history = add_history(crossroads_db, world.client)
    assert history.contact.id == world.contacts[0].id
    assert history.conversation.status == ConversationStatus.HELD
    assert history.conversation.reflection.shared_at is not None
    assert [q.text for q in history.conversation.questions] == ["What is hard about it?"]
    assert history.message.status == MessageStatus.HANDED_OFF
    assert history.message.to_address == "ada@review.example"
    assert (history.bank.reach, history.bank.clients) == (Reach.CLIENTS, [world.client])
    assert history.bank.owner_id == world.coach.id
    later = make_contact(crossroads_db, world.client, "Gus Gallery", "The Gallery")
    assert add_history(crossroads_db, world.client, later).contact is later


def test_each_test_starts_from_an_empty_database(crossroads_db, crossroads_world):
    # The world above committed a practice; this test's world is the only one here.
    from crossroads.core.models import Practice

    assert crossroads_db.query(Practice).count() == 1


def test_a_session_alone_does_not_build_the_app(request, crossroads_db, crossroads_engine):
    # A test of services needs no app (building one takes a tenth of a second, per test).
    assert "crossroads_app" not in request.fixturenames
    assert crossroads_db.get_bind() is crossroads_engine


def test_the_session_fires_events_to_the_plugins(crossroads_db, crossroads_plugin_manager):
    from crossroads.core.events import BUS_KEY

    assert crossroads_db.info[BUS_KEY].plugins is crossroads_plugin_manager


def test_the_engine_is_a_second_user_of_the_tests_database(crossroads_world, crossroads_engine):
    from crossroads.core.db import make_sessionmaker
    from crossroads.core.models import Client

    with make_sessionmaker(crossroads_engine)() as other:
        assert [c.id for c in other.query(Client)] == [crossroads_world.client.id]


def test_a_signed_out_visitor_is_sent_to_the_login_page(crossroads_as_user, crossroads_world):
    response = crossroads_as_user(None).get("/me/")
    assert response.status_code == 302 and "/login" in response.location


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


# -- the sweeps, run by a plugin's suite: here against the built-in alumni offices plugin ---------


def test_the_second_client_and_the_second_practice_join_the_world(
    crossroads_db,
    crossroads_world,
    crossroads_other_client,
    crossroads_owners_client,
    crossroads_other_practice,
):
    world = crossroads_world
    assert world.other_client is crossroads_other_client and world.other_client.coach_id == world.coach.id
    assert world.owners_client is crossroads_owners_client and world.owners_client.coach_id == world.owner.id
    other = crossroads_other_practice
    assert world.other_practice is other and other.practice.id != world.practice.id
    assert other.client.coach_id == other.coach.id and other.coach.practice_id == other.practice.id
    assert world.stranger_client is other.client  # the core's own tests' name for it
    from sqlalchemy import func, select

    from crossroads.core.models import Contact

    for client in (crossroads_other_client, crossroads_owners_client, other.client):
        contacts = select(func.count()).select_from(Contact).where(Contact.client_id == client.id)
        assert len(client.themes) == 1 and crossroads_db.scalar(contacts) == 1


def test_the_isolation_sweep_covers_a_plugins_routes_with_its_own_ids(crossroads_isolation_sweep):
    from tests.test_isolation import RIGHTFUL

    rightful = {
        endpoint: use
        for endpoint, use in RIGHTFUL.items()
        if endpoint.startswith(("alumni_offices.", "alumni_offices_api."))  # its pages and its API
    }
    # The refusals made the client an affiliation with the directory's first institution: add another.
    rightful["alumni_offices.add_affiliation"] = (
        (CLIENT,),
        {"institution_id": _second_institution, "year": "2015"},
    )
    swept = crossroads_isolation_sweep(rightful, plugin="alumni_offices")
    assert {"alumni_offices.edit_institution", "alumni_offices.remove_affiliation"} <= set(swept)
    assert "alumni_offices.show_request" in swept  # <intro_request_id>, declared by the plugin


def _second_institution(client) -> int:
    from sqlalchemy.orm import Session

    from crossroads.plugins.alumni_offices.models import Institution
    from crossroads.plugins.alumni_offices.services import fill_institution

    session = Session.object_session(client)
    institution = Institution(practice_id=client.practice_id)
    fill_institution(institution, {"name": "Lakeside University", "alumni_email": "alumni@lakeside.example"})
    session.add(institution)
    session.commit()
    return institution.id


def test_the_isolation_sweep_names_a_route_nobody_says_who_uses(crossroads_isolation_sweep):
    with pytest.raises(AssertionError, match=r"who rightfully uses \[.*'alumni_offices.client_page'"):
        crossroads_isolation_sweep({}, plugin="alumni_offices")


def test_the_csrf_sweep_posts_to_every_post_route_of_a_plugin(crossroads_csrf_sweep, crossroads_app):
    swept = crossroads_csrf_sweep(plugin="alumni_offices")
    assert "/plugins/alumni_offices/affiliations/<int:affiliation_id>/remove" in swept
    assert not crossroads_app.config["WTF_CSRF_ENABLED"]  # back off for the rest of the test


def ids_of_contact(session, client) -> int:
    from crossroads.testing.sweeps import core_route_ids

    return core_route_ids()["contact_id"].resolve(session, client)


def _alumni_rows(session, client):
    """An affiliation, an introduction request and an introduction of the client's."""
    from crossroads.core.models import Contact
    from crossroads.core.route_ids import ATTRIBUTE
    from crossroads.plugins import alumni_offices
    from crossroads.plugins.alumni_offices.models import Introduction

    ids = {route_id.param: route_id for route_id in getattr(alumni_offices, ATTRIBUTE)}
    ids["affiliation_id"].resolve(session, client)
    request_id = ids["intro_request_id"].resolve(session, client)
    contact = session.get(Contact, ids_of_contact(session, client))
    session.add(
        Introduction(
            practice_id=client.practice_id, client_id=client.id, request_id=request_id, contact_id=contact.id
        )
    )
    session.commit()


def test_the_export_and_erasure_sweep_finds_a_plugins_tables_through_its_models(
    crossroads_export_erasure_sweep, crossroads_db, crossroads_world, crossroads_other_client
):
    for client in (crossroads_world.client, crossroads_other_client):
        _alumni_rows(crossroads_db, client)
    swept = crossroads_export_erasure_sweep(plugin="alumni_offices")
    assert swept == ["alumni_affiliation", "alumni_introduction", "alumni_introduction_request"]


def test_the_export_and_erasure_sweep_asks_for_rows_to_prove_it_on(crossroads_export_erasure_sweep):
    with pytest.raises(AssertionError, match="seed a row of 'Clara Client' in alumni_affiliation"):
        crossroads_export_erasure_sweep(plugin="alumni_offices")


def test_the_kit_names_the_urls_of_export_erasure_and_live_checks(crossroads_app):
    from crossroads.testing import sweeps

    endpoints = {rule.rule: rule.endpoint for rule in crossroads_app.url_map.iter_rules()}
    assert endpoints[sweeps.EXPORT_URL] == "client_data.export_own"
    routes = {
        sweeps.STAFF_EXPORT_URL: "/coach/clients/<int:client_id>/export",
        sweeps.ERASE_URL: "/coach/clients/<int:client_id>/erase",
        sweeps.LIVE_CHECK_URL: "/contacts/<int:contact_id>/write/check",
    }
    for url, rule in routes.items():
        assert url.replace("{", "<int:").replace("}", ">") == rule and rule in endpoints


def test_the_guides_builders_example_passes(crossroads_db, crossroads_client, crossroads_page):
    from pathlib import Path

    guide = Path(__file__).resolve().parents[1] / "docs" / "plugins" / "guide.md"
    section = guide.read_text(encoding="utf-8").split("### The cast and the builders", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, str(guide), "exec"), namespace)  # noqa: S102 - the guide's own example
    namespace["test_a_sent_request_shows_on_the_contacts_page"](
        crossroads_db, crossroads_client, crossroads_page
    )
