"""What plugins say is due for clients (the ``due_entries`` hook), for the due list and the daily reminder.

The web layer and the reminder run ask the same way: through the event bus the session carries
(:mod:`crossroads.core.events`), which knows the plugin manager and which plugins each practice
has switched on. A session without a bus (a script, a service's unit test) gets no entries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from . import events
from .models import Client
from .plugins import DueEntry


def due_entries(session: Session, clients: Sequence[Client], now: datetime) -> dict[int, list[DueEntry]]:
    """Client id -> the plugins' due entries for that client, overdue first, then by date.

    Clients are grouped by practice, and each practice's plugins that are on are asked once,
    each in a savepoint; a plugin that fails is logged and leaves its entries out.
    """
    found: dict[int, list[DueEntry]] = {client.id: [] for client in clients}
    bus: events.EventBus | None = session.info.get(events.BUS_KEY)
    if bus is None or not clients:
        return found
    by_practice: dict[int, list[Client]] = defaultdict(list)
    for client in clients:
        by_practice[client.practice_id].append(client)
    for practice_id, group in by_practice.items():
        results = bus.plugins.call(
            "due_entries",
            bus.enabled(practice_id),
            expect=DueEntry,
            isolate=session.begin_nested,
            session=session,
            clients=group,
            now=now,
        )
        for result in results:
            for entry in result.items:
                if entry.client_id in found:
                    found[entry.client_id].append(entry)
    for entries in found.values():
        entries.sort(key=lambda e: (not e.overdue, e.due_on, e.label))
    return found
