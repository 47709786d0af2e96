"""Events: services announce what happened, and plugins that implement the event's hook react.

A session carries an :class:`EventBus` in ``session.info`` (the web layer and
the worker attach one); services call :func:`fire` inside their transaction,
before they commit, so what a plugin writes commits or rolls back with them.
A session without a bus (a script, a unit test of a service) fires nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from .plugins import PluginManager

BUS_KEY = "crossroads.events"


@dataclass
class EventBus:
    """The plugins to tell, and which of them are on for the practice at hand."""

    plugins: PluginManager
    enabled: Callable[[int], set[str]]


def attach(session: Session, plugins: PluginManager) -> None:
    """Let services on ``session`` fire events to ``plugins`` (those on for the object's practice)."""
    session.info[BUS_KEY] = EventBus(plugins, lambda practice_id: plugins.enabled_for(session, practice_id))


def fire(session: Session, hook_name: str, practice_id: int, **kwargs: Any) -> None:
    """Call ``hook_name`` on the plugins on for ``practice_id``, each in its own savepoint.

    A plugin that raises is logged and its savepoint rolled back; the
    service's own work goes on.
    """
    from .services.webhooks import record_hook

    record_hook(session, hook_name, practice_id, kwargs)  # the practice's webhooks, bus or none
    bus: EventBus | None = session.info.get(BUS_KEY)
    if bus is None:
        return
    bus.plugins.call(
        hook_name, bus.enabled(practice_id), isolate=session.begin_nested, session=session, **kwargs
    )
