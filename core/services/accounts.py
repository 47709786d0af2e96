"""Signing in, with throttling, and managing one's own account."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import InvalidInput, TooManyAttempts
from ..models import LoginFailure, User
from ..security import hash_password, verify_password

THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_ADDRESS = 30

WRONG_CREDENTIALS = "That email and password do not match an account."


def _retry_after(session: Session, column, value: str, limit: int, now: datetime) -> int | None:
    since = now - THROTTLE_WINDOW
    count, oldest = session.execute(
        select(func.count(), func.min(LoginFailure.at)).where(column == value, LoginFailure.at >= since)
    ).one()
    if count < limit:
        return None
    oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
    return max(1, int((oldest + THROTTLE_WINDOW - now).total_seconds()))


def authenticate(
    session: Session, email: str, password: str, remote_addr: str = "", now: datetime | None = None
) -> User:
    """The user with this email and password; raise on a mismatch or when throttled.

    After ``MAX_FAILURES_PER_EMAIL`` failures for an email (or many from one
    address) within ``THROTTLE_WINDOW``, further tries are refused without
    checking the password, until the window has passed.
    """
    now = now or utcnow()
    for column, value, limit in (
        (LoginFailure.email, email, MAX_FAILURES_PER_EMAIL),
        (LoginFailure.remote_addr, remote_addr, MAX_FAILURES_PER_ADDRESS),
    ):
        if value and (wait := _retry_after(session, column, value, limit, now)):
            raise TooManyAttempts(wait)

    # Count the attempt as a failure before the (deliberately slow) password check, so that
    # guesses sent in parallel cannot all slip under the limit; a success removes it again.
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - THROTTLE_WINDOW))
    session.add(LoginFailure(email=email, remote_addr=remote_addr, at=now))
    session.commit()

    user = session.scalar(select(User).where(User.email == email))
    if not (verify_password(user.password_hash if user else None, password) and user.is_active):
        raise InvalidInput({"password": [WRONG_CREDENTIALS]})

    session.execute(delete(LoginFailure).where(LoginFailure.email == email))
    # Signing in is not activity: "last activity" and "stalled" are about the client's own steps.
    user.last_login_at = now
    session.commit()
    return user


def set_password(user: User, password: str) -> None:
    """Store a new password hash and sign out the user's other sessions (the caller commits)."""
    user.password_hash = hash_password(password)
    user.session_version += 1


def change_password(session: Session, user: User, data: dict[str, Any]) -> None:
    """Change a password after checking the current one (data from ``ChangePasswordSchema``)."""
    if not verify_password(user.password_hash, data["current"]):
        raise InvalidInput({"current": ["That is not your current password."]})
    set_password(user, data["password"])
    session.commit()


def update_profile(session: Session, user: User, data: dict[str, Any]) -> User:
    """Change one's own name and time zone (data from ``ProfileSchema``)."""
    user.name = data["name"]
    user.timezone = data["timezone"]
    session.commit()
    return user
