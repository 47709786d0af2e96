"""The one place that decides which rows a signed-in user may reach.

Every query that serves a request is built from :class:`Scope`: an owner sees
their practice, a coach sees their own caseload, a client sees only their own
workspace. Anything outside the scope is reported as :class:`NotFound`, so a
user cannot learn that another practice's object exists.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, false, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, joinedload

from .errors import NotFound
from .models import (
    ApiToken,
    Client,
    DemoMail,
    Notification,
    NotificationPreference,
    Question,
    QuestionBank,
    Reach,
    Reflection,
    Role,
    User,
    bank_client,
)

#: Rows that belong to one user alone: each user reaches only their own, whatever their role.
OWN_ROWS = (Notification, NotificationPreference, ApiToken)

M = TypeVar("M")


class Scope:
    """What one user may see, bound to a database session."""

    def __init__(self, session: Session, user: User):
        self.session = session
        self.user = user
        self.practice_id = user.practice_id
        #: Clients whose rows were read one by one through this scope (:meth:`get`,
        #: :meth:`note_reached`): what a request looked at, for the audit log.
        self.reached: set[int] = set()
        #: Objects already found by :meth:`get` in this scope, so that a request reading the same
        #: client three times (the page, then each service it calls) asks the database once.
        self._found: dict[tuple[type, int], Any] = {}

    def note_reached(self, row: Any) -> None:
        """Remember the client ``row`` belongs to (a client, or any row with ``client_id``)."""
        client_id = row.id if isinstance(row, Client) else getattr(row, "client_id", None)
        if client_id is not None:
            self.reached.add(client_id)

    @property
    def own_client_id(self) -> int | None:
        """The client row of a client user; None for staff."""
        return self.user.client.id if self.user.role == Role.CLIENT and self.user.client else None

    def _client_ids(self) -> Select[Any] | None:
        """Client ids this user may reach, or None when that is the whole practice."""
        if self.user.role == Role.OWNER:
            return None
        if self.user.role == Role.COACH:
            return select(Client.id).where(
                Client.practice_id == self.practice_id, Client.coach_id == self.user.id
            )
        return select(Client.id).where(Client.user_id == self.user.id)

    def select(self, model: type[M]) -> Select[tuple[M]]:
        """A SELECT of ``model`` restricted to what this user may see.

        Works for any model with ``practice_id`` (plugins' included); rows that
        also carry ``client_id`` are narrowed to the user's clients.
        """
        if not hasattr(model, "practice_id"):
            raise TypeError(f"{model.__name__} has no practice_id and cannot be scoped")
        if model in (QuestionBank, Question):
            raise TypeError("banks have their own reach: use Scope.banks() and Scope.bank()")
        if model is DemoMail:
            raise TypeError("the demo's caught mail has its own reach: use Scope.demo_mail()")
        query = select(model).where(model.practice_id == self.practice_id)
        client_ids = self._client_ids()
        if model in OWN_ROWS:
            query = query.where(model.user_id == self.user.id)
            if hasattr(model, "client_id") and client_ids is not None:
                # About a client no longer theirs (another coach's now): out of reach too.
                query = query.where(or_(model.client_id.is_(None), model.client_id.in_(client_ids)))
            return query
        if model is Client:
            if client_ids is not None:
                query = query.where(Client.id.in_(client_ids))
        elif hasattr(model, "client_id"):
            if client_ids is not None:
                query = query.where(model.client_id.in_(client_ids))
            if model is Reflection and self.user.is_staff:
                # A reflection is the client's own until they share it with their coach.
                query = query.where(Reflection.shared_at.is_not(None))
        elif self.user.role == Role.CLIENT:
            # Practice-level rows (colleagues, invitations, settings) are staff-only.
            query = query.where(false())
        return query

    def get(self, model: type[M], object_id: int) -> M:
        """The object with this id if the user may see it; otherwise :class:`NotFound`."""
        key = (model, object_id)
        found = self._found.get(key)
        if found is not None:
            state = sa_inspect(found)
            # Still in this session, not deleted, nothing expired (a commit expires everything:
            # then ask again, as another request may have changed what this user reaches).
            if state.persistent and state.session is self.session and not state.expired_attributes:
                return found
        query = self.select(model).where(model.id == object_id)
        if model is Client:  # a client's name and time zone are their user's: read with it
            query = query.options(joinedload(Client.user))
        obj = self.session.scalars(query).first()
        self._found[key] = obj
        if obj is None:
            raise NotFound(f"{model.__name__} {object_id}")
        self.note_reached(obj)
        return obj

    def banks(self) -> Select[tuple[QuestionBank]]:
        """Question banks this user may read: the practice's shared ones, a coach's own,
        and for a client those chosen for them (retired banks are hidden from clients)."""
        query = select(QuestionBank).where(QuestionBank.practice_id == self.practice_id)
        if self.user.is_staff:
            # A coach's private and chosen-clients banks stay with that coach.
            return query.where(
                or_(QuestionBank.reach == Reach.PRACTICE, QuestionBank.owner_id == self.user.id)
            )
        chosen = select(bank_client.c.bank_id).where(bank_client.c.client_id == (self.own_client_id or 0))
        return query.where(
            QuestionBank.retired_at.is_(None),
            or_(
                QuestionBank.reach == Reach.PRACTICE,
                (QuestionBank.reach == Reach.CLIENTS) & QuestionBank.id.in_(chosen),
            ),
        )

    def bank(self, bank_id: int) -> QuestionBank:
        bank = self.session.scalar(self.banks().where(QuestionBank.id == bank_id))
        if bank is None:
            raise NotFound(f"QuestionBank {bank_id}")
        return bank

    def demo_mail(self) -> Select[tuple[DemoMail]]:
        """Mail the demo's catcher received: staff see the practice's, a client only mail to or from them."""
        query = select(DemoMail).where(DemoMail.practice_id == self.practice_id)
        if self.user.is_staff:
            return query
        return query.where(DemoMail.party_client_id == (self.own_client_id or 0))

    def coaches(self) -> Select[tuple[User]]:
        """Owners and coaches of this practice (for assigning a client)."""
        return self.select(User).where(User.role.in_([Role.OWNER, Role.COACH]), User.is_active)
