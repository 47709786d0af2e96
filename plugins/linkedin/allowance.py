"""A client's LinkedIn account: free or Premium, and the personalised notes used this month.

LinkedIn lets a free account add a note to only about five invitations a
month. Crossroads cannot see LinkedIn, so it counts what it can: the notes
the client has marked sent, in the calendar month of the client's own time
zone. Premium is the client's own setting, kept as a ``ClientPluginSetting``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crossroads.plugin import Client, ClientPluginSetting, MessageStatus, OutreachMessage, month_start

from .limits import value

PLUGIN = "linkedin"
CHANNEL = "linkedin"
NOTE = "note"


def month_bounds(timezone: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The start of this calendar month and of the next, in ``timezone``, as aware UTC datetimes."""
    zone = ZoneInfo(timezone)
    local = (now or datetime.now(UTC)).astimezone(zone)
    start = datetime.combine(month_start(local.date()), time.min, tzinfo=zone)
    following = datetime.combine(month_start(local.date(), 1), time.min, tzinfo=zone)
    return start.astimezone(UTC), following.astimezone(UTC)


def notes_sent_this_month(session: Session, client: Client, now: datetime | None = None) -> int:
    """Connection notes the client has marked sent this calendar month (their time zone): one query."""
    start, end = month_bounds(client.timezone, now)
    return session.scalar(
        select(func.count(OutreachMessage.id)).where(
            OutreachMessage.client_id == client.id,
            OutreachMessage.channel == CHANNEL,
            OutreachMessage.format == NOTE,
            OutreachMessage.status == MessageStatus.SENT,
            OutreachMessage.sent_at >= start,
            OutreachMessage.sent_at < end,
        )
    )


def _setting(session: Session, client: Client) -> ClientPluginSetting | None:
    return session.scalar(
        select(ClientPluginSetting).where(
            ClientPluginSetting.client_id == client.id, ClientPluginSetting.plugin_name == PLUGIN
        )
    )


def is_premium(session: Session, client: Client) -> bool:
    """Whether the client has told Crossroads their LinkedIn account is Premium (free until they do)."""
    row = _setting(session, client)
    return bool(row is not None and (row.settings or {}).get("premium"))


def set_premium(session: Session, client: Client, premium: bool) -> None:
    """Record the client's account type; the caller has checked it is the client and commits."""
    row = _setting(session, client)
    if row is None:
        row = ClientPluginSetting(practice_id=client.practice_id, client_id=client.id, plugin_name=PLUGIN)
        session.add(row)
    # A new dict, so the JSON column sees the change.
    row.settings = {**(row.settings or {}), "premium": premium}


@dataclass(frozen=True)
class Allowance:
    """What the dashboard panel and the note check need to know, in one place."""

    premium: bool
    used: int
    monthly: int

    @property
    def used_up(self) -> bool:
        """A free account has used about all the notes LinkedIn allows this month."""
        return not self.premium and self.used >= self.monthly


def allowance(session: Session, client: Client, now: datetime | None = None) -> Allowance:
    return Allowance(
        premium=is_premium(session, client),
        used=notes_sent_this_month(session, client, now),
        monthly=value("notes_per_month_free"),
    )
