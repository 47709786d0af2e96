"""Forms drawn from a marshmallow schema, for plugins' settings: one field per schema field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, fields, validate


@dataclass(frozen=True)
class SchemaField:
    """One form field derived from a schema field, as ``_forms.html``'s macros take it."""

    name: str
    label: str
    kind: str  # an <input> type, "textarea" or "select"
    required: bool
    hint: str
    options: tuple[tuple[str, str], ...] = ()
    attrs: str = ""


def _choices(field: fields.Field) -> tuple[tuple[str, str], ...]:
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            labels = validator.labels or validator.choices
            return tuple((str(c), str(label)) for c, label in zip(validator.choices, labels, strict=False))
    return ()


def _range_attrs(field: fields.Field) -> str:
    for validator in field.validators:
        if isinstance(validator, validate.Range):
            parts = []
            if validator.min is not None:
                parts.append(f'min="{validator.min}"')
            if validator.max is not None:
                parts.append(f'max="{validator.max}"')
            return " ".join(parts)
    return ""


def form_fields(schema: Schema) -> list[SchemaField]:
    """The schema's fields as form fields, in declaration order (``load_only`` and ``dump_only`` left out).

    Booleans become a Yes/No choice (an unticked box would send nothing, and
    nothing would mean "use the default"). ``metadata`` may give ``label``,
    ``description`` and ``multiline``.
    """
    result = []
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        meta = field.metadata
        label = meta.get("label") or name.replace("_", " ").capitalize()
        hint = meta.get("description", "")
        options = _choices(field)
        attrs = ""
        if isinstance(field, fields.Boolean):
            kind, options = "select", (("true", "Yes"), ("false", "No"))
        elif options:
            kind = "select"
        elif isinstance(field, fields.Number):
            kind, attrs = "number", _range_attrs(field)
        elif isinstance(field, fields.Email):
            kind = "email"
        elif isinstance(field, fields.Url):
            kind = "url"
        elif meta.get("multiline"):
            kind = "textarea"
        else:
            kind = "text"
        result.append(SchemaField(field.data_key or name, label, kind, field.required, hint, options, attrs))
    return result


def form_values(schema: Schema, values: dict[str, Any]) -> dict[str, Any]:
    """Loaded values as a form shows them (booleans as ``"true"``/``"false"``)."""
    dumped = schema.dump(values)
    return {k: ("true" if v else "false") if isinstance(v, bool) else v for k, v in dumped.items()}
