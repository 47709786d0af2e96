"""Contact sources and importers: where a client's contacts come from, and files that bring them in.

A *source* is a name stored in ``contact.source`` and the label people read
(``Source("association_directory", "Professional association directory")``).
An *importer* reads one file format into rows of contacts
(:class:`ImportedContact`) for one source. The core's sources (the
:class:`~crossroads.core.models.ContactSource` members) and its importers
(LinkedIn's ``Connections.csv`` in both layouts, vCard) are answered by the
core's own implementation of the ``contact_sources`` hook
(:mod:`crossroads.core.importers`); plugins answer the same hook, and
:func:`registry` puts both together the same way.

Importing is all-or-nothing: an importer raises :class:`ImportRefused` naming
every broken line, and the import service writes nothing then
(``core/services/imports.py``).

A contact keeps its source's name when the plugin that added the source is
switched off or uninstalled; :meth:`SourceRegistry.label` still gives the
label of a switched-off plugin's source, and "Other source (name)" for one
no installed plugin knows.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from .errors import CrossroadsError
from .models import SOURCE_NAME

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from .plugins import HookResult, PluginManager

log = logging.getLogger(__name__)

#: A source's or an importer's name: lowercase letters, digits and ``_``, at most 40 characters.
NAME = SOURCE_NAME
MAX_PROBLEMS_SHOWN = 20
#: How many of a file's first lines a CSV importer searches for its header row.
HEADER_SEARCH_LINES = 30
#: The longest text an imported contact may have in each field (the columns' sizes).
FIELD_LIMITS = {"name": 200, "email": 254, "linkedin_url": 500, "organisation": 200, "position": 200}


def valid_name(name: object) -> bool:
    """True when ``name`` can be a source's or an importer's name."""
    return isinstance(name, str) and NAME.fullmatch(name) is not None


class ImportRefused(CrossroadsError):
    """The file was refused whole. ``problems`` are ``(line number, message)`` pairs (0: no line)."""

    def __init__(self, problems: list[tuple[int, str]], total: int | None = None):
        self.problems = problems[:MAX_PROBLEMS_SHOWN]
        self.total = total if total is not None else len(problems)
        super().__init__("; ".join(f"line {n}: {m}" for n, m in self.problems))


@dataclass(frozen=True)
class Source:
    """Where contacts come from: ``name`` is stored on each contact, ``label`` is what people read."""

    name: str
    label: str

    def __post_init__(self) -> None:
        if not valid_name(self.name):
            raise ValueError(f"a source's name is lowercase letters, digits and _ (2 to 40): {self.name!r}")
        if not self.label or len(self.label) > 80:
            raise ValueError(f"source {self.name!r}: a label of 1 to 80 characters")


@dataclass(frozen=True)
class ImportedContact:
    """One person read from a file; ``line`` is where they are in it, for messages.

    Re-importing finds the contact a row is about by ``linkedin_url`` (a
    profile address, normalised), else by ``email``, else by ``name`` and
    ``organisation`` together.
    """

    line: int
    name: str
    email: str = ""
    linkedin_url: str | None = None
    organisation: str = ""
    position: str = ""
    connected_on: date | None = None


@dataclass
class ParsedFile:
    """What an importer read: the people in order, and the rows it left out with why."""

    contacts: list[ImportedContact] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, why)


class Importer:
    """A file format that brings contacts in. Subclass it and return an instance from ``contact_sources``.

    - ``name``: unique, such as ``"linkedin_connections"`` (the import page's
      ``format`` value and ``crossroads import-contacts --format``);
    - ``label``: the format as people know it, such as "vCard (.vcf)";
    - ``source``: the source every contact it adds gets: a core one
      (``ContactSource.LINKEDIN``) or a :class:`Source` your plugin returns too;
    - ``extensions``: file endings the file chooser offers, such as ``(".csv",)``;
    - ``help``: one sentence on where to get the file.
    """

    name: str = ""
    label: str = ""
    source: str = ""
    extensions: tuple[str, ...] = ()
    help: str = ""

    def recognises(self, data: bytes) -> bool:
        """True when ``data`` is surely this format (the page's "recognise the file" choice); cheap."""
        return False

    def parse(self, data: bytes) -> ParsedFile:
        """Read the whole file, or raise :class:`ImportRefused` naming every broken line."""
        raise NotImplementedError


# -- helpers for importers ------------------------------------------------------------------------


def decode_text(data: bytes, again: str = "export the file again") -> str:
    """A file's text: UTF-8 with or without a byte-order mark; refused (with its line) otherwise.

    ``again`` ends the messages, telling the user what to do (such as
    "export it again from LinkedIn"). A NUL character is refused too.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportRefused([(line, f"this file is not UTF-8 text; {again}")]) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ImportRefused([(line, f"this line holds a NUL character; {again}")])
    return text


def find_header(lines: Sequence[str], header: Sequence[str]) -> int | None:
    """The index of the line reading ``header`` (a CSV row) among the first lines, or None."""
    wanted = list(header)
    for index, line in enumerate(lines[:HEADER_SEARCH_LINES]):
        try:
            fields = next(csv.reader([line]), [])
        except csv.Error:  # such as a line longer than the csv module's field limit: not the header
            continue
        if [f.strip() for f in fields] == wanted:
            return index
    return None


def csv_rows(text: str, header: Sequence[str], what: str = "file") -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for each row after ``header``, which may follow a preamble; blank rows left out.

    Quoted fields may hold commas, doubled quotes and line breaks; the line
    number is the row's first line. A file without the header, or a row that
    is not CSV, raises :class:`ImportRefused` (``what`` names the file).
    """
    lines = text.splitlines(keepends=True)
    index = find_header(lines, header)
    if index is None:
        raise ImportRefused([(1, f"this is not a {what}: no line reads " + ",".join(header))])
    reader = csv.reader(lines[index + 1 :], strict=True)
    start = index + 2  # 1-based number of the first data line
    line = start
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                yield line, fields
            line = start + reader.line_num
    except csv.Error as exc:
        raise ImportRefused([(line, f"the row cannot be read as CSV ({exc})")]) from None


# -- the registry ---------------------------------------------------------------------------------


#: The plugin name the core's own sources and importers are listed under.
CORE = "crossroads"


def other_label(name: str) -> str:
    """The label of a source no installed plugin knows: its stored name, shown as such."""
    return f"Other source ({name})"


@dataclass
class SourceRegistry:
    """Every known source and importer, with the plugin that added each (``CORE`` for the core's)."""

    sources: dict[str, Source] = field(default_factory=dict)
    importers: dict[str, Importer] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)  # "source:<name>" / "importer:<name>" -> plugin

    def label(self, name: str | None) -> str:
        """What people read for a stored source name, whichever plugin added it, or none."""
        if not name:
            return ""
        source = self.sources.get(name)
        return source.label if source is not None else other_label(name)

    def importers_for(self, enabled: set[str] | None) -> dict[str, Importer]:
        """The importers of the core and of the plugins in ``enabled`` (None: all), in order."""
        return {
            name: importer
            for name, importer in self.importers.items()
            if enabled is None or self.owners[f"importer:{name}"] in (enabled | {CORE})
        }

    def sources_for(self, enabled: set[str] | None) -> dict[str, Source]:
        """The sources of the core and of the plugins in ``enabled`` (None: all), in order."""
        return {
            name: source
            for name, source in self.sources.items()
            if enabled is None or self.owners[f"source:{name}"] in (enabled | {CORE})
        }


def _add(registry: SourceRegistry, plugin: str, items: list[Any]) -> None:
    for item in items:
        if isinstance(item, Source):
            if item.name in registry.sources:
                log.error("plugin %s: the source %r is taken; it is not added", plugin, item.name)
                continue
            registry.sources[item.name] = item
            registry.owners[f"source:{item.name}"] = plugin


def _add_importers(registry: SourceRegistry, plugin: str, items: list[Any]) -> None:
    for item in items:
        if not isinstance(item, Importer):
            continue
        problem = None
        if not valid_name(item.name) or not item.label:
            problem = "an importer needs a name (lowercase letters, digits, _) and a label"
        elif item.name in registry.importers:
            problem = f"the importer name {item.name!r} is taken"
        elif item.source not in registry.sources:
            problem = f"the importer {item.name!r} names the source {item.source!r}, which no plugin adds"
        if problem:
            log.error("plugin %s: %s; it is not offered", plugin, problem)
            continue
        registry.importers[item.name] = item
        registry.owners[f"importer:{item.name}"] = plugin


def build(results: list[HookResult]) -> SourceRegistry:
    """A registry from ``contact_sources`` answers, in order (the core's first); failed answers left out."""
    registry = SourceRegistry()
    answers = [(r.plugin, r.items) for r in results if r.ok]
    for plugin, items in answers:  # every source first, so an importer may name a later plugin's
        _add(registry, plugin, items)
    for plugin, items in answers:
        _add_importers(registry, plugin, items)
    return registry


def registry(plugins: PluginManager | None) -> SourceRegistry:
    """The core's sources and importers, then every installed plugin's (switched off or not)."""
    from . import importers
    from .plugins import HookResult

    results = [HookResult(CORE, value=importers.contact_sources())]
    if plugins is not None:
        results += plugins.call("contact_sources", None, expect=(Source, Importer))
    return build(results)


def session_registry(session: Session) -> SourceRegistry | None:
    """The registry for the plugins ``session``'s event bus knows; None for a session without one."""
    from .events import BUS_KEY

    bus = session.info.get(BUS_KEY)
    return registry(bus.plugins) if bus is not None else None


def check_source(session: Session, name: object) -> str:
    """``name`` if it is a registered source, else :class:`~crossroads.core.errors.InvalidInput` (``source``).

    The web layer, the worker, commands and the test kit give their sessions
    the plugins (an event bus); a bare session (a script) is checked for the
    name's form only.
    """
    from .errors import InvalidInput

    known = session_registry(session)
    if not valid_name(name) or (known is not None and name not in known.sources):
        raise InvalidInput({"source": [f"{name!r} is not a contact source Crossroads knows."]})
    return str(name)
