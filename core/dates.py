"""Calendar arithmetic on dates: the one place months are added (reports, goals, plugins' allowances)."""

from __future__ import annotations

from datetime import date


def month_start(day: date, months: int = 0) -> date:
    """The first day of the month ``months`` after ``day``'s month (before it when negative).

    ``month_start(date(2026, 12, 15))`` is 1 December 2026, ``month_start(date(2026, 12, 15), 1)``
    is 1 January 2027 and ``month_start(date(2026, 1, 31), -1)`` is 1 December 2025: whole months
    counted on the calendar, so a month's length never matters.
    """
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def quarter_start(day: date) -> date:
    """The first day of ``day``'s calendar quarter (1 January, 1 April, 1 July or 1 October)."""
    return month_start(day, -((day.month - 1) % 3))
