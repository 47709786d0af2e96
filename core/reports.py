"""The report contract: what a report section or format plugin gives Crossroads, and what it gets.

A report is about a *subject* (one client, or a caseload: one coach's clients or
the whole practice) over a *period* (this week, last month, a custom range…),
seen by a *viewer*. Plugins contribute its parts through two hooks:

- ``report_sections(request)`` returns :class:`Section` objects: a title, the
  rows behind it (what a CSV export writes) and a template with its context
  (what the page and the PDF show);
- ``report_formats()`` returns :class:`ReportFormat` objects: a name, a media
  type, a file extension and a renderer that turns a :class:`Report` into bytes.

:func:`build_report` asks every plugin switched on for the practice, one at a
time: a plugin whose sections raise is shown as an unavailable placeholder and
the rest of the report is intact. Periods are computed in the viewer's own
time zone (weeks start on Monday) and queried as UTC bounds.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .dates import month_start, quarter_start
from .db import utcnow
from .outreach.channels import Channel
from .text import slug

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from .models import Client, Practice, User
    from .plugins import PluginManager
    from .scoping import Scope

#: The longest custom range a report covers.
MAX_DAYS = 366

#: A cell starting with one of these is a formula (or hides one) to a spreadsheet program.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def spreadsheet_cell(value: object) -> str:
    """``value`` as the text of a CSV cell that no spreadsheet runs as a formula.

    Text starting with a formula trigger (``=``, ``+``, ``-``, ``@``, tab, CR, LF) gets a
    leading ``'``; a plain negative number such as ``-3`` stays a number.
    """
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_TRIGGERS and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_bytes(rows: Iterable[Iterable[object]]) -> bytes:
    """Rows as CSV (CRLF lines, a byte-order mark so spreadsheets read accents right), every cell
    through :func:`spreadsheet_cell`: the one way Crossroads and its plugins write CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([spreadsheet_cell(cell) for cell in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


class PeriodChoice(enum.StrEnum):
    THIS_WEEK = "this_week"
    LAST_WEEK = "last_week"
    THIS_MONTH = "this_month"
    LAST_MONTH = "last_month"
    THIS_QUARTER = "this_quarter"
    LAST_QUARTER = "last_quarter"
    CUSTOM = "custom"


PERIOD_LABELS = {
    PeriodChoice.THIS_WEEK: "This week",
    PeriodChoice.LAST_WEEK: "Last week",
    PeriodChoice.THIS_MONTH: "This month",
    PeriodChoice.LAST_MONTH: "Last month",
    PeriodChoice.THIS_QUARTER: "This quarter",
    PeriodChoice.LAST_QUARTER: "Last quarter",
    PeriodChoice.CUSTOM: "Custom range",
}


@dataclass(frozen=True)
class Period:
    """A range of whole days ``[start, end)`` in the time zone ``zone`` (an IANA name)."""

    choice: PeriodChoice
    start: date
    end: date  # exclusive
    zone: str = "UTC"

    @classmethod
    def of(
        cls,
        choice: PeriodChoice | str,
        zone: str,
        today: date | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> Period:
        """The period ``choice`` as of ``today`` in ``zone``; ``start`` and ``end`` (inclusive) for custom.

        Weeks start on Monday; quarters on 1 January, April, July and October.
        """
        choice = PeriodChoice(choice)
        today = today or utcnow().astimezone(ZoneInfo(zone)).date()
        monday = today - timedelta(days=today.weekday())
        if choice == PeriodChoice.THIS_WEEK:
            first, after = monday, monday + timedelta(days=7)
        elif choice == PeriodChoice.LAST_WEEK:
            first, after = monday - timedelta(days=7), monday
        elif choice == PeriodChoice.THIS_MONTH:
            first = month_start(today)
            after = month_start(first, 1)
        elif choice == PeriodChoice.LAST_MONTH:
            first, after = month_start(today, -1), month_start(today)
        elif choice == PeriodChoice.THIS_QUARTER:
            first = quarter_start(today)
            after = month_start(first, 3)
        elif choice == PeriodChoice.LAST_QUARTER:
            after = quarter_start(today)
            first = quarter_start(after - timedelta(days=1))
        else:
            if start is None or end is None:
                raise ValueError("a custom period needs a start and an end")
            if end < start:
                raise ValueError("a period cannot end before it starts")
            if (end - start).days + 1 > MAX_DAYS:
                raise ValueError(f"a period is at most {MAX_DAYS} days")
            first, after = start, end + timedelta(days=1)
        return cls(choice, first, after, zone)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def utc(self, day: date) -> datetime:
        """Midnight at the start of ``day`` in the period's zone, in UTC."""
        return datetime.combine(day, time.min, tzinfo=self.tz).astimezone(UTC)

    @property
    def since(self) -> datetime:
        """The period's first moment, in UTC (inclusive)."""
        return self.utc(self.start)

    @property
    def until(self) -> datetime:
        """The moment after the period, in UTC (exclusive)."""
        return self.utc(self.end)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def weeks(self) -> float:
        return self.days / 7

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.since <= moment < self.until

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def week_starts(self, at_least: int = 1) -> list[date]:
        """The Mondays of the weeks the period touches, going back further to make ``at_least`` weeks."""
        last = self.last_day - timedelta(days=self.last_day.weekday())
        first = self.start - timedelta(days=self.start.weekday())
        first = min(first, last - timedelta(weeks=at_least - 1))
        return [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]

    @property
    def label(self) -> str:
        """For people: "This week (24–30 Nov 2026)"."""
        return f"{PERIOD_LABELS[self.choice]} ({self.range_text})"

    @property
    def range_text(self) -> str:
        first, last = self.start, self.last_day
        if first == last:
            return f"{first.day} {first:%b %Y}"
        if (first.year, first.month) == (last.year, last.month):
            return f"{first.day}–{last.day} {last:%b %Y}"
        if first.year == last.year:
            return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
        return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"

    @property
    def slug(self) -> str:
        """For file names: ``2026-11-23-to-2026-11-29``."""
        return f"{self.start.isoformat()}-to-{self.last_day.isoformat()}"


@dataclass(frozen=True)
class Subject:
    """What a report is about: a client, or a caseload (one coach's, or with no coach, the whole practice)."""

    client: Client | None = None
    coach: User | None = None

    @property
    def is_client(self) -> bool:
        return self.client is not None

    @property
    def name(self) -> str:
        if self.client is not None:
            return self.client.name
        if self.coach is not None:
            return f"{self.coach.name}'s caseload"
        return "The whole practice"


@dataclass
class ReportRequest:
    """Everything a section plugin may look at. Query only through ``scope``."""

    session: Session
    scope: Scope
    subject: Subject
    period: Period
    viewer: User
    practice: Practice
    #: The moment the report is made (tests pass a fixed one).
    now: datetime = field(default_factory=utcnow)
    #: The page's own choices a section may follow (the caseload's ``sort``), already validated.
    options: dict[str, Any] = field(default_factory=dict)
    #: What the section plugins learned, shared between them: the progress report's caseload rows
    #: (``"caseload"``), for example, for a plugin that adds a column-wise summary.
    shared: dict[str, Any] = field(default_factory=dict)
    #: Each installed outreach channel's ``label`` by its ``name``, for showing a message's channel;
    #: :func:`build_report` fills it. A name missing here (its plugin is gone) shows as itself.
    channel_labels: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``"client"`` or ``"caseload"``."""
        return "client" if self.subject.is_client else "caseload"


@dataclass(frozen=True)
class Section:
    """One titled part of a report.

    ``rows`` are the figures behind it, one dict per row with the same keys
    (what CSV writes); ``template`` (a path in the plugin's ``templates/``
    folder) is rendered with ``context`` on the page and in the PDF. Without a
    template, the rows are shown as a table. Sections are shown by ``order``,
    smallest first.
    """

    key: str
    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    template: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100
    #: Column headings for ``rows`` (key → label); by default, the keys.
    columns: dict[str, str] = field(default_factory=dict)
    #: A sentence under the title.
    intro: str = ""
    #: Set by :func:`build_report`: the plugin that gave this section.
    plugin: str = ""

    @property
    def headings(self) -> dict[str, str]:
        if self.columns:
            return self.columns
        keys: dict[str, str] = {}
        for row in self.rows:
            for key in row:
                keys.setdefault(key, key.replace("_", " ").capitalize())
        return keys


@dataclass(frozen=True)
class Unavailable:
    """A plugin's sections that could not be made: shown as a placeholder in their place."""

    plugin: str
    error: str

    @property
    def title(self) -> str:
        return self.plugin.replace("_", " ").capitalize()


@dataclass
class Report:
    """A made report: its request, its sections in order, and the plugins whose sections failed."""

    request: ReportRequest
    sections: list[Section]
    unavailable: list[Unavailable] = field(default_factory=list)

    @property
    def title(self) -> str:
        if self.request.subject.is_client:
            return f"Progress report: {self.request.subject.name}"
        return f"Caseload report: {self.request.subject.name}"

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    def filename(self, extension: str) -> str:
        """A download name saying what, whose, which period, and when it was made."""
        what = "progress-report" if self.request.subject.is_client else "caseload-report"
        made = self.request.now.astimezone(self.request.period.tz).date().isoformat()
        whose = slug(self.request.subject.name, "report", ascii_only=True)
        return f"{what}-{whose}-{self.request.period.slug}-made-{made}.{extension}"


class ReportFormat:
    """Base class for a report format. Subclass it, set the attributes and implement :meth:`render`.

    ``name`` is what the download link asks for (``?format=pdf``): unique among
    installed formats, lowercase letters, digits and underscores.
    """

    name: str = ""
    label: str = ""
    media_type: str = "application/octet-stream"
    extension: str = ""

    def render(self, report: Report) -> bytes:
        """The whole report as a file. Runs inside the web request (templates may be rendered)."""
        raise NotImplementedError


def build_report(
    plugins: PluginManager,
    enabled: set[str] | None,
    request: ReportRequest,
    isolate: Callable[[], AbstractContextManager[Any]] | None = None,
) -> Report:
    """Ask each enabled plugin for its sections of the report, one plugin at a time.

    ``isolate`` wraps each plugin's call (pass ``session.begin_nested`` so that a
    plugin's failed SQL does not abort the report's transaction). A plugin that
    raises, or answers something other than sections, becomes one
    :class:`Unavailable` entry; the other plugins' sections are all there.
    """
    if not request.channel_labels:
        request.channel_labels = channel_labels(plugins)
    results = plugins.call("report_sections", enabled, expect=Section, isolate=isolate, request=request)
    sections: list[Section] = []
    unavailable: list[Unavailable] = []
    for result in results:
        if not result.ok:
            unavailable.append(Unavailable(result.plugin, result.error or "failed"))
            continue
        for section in result.items:
            sections.append(replace(section, plugin=result.plugin))
    sections.sort(key=lambda s: (s.order, s.plugin, s.key))
    return Report(request, sections, unavailable)


def channel_labels(plugins: PluginManager) -> dict[str, str]:
    """Every installed channel's ``label`` by ``name``, switched-off plugins' too.

    A report covers messages sent before a plugin was switched off, so it names
    their channel as the channel itself does. A failing plugin is left out (logged by ``call``).
    """
    labels: dict[str, str] = {}
    for result in plugins.call("outreach_channels", None, expect=Channel):
        for channel in result.items:
            labels.setdefault(channel.name, channel.label or channel.name)
    return labels


def report_formats(plugins: PluginManager, enabled: set[str] | None) -> dict[str, ReportFormat]:
    """The formats of the enabled plugins, by name (the first plugin to claim a name keeps it)."""
    formats: dict[str, ReportFormat] = {}
    for result in plugins.call("report_formats", enabled, expect=ReportFormat):
        for fmt in result.items:
            formats.setdefault(fmt.name, fmt)
    return formats
