"""Personal access tokens for the JSON API: created and named by their user, shown once, stored hashed."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import InvalidInput
from ..models import ApiToken, TokenAccess, User
from ..scoping import Scope
from ..security import digest

#: Every token starts with this, so a leaked one is recognisable (secret scanners, logs).
TOKEN_PREFIX = "crt_"
#: A user keeps at most this many live tokens.
MAX_TOKENS = 20
#: ``last_used_at`` is written at most this often, so a busy integration does not write on every request.
LAST_USE_PRECISION = timedelta(minutes=1)


def create_token(scope: Scope, data: dict[str, Any]) -> tuple[ApiToken, str]:
    """A new token for the scope's user (data from ``ApiTokenSchema``): the row and the secret,
    which is never stored and cannot be shown again."""
    live = scope.session.scalars(scope.select(ApiToken).where(ApiToken.revoked_at.is_(None))).all()
    if len(live) >= MAX_TOKENS:
        raise InvalidInput({"name": [f"You have {MAX_TOKENS} tokens already: revoke one you no longer use."]})
    if any(token.name == data["name"] for token in live):
        raise InvalidInput({"name": ["You have a token of that name already."]})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        practice_id=scope.user.practice_id,
        user_id=scope.user.id,
        name=data["name"],
        access=data["access"],
        prefix=secret[:10],
        token_hash=digest(secret),
    )
    scope.session.add(token)
    scope.session.commit()
    return token, secret


def revoke_token(scope: Scope, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens: requests with it are refused from now on."""
    token = scope.get(ApiToken, token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        scope.session.commit()
    return token


def user_tokens(scope: Scope) -> list[ApiToken]:
    """The user's tokens, live ones first, newest first."""
    return list(
        scope.session.scalars(
            scope.select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
        )
    )


def authenticate(session: Session, secret: str) -> ApiToken | None:
    """The live token with this secret, its user active, with its last use recorded; else None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_PRECISION:
        token.last_used_at = now
        session.commit()
    return token


def issue_for(session: Session, user: User, name: str = "", access: TokenAccess = TokenAccess.WRITE) -> str:
    """A token for ``user`` without the account page (tests, scripts, the isolation sweep);
    without a ``name``, a new one each time."""
    name = name or f"issued {secrets.token_hex(4)}"
    return create_token(Scope(session, user), {"name": name, "access": access})[1]
