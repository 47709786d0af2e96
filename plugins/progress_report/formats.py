"""The report formats this plugin offers: HTML (a page of its own), PDF (WeasyPrint) and CSV (the rows)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from flask import render_template
from markupsafe import Markup

from crossroads.plugin import Report, ReportFormat, Section, Unavailable, csv_bytes

log = logging.getLogger(__name__)

ROWS_TEMPLATE = "progress_report/sections/rows.html"
#: The report's own styles: linked from the app's pages, written into the standalone document.
REPORT_CSS = Path(__file__).parent / "static" / "report.css"


@dataclass(frozen=True)
class RenderedSection:
    """A section ready for the page; ``html`` is None when its template failed."""

    section: Section
    html: Markup | None

    @property
    def unavailable(self) -> bool:
        return self.html is None


def render_sections(report: Report, for_print: bool = False) -> list[RenderedSection]:
    """Each section's HTML: its own template with its context, or its rows as a table.

    Templates get ``for_print`` too: True for the PDF.
    """
    rendered = []
    for section in report.sections:
        try:
            if section.template:
                html = render_template(
                    section.template, section=section, for_print=for_print, **section.context
                )
            else:
                html = render_template(ROWS_TEMPLATE, section=section, for_print=for_print)
            rendered.append(RenderedSection(section, Markup(html)))
        except Exception:
            log.exception("plugin %s: report section %r failed to render", section.plugin, section.key)
            rendered.append(RenderedSection(section, None))
    return rendered


def document(report: Report, for_print: bool) -> str:
    """The report as a standalone HTML document (the downloadable HTML and the PDF's source)."""
    return render_template(
        "progress_report/document.html",
        report=report,
        rendered=render_sections(report, for_print),
        unavailable=report.unavailable,
        for_print=for_print,
        report_css=REPORT_CSS.read_text(encoding="utf-8"),
    )


class HtmlFormat(ReportFormat):
    name = "html"
    label = "Web page (HTML)"
    media_type = "text/html; charset=utf-8"
    extension = "html"

    def render(self, report: Report) -> bytes:
        return document(report, for_print=False).encode("utf-8")


class PdfFormat(ReportFormat):
    name = "pdf"
    label = "PDF"
    media_type = "application/pdf"
    extension = "pdf"

    def render(self, report: Report) -> bytes:
        from weasyprint import HTML  # imported on first use: it loads Pango

        # Tagged: headings, tables and reading order reach screen readers and reflow.
        return HTML(string=document(report, for_print=True), base_url=".").write_pdf(pdf_tags=True)


class CsvFormat(ReportFormat):
    """Every section's rows, one block per section: a title line, a heading line, the rows, a blank line."""

    name = "csv"
    label = "Spreadsheet (CSV)"
    media_type = "text/csv; charset=utf-8"
    extension = "csv"

    def render(self, report: Report) -> bytes:
        rows: list[list[object]] = [
            [report.title, report.request.period.label, report.request.practice.name],
            [],
        ]
        for section in report.sections:
            headings = section.headings
            rows.append([f"# {section.title}"])
            rows.append(list(headings.values()))
            rows.extend([row.get(key, "") for key in headings] for row in section.rows)
            rows.append([])
        rows.extend([f"# {missing.title}", "unavailable"] for missing in report.unavailable)
        return csv_bytes(rows)


FORMATS = [HtmlFormat(), PdfFormat(), CsvFormat()]

__all__ = ["FORMATS", "RenderedSection", "Unavailable", "render_sections", "document"]
