"""Importing LinkedIn's Connections.csv: the real format, re-imports, and refusing bad files whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from crossroads.core.linkedin import normalise_profile_url, parse_bytes
from crossroads.core.models import Contact, ContactSource, Stage
from crossroads.core.scoping import Scope
from crossroads.core.services.imports import import_linkedin
from crossroads.core.sources import ImportRefused
from crossroads.web.cli import main

from .exports import connection_rows, make_export

SAMPLE = Path(__file__).resolve().parents[1] / "core" / "demo_data" / "linkedin-connections.csv"


def refused(data: bytes) -> ImportRefused:
    with pytest.raises(ImportRefused) as caught:
        parse_bytes(data)
    return caught.value


def test_the_sample_export_parses_with_quotes_commas_and_accents():
    parsed = parse_bytes(SAMPLE.read_bytes())
    assert len(parsed.contacts) == 250 and parsed.skipped == []
    first = parsed.contacts[0]
    assert (first.line, first.name, first.position) == (5, "Noah Mensah", 'Senior Engineer "Platform"')
    fatima = next(c for c in parsed.contacts if c.name == "Fatima Müller")
    assert fatima.position == "Engineering Manager, Payments"
    assert any(c.email == "ingrid-said-00014@example.org" for c in parsed.contacts)


def test_header_is_found_wherever_the_preamble_ends_and_blank_rows_are_ignored():
    rows = connection_rows(5)
    data = b"Extra line\r\n" + make_export(rows, bom=False, blank_every=2)
    parsed = parse_bytes(data)
    assert [c.name for c in parsed.contacts] == [f"{r[0]} {r[1]}" for r in rows]


def test_rows_without_a_profile_url_or_repeated_are_skipped_with_reasons():
    rows = connection_rows(3)
    rows[1][2] = ""
    rows.append(list(rows[0]))
    parsed = parse_bytes(make_export(rows))
    assert len(parsed.contacts) == 2
    assert parsed.skipped == [
        (6, "no profile URL (LinkedIn leaves it out for some members)"),
        (8, "the same profile as line 5"),
    ]


@pytest.mark.parametrize(
    ("mangle", "line", "message"),
    [
        (lambda rows: rows[2].append("extra"), 7, "expected 7 fields, found 8"),
        (lambda rows: rows[0].__setitem__(6, "2024-03-12"), 5, "is not a date like 12 Mar 2024"),
        (lambda rows: rows[1].__setitem__(3, "not-an-email"), 6, "is not an email address"),
        (
            lambda rows: rows[3].__setitem__(2, "https://example.com/x"),
            8,
            "is not a LinkedIn profile address",
        ),
        (lambda rows: rows[0].__setitem__(4, "x" * 201), 5, "Company is longer than 200 characters"),
        (lambda rows: rows[1].__setitem__(1, "Shah <ceo@bank.example>"), 6, "A name cannot contain < > @"),
    ],
    ids=["extra-field", "bad-date", "bad-email", "not-linkedin-url", "too-long", "address-in-name"],
)
def test_a_broken_row_refuses_the_file_naming_its_line(mangle, line, message):
    rows = connection_rows(5)
    mangle(rows)
    error = refused(make_export(rows))
    assert error.problems[0][0] == line and message in error.problems[0][1]


def test_credentials_after_a_comma_are_kept_without_the_comma():
    rows = connection_rows(2)
    rows[0][1] = "Shah, MBA"
    export = parse_bytes(make_export(rows))
    assert export.contacts[0].name.endswith("Shah MBA")


def test_every_broken_row_is_listed_not_just_the_first():
    rows = connection_rows(30)
    for row in rows[::3]:
        row[6] = "yesterday"
    error = refused(make_export(rows))
    assert error.total == 10 and [n for n, _ in error.problems][:3] == [5, 8, 11]


def test_a_file_that_is_not_an_export_is_refused():
    assert (
        "not a LinkedIn connections export" in refused(b"name,email\r\nAda,ada@x.example\r\n").problems[0][1]
    )
    assert "not UTF-8" in refused(b"First Name\r\n\xff\xfe\x00").problems[0][1]


def test_an_unterminated_quote_is_reported_with_its_line():
    data = make_export(connection_rows(2)) + b'Ada,"Unclosed,https://www.linkedin.com/in/x,,,,\r\n'
    error = refused(data)
    assert error.problems[0][0] == 7


def test_profile_urls_are_matched_in_one_spelling():
    assert (
        normalise_profile_url("http://linkedin.com/in/ada-novak/") == "https://www.linkedin.com/in/ada-novak"
    )
    assert normalise_profile_url("https://www.linkedin.com/in/zo%C3%AB") == "https://www.linkedin.com/in/zoë"
    assert normalise_profile_url("https://www.linkedin.com/company/acme") is None


def test_import_adds_then_reimport_updates_without_duplicates(world, db):
    scope = Scope(db, world.client.user)
    first = import_linkedin(scope, world.client.id, SAMPLE.read_bytes())
    assert (first.added, first.updated, first.unchanged) == (250, 0, 0)
    contact = db.query(Contact).filter_by(client_id=world.client.id, name="Noah Mensah").one()
    assert (contact.source, contact.stage) == (ContactSource.LINKEDIN, Stage.IDENTIFIED)
    contact.research_notes = "Wrote about platform teams"
    contact.email = "noah@typed-by-hand.example"
    db.commit()

    lines = SAMPLE.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    changed = "".join(
        line.replace('Senior Engineer ""Platform""', "Principal Engineer")
        if "noah-mensah-00000" in line
        else line
        for line in lines
    )
    second = import_linkedin(scope, world.client.id, changed.encode())
    assert (second.added, second.updated, second.unchanged) == (0, 1, 249)
    db.refresh(contact)
    assert contact.position == "Principal Engineer"
    assert contact.research_notes == "Wrote about platform teams"  # the client's work is kept
    assert contact.email == "noah@typed-by-hand.example"  # a blank export email erases nothing
    assert db.query(Contact).filter_by(client_id=world.client.id).count() == 253  # 250 + the world's 3


def test_a_refused_file_leaves_nothing_behind(world, db):
    rows = connection_rows(100)
    rows[99][6] = "not a date"
    with pytest.raises(ImportRefused):
        import_linkedin(Scope(db, world.client.user), world.client.id, make_export(rows))
    assert db.query(Contact).filter_by(client_id=world.client.id).count() == len(world.contacts)


def test_thirty_thousand_rows_import_completely(world, db):
    """LinkedIn's connection cap, on whichever database the suite runs (SQLite or PostgreSQL)."""
    result = import_linkedin(
        Scope(db, world.client.user), world.client.id, make_export(connection_rows(30_000))
    )
    assert result.added == 30_000
    assert db.query(Contact).filter_by(client_id=world.client.id).count() == 30_000 + len(world.contacts)


def test_upload_in_the_workspace_reports_counts(world, db, as_user):
    response = as_user(world.client.user).post(
        f"/clients/{world.client.id}/import",
        data={"file": (SAMPLE.open("rb"), "Connections.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<strong>250</strong> added" in page


def test_upload_of_a_broken_file_shows_lines_and_imports_nothing(world, db, as_user):
    rows = connection_rows(10)
    rows[4][6] = "soon"
    response = as_user(world.client.user).post(
        f"/clients/{world.client.id}/import",
        data={"file": (__import__("io").BytesIO(make_export(rows)), "Connections.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page and "Line 9:" in page
    assert db.query(Contact).filter_by(client_id=world.client.id).count() == len(world.contacts)


def test_oversized_upload_gets_a_clear_message(world, as_user):
    import io

    big = io.BytesIO(b"x" * (12 * 1024 * 1024))
    response = as_user(world.client.user).post(
        f"/clients/{world.client.id}/import",
        data={"file": (big, "huge.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413 and "Uploads are limited to 10 MB" in response.get_data(as_text=True)


def test_command_line_import_with_progress(world, db, database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("CROSSROADS_DATABASE_URL", database_url)
    monkeypatch.setenv("CROSSROADS_INSTANCE", str(tmp_path))
    result = CliRunner().invoke(main, ["import-linkedin", "--client", "CLARA@Client.example", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "Clara Client: 250 added, 0 updated, 0 already up to date, 0 skipped." in result.output
    assert "Importing" in result.output


def test_command_line_import_of_a_broken_file_names_lines(world, db, database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("CROSSROADS_DATABASE_URL", database_url)
    monkeypatch.setenv("CROSSROADS_INSTANCE", str(tmp_path))
    rows = connection_rows(3)
    rows[0][6] = "someday"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(make_export(rows))
    result = CliRunner().invoke(main, ["import-linkedin", "--client", "clara@client.example", str(bad)])
    assert result.exit_code == 1
    assert "Nothing was imported" in result.output and "line 5:" in result.output
    unknown = CliRunner().invoke(main, ["import-linkedin", "--client", "nobody@a.example", str(bad)])
    assert unknown.exit_code == 1 and "--client: No client has the email" in unknown.output


def test_a_nul_character_refuses_the_file_with_its_line():
    rows = connection_rows(3)
    rows[1][4] = "Ac\x00me"
    assert refused(make_export(rows)).problems[0][0] == 6
