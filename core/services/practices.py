"""Creating practices and their people, and the owner's practice settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import forget_per_transaction, per_transaction
from ..errors import Forbidden, InvalidInput
from ..models import Practice, PracticePlugin, Role, User
from ..outreach import due_dates
from ..scoping import Scope
from ..security import hash_password


def create_practice(session: Session, data: dict[str, Any]) -> Practice:
    """A new practice with its owner (data from ``CreatePracticeSchema``)."""
    if session.scalar(select(User.id).where(User.email == data["owner_email"])) is not None:
        raise InvalidInput({"owner_email": ["Someone with this email already has an account."]})
    practice = Practice(name=data["name"], timezone=data["timezone"])
    session.add(practice)
    session.add(
        User(
            practice=practice,
            email=data["owner_email"],
            name=data["owner_name"],
            role=Role.OWNER,
            timezone=data["timezone"],
            password_hash=hash_password(data["owner_password"]),
        )
    )
    session.commit()
    return practice


def create_staff_user(session: Session, data: dict[str, Any]) -> User:
    """A coach or owner with a password, in an existing practice (data from ``CreateUserSchema``)."""
    practice = session.get(Practice, data["practice_id"])
    if practice is None:
        raise InvalidInput({"practice_id": [f"There is no practice {data['practice_id']}."]})
    if session.scalar(select(User.id).where(User.email == data["email"])) is not None:
        raise InvalidInput({"email": ["Someone with this email already has an account."]})
    user = User(
        practice=practice,
        email=data["email"],
        name=data["name"],
        role=Role(data["role"]),
        timezone=practice.timezone,
        password_hash=hash_password(data["password"]),
    )
    session.add(user)
    session.commit()
    return user


#: :func:`per_transaction` key (with the practice's id) of :func:`plugin_states`.
PLUGIN_STATES = "crossroads.plugin_states"


def update_practice(scope: Scope, data: dict[str, Any]) -> Practice:
    """The owner renames the practice or changes its default time zone."""
    if scope.user.role != Role.OWNER:
        raise Forbidden("only the owner changes practice settings")
    practice = scope.user.practice
    practice.name = data["name"]
    practice.timezone = data["timezone"]
    scope.session.commit()
    return practice


def update_cadence(scope: Scope, data: dict[str, Any]) -> Practice:
    """The owner sets the follow-up rhythm in business days (data from ``CadenceSchema``)."""
    if scope.user.role != Role.OWNER:
        raise Forbidden("only the owner changes practice settings")
    practice = scope.user.practice
    before = (practice.second_person_after_days, practice.follow_up_after_days)
    practice.second_person_after_days = data["second_person_after_days"]
    practice.follow_up_after_days = data["follow_up_after_days"]
    if before != (practice.second_person_after_days, practice.follow_up_after_days):
        due_dates.rhythm_changed(scope.session, practice.id)
    scope.session.commit()
    return practice


def plugin_states(session: Session, practice_id: int) -> dict[str, bool]:
    """Plugin name → enabled, for plugins this practice has switched explicitly; read once per
    transaction (a page asks for every panel, menu and hook it draws)."""

    def read() -> dict[str, bool]:
        rows = session.execute(
            select(PracticePlugin.plugin_name, PracticePlugin.enabled).where(
                PracticePlugin.practice_id == practice_id
            )
        )
        return {name: enabled for name, enabled in rows}

    return dict(per_transaction(session, (PLUGIN_STATES, practice_id), read))


def set_plugin_enabled(scope: Scope, plugin_name: str, enabled: bool, installed: set[str]) -> None:
    """The owner switches a plugin on or off for their practice."""
    if scope.user.role != Role.OWNER:
        raise Forbidden("only the owner switches plugins")
    if plugin_name not in installed:
        raise InvalidInput({"plugin": [f"No plugin named {plugin_name!r} is installed."]})
    row = scope.session.scalar(scope.select(PracticePlugin).where(PracticePlugin.plugin_name == plugin_name))
    if row is None:
        row = PracticePlugin(practice_id=scope.practice_id, plugin_name=plugin_name, settings={})
        scope.session.add(row)
    row.enabled = enabled
    forget_per_transaction(scope.session, (PLUGIN_STATES, scope.practice_id))
    scope.session.commit()
