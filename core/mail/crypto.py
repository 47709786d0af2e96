"""Another name for :mod:`crossroads.core.mail.secrets`."""

from .secrets import SecretKeyMismatch, decrypt, encrypt

__all__ = ["SecretKeyMismatch", "decrypt", "encrypt"]
