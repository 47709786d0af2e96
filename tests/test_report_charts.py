"""The report's charts are drawn once per set of figures (issue 18): a report viewed again with
nothing changed reuses the drawing; changed figures draw a new one."""

from __future__ import annotations

from datetime import date, timedelta

from crossroads.plugins.progress_report import charts
from crossroads.plugins.progress_report.figures import WeekRow


def weeks(requests: int) -> list[WeekRow]:
    return [
        WeekRow(date(2026, 1, 5) + timedelta(weeks=n), requests=requests + n, thank_yous=1) for n in range(52)
    ]


def test_the_same_figures_reuse_the_drawing_and_new_figures_draw_again():
    charts._weekly_activity.cache_clear()
    first = charts.weekly_activity(weeks(3))
    again = charts.weekly_activity(weeks(3))
    assert again is first
    changed = charts.weekly_activity(weeks(4))
    assert changed is not first and changed != first
    info = charts._weekly_activity.cache_info()
    assert (info.hits, info.misses) == (1, 2)
    assert "Activity per week" in str(first)
