"""Reading vCard files (``.vcf``): address books from phones, mail programs and LinkedIn.

vCard 2.1, 3.0 and 4.0 are read with :mod:`vobject`'s reader, which unfolds
continued lines, decodes quoted-printable values (in their ``CHARSET``) and
splits parameters. A file holds any number of cards; each card's people are
numbered in messages by card and by the line its ``BEGIN:VCARD`` is on.

Values are unescaped here rather than by vobject's vCard behaviours, which
keep only the part of a ``TITLE`` or ``NOTE`` before an unescaped comma
("Editor, Vogue" would become "Editor"): address books write such commas
unescaped.

A card gives a contact: ``FN`` (or, without one, the parts of ``N``) the
name, the preferred (else first) ``EMAIL``, the first part of ``ORG``, the
``TITLE``, and the first ``URL`` (or Apple's ``X-SOCIALPROFILE``) that is a
LinkedIn profile. A card without a name refuses the whole file, naming it.
"""

from __future__ import annotations

import io
import re

from vobject.base import ContentLine, VObjectError, getLogicalLines, textLineToContentLine

from .linkedin import normalise_profile_url
from .models import ContactSource
from .sources import ImportedContact, Importer, ImportRefused, ParsedFile, decode_text
from .text import name_problem

BEGIN = "BEGIN:VCARD"
END = "END:VCARD"
_UNESCAPED_SEMICOLON = re.compile(r"(?<!\\);")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
LIMITS = {"name": 200, "email": 254, "organisation": 200, "position": 200}


def unescape(value: str) -> str:
    r"""A vCard text value as written: ``\,`` ``\;`` ``\\`` and ``\n`` undone, surrounding space trimmed."""
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value).strip()


def parts(value: str) -> list[str]:
    """The parts of a structured value (``N``, ``ORG``), split at unescaped semicolons and unescaped."""
    return [unescape(part) for part in _UNESCAPED_SEMICOLON.split(value)]


def _is_preferred(line: ContentLine) -> bool:
    types = {t.lower() for value in line.params.get("TYPE", []) for t in value.split(",")}
    return "pref" in types or "PREF" in line.params or "PREF" in line.singletonparams


def cards(text: str) -> list[tuple[int, str]]:
    """Each card's first line and text; text outside a card, or a card left open, refuses the file."""
    found: list[tuple[int, str]] = []
    problems: list[tuple[int, str]] = []
    start, lines = 0, []
    for number, line in enumerate(text.splitlines(), start=1):
        word = line.strip().upper()
        if start:
            lines.append(line)
            if word == END:
                found.append((start, "\r\n".join(lines) + "\r\n"))
                start, lines = 0, []
            elif word == BEGIN:
                problems.append((start, f"card {len(found) + 1} is not closed by {END} before line {number}"))
                start, lines = number, [line]
        elif word == BEGIN:
            start, lines = number, [line]
        elif word:
            problems.append((number, f"this line is outside a card ({BEGIN} … {END}); is this a vCard file?"))
            if not found:
                break  # not a vCard file at all: one message is enough
    if start:
        problems.append((start, f"card {len(found) + 1} is not closed by {END}"))
    if not found and not problems:
        problems.append((1, f"this file holds no card: no line reads {BEGIN}"))
    if problems:
        raise ImportRefused(problems)
    return found


def _content_lines(card: str) -> list[ContentLine]:
    return [textLineToContentLine(line, n) for line, n in getLogicalLines(io.StringIO(card), allowQP=True)]


def read_card(number: int, line: int, card: str) -> tuple[ImportedContact | None, str | None]:
    """The contact in one card, or why the card is refused (``number`` counts cards from 1)."""
    try:
        content = _content_lines(card)
    except (VObjectError, ValueError, UnicodeDecodeError) as exc:
        return None, f"card {number} cannot be read ({' '.join(str(exc).split())[:200]})"
    by_name: dict[str, list[ContentLine]] = {}
    for item in content:
        by_name.setdefault(item.name.upper(), []).append(item)

    def first(key: str) -> str:
        for item in by_name.get(key, []):
            if isinstance(item.value, str) and (text := unescape(item.value)):
                return text
        return ""

    name = " ".join(first("FN").split())
    if not name and (n := by_name.get("N")) and isinstance(n[0].value, str):
        family, given, additional, prefix, suffix = (parts(n[0].value) + [""] * 5)[:5]
        name = " ".join(p for p in (prefix, given, additional, family, suffix) if p)
        name = " ".join(name.split())
    if not name:
        return None, f"card {number} has no name (FN or N)"
    if problem := name_problem(name):
        return None, f"card {number}, the name {name!r}: {problem}"
    emails = [item for item in by_name.get("EMAIL", []) if isinstance(item.value, str) and item.value.strip()]
    emails.sort(key=lambda item: not _is_preferred(item))
    email = unescape(emails[0].value).lower() if emails else ""
    if email and ("@" not in email or any(ch.isspace() for ch in email)):
        return None, f"card {number}, EMAIL {email!r} is not an email address"
    org = by_name.get("ORG")
    organisation = parts(org[0].value)[0] if org and isinstance(org[0].value, str) else ""
    position = first("TITLE") or first("ROLE")
    profile = None
    for item in by_name.get("URL", []) + by_name.get("X-SOCIALPROFILE", []):
        if isinstance(item.value, str) and (profile := normalise_profile_url(unescape(item.value))):
            break
    values = {"name": name, "email": email, "organisation": organisation, "position": position}
    for key, limit in LIMITS.items():
        if len(values[key]) > limit:
            return None, f"card {number}, {key} is longer than {limit} characters"
    return ImportedContact(line, name, email, profile, organisation, " ".join(position.split())), None


def parse(text: str) -> ParsedFile:
    """Every card's contact, or :class:`ImportRefused` naming every card that cannot be one."""
    result = ParsedFile()
    problems = []
    for number, (line, card) in enumerate(cards(text), start=1):
        contact, problem = read_card(number, line, card)
        if problem:
            problems.append((line, problem))
        else:
            result.contacts.append(contact)
    if problems:
        raise ImportRefused(problems, len(problems))
    return result


class VCardImporter(Importer):
    """vCard 2.1, 3.0 and 4.0 files: one or many cards."""

    name = "vcard"
    label = "vCard (.vcf): phones, mail programs, LinkedIn"
    source = ContactSource.ADDRESS_BOOK.value
    extensions = (".vcf", ".vcard")
    help = (
        "Export contacts from your phone or address book as a vCard (.vcf) file; one file may hold "
        "many people. People are matched by LinkedIn profile, email, or name and organisation."
    )

    def recognises(self, data: bytes) -> bool:
        """The file's first non-blank line is ``BEGIN:VCARD``."""
        head = data[:512].decode("utf-8-sig", errors="replace").lstrip()
        return head[: len(BEGIN)].upper() == BEGIN

    def parse(self, data: bytes) -> ParsedFile:
        """Every card's contact; see :func:`parse`."""
        return parse(decode_text(data, "save it again as UTF-8 vCard"))
