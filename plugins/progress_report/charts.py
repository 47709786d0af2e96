"""The reports' charts, drawn as SVG by pygal: plain, high-contrast, without scripts, so that the
same markup reads on screen, on paper and in the PDF (WeasyPrint draws inline SVG)."""

from __future__ import annotations

import base64
import functools
import math
import re

import pygal
from markupsafe import Markup
from pygal.style import Style

from .figures import CaseloadRow, ThemeFigures, WeekRow

# Colours that stay apart in greyscale print, and patterns are not needed for four series.
STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#222222",
    foreground_strong="#111111",
    foreground_subtle="#666666",
    colors=("#1f5f8b", "#d9822b", "#2f7d3b", "#7b3f8f"),
    font_family="DejaVu Sans, Arial, Helvetica, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    title_font_size=15,
    value_font_size=12,
)

OPTIONS = dict(
    style=STYLE,
    js=[],
    disable_xml_declaration=True,
    legend_at_bottom=True,
    legend_at_bottom_columns=4,
    show_y_guides=True,
    print_values=False,
    margin=12,
    explicit_size=False,
    show_x_guides=False,
    show_minor_x_labels=False,
    truncate_legend=-1,
    truncate_label=-1,
)


def data_uri(svg: Markup | None) -> str | None:
    """The chart as an ``<img>`` source: the PDF draws it as a picture of its own, which WeasyPrint does
    several times faster than an inline SVG (whose styles would join the page's cascade)."""
    if svg is None:
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(str(svg).encode("utf-8")).decode("ascii")


#: pygal always writes its configuration into a script element (for its tooltips); the reports need none.
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


def _svg(chart: pygal.graph.graph.Graph, title: str) -> Markup:
    svg = _SCRIPT.sub("", chart.render(is_unicode=True))
    # An accessible name for screen readers; the figures are also in the table beside the chart.
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(title)}" ', 1)
    return Markup(svg)


#: Drawn charts kept by their data: a report viewed again with nothing changed is not drawn again
#: (pygal takes about a third of a year's report); a change of data is a new key.
CHART_CACHE_SIZE = 256


def weekly_activity(weeks: list[WeekRow]) -> Markup:
    """Stacked bars per week (Monday's date): requests, follow-ups, conversations, thank-yous."""
    return _weekly_activity(
        tuple((w.start, w.requests, w.follow_ups, w.conversations, w.thank_yous, w.total) for w in weeks)
    )


@functools.lru_cache(maxsize=CHART_CACHE_SIZE)
def _weekly_activity(weeks: tuple[tuple, ...]) -> Markup:
    chart = pygal.StackedBar(width=720, height=300, **OPTIONS)
    chart.title = "Activity per week"
    chart.x_labels = [f"{start.day} {start:%b}" for start, *_ in weeks]
    # A label every week up to two months; beyond, every fourth week (the others stay as ticks).
    chart.x_labels_major = chart.x_labels[:: 1 if len(weeks) <= 9 else 4]
    chart.add("Requests", [w[1] for w in weeks])
    chart.add("Follow-ups", [w[2] for w in weeks])
    chart.add("Conversations", [w[3] for w in weeks])
    chart.add("Thank-yous", [w[4] for w in weeks])
    chart.y_labels_major_every = None
    top = max((w[5] for w in weeks), default=0)
    chart.range = (0, max(top, 4))
    return _svg(chart, "Activity per week: requests, follow-ups, conversations and thank-yous")


def energy_and_fit(themes: list[ThemeFigures]) -> Markup | None:
    """Average energy (−2 draining … +2 energising) and fit (1 … 5) per theme, side by side."""
    rated = [t for t in themes if t.energies]
    if not rated:
        return None
    return _energy_and_fit(tuple((t.theme.title, t.average_energy, t.average_fit) for t in rated))


@functools.lru_cache(maxsize=CHART_CACHE_SIZE)
def _energy_and_fit(rated: tuple[tuple, ...]) -> Markup:
    # Horizontal: the value axis is pygal's "x" here, and each of its labels is wanted.
    options = {**OPTIONS, "show_minor_x_labels": True, "margin_bottom": 36}
    chart = pygal.HorizontalBar(width=720, height=170 + 60 * len(rated), **options)
    chart.title = "Energy and fit by theme (shared reflections)"
    chart.x_labels = [title for title, _, _ in rated]
    chart.add("Energy (−2 … +2)", [energy for _, energy, _ in rated])
    chart.add("Fit (1 … 5)", [fit for _, _, fit in rated])
    chart.range = (-2, 5)
    chart.y_labels = list(range(-2, 6))
    return _svg(chart, "Average energy and fit by theme")


#: The caseload chart shows at most this many clients (the table has them all).
CASELOAD_CHART_CLIENTS = 25


def caseload_momentum(rows: list[CaseloadRow]) -> Markup | None:
    """Steps per week for each client, in the table's order."""
    shown = rows[:CASELOAD_CHART_CLIENTS]
    if not shown:
        return None
    options = {**OPTIONS, "show_minor_x_labels": True, "show_legend": False, "margin_bottom": 24}
    chart = pygal.HorizontalBar(width=720, height=90 + 28 * len(shown), **options)
    chart.title = "Momentum: steps per week"
    # pygal draws the first label at the bottom: reverse, so the chart reads like the table.
    chart.x_labels = [r.name for r in reversed(shown)]
    chart.add("Steps per week", [r.momentum for r in reversed(shown)])
    top = math.ceil(max((r.momentum for r in shown), default=0)) or 1
    step = max(1, math.ceil(top / 8))
    chart.range = (0, top)
    chart.y_labels = list(range(0, top + step, step))
    return _svg(chart, "Momentum per client: steps per week")
