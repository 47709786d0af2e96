"""How the isolation sweeps fill the id parameters of a plugin's routes.

Every route with an ``<int:...>`` parameter must refuse (404) whoever may not reach the row
it names; ``crossroads.testing`` proves it for every such route it finds in the URL map, the
core's and every installed plugin's. To build the URLs it needs, for each id parameter, a row
of a given client. A plugin whose routes use an id parameter of its own declares how to find
(and, when the client has none yet, make) one, in a module attribute the sweep reads::

    from crossroads.core.route_ids import RouteId

    crossroads_route_ids = [
        RouteId("guest_list_id", GuestList, make=lambda session, client: GuestList(...)),
        RouteId("venue_id", Venue, practice_wide=True),
    ]

Nothing here runs in production: Crossroads only reads the attribute in tests. The core's own
parameters (``client_id``, ``contact_id``, ``conversation_id``, ``message_id``, ...) need no
declaration; ``crossroads.testing.sweeps.core_route_ids()`` lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from .models import Client

#: The module attribute of a plugin that holds its :class:`RouteId` declarations.
ATTRIBUTE = "crossroads_route_ids"


@dataclass(frozen=True)
class RouteId:
    """One id parameter of a plugin's routes (``param``, as named in the route) and how to fill it.

    ``model`` is the table the id names. The sweep takes the client's first row of it (the
    lowest id with ``model.client_id == client.id``), or, for ``practice_wide`` rows, the
    first with the client's ``practice_id``: rows every coach of a practice shares (a
    directory, say), which a colleague's client may name too. When there is none, ``make``
    is called with ``(session, client)`` to add one (return the new row; the sweep flushes
    and commits); without ``make``, the test must add the row first. ``find`` replaces the
    lookup altogether (``(session, client) -> id or None``) for ids that are not found by a
    ``client_id`` or ``practice_id`` column.
    """

    param: str
    model: type | None = None
    make: Callable[[Session, Client], Any] | None = None
    practice_wide: bool = False
    find: Callable[[Session, Client], int | None] | None = None

    def resolve(self, session: Session, client: Client) -> int:
        """The id of a row of ``client`` (or of their practice, when practice-wide) for this parameter."""
        found = self.find(session, client) if self.find else self._first(session, client)
        if found is None and self.make is not None:
            row = self.make(session, client)
            session.add(row)
            session.flush()
            found = row.id
            session.commit()
        if found is None:
            raise AssertionError(
                f"<{self.param}>: {client.name!r} has no {getattr(self.model, '__name__', 'row')} yet; "
                "give its RouteId a make= or add one before the sweep"
            )
        return found

    def _first(self, session: Session, client: Client) -> int | None:
        from sqlalchemy import select

        if self.model is None:
            raise AssertionError(f"<{self.param}>: a RouteId needs a model or a find=")
        column = self.model.practice_id if self.practice_wide else self.model.client_id
        owner = client.practice_id if self.practice_wide else client.id
        return session.scalar(select(self.model.id).where(column == owner).order_by(self.model.id).limit(1))
