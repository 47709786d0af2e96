"""Messages shown at the top of the next page: a confirmation, an error, a link to copy, an undo."""

from __future__ import annotations

from flask import flash


def notify(
    text: str,
    *,
    level: str = "info",
    link: str | None = None,
    undo_url: str | None = None,
    undo_label: str = "Undo",
) -> None:
    """Queue a message for the next page.

    ``link`` is shown in a field the user can copy (an invitation link);
    ``undo_url`` adds a button that POSTs there to reverse what was just done.
    """
    flash({"text": text, "link": link, "undo_url": undo_url, "undo_label": undo_label}, level)
