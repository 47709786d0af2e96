"""Password hashing (Argon2id) and signed single-use link tokens."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when there is none: a sign-in for an unknown email then takes as long
    as one for a known email, so timing does not reveal which emails exist. Made at the first use,
    not at import (an Argon2 hash costs tens of megabytes and tens of milliseconds)."""
    return _hasher.hash("crossroads-dummy-password")


def hash_password(password: str) -> str:
    """Hash a password with Argon2id."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; always spends the same work, even without a hash."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_link_secret() -> tuple[str, str]:
    """A random secret for a link and the SHA-256 hex digest to store in its place."""
    raw = secrets.token_urlsafe(32)
    return raw, digest(raw)


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class LinkSigner:
    """Signs link secrets with the app's key and a timestamp, so a link can expire on its own."""

    def __init__(self, secret_key: str, salt: str = "crossroads-link"):
        self._serializer = URLSafeTimedSerializer(secret_key, salt=salt)

    def sign(self, raw: str) -> str:
        return self._serializer.dumps(raw)

    def sign_values(self, values: list[Any]) -> str:
        """Sign a short list of JSON values (ids, words, dates as text) with a timestamp."""
        return self._serializer.dumps(values)

    def check_values(self, token: str, max_age_seconds: int) -> SignedValues:
        """The signed values, or why there are none: ``expired`` or ``invalid`` (forged, mangled)."""
        try:
            values = self._serializer.loads(token, max_age=max_age_seconds)
        except SignatureExpired:
            return SignedValues(None, "expired")
        except BadSignature:
            return SignedValues(None, "invalid")
        if not isinstance(values, list):
            return SignedValues(None, "invalid")
        return SignedValues(values, "")

    def unsign(self, token: str, max_age_seconds: int) -> str | None:
        """The raw secret, or None when the token is forged, mangled or too old."""
        try:
            return self._serializer.loads(token, max_age=max_age_seconds)
        except (SignatureExpired, BadSignature):
            return None


@dataclass(frozen=True)
class SignedValues:
    """What :meth:`LinkSigner.check_values` read: the values, or None and ``problem``."""

    values: list[Any] | None
    problem: str
