"""The errors domain services raise. The web layer maps each to one HTTP answer."""

from __future__ import annotations


class CrossroadsError(Exception):
    """Base of every error a service raises on purpose."""


class NotFound(CrossroadsError):
    """The object does not exist *for this user*. Other practices' objects look exactly like this."""


class Forbidden(CrossroadsError):
    """The user may see the object but not do this to it (a client editing a coach setting)."""


class InvalidInput(CrossroadsError):
    """Input broke a rule. ``errors`` maps each field name to its messages, like marshmallow."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class EditConflict(InvalidInput):
    """Someone saved the object after this edit began. ``saved`` maps each field to its text as saved
    now (shown beside the user's own), ``version`` is the version the next save must name."""

    def __init__(self, errors: dict[str, list[str]], saved: dict[str, str], version: str):
        super().__init__(errors)
        self.saved = saved
        self.version = version


class TooManyAttempts(CrossroadsError):
    """Sign-in is throttled after repeated failures."""

    def __init__(self, retry_after_seconds: int):
        super().__init__(f"too many failed attempts; retry in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


class SchemaOutOfDate(CrossroadsError):
    """The database schema is behind the code."""


class AlreadySubmitted(CrossroadsError):
    """The same form was submitted before (a double click, the back button): nothing is done twice."""
