"""Every number the LinkedIn channel knows about LinkedIn, in one table.

LinkedIn publishes few of its limits and changes them without notice, so
each figure carries where it comes from and how sure we are. When LinkedIn
changes one, change it here: the channel's formats, its counter notes, its
checks and the dashboard panel all read this table and nothing else.

All lengths are counted in UTF-16 code units, as LinkedIn's own text boxes
(and a browser's ``maxlength``) count them: an emoji is two, a line break one.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Figure:
    """One of LinkedIn's numbers and the honest story behind it."""

    value: int
    source: str


#: The table. Keys are stable names the code reads; change only the values and sources.
LIMITS: MappingProxyType[str, Figure] = MappingProxyType(
    {
        "note_free": Figure(
            200,
            "Characters in a connection note from a free (Basic) account. LinkedIn cut it from 300 "
            "to 200 in 2023; its help pages and most guides agree.",
        ),
        "note_premium": Figure(
            300,
            "Characters in a connection note from a Premium (or Sales Navigator) account. Agreed "
            "by LinkedIn's help pages and guides.",
        ),
        "message_warn": Figure(
            3_000,
            "Characters in a message to a connection. Public sources disagree (3,000 or 8,000) and "
            "LinkedIn states neither, so past 3,000 Crossroads warns but does not refuse.",
        ),
        "inmail_subject": Figure(
            200,
            "Characters in an InMail's subject line (required). LinkedIn's help and guides agree.",
        ),
        "inmail_body": Figure(
            1_900,
            "Characters in an InMail's body. Most guides say 1,900; some LinkedIn help pages have "
            "said 2,000. Crossroads holds to the smaller figure, so a draft that fits here fits there.",
        ),
        "notes_per_month_free": Figure(
            5,
            "Personalised connection notes a free account may send in a calendar month. LinkedIn "
            "does not publish it; reports range from 3 to 10 and about 5 is the common figure, "
            "so Crossroads says 'about'. Premium accounts have no such cap.",
        ),
    }
)


def value(name: str) -> int:
    """The current figure for ``name`` (a key of :data:`LIMITS`)."""
    return LIMITS[name].value
