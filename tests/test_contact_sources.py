"""Contact sources and importers: plugins add them through one hook, the core's LinkedIn (both
layouts) and vCard importers come the same way, imports are all or nothing and re-imports match."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, select, text

from crossroads.core import migrate
from crossroads.core.errors import InvalidInput
from crossroads.core.events import attach
from crossroads.core.hookspecs import hookimpl
from crossroads.core.linkedin import ConnectionsImporter, OlderConnectionsImporter
from crossroads.core.models import Contact, ContactSource, PracticePlugin
from crossroads.core.plugins import HookResult
from crossroads.core.scoping import Scope
from crossroads.core.services import leads
from crossroads.core.services.contacts import add_contact
from crossroads.core.services.imports import find_importer, import_contacts, import_linkedin
from crossroads.core.sources import (
    ImportedContact,
    Importer,
    ImportRefused,
    ParsedFile,
    Source,
    build,
    registry,
)
from crossroads.core.vcard import VCardImporter
from crossroads.web.cli import main

DATA = Path(__file__).resolve().parent / "data" / "imports"
OLDER = DATA / "linkedin-connections-older.csv"
VCARDS = DATA / "contacts.vcf"
SAMPLE = Path(__file__).resolve().parents[1] / "core" / "demo_data" / "linkedin-connections.csv"


def refused(importer: Importer, data: bytes) -> ImportRefused:
    with pytest.raises(ImportRefused) as caught:
        importer.parse(data)
    return caught.value


def contacts_of(db, client) -> dict[str, Contact]:
    db.expire_all()
    return {c.name: c for c in db.scalars(select(Contact).where(Contact.client_id == client.id))}


# -- LinkedIn's older layout --------------------------------------------------------------------


def test_the_older_layout_reads_bom_preamble_quotes_missing_emails_and_us_dates():
    parsed = OlderConnectionsImporter().parse(OLDER.read_bytes())
    people = {c.name: c for c in parsed.contacts}
    assert len(parsed.contacts) == 9 and parsed.skipped == []  # the ",,,,," row is a blank row
    ada = people["Ada Novak"]
    assert (ada.line, ada.email, ada.organisation, ada.linkedin_url) == (
        5,
        "ada.novak@example.org",
        "Condé Nast",
        None,
    )
    assert str(ada.connected_on) == "2018-01-08"  # "1/8/18, 6:14 PM": month first
    assert people["Zoë Okafor"].email == "" and people["Zoë Okafor"].position == "Editor, Features"
    assert people["Łukasz Sharma"].email == "lukasz.sharma@example.com"
    assert people["Łukasz Sharma"].position == 'Senior Consultant "Digital"'
    assert "Priya Dubois PhD" in people  # credentials after a comma, without the comma
    assert people["Ingrid Said"].line == 11 and people["Noah Mensah"].line == 14  # after a two-line row
    assert people["José Silva"].connected_on is None


def test_each_layout_recognises_its_own_file_and_points_at_the_other():
    older, today = OLDER.read_bytes(), SAMPLE.read_bytes()
    assert OlderConnectionsImporter().recognises(older) and not OlderConnectionsImporter().recognises(today)
    assert ConnectionsImporter().recognises(today) and not ConnectionsImporter().recognises(older)
    assert "older export" in refused(ConnectionsImporter(), older).problems[0][1]
    assert find_importer(registry(None).importers, older).name == "linkedin_connections_older"
    assert find_importer(registry(None).importers, VCARDS.read_bytes()).name == "vcard"


def test_a_broken_older_row_refuses_the_file_naming_its_line():
    data = OLDER.read_bytes().replace(b'"2/29/16, 8:05 AM"', b"yesterday")
    error = refused(OlderConnectionsImporter(), data)
    assert error.problems == [(9, "Connected On 'yesterday' is not a date like 1/8/18, 6:14 PM")]


def test_older_reimport_matches_by_email_or_by_name_and_company(world, db):
    scope = Scope(db, world.client.user)
    first = import_contacts(scope, world.client.id, OlderConnectionsImporter(), OLDER.read_bytes())
    assert (first.added, first.updated, first.unchanged) == (9, 0, 0)
    before = contacts_of(db, world.client)
    assert before["Ada Novak"].source == ContactSource.LINKEDIN
    before["Zoë Okafor"].research_notes = "Ask about features desks"
    db.commit()
    changed = (
        OLDER.read_bytes()
        .replace(
            b"Ada,Novak,ada.novak@example.org,Cond\xc3\xa9 Nast",
            b"Ada,Novak-Berg,ada.novak@example.org,Vogue",
        )
        .replace(b'"Editor, Features"', b"Features Director")
    )
    second = import_contacts(scope, world.client.id, OlderConnectionsImporter(), changed)
    assert (second.added, second.updated, second.unchanged) == (0, 2, 7)
    after = contacts_of(db, world.client)
    assert after["Ada Novak-Berg"].id == before["Ada Novak"].id  # the same email: the same person
    assert after["Ada Novak-Berg"].organisation == "Vogue"
    zoe = after["Zoë Okafor"]  # no email: the same name and company
    assert (zoe.id, zoe.position, zoe.research_notes) == (before["Zoë Okafor"].id, "Features Director",
                                                           "Ask about features desks")  # fmt: skip


def test_a_person_added_by_hand_is_found_by_email_and_keeps_their_source(world, db):
    scope = Scope(db, world.client.user)
    hand = add_contact(scope, world.client.id, {"name": "Amara M.", "email": "AMARA@example.org"})
    db.commit()
    result = import_contacts(scope, world.client.id, OlderConnectionsImporter(), OLDER.read_bytes())
    assert (result.added, result.updated) == (8, 1)
    db.refresh(hand)
    assert (hand.name, hand.organisation, hand.source) == ("Amara Müller", "Deloitte", ContactSource.MANUAL)


def test_the_same_person_twice_in_an_older_file_is_skipped_naming_the_first():
    data = (
        OLDER.read_bytes()
        + "Ada,Novak,ADA.NOVAK@example.org,Elsewhere,,\r\nJosé,Silva,,Condé Nast,Editor,\r\n".encode()
    )
    parsed = OlderConnectionsImporter().parse(data)
    assert parsed.skipped == [(17, "the same person as line 5"), (18, "the same person as line 13")]


# -- vCard --------------------------------------------------------------------------------------


def test_vcards_of_every_version_map_name_email_organisation_title_and_linkedin_profile():
    parsed = VCardImporter().parse(VCARDS.read_bytes())
    assert [(c.line, c.name) for c in parsed.contacts] == [
        (1, "Zoë Okafor"), (16, "Łukasz Sharma"), (27, "Jörg Müller"), (37, "Dr. Noah K. Mensah"),
        (42, "Ada Novak"),
    ]  # fmt: skip
    zoe, lukasz, jorg, noah, ada = parsed.contacts
    # Apple's card: the preferred of two emails, an escaped comma, a grouped URL with a trailing slash.
    assert (zoe.email, zoe.organisation, zoe.position) == (
        "zoe.okafor@example.org",
        "Condé Nast",
        "Managing Editor, Vogue",
    )
    assert zoe.linkedin_url == "https://www.linkedin.com/in/zoe-okafor-00002"
    # vCard 4.0: a folded TITLE with an unescaped comma, Apple's X-SOCIALPROFILE for LinkedIn.
    assert lukasz.position == "Senior Consultant, Digital Transformation"
    assert lukasz.linkedin_url == "https://www.linkedin.com/in/lukasz-sharma"
    # vCard 2.1 from a phone: quoted-printable UTF-8 with a soft line break.
    assert (jorg.organisation, jorg.position) == (
        "Wieden+Kennedy – Amsterdam",
        "Strategy Director, Europe, Middle East and Africa",
    )
    assert (noah.email, noah.organisation) == ("", "The Atlantic")  # no FN: the parts of N
    assert (ada.organisation, ada.linkedin_url) == ("", "https://www.linkedin.com/in/ada-novak-00001")


def test_a_card_without_a_name_refuses_the_file_naming_the_card_and_its_line(world, db):
    data = VCARDS.read_bytes() + b"BEGIN:VCARD\r\nVERSION:3.0\r\nEMAIL:someone@example.org\r\nEND:VCARD\r\n"
    error = refused(VCardImporter(), data)
    assert error.problems == [(48, "card 6 has no name (FN or N)")]
    with pytest.raises(ImportRefused):
        import_contacts(Scope(db, world.client.user), world.client.id, VCardImporter(), data)
    # the world's contacts alone: nothing of the five good cards
    assert len(contacts_of(db, world.client)) == len(world.contacts)


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\n", 1, "card 1 is not closed by END:VCARD"),
        (b"name,email\r\nAnn,ann@example.org\r\n", 1, "this line is outside a card"),
        (b"", 1, "this file holds no card"),
        (
            b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann <ann@x.example>\r\nEND:VCARD\r\n",
            1,
            "A name cannot contain",
        ),
        (
            b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nEMAIL:not-an-address\r\nEND:VCARD\r\n",
            1,
            "is not an email",
        ),
        (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN\r\nEND:VCARD\r\n", 1, "card 1 cannot be read"),
        (b"BEGIN:VCARD\r\nFN:\xff\r\nEND:VCARD\r\n", 2, "not UTF-8"),
    ],
    ids=["unclosed", "not-a-vcard", "empty", "address-in-name", "bad-email", "unreadable-line", "not-utf8"],
)
def test_a_broken_vcard_file_is_refused_with_its_line(data, line, message):
    error = refused(VCardImporter(), data)
    assert error.problems[0][0] == line and message in error.problems[0][1]


def test_a_vcard_reimport_matches_linkedin_contacts_by_profile_and_erases_nothing(world, db):
    scope = Scope(db, world.client.user)
    import_linkedin(scope, world.client.id, SAMPLE.read_bytes())
    ada_url = "https://www.linkedin.com/in/ada-novak-00001"
    ada_before = db.scalars(select(Contact).where(Contact.linkedin_url == ada_url)).one()
    result = import_contacts(scope, world.client.id, VCardImporter(), VCARDS.read_bytes())
    assert (result.added, result.updated, result.unchanged) == (4, 0, 1)
    ada = db.scalars(select(Contact).where(Contact.linkedin_url == ada_url)).one()
    # The card has no organisation or position: what LinkedIn gave is kept, and so is the source.
    assert (ada.id, ada.position, ada.source) == (ada_before.id, "Founder & CEO", ContactSource.LINKEDIN)
    jorg = contacts_of(db, world.client)["Jörg Müller"]
    assert jorg.source == ContactSource.ADDRESS_BOOK and jorg.source == "address_book"
    again = import_contacts(scope, world.client.id, VCardImporter(), VCARDS.read_bytes())
    assert (again.added, again.updated, again.unchanged) == (0, 0, 5)


# -- a plugin's source and importer -------------------------------------------------------------


class Directory(Importer):
    """A plugin's importer: "name;organisation" lines."""

    name = "test_directory"
    label = "Test directory (.txt)"
    source = "test_directory"
    extensions = (".txt",)

    def recognises(self, data: bytes) -> bool:
        return data.startswith(b"DIRECTORY")

    def parse(self, data: bytes) -> ParsedFile:
        lines = data.decode().splitlines()[1:]
        return ParsedFile([ImportedContact(n, *line.split(";")[:1], organisation=line.split(";")[1])
                           for n, line in enumerate(lines, start=2)])  # fmt: skip


def directory_plugin() -> SimpleNamespace:
    return SimpleNamespace(
        contact_sources=hookimpl(lambda: [Source("test_directory", "Test directory"), Directory()])
    )


DIRECTORY_FILE = b"DIRECTORY\nAnn Archer;Guild of Editors\nBo Brand;Guild of Editors\n"


def test_a_plugins_importer_is_offered_and_imports_with_its_source(world, db, plugins, as_user):
    plugins.register(directory_plugin(), "directory")
    browser = as_user(world.client.user)
    page = browser.get(f"/clients/{world.client.id}/import").get_data(as_text=True)
    assert 'value="test_directory"' in page and "Test directory (.txt)" in page and 'value="vcard"' in page
    response = browser.post(
        f"/clients/{world.client.id}/import",
        data={"format": "auto", "file": (io.BytesIO(DIRECTORY_FILE), "guild.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and "<strong>2</strong> added" in response.get_data(as_text=True)
    ann = contacts_of(db, world.client)["Ann Archer"]
    assert (ann.source, ann.organisation) == ("test_directory", "Guild of Editors")
    listing = browser.get(f"/clients/{world.client.id}/contacts?source=test_directory").get_data(as_text=True)
    assert "Ann Archer" in listing and "Bo Brand" in listing and "Test directory" in listing
    assert "Test directory" in browser.get(f"/contacts/{ann.id}").get_data(as_text=True)


def test_a_switched_off_plugins_importer_is_not_offered_but_its_label_stays(world, db, plugins, as_user):
    plugins.register(directory_plugin(), "directory")
    ann = Contact(
        practice_id=world.practice.id, client_id=world.client.id, name="Ann Archer", source="test_directory"
    )
    db.add(ann)
    db.add(PracticePlugin(practice_id=world.practice.id, plugin_name="directory", enabled=False, settings={}))
    db.commit()
    browser = as_user(world.client.user)
    assert 'value="test_directory"' not in browser.get(f"/clients/{world.client.id}/import").get_data(
        as_text=True
    )
    response = browser.post(
        f"/clients/{world.client.id}/import",
        data={"format": "test_directory", "file": (io.BytesIO(DIRECTORY_FILE), "guild.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "choose one of the formats listed" in response.get_data(
        as_text=True
    )
    assert "Test directory" in browser.get(f"/contacts/{ann.id}").get_data(as_text=True)


def test_an_uninstalled_plugins_source_shows_its_stored_name(world, db, as_user):
    ann = Contact(
        practice_id=world.practice.id, client_id=world.client.id, name="Ann Archer", source="gone_plugin"
    )
    db.add(ann)
    db.commit()
    browser = as_user(world.client.user)
    assert "Other source (gone_plugin)" in browser.get(f"/contacts/{ann.id}").get_data(as_text=True)
    assert "Other source (gone_plugin)" in browser.get(f"/clients/{world.client.id}/contacts").get_data(
        as_text=True
    )
    assert leads.warm_leads(Scope(db, world.client.user), world.client.themes[0].id) is not None


def test_a_source_must_be_registered_to_be_given(world, db, plugins):
    attach(db, plugins)
    scope = Scope(db, world.client.user)
    with pytest.raises(InvalidInput) as caught:
        add_contact(scope, world.client.id, {"name": "Ann Archer", "source": "test_directory"})
    assert "source" in caught.value.errors
    plugins.register(directory_plugin(), "directory")
    contact = add_contact(scope, world.client.id, {"name": "Ann Archer", "source": "test_directory"})
    assert contact.source == "test_directory"
    with pytest.raises(ValueError, match="not a contact source's name"):
        contact.source = "Not A Name"


def test_taken_names_and_unknown_sources_are_refused_and_the_rest_kept(caplog):
    class Orphan(Directory):
        name, source = "orphan", "nobody_adds_this"

    class Twin(Directory):
        label = "A second importer of the same name"

    results = [
        HookResult("crossroads", value=[Source("manual", "Added by hand")]),
        HookResult(
            "one",
            value=[Source("manual", "Mine now"), Source("test_directory", "Test directory"), Directory()],
        ),
        HookResult("two", value=[Orphan(), Twin()]),
        HookResult("broken", error="RuntimeError: no"),
    ]
    found = build(results)
    assert found.label("manual") == "Added by hand"
    assert (
        list(found.importers) == ["test_directory"]
        and found.importers["test_directory"].label == "Test directory (.txt)"
    )
    assert "nobody_adds_this" in caplog.text and "is taken" in caplog.text


@pytest.fixture
def own_registry(db):
    """The test builds its own registry (``build``) and hands the importer in: the session's plugins
    (the built-in ones, through its event bus) are not asked which sources exist."""
    from crossroads.core.events import BUS_KEY

    db.info.pop(BUS_KEY, None)
    return db


def test_an_importer_that_fails_or_gives_bad_rows_imports_nothing(world, db, own_registry):
    class Failing(Directory):
        def parse(self, data: bytes) -> ParsedFile:
            raise KeyError("column")

    class Careless(Directory):
        def parse(self, data: bytes) -> ParsedFile:
            return ParsedFile([ImportedContact(2, "Ann"), ImportedContact(3, "Bo", email="bo at home"),
                               ImportedContact(4, "Cy", organisation="x" * 201)])  # fmt: skip

    scope = Scope(db, world.client.user)
    with pytest.raises(ImportRefused, match="could not read this file"):
        import_contacts(scope, world.client.id, Failing(), DIRECTORY_FILE)
    with pytest.raises(ImportRefused) as caught:
        import_contacts(scope, world.client.id, Careless(), DIRECTORY_FILE)
    assert [line for line, _ in caught.value.problems] == [3, 4]
    assert len(contacts_of(db, world.client)) == len(world.contacts)


def test_an_unrecognised_upload_asks_for_its_format(world, as_user):
    response = as_user(world.client.user).post(
        f"/clients/{world.client.id}/import",
        data={"format": "auto", "file": (io.BytesIO(b"just some text\n"), "notes.txt")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert (
        response.status_code == 422
        and "Nothing was imported" in page
        and "does not recognise this file" in page
    )


def test_a_vcard_upload_refused_shows_the_card_line_in_the_page(world, db, as_user):
    data = (
        b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ann\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:4.0\r\nORG:Acme\r\nEND:VCARD\r\n"
    )
    response = as_user(world.client.user).post(
        f"/clients/{world.client.id}/import",
        data={"format": "vcard", "file": (io.BytesIO(data), "contacts.vcf")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Line 5: card 2 has no name (FN or N)" in page
    assert len(contacts_of(db, world.client)) == len(world.contacts)


def test_command_line_imports_a_vcard_and_an_older_export(world, db, database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("CROSSROADS_DATABASE_URL", database_url)
    monkeypatch.setenv("CROSSROADS_INSTANCE", str(tmp_path))
    result = CliRunner().invoke(main, ["import-contacts", "--client", "clara@client.example", str(VCARDS)])
    assert result.exit_code == 0, result.output
    assert "Clara Client: 5 added" in result.output
    older = CliRunner().invoke(main, ["import-linkedin", "--client", "clara@client.example", str(OLDER)])
    # Łukasz Sharma is in both files with the same email: the older export updates him.
    assert older.exit_code == 0 and "Clara Client: 8 added, 1 updated" in older.output
    listed = CliRunner().invoke(main, ["import-contacts", "--client", "clara@client.example", "--list"])
    assert "vcard: vCard" in listed.output and "linkedin_connections_older:" in listed.output
    wrong = CliRunner().invoke(
        main, ["import-contacts", "--client", "clara@client.example", "--format", "nope", str(VCARDS)]
    )
    assert wrong.exit_code == 1 and "--format: No importer 'nope'" in wrong.output


# -- the migration --------------------------------------------------------------------------------


def _insert_contacts(path: Path, sources: list[str]) -> None:
    """Rows straight into the file (no practice or client behind them), one per source."""
    with sqlite3.connect(path) as connection:
        columns = connection.execute("PRAGMA table_info(contact)").fetchall()
        for number, source in enumerate(sources, start=1):
            values = {
                c[1]: ("" if "CHAR" in c[2] or "TEXT" in c[2] else 0)
                for c in columns
                if c[3] and c[1] != "id"
            }
            values |= {"id": number, "name": f"Person {number}", "source": source, "tags": "[]"}
            marks = ", ".join("?" * len(values))
            connection.execute(
                f"INSERT INTO contact ({', '.join(values)}) VALUES ({marks})", list(values.values())
            )


def _sources(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT source FROM contact ORDER BY id")]


def test_the_migration_keeps_every_source_and_the_email_index_and_downgrades(tmp_path):
    path = tmp_path / "sources.sqlite3"
    engine = create_engine(f"sqlite:///{path}")  # without foreign keys: the rows have no client
    config = migrate.alembic_config(engine)

    def run(step, revision):
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)

    run(command.upgrade, "0018")
    old = [member.value for member in ContactSource if member != ContactSource.ADDRESS_BOOK]
    _insert_contacts(path, old)
    run(command.upgrade, "0019")
    assert _sources(path) == old
    with engine.connect() as connection:
        sql = connection.scalar(
            text("SELECT sql FROM sqlite_master WHERE name = 'ix_contact_practice_email'")
        )
        column = next(c for c in inspect(connection).get_columns("contact") if c["name"] == "source")
        connection.execute(text("UPDATE contact SET source = 'a_plugins_source' WHERE id = 1"))
        connection.commit()
    assert sql is not None and "lower(email)" in sql  # batch mode cannot copy it: made again
    assert str(column["type"]) == "VARCHAR(40)"
    run(command.downgrade, "0018")
    assert _sources(path) == ["manual", *old[1:]]  # a source the old enum does not know becomes "manual"
    engine.dispose()


def test_on_postgresql_the_source_is_text_and_the_enum_type_is_gone(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    with engine.connect() as connection:
        kind = connection.scalar(
            text(
                "SELECT data_type FROM information_schema.columns"
                " WHERE table_name = 'contact' AND column_name = 'source'"
            )
        )
        gone = connection.scalar(text("SELECT count(*) FROM pg_type WHERE typname = 'contact_source'"))
    assert (kind, gone) == ("character varying", 0)


# -- the guide's example --------------------------------------------------------------------------

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins" / "guide.md"


def test_the_guides_importer_example_runs(world, db, own_registry):
    section = GUIDE.read_text(encoding="utf-8").split("### Contact sources and importers", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, str(GUIDE), "exec"), namespace)  # noqa: S102 - the guide's own example
    found = build([HookResult("crossroads", value=[Source("manual", "Added by hand")]),
                   HookResult("badges", value=namespace["contact_sources"]())])  # fmt: skip
    importer = found.importers["badge_scans"]
    scope = Scope(db, world.client.user)
    result = import_contacts(
        scope, world.client.id, importer, b"Ann Archer <ann@example.org>\nBo Brand <BO@x.example>\n"
    )
    assert result.added == 2 and found.label("conference_badges") == "Conference badge scans"
    with pytest.raises(ImportRefused) as caught:
        importer.parse(b"Ann Archer <ann@example.org>\nno address here\n")
    assert caught.value.problems == [(2, "expected Name <email>")]
