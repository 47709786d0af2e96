"""The progress report's "Actions done on time" section, and the caseload report's counts per client.

One rule for every figure (:func:`.services.done_on_time`, :func:`.services.is_overdue`): an action
item counts in a period when it was due in it (the client's calendar); it was done on time when
ticked off by the end of the day it was due. Only the client's own items count (not the coach's).
Two queries, whatever the number of items.
"""

from __future__ import annotations

from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy.orm import selectinload

from crossroads.plugin import Client, ReportRequest, Section

from .models import ActionItem, Assignee
from .services import done_on_time, is_overdue

ORDER = 60


def _items(request: ReportRequest, client_ids: list[int] | None) -> list[ActionItem]:
    period = request.period
    query = request.scope.select(ActionItem).where(
        ActionItem.assignee == Assignee.CLIENT,
        ActionItem.due_on >= period.start,
        ActionItem.due_on <= period.last_day,
    )
    if client_ids is not None:
        query = query.where(ActionItem.client_id.in_(client_ids))
    return list(request.session.scalars(query.order_by(ActionItem.due_on, ActionItem.id)))


def state(item: ActionItem, zone: ZoneInfo, today) -> str:
    """One word for an item in a report: done on time, done late, overdue, or open."""
    if item.done_at is not None:
        return "done on time" if done_on_time(item, zone) else "done late"
    return "overdue" if is_overdue(item, today) else "open"


def client_section(request: ReportRequest) -> Section:
    """The client's action items due in the period, each with its state, and the count done on time."""
    client = request.subject.client
    zone = ZoneInfo(client.timezone)
    today = request.now.astimezone(zone).date()
    items = _items(request, [client.id])
    rows = [
        {
            "action": item.text,
            "due": item.due_on.isoformat(),
            "done": item.done_at.astimezone(zone).date().isoformat() if item.done_at else "",
            "state": state(item, zone, today),
        }
        for item in items
    ]
    on_time = sum(1 for r in rows if r["state"] == "done on time")
    done = sum(1 for item in items if item.done_at is not None)
    intro = (
        f"{on_time} of {len(items)} actions due in this period done on time; "
        f"{done} done, {len(items) - done} open."
        if items
        else "No action from a coaching session was due in this period."
    )
    return Section(
        key="actions_done_on_time",
        title="Actions done on time",
        intro=intro,
        rows=rows,
        columns={"action": "Action", "due": "Due", "done": "Done on", "state": "State"},
        order=ORDER,
    )


def caseload_section(request: ReportRequest) -> Section:
    """Per client of the caseload: the actions due in the period, done on time, done, and still open."""
    coach = request.subject.coach
    clients_query = request.scope.select(Client)
    if coach is not None:
        clients_query = clients_query.where(Client.coach_id == coach.id)
    clients = {c.id: c for c in request.session.scalars(clients_query.options(selectinload(Client.user)))}
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for item in _items(request, list(clients)):
        zone = ZoneInfo(clients[item.client_id].timezone)
        row = counts[item.client_id]
        row[0] += 1
        row[1] += done_on_time(item, zone)
        row[2] += item.done_at is not None
        row[3] += item.done_at is None
    rows = [
        {"client": clients[i].name, "due": c[0], "done_on_time": c[1], "done": c[2], "open": c[3]}
        for i, c in sorted(counts.items(), key=lambda pair: clients[pair[0]].name)
    ]
    return Section(
        key="actions_done_on_time",
        title="Actions from coaching sessions",
        intro="Action items due in this period, per client."
        if rows
        else "No action item was due in this period.",
        rows=rows,
        columns={
            "client": "Client",
            "due": "Due",
            "done_on_time": "Done on time",
            "done": "Done",
            "open": "Open",
        },
        order=ORDER,
    )
