"""JSON bodies typed as the OpenAPI document says: the forms' schemas read form text ("5" for 5),
so for the API a value of the wrong JSON type is refused before the schema loads it."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields
from webargs import flaskparser

#: JSON types each kind of field takes (checked in this order: the most specific class first).
JSON_TYPES: list[tuple[type[fields.Field], tuple[type, ...], str]] = [
    (fields.Boolean, (bool,), "a boolean"),
    (fields.Integer, (int,), "an integer"),
    (fields.Number, (int, float), "a number"),
    (fields.Enum, (str,), "a string"),
    (fields.String, (str,), "a string"),
    (fields.DateTime, (str,), "a string"),
    (fields.Date, (str,), "a string"),
    (fields.List, (list,), "an array"),
    (fields.Dict, (dict,), "an object"),
    (fields.Nested, (dict, list), "an object"),
]


def type_errors(schema: Schema, data: Any) -> dict[str, list[str]]:
    """Fields of ``data`` whose JSON type is not the one ``schema`` documents (null aside, which the
    schema itself judges)."""
    if not isinstance(data, dict):
        return {}
    errors: dict[str, list[str]] = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if key not in data or data[key] is None:
            continue
        value = data[key]
        for kind, types, label in JSON_TYPES:
            if isinstance(field, kind):
                wrong = not isinstance(value, types) or (bool not in types and isinstance(value, bool))
                if wrong:
                    errors[key] = [f"Send {label}."]
                break
    return errors


def repeated_errors(schema: Schema, args: Any) -> dict[str, list[str]]:
    """Query parameters given more than once where ``schema`` takes one value (``?days=7&days=9``):
    refused by name, instead of silently taking one of them."""
    errors: dict[str, list[str]] = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if not isinstance(field, fields.List) and len(args.getlist(key)) > 1:
            errors[key] = ["Give this parameter once."]
    return errors


class StrictParser(flaskparser.FlaskParser):
    """webargs' Flask parser, refusing JSON values of the wrong type and repeated query parameters
    by field name."""

    def _load_location_data(self, *, schema: Schema, req: Any, location: str) -> Any:
        data = super()._load_location_data(schema=schema, req=req, location=location)
        errors = {}
        if location == "json":
            errors = type_errors(schema, data)
        elif location == "query":
            errors = repeated_errors(schema, req.args)
        if errors:
            flaskparser.abort(422, messages={location: errors}, schema=schema)
        return data


class ApiBlueprint(Blueprint):
    """A blueprint of the JSON API (flask-smorest's, with JSON bodies typed strictly)."""

    ARGUMENTS_PARSER = StrictParser()
