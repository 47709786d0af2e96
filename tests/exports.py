"""Write files in the real format of LinkedIn's Connections.csv export, for tests and benchmarks."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta

PREAMBLE = (
    "Notes:\r\n"
    '"When exporting your connection data, you may notice that some of the email addresses are '
    'missing. You will only see email addresses for connections who have allowed it."\r\n'
    "\r\n"
)
HEADER = ["First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On"]
FIRST = ["Ada", "Zoë", "Łukasz", "Nguyễn", "Priya", "Kwame", "Ingrid", "José", "Amara", "Noah"]
LAST = ["Okafor", "Müller", "Sharma", "Dubois", "Tanaka", "Said", "Mensah", "Novak", "Silva"]
COMPANIES = ["Condé Nast", "Hearst Magazines", "Deloitte", "NHS England", "Wieden+Kennedy", ""]
POSITIONS = ["Managing Editor", "Technical Writer", 'Senior Engineer "Platform"',
             "Engineering Manager, Payments", "Head of People", ""]  # fmt: skip


def connection_rows(count: int, seed: int = 7) -> list[list[str]]:
    rng = random.Random(seed)
    start = date(2009, 1, 1)
    rows = []
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first.lower()}.{i}@example.org" if rng.random() < 0.1 else ""
        connected = start + timedelta(days=rng.randrange(6000))
        rows.append(
            [first, last, f"https://www.linkedin.com/in/{first.lower()}-{last.lower()}-{i:05}", email,
             rng.choice(COMPANIES), rng.choice(POSITIONS), connected.strftime("%d %b %Y")]
        )  # fmt: skip
    return rows


def make_export(rows: list[list[str]], bom: bool = True, blank_every: int = 0) -> bytes:
    """The bytes of an export: BOM, Notes preamble, blank line, header, CRLF rows."""
    out = io.StringIO()
    out.write(PREAMBLE)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for index, row in enumerate(rows, start=1):
        writer.writerow(row)
        if blank_every and index % blank_every == 0:
            out.write("\r\n")
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")
