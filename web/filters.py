"""Template filters and globals: times in the viewer's own time zone, and the plugin panels."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask, request, url_for
from flask_login import current_user

from crossroads.core.db import utcnow
from crossroads.core.schemas import timezone_names

from .forms import Form


def viewer_zone() -> ZoneInfo:
    name = getattr(current_user, "timezone", None) or "UTC"
    return ZoneInfo(name)


def localtime(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    """A UTC datetime shown in the signed-in user's time zone; with a time of day, the zone's name too."""
    if value is None:
        return ""
    local = value.astimezone(viewer_zone())
    shown = local.strftime(fmt)
    return f"{shown} {local.tzname()}" if "%H" in fmt or "%I" in fmt else shown


def machine_time(value: datetime | None) -> str:
    """A ``<time datetime>`` value: UTC to the second with a ``Z`` (HTML allows at most 3 decimals)."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(value: datetime | None) -> str:
    """ "3 days ago", for a quick read of recency; the exact time goes in a title attribute."""
    if value is None:
        return "never"
    seconds = int((utcnow() - value).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def url_with(**changes) -> str:
    """The current page's URL with some query arguments changed (for sorting and paging links)."""
    # Only the page's own query arguments: never ones that clash with the route's path
    # arguments or with url_for's own ("_external", "_scheme", ...).
    reserved = set(request.view_args or {})
    args = {k: v for k, v in request.args.items() if k not in reserved and not k.startswith("_")}
    args.update({k: v for k, v in changes.items() if v is not None})
    for key in [k for k, v in changes.items() if v is None]:
        args.pop(key, None)
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def choices(items, value_attr: str, text_attr: str) -> list[tuple]:
    """(value, text) pairs for the ``select`` macro, from a list of objects."""
    return [(getattr(i, value_attr), getattr(i, text_attr)) for i in items]


def register(app: Flask) -> None:
    app.add_template_filter(choices)
    app.add_template_global(lambda **values: Form(values), name="prefilled")
    app.add_template_filter(localtime)
    app.add_template_filter(ago)
    app.add_template_filter(machine_time)
    app.add_template_global(url_with)
    app.add_template_global(lambda: sorted(timezone_names()), name="timezone_names")
