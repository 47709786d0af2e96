"""Reading LinkedIn's ``Connections.csv`` export.

The real file starts with an optional byte-order mark and a ``Notes:`` preamble
of a few lines, then a blank line, then the header. Quoted fields may hold
commas, doubled quotes and line breaks; lines end in CRLF; most emails are
empty; blank rows occur. The header is searched for rather than skipped by a
fixed count, because LinkedIn has changed the preamble before.

Parsing is all-or-nothing: a broken row refuses the whole file, naming every
problem with its line number (up to a limit), so nothing is half-imported.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from .errors import CrossroadsError
from .text import name_problem

HEADER = ["First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On"]
HEADER_SEARCH_LINES = 30
MAX_PROBLEMS_SHOWN = 20
_CREDENTIAL_COMMA = re.compile(r"\s*,\s*")
FIELD_LIMITS = {"First Name": 100, "Last Name": 100, "URL": 500, "Email Address": 254,
                "Company": 200, "Position": 200}  # fmt: skip


class ImportRefused(CrossroadsError):
    """The file was refused whole. ``problems`` are ``(line number, message)`` pairs."""

    def __init__(self, problems: list[tuple[int, str]], total: int | None = None):
        self.problems = problems[:MAX_PROBLEMS_SHOWN]
        self.total = total if total is not None else len(problems)
        super().__init__("; ".join(f"line {n}: {m}" for n, m in self.problems))


@dataclass(frozen=True)
class Connection:
    """One row of the export, cleaned."""

    line: int
    name: str
    linkedin_url: str
    email: str
    organisation: str
    position: str
    connected_on: date | None


@dataclass
class ParsedExport:
    connections: list[Connection] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, why)


CANONICAL_PREFIX = "https://www.linkedin.com/in/"
MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}  # noqa: SIM905


def normalise_profile_url(url: str) -> str | None:
    """``https://www.linkedin.com/in/<id>`` for any spelling of a profile URL; None if it is not one."""
    if (
        url.startswith(CANONICAL_PREFIX)
        and len(url) > len(CANONICAL_PREFIX)
        and not any(ch in url for ch in "%?#")
    ):
        return url.rstrip("/")  # the export's own spelling: the common case, kept fast
    url = url.strip()
    if "://" not in url:
        url = f"https://{url}"  # people paste "linkedin.com/in/name" without the scheme
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.")
    if parts.scheme not in ("http", "https") or not host.endswith("linkedin.com"):
        return None
    path = unquote(parts.path).rstrip("/")
    if not path.startswith("/in/") or len(path) <= len("/in/"):
        return None
    return f"https://www.linkedin.com{path}"


@lru_cache(maxsize=8192)
def _parse_date(text: str) -> date:
    """A date written like ``12 Mar 2024``; raises ValueError otherwise."""
    day, month, year = text.split(" ")
    if month not in MONTHS or not (day.isdigit() and year.isdigit() and len(year) == 4):
        raise ValueError(text)
    return date(int(year), MONTHS[month], int(day))


def decode(data: bytes) -> str:
    """The file's text; the export is UTF-8, with or without a byte-order mark."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Count the line the bad byte is on, for the message.
        line = data[: exc.start].count(b"\n") + 1
        raise ImportRefused([(line, "this file is not UTF-8 text; export it again from LinkedIn")]) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ImportRefused([(line, "this line holds a NUL character; export the file again from LinkedIn")])
    return text


def _find_header(lines: list[str]) -> int:
    for index, line in enumerate(lines[:HEADER_SEARCH_LINES]):
        try:
            fields = next(csv.reader([line]), [])
        except csv.Error:  # such as a line longer than the csv module's field limit: not the header
            continue
        if [f.strip() for f in fields] == HEADER:
            return index
    raise ImportRefused([(1, "this is not a LinkedIn connections export: no line reads " + ",".join(HEADER))])


def rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for each data row after the header; blank rows are left out."""
    lines = text.splitlines(keepends=True)
    header = _find_header(lines)
    reader = csv.reader(lines[header + 1 :], strict=True)
    start = header + 2  # 1-based number of the first data line
    line = start
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                yield line, fields
            line = start + reader.line_num
    except csv.Error as exc:
        raise ImportRefused([(line, f"the row cannot be read as CSV ({exc})")]) from None


def _too_long(values: tuple[str, ...]) -> str | None:
    for (name, limit), value in zip(FIELD_LIMITS.items(), values, strict=False):
        if len(value) > limit:
            return f"{name} is longer than {limit} characters"
    return None


def parse(text: str) -> ParsedExport:
    """Parse an export, or raise :class:`ImportRefused` listing every broken row."""
    result = ParsedExport()
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    shortest_limit = min(FIELD_LIMITS.values())
    for line, fields in rows(text):
        if len(fields) != len(HEADER):
            problems.append((line, f"expected {len(HEADER)} fields, found {len(fields)}"))
            continue
        values = first, last, raw_url, email, company, position, connected = [f.strip() for f in fields]
        # LinkedIn members often add credentials after a comma ("Doe, MBA"): keep them, without the
        # comma that a name may not hold.
        first, last = _CREDENTIAL_COMMA.sub(" ", first), _CREDENTIAL_COMMA.sub(" ", last)
        if max(map(len, values)) > shortest_limit and (message := _too_long(tuple(values))):
            problems.append((line, message))
            continue
        if problem := name_problem(first + last):
            problems.append((line, f"the name {f'{first} {last}'.strip()!r}: {problem}"))
            continue
        try:
            connected_on = _parse_date(connected) if connected else None
        except ValueError:
            problems.append((line, f"Connected On {connected!r} is not a date like 12 Mar 2024"))
            continue
        if email and ("@" not in email or " " in email):
            problems.append((line, f"Email Address {email!r} is not an email address"))
            continue
        if not raw_url:
            result.skipped.append((line, "no profile URL (LinkedIn leaves it out for some members)"))
            continue
        url = normalise_profile_url(raw_url)
        if url is None:
            problems.append((line, f"URL {raw_url!r} is not a LinkedIn profile address"))
            continue
        name = f"{first} {last}" if first and last else first or last
        if not name:
            result.skipped.append((line, "no name"))
            continue
        if url in seen:
            result.skipped.append((line, f"the same profile as line {seen[url]}"))
            continue
        seen[url] = line
        result.connections.append(Connection(line, name, url, email.lower(), company, position, connected_on))
    if problems:
        raise ImportRefused(problems, len(problems))
    return result


def parse_bytes(data: bytes) -> ParsedExport:
    """Decode and parse an uploaded file."""
    return parse(decode(data))
