"""Signing in, with throttling, and managing one's own account."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import InvalidInput, TooManyAttempts
from ..models import LoginFailure, User
from ..outreach import due_dates
from ..security import hash_password, verify_password

THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
#: Failures from one address (across emails) that put a warning in the log for the operator.
#: It does not block: one address is often many people (an office, a proxy), and refusing it
#: would let a stranger lock everyone there out; the per-email limit is what stops guessing.
MAX_FAILURES_PER_ADDRESS = 30

WRONG_CREDENTIALS = "That email and password do not match an account."

log = logging.getLogger(__name__)


def _lock_email(session: Session, email: str) -> None:
    """Serialize sign-in attempts for one email until the transaction ends.

    On PostgreSQL, a transaction-scoped advisory lock on the email. On SQLite the first write
    of the transaction (the clean-up in ``_claim_attempt``) takes the database's write lock,
    which serializes every writer.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"crossroads-login:{email}"))))


def _claim_attempt(session: Session, email: str, remote_addr: str, device: str, now: datetime) -> None:
    """Record this attempt as a failure before the password is checked, or raise when throttled.

    Counting and recording happen under one lock, so attempts sent in parallel queue up here and
    at most ``MAX_FAILURES_PER_EMAIL`` of them reach the (deliberately slow) password check. The
    attempts from one known device (``device``) are counted apart from everyone else's, so a
    stranger's failures never lock the account's owner out of the browser they signed in with.
    """
    since = now - THROTTLE_WINDOW
    _lock_email(session, email)
    session.execute(delete(LoginFailure).where(LoginFailure.at < since))
    count, oldest = session.execute(
        select(func.count(), func.min(LoginFailure.at)).where(
            LoginFailure.email == email, LoginFailure.device == device, LoginFailure.at >= since
        )
    ).one()
    if count >= MAX_FAILURES_PER_EMAIL:
        session.commit()
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
        raise TooManyAttempts(max(1, int((oldest + THROTTLE_WINDOW - now).total_seconds())))
    session.add(LoginFailure(email=email, remote_addr=remote_addr, device=device, at=now))
    from_address = session.scalar(
        select(func.count()).where(LoginFailure.remote_addr == remote_addr, LoginFailure.at >= since)
    )
    session.commit()
    if remote_addr and from_address == MAX_FAILURES_PER_ADDRESS:
        log.warning(
            "%d failed sign-ins from %s in %d minutes",
            from_address,
            remote_addr,
            THROTTLE_WINDOW.total_seconds() // 60,
        )


def authenticate(
    session: Session,
    email: str,
    password: str,
    remote_addr: str = "",
    now: datetime | None = None,
    device: str = "",
) -> User:
    """The user with this email and password; raise on a mismatch or when throttled.

    After ``MAX_FAILURES_PER_EMAIL`` failures for an email within ``THROTTLE_WINDOW``, further
    tries for that email are refused without checking the password until the window has passed,
    whether or not the email has an account (so the answer does not tell). ``device`` names a
    browser that signed in to this email before (the web layer's device cookie): its attempts
    have a limit of their own, so strangers' failures never block it. Failures from one address
    across emails are only logged: they never block a correct password.
    """
    now = now or utcnow()
    _claim_attempt(session, email, remote_addr, device, now)

    user = session.scalar(select(User).where(User.email == email))
    if not (verify_password(user.password_hash if user else None, password) and user.is_active):
        raise InvalidInput({"password": [WRONG_CREDENTIALS]})

    # A success clears the failures counted with it (the one just claimed included), not a
    # stranger's: the owner signing in from their own browser must not reset a guesser's count.
    session.execute(delete(LoginFailure).where(LoginFailure.email == email, LoginFailure.device == device))
    # Signing in is not activity: "last activity" and "stalled" are about the client's own steps.
    user.last_login_at = now
    session.commit()
    return user


def set_password(user: User, password: str) -> None:
    """Store a new password hash and sign out the user's other sessions (the caller commits)."""
    user.password_hash = hash_password(password)
    user.session_version += 1


def end_sessions(session: Session, user: User) -> None:
    """Sign the user out everywhere: every session cookie issued so far stops working.

    Session cookies are signed, not stored, so a copy taken before signing out would
    otherwise still open the account; bumping ``session_version`` revokes them all.
    """
    user.session_version += 1
    session.commit()


def change_password(session: Session, user: User, data: dict[str, Any]) -> None:
    """Change a password after checking the current one (data from ``ChangePasswordSchema``)."""
    if not verify_password(user.password_hash, data["current"]):
        raise InvalidInput({"current": ["That is not your current password."]})
    set_password(user, data["password"])
    session.commit()


def update_profile(session: Session, user: User, data: dict[str, Any]) -> User:
    """Change one's own name and time zone (data from ``ProfileSchema``)."""
    user.name = data["name"]
    moved = user.timezone != data["timezone"]
    user.timezone = data["timezone"]
    if moved and user.client is not None:  # a client's due dates are days in their own calendar
        session.flush()
        due_dates.refresh(session, client_ids=[user.client.id])
    session.commit()
    return user
