"""SMTP passwords encrypted at rest with a key derived from the app's secret key.

Fernet (AES-128-CBC with an HMAC) keyed through HKDF-SHA256, so the secret
key itself never encrypts anything directly and other uses of it stay
independent. Changing the secret key makes stored passwords unreadable: they
must be entered again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"crossroads smtp password v1"
_SALT = b"crossroads.core.mail"


class SecretKeyMismatch(ValueError):
    """A stored secret cannot be decrypted: it was encrypted with another secret key, or altered."""


def _fernet(secret_key: str) -> Fernet:
    if not secret_key:
        raise ValueError("an empty secret key cannot protect a password")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret_key: str, plaintext: str) -> str:
    """``plaintext`` encrypted and authenticated, as URL-safe text (a different token every time)."""
    return _fernet(secret_key).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(secret_key: str, token: str) -> str:
    """The text :func:`encrypt` was given.

    Raises :class:`SecretKeyMismatch` when the key differs or the token was altered.
    """
    try:
        return _fernet(secret_key).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise SecretKeyMismatch(
            "The stored email server password cannot be decrypted: CROSSROADS_SECRET_KEY has changed "
            "since it was saved. Enter the password again in the practice's email settings."
        ) from exc
