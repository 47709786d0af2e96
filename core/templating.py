"""Message templates: a sandboxed Jinja environment that sees only plain text values.

Coaches write the practice's templates; clients' drafts are rendered from
them. A template is data, not code: it is rendered in Jinja's immutable
sandbox, with no globals, no loader (so no ``include`` or ``import``), a cap
on string repetition and output size, and variables that are plain strings
in plain dictionaries, so there is no Python object to climb out through.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from .channels import TemplateText
from .errors import InvalidInput

MAX_OUTPUT = 20_000


@dataclass(frozen=True)
class Variable:
    """A variable a template may use, documented for coaches beside the editor."""

    name: str
    description: str
    example: str


#: Every variable a template can use. Channels may add their own (see ``Channel.variables``).
VARIABLES: tuple[Variable, ...] = (
    Variable("client.name", "the client's full name", "Priya Shah"),
    Variable("client.first_name", "the client's first name", "Priya"),
    Variable("client.email", "the client's email address", "priya@example.com"),
    Variable("contact.name", "the person written to", "Sam Okafor"),
    Variable("contact.first_name", "their first name", "Sam"),
    Variable("contact.organisation", "where they work", "Riverside Press"),
    Variable("contact.position", "their role", "Managing Editor"),
    Variable(
        "connection", "one sentence on how the client knows of them", "Dana Lee suggested I write to you."
    ),
    Variable("theme", "the career theme, in lower case", "magazine editing"),
    Variable("minutes", "the length of conversation to ask for", "20"),
    Variable("coach.name", "the client's coach", "Tom Reyes"),
    Variable("practice.name", "the coaching practice", "Northbridge Coaching"),
    Variable("conversation.date", "the day of the latest conversation with them", "Tuesday 3 March"),
    Variable("earlier.subject", "the subject of the message this one follows", "A question about editing"),
)


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox, plus limits on the two operators that can build huge strings."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "**":
            raise SecurityError("powers are not allowed in templates")
        if isinstance(left, str | list | tuple) or isinstance(right, str | list | tuple):
            size = len(left) if isinstance(left, str | list | tuple) else len(right)
            times = right if isinstance(left, str | list | tuple) else left
            if isinstance(times, int) and size * max(times, 0) > MAX_OUTPUT:
                raise SecurityError("that would make the message too long")
        return operator.mul(left, right)


def _environment() -> _Environment:
    env = _Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.globals.clear()  # no range, dict, lipsum, cycler, joiner or namespace
    return env


_ENV = _environment()


def render_text(source: str, variables: dict[str, Any], field: str = "body") -> str:
    """Render one template string; a mistake in it is :class:`InvalidInput` naming ``field``."""
    try:
        output = _ENV.from_string(source).render(variables)
    except SecurityError as exc:
        raise InvalidInput({field: [f"Not allowed in a template: {exc}"]}) from exc
    except TemplateError as exc:
        raise InvalidInput({field: [f"Template error: {exc.message or exc}"]}) from exc
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise InvalidInput({field: [f"Template error: {exc}"]}) from exc
    if len(output) > MAX_OUTPUT:
        raise InvalidInput({field: [f"The message would be over {MAX_OUTPUT:,} characters."]})
    return output.strip()


def render(template: TemplateText, variables: dict[str, Any]) -> TemplateText:
    """Render a subject and body; errors in either are reported against that field."""
    errors: dict[str, list[str]] = {}
    rendered = {}
    for field in ("subject", "body"):
        try:
            rendered[field] = render_text(getattr(template, field), variables, field)
        except InvalidInput as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)
    return TemplateText(subject=rendered["subject"], body=rendered["body"])


def example_variables() -> dict[str, Any]:
    """The documented examples as a variables dictionary, for previews without a real contact."""
    values: dict[str, Any] = {}
    for variable in VARIABLES:
        target = values
        *parents, leaf = variable.name.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = variable.example
    return values
