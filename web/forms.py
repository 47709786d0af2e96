"""The one way a view validates a submitted form and shows its errors.

A view calls :func:`submit` with a marshmallow schema and the service to run.
On bad input it gets back a :class:`Form` holding what the user typed and the
messages per field, and re-renders the page with it: nothing typed is lost.
Templates render fields with the macros in ``_forms.html``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import request
from marshmallow import Schema

from crossroads.core.errors import EditConflict, InvalidInput
from crossroads.core.locking import claim_form_token
from crossroads.core.schemas import load

from .context import db

T = TypeVar("T")


@dataclass
class Form:
    """Values to show in a form and errors to show beside its fields."""

    values: Mapping[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    #: After an edit conflict: each field's text as saved meanwhile by someone else.
    saved: dict[str, str] = field(default_factory=dict)

    def value(self, name: str, default: Any = "") -> Any:
        value = self.values.get(name, default)
        return "" if value is None else value

    def selected(self, name: str) -> set[str]:
        """The chosen values of a multi-value field (checkboxes), as strings."""
        value = self.values.get(name, [])
        return {str(v) for v in (value if isinstance(value, list | tuple | set) else [value])}

    def error(self, name: str) -> str:
        return " ".join(self.errors.get(name, []))

    @property
    def general_errors(self) -> list[str]:
        """Errors not tied to one field."""
        return self.errors.get("_schema", [])

    def __bool__(self) -> bool:
        return bool(self.errors)


def submit(schema: Schema, action: Callable[[dict[str, Any]], T]) -> tuple[T | None, Form]:
    """Validate ``request.form`` with ``schema`` and run ``action`` on the clean data.

    Returns the action's result and an empty form, or ``None`` and a form with
    the typed values and the errors (from the schema or from the service). The
    form's one-time token is claimed with the action's work (:func:`claim_form`).
    """
    typed = {k: v if len(v) > 1 else v[0] for k, v in request.form.to_dict(flat=False).items()}
    typed.pop("csrf_token", None)
    typed.pop("form_token", None)
    try:
        claim_form()
        return action(load(schema, typed)), Form()
    except EditConflict as exc:  # keep what was typed; the next save is of the version saved now
        return None, Form(values={**typed, "version": exc.version}, errors=exc.errors, saved=exc.saved)
    except InvalidInput as exc:
        return None, Form(values=typed, errors=exc.errors)


def claim_form() -> None:
    """Claim the submitted form's one-time ``form_token`` (rendered by the ``csrf()`` macro), if it
    has one; a second submit of the same form raises ``AlreadySubmitted`` and does nothing."""
    token = request.form.get("form_token")
    if token:
        claim_form_token(db(), token)
