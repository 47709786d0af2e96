"""Weekly and quarterly goals, and progress against them in the client's own calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete

from .. import figures
from ..dates import month_start, quarter_start
from ..db import utcnow
from ..models import Client, Goal, GoalMetric, GoalPeriod
from ..scoping import Scope

METRIC_LABELS = {
    GoalMetric.REQUESTS: "requests sent",
    GoalMetric.CONVERSATIONS: "conversations held",
    GoalMetric.THANK_YOUS: "thank-yous sent",
}


@dataclass(frozen=True)
class Progress:
    period: GoalPeriod
    metric: GoalMetric
    target: int | None
    done: int
    start: date
    end: date  # exclusive

    @property
    def label(self) -> str:
        return METRIC_LABELS[self.metric]

    @property
    def percent(self) -> int:
        return 100 if not self.target else min(100, round(100 * self.done / self.target))


def period_bounds(period: GoalPeriod, today: date) -> tuple[date, date]:
    """This week (Monday to Sunday) or this quarter, as [start, end) dates."""
    if period == GoalPeriod.WEEK:
        start = today - timedelta(days=today.weekday())
        return start, start + timedelta(days=7)
    start = quarter_start(today)
    return start, month_start(start, 3)


def _utc(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(ZoneInfo("UTC"))


def set_goal(scope: Scope, client_id: int, data: dict[str, Any]) -> Goal | None:
    """Set a client's target for a period and metric (data from ``GoalSchema``); coaches may suggest."""
    client = scope.get(Client, client_id)
    if data["target"] == 0:
        # A target of zero removes the goal.
        scope.session.execute(
            delete(Goal).where(
                Goal.client_id == client.id, Goal.period == data["period"], Goal.metric == data["metric"]
            )
        )
        scope.session.commit()
        return None
    goal = scope.session.scalar(
        scope.select(Goal).where(
            Goal.client_id == client.id, Goal.period == data["period"], Goal.metric == data["metric"]
        )
    )
    if goal is None:
        goal = Goal(
            practice_id=client.practice_id, client_id=client.id, period=data["period"], metric=data["metric"]
        )
        scope.session.add(goal)
    goal.target = data["target"]
    goal.set_by_id = scope.user.id
    scope.session.commit()
    return goal


def progress(scope: Scope, client_id: int, today: date | None = None) -> list[Progress]:
    """Done against target, for each period and metric, this week and this quarter (as figures counts)."""
    client = scope.get(Client, client_id)
    zone = ZoneInfo(client.timezone)
    today = today or utcnow().astimezone(zone).date()
    goals = {
        (g.period, g.metric): g.target
        for g in scope.session.scalars(scope.select(Goal).where(Goal.client_id == client.id))
    }
    bounds = {p: period_bounds(p, today) for p in GoalPeriod}
    utc_bounds = {p: (_utc(start, zone), _utc(end, zone)) for p, (start, end) in bounds.items()}
    found = figures.steps(
        scope,
        [client],
        min(since for since, _ in utc_bounds.values()),
        max(until for _, until in utc_bounds.values()),
    )
    rows = []
    for period in GoalPeriod:
        start, end = bounds[period]
        counted = figures.tally(found, *utc_bounds[period]).get(client.id) or figures.Figures()
        done = {
            GoalMetric.REQUESTS: counted.requests,
            GoalMetric.CONVERSATIONS: counted.conversations,
            GoalMetric.THANK_YOUS: counted.thank_yous,
        }
        for metric in GoalMetric:
            rows.append(Progress(period, metric, goals.get((period, metric)), done[metric], start, end))
    return rows
