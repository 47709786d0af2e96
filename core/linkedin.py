"""Reading LinkedIn's connections export, ``Connections.csv``, in its two layouts.

The file today has seven columns (``First Name,Last Name,URL,Email Address,
Company,Position,Connected On``), dates like ``12 Mar 2024``. Exports from
before 2019 or so have six: no ``URL``, and dates like ``1/8/18, 6:14 PM``.
Either starts with an optional byte-order mark and may have a ``Notes:``
preamble of a few lines, then a blank line, then the header. Quoted fields may
hold commas, doubled quotes and line breaks; lines end in CRLF; most emails are
empty; blank rows occur. The header is searched for rather than skipped by a
fixed count, because LinkedIn has changed the preamble before.

Parsing is all-or-nothing: a broken row refuses the whole file, naming every
problem with its line number (up to a limit), so nothing is half-imported.
The two layouts are two importers (:class:`ConnectionsImporter`,
:class:`OlderConnectionsImporter`) that the core offers through its own
``contact_sources`` answer (:mod:`crossroads.core.importers`).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from .models import ContactSource
from .sources import (
    HEADER_SEARCH_LINES,
    ImportedContact,
    Importer,
    ImportRefused,
    ParsedFile,
    csv_rows,
    decode_text,
    find_header,
)
from .text import name_problem

__all__ = [
    "HEADER",
    "OLDER_HEADER",
    "ConnectionsImporter",
    "ImportRefused",
    "OlderConnectionsImporter",
    "normalise_profile_url",
    "parse",
    "parse_bytes",
    "parse_older",
]

HEADER = ["First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On"]
#: The layout of exports from before about 2019: no URL, US dates with a time.
OLDER_HEADER = ["First Name", "Last Name", "Email Address", "Company", "Position", "Connected On"]
_CREDENTIAL_COMMA = re.compile(r"\s*,\s*")
FIELD_LIMITS = {"First Name": 100, "Last Name": 100, "URL": 500, "Email Address": 254,
                "Company": 200, "Position": 200}  # fmt: skip
OLDER_FIELD_LIMITS = {k: v for k, v in FIELD_LIMITS.items() if k != "URL"}
EXPORT_AGAIN = "export it again from LinkedIn"
WHAT = "LinkedIn connections export"

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


@lru_cache(maxsize=8192)
def _parse_older_date(text: str) -> date:
    """A date as the older export writes it, ``1/8/18, 6:14 PM`` (month first), or ``12 Mar 2024``."""
    if "/" not in text:
        return _parse_date(text)
    day_part = text.split(",", 1)[0].strip()
    for layout in ("%m/%d/%y", "%m/%d/%Y"):
        try:
            return datetime.strptime(day_part, layout).date()
        except ValueError:
            continue
    raise ValueError(text)


def decode(data: bytes) -> str:
    """The file's text; the export is UTF-8, with or without a byte-order mark."""
    return decode_text(data, EXPORT_AGAIN)


def _too_long(limits: dict[str, int], values: tuple[str, ...]) -> str | None:
    for (name, limit), value in zip(limits.items(), values, strict=False):
        if len(value) > limit:
            return f"{name} is longer than {limit} characters"
    return None


def _name(first: str, last: str) -> str:
    return f"{first} {last}" if first and last else first or last


def _credentials(first: str, last: str) -> tuple[str, str]:
    # LinkedIn members often add credentials after a comma ("Doe, MBA"): keep them, without the
    # comma that a name may not hold.
    return _CREDENTIAL_COMMA.sub(" ", first), _CREDENTIAL_COMMA.sub(" ", last)


def parse(text: str) -> ParsedFile:
    """Parse an export in today's layout, or raise :class:`ImportRefused` listing every broken row."""
    result = ParsedFile()
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    shortest_limit = min(FIELD_LIMITS.values())
    if find_header(text[:16384].splitlines()[:HEADER_SEARCH_LINES], OLDER_HEADER) is not None:
        raise ImportRefused([(1, "this is LinkedIn's older export layout (no URL column): "
                                 "choose “LinkedIn connections, older export”")])  # fmt: skip
    for line, fields in csv_rows(text, HEADER, WHAT):
        if len(fields) != len(HEADER):
            problems.append((line, f"expected {len(HEADER)} fields, found {len(fields)}"))
            continue
        values = first, last, raw_url, email, company, position, connected = [f.strip() for f in fields]
        first, last = _credentials(first, last)
        if max(map(len, values)) > shortest_limit and (message := _too_long(FIELD_LIMITS, tuple(values))):
            problems.append((line, message))
            continue
        name = _name(first, last)
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
        if not name:
            result.skipped.append((line, "no name"))
            continue
        if url in seen:
            result.skipped.append((line, f"the same profile as line {seen[url]}"))
            continue
        seen[url] = line
        result.contacts.append(
            ImportedContact(line, name, email.lower(), url, company, position, connected_on)
        )
    if problems:
        raise ImportRefused(problems, len(problems))
    return result


def parse_older(text: str) -> ParsedFile:
    """Parse an export in the older six-column layout, or raise :class:`ImportRefused`.

    Without profile addresses, a row is the same person as another when their
    emails match, or (without an email) their names and companies do; the
    second is skipped, naming the first.
    """
    result = ParsedFile()
    problems: list[tuple[int, str]] = []
    seen: dict[tuple[str, ...], int] = {}
    for line, fields in csv_rows(text, OLDER_HEADER, "LinkedIn connections export (older layout)"):
        if len(fields) != len(OLDER_HEADER):
            problems.append((line, f"expected {len(OLDER_HEADER)} fields, found {len(fields)}"))
            continue
        values = first, last, email, company, position, connected = [f.strip() for f in fields]
        first, last = _credentials(first, last)
        if message := _too_long(OLDER_FIELD_LIMITS, tuple(values)):
            problems.append((line, message))
            continue
        if problem := name_problem(first + last):
            problems.append((line, f"the name {f'{first} {last}'.strip()!r}: {problem}"))
            continue
        try:
            connected_on = _parse_older_date(connected) if connected else None
        except ValueError:
            problems.append((line, f"Connected On {connected!r} is not a date like 1/8/18, 6:14 PM"))
            continue
        if email and ("@" not in email or " " in email):
            problems.append((line, f"Email Address {email!r} is not an email address"))
            continue
        name = _name(first, last)
        if not name:
            result.skipped.append((line, "no name"))
            continue
        key = ("email", email.lower()) if email else ("name", name.casefold(), company.casefold())
        if key in seen:
            result.skipped.append((line, f"the same person as line {seen[key]}"))
            continue
        seen[key] = line
        result.contacts.append(
            ImportedContact(line, name, email.lower(), None, company, position, connected_on)
        )
    if problems:
        raise ImportRefused(problems, len(problems))
    return result


def parse_bytes(data: bytes) -> ParsedFile:
    """Decode and parse an uploaded file in today's layout."""
    return parse(decode(data))


def _head(data: bytes, line_limit: int = 1000) -> list[str]:
    """The file's first lines (each cut to ``line_limit`` bytes: a header is short), however long
    the lines before the header are (a preamble line longer than any sample is still skipped)."""
    lines: list[str] = []
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while start < len(data) and len(lines) < HEADER_SEARCH_LINES:
        end = data.find(b"\n", start)
        end = len(data) if end == -1 else end
        lines.append(
            data[start : min(end, start + line_limit)].decode("utf-8", errors="replace").rstrip("\r")
        )
        start = end + 1
    return lines


class ConnectionsImporter(Importer):
    """LinkedIn's ``Connections.csv``: contacts matched on re-import by their profile address."""

    name = "linkedin_connections"
    label = "LinkedIn connections (Connections.csv)"
    source = ContactSource.LINKEDIN.value
    extensions = (".csv",)
    help = (
        "On LinkedIn, open Settings → Data privacy → Get a copy of your data, choose Connections, "
        "and upload the Connections.csv file you receive."
    )

    def recognises(self, data: bytes) -> bool:
        """The file has today's header among its first lines."""
        return find_header(_head(data), HEADER) is not None

    def parse(self, data: bytes) -> ParsedFile:
        """Every connection with a profile address; see :func:`parse`."""
        return parse(decode(data))


class OlderConnectionsImporter(Importer):
    """LinkedIn's older six-column ``Connections.csv``: matched by email, or by name and company."""

    name = "linkedin_connections_older"
    label = "LinkedIn connections, older export (no URL column)"
    source = ContactSource.LINKEDIN.value
    extensions = (".csv",)
    help = (
        "A Connections.csv exported from LinkedIn before 2019 or so: six columns, no profile "
        "addresses. People are matched by email, or by name and company."
    )

    def recognises(self, data: bytes) -> bool:
        """The file has the older header among its first lines."""
        return find_header(_head(data), OLDER_HEADER) is not None

    def parse(self, data: bytes) -> ParsedFile:
        """Every connection with a name; see :func:`parse_older`."""
        return parse_older(decode(data))
