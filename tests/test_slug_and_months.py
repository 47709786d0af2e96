"""The one slug helper (core/text.py) and the one month arithmetic (core/dates.py), and their users."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from crossroads.core.dates import month_start, quarter_start
from crossroads.core.models import GoalPeriod
from crossroads.core.services.goals import period_bounds
from crossroads.core.text import slug

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Product & design: Q3 / 2026", "product-design-q3-2026"),
        ("Économie sociale", "économie-sociale"),  # any alphabet stays
        ("Clara Client's caseload", "clara-clients-caseload"),  # an apostrophe is no word break
        ("Tom’s  follow_up -- questions", "toms-follow-up-questions"),
        ("  --  ", ""),
    ],
)
def test_slug_keeps_letters_and_digits_of_any_alphabet_joined_by_single_hyphens(text, expected):
    assert slug(text) == expected


def test_slug_folds_to_ascii_when_asked_and_falls_back_when_nothing_is_left():
    assert slug("Zoë Łukasz Müller", ascii_only=True) == "zoe-lukasz-muller"
    assert slug("Мария", "report", ascii_only=True) == "report"
    assert slug("Мария", "report") == "мария"
    assert slug("Alumni offices / Introduction requests", "data", separator="_", ascii_only=True) == (
        "alumni_offices_introduction_requests"
    )


def test_slug_is_cut_to_its_length_without_a_trailing_separator():
    cut = slug("word " * 40, max_length=12)
    assert cut == "word-word-wo" and len(cut) == 12
    assert slug("abcdefghij klm", max_length=11) == "abcdefghij"


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 12, 1), 0, date(2026, 12, 1)),
        (date(2026, 12, 31), 1, date(2027, 1, 1)),  # over the year's end
        (date(2027, 1, 31), -1, date(2026, 12, 1)),  # back over it
        (date(2027, 1, 31), 1, date(2027, 2, 1)),  # a 31st never overflows into March
        (date(2026, 11, 15), 3, date(2027, 2, 1)),
        (date(2026, 3, 10), -15, date(2024, 12, 1)),
        (date(2026, 6, 30), 24, date(2028, 6, 1)),
    ],
)
def test_month_start_counts_whole_calendar_months_either_way(day, months, expected):
    assert month_start(day, months) == expected


def test_quarter_start_is_the_first_of_january_april_july_or_october():
    starts = {quarter_start(date(2026, month, 28)) for month in range(1, 13)}
    assert starts == {date(2026, 1, 1), date(2026, 4, 1), date(2026, 7, 1), date(2026, 10, 1)}
    assert quarter_start(date(2026, 12, 31)) == date(2026, 10, 1)


def test_a_goals_quarter_ends_where_the_next_begins_over_the_years_end():
    assert period_bounds(GoalPeriod.QUARTER, date(2026, 12, 1)) == (date(2026, 10, 1), date(2027, 1, 1))
    assert period_bounds(GoalPeriod.QUARTER, date(2027, 2, 14)) == (date(2027, 1, 1), date(2027, 4, 1))


def test_the_linkedin_allowance_month_runs_into_january_in_the_clients_zone():
    from crossroads.plugins.linkedin.allowance import month_bounds

    start, end = month_bounds("Pacific/Auckland", datetime(2026, 12, 20, 12, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 11, 30, 11, tzinfo=UTC), datetime(2026, 12, 31, 11, tzinfo=UTC))


def test_no_other_module_writes_its_own_slug_or_month_arithmetic():
    """The copies this replaced must not grow back (the example plugin and tests aside)."""
    own = {ROOT / "core" / "text.py", ROOT / "core" / "dates.py"}
    patterns = [
        re.compile(r"re\.sub\(r\"\[\^(a-z0-9|\\w)"),  # a slug by regular expression
        re.compile(r"month\s*%\s*12|\*\s*12\s*\+|month\s*//\s*12|relativedelta"),  # months by hand
    ]
    offenders = []
    for folder in ("core", "web", "plugins", "plugin_face", "testing"):
        for path in (ROOT / folder).rglob("*.py"):
            if path in own or "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            offenders += [f"{path.relative_to(ROOT)}: {p.pattern}" for p in patterns if p.search(text)]
    assert offenders == []
