"""Message templates: a sandboxed Jinja environment that sees only plain text values.

Coaches write the practice's templates; clients' drafts are rendered from
them. A template is data, not code: it is rendered in Jinja's immutable
sandbox, with no globals, no loader (so no ``include`` or ``import``), and
variables that are plain strings in plain dictionaries, so there is no Python
object to climb out through.

The sandbox stops escapes, not work, so every render is also bounded
(:class:`TemplateLimit` past a bound):

* **steps**: each pass through a loop, macro, call block or block charges the
  number of template nodes in its body, and every call and filter one more;
* **size**: no string or list a template builds (by ``*``, ``+``, ``~``,
  ``%``, a literal, a string method or a filter) may exceed
  :data:`MAX_OUTPUT` characters, checked *before* it is built where the size
  can be told in advance (padding, ``replace``, ``join``, format widths);
* **work**: the characters output (also into macro buffers), and handled by
  filters and calls, add up to at most :data:`MAX_WORK`;
* **depth**: calls nest at most :data:`MAX_DEPTH` deep (a depth counter, as the
  interpreter's recursion limit is shared by every thread);
* **output**: the render is streamed and stopped past :data:`MAX_OUTPUT`.

The checks run on every render, so a template that passes its save-time check
with the example values still cannot run away on a real client's values.
"""

from __future__ import annotations

import contextlib
import inspect
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import update_wrapper, wraps
from string import Formatter
from typing import Any

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import LoopContext
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
    SecurityError,
)
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from ..errors import InvalidInput
from .channels import TemplateText

#: The longest message, and the largest string or list a template may build, in characters.
MAX_OUTPUT = 20_000
#: Template nodes one render may run (loop passes and calls count their body's size).
MAX_STEPS = 100_000
#: Characters one render may output (anywhere, macro buffers included) or hand to filters and calls.
MAX_WORK = 1_000_000
#: How deep calls (macros calling macros, ``loop()``, ``caller()``) may nest.
MAX_DEPTH = 30
#: The largest whole number a multiplication may make, in bits.
MAX_INT_BITS = 256


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
    Variable("contact.a_position", "their role with “a” or “an” before it", "a Managing Editor"),
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


class TemplateLimit(SecurityError):
    """A render went past one of its bounds (steps, size, work or depth)."""


TOO_LONG = f"that would make a text over {MAX_OUTPUT:,} characters"


@dataclass
class Budget:
    """What one render has used so far; :class:`TemplateLimit` once past a bound."""

    steps: int = 0
    work: int = 0
    depth: int = 0

    def step(self, count: int = 1) -> None:
        """Charge ``count`` steps."""
        self.steps += count
        if self.steps > MAX_STEPS:
            raise TemplateLimit(f"it takes more than {MAX_STEPS:,} steps (a loop inside a loop?)")

    def charge(self, characters: int) -> None:
        """Charge ``characters`` of text made or handled."""
        self.work += characters
        if self.work > MAX_WORK:
            raise TemplateLimit(f"it handles more than {MAX_WORK:,} characters of text")

    def counted(self, items: Iterable[Any]) -> Iterator[Any]:
        """``items``, charging a step and each item's size as it is taken."""
        for item in items:
            self.step()
            self.charge(weight(item))
            yield item


_BUDGET: ContextVar[Budget | None] = ContextVar("template_budget", default=None)


def _budget() -> Budget:
    # Outside a render (constant folding while compiling) each operation gets a budget of its own.
    return _BUDGET.get() or Budget()


def weight(value: Any, limit: int = MAX_WORK) -> int:
    """The size of a value in characters and items, counted up to a little past ``limit``."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        items: Iterable[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        return 1
    total = len(value)
    for item in items:
        total += weight(item, limit - total)
        if total > limit:
            break
    return total


def _sized(value: Any) -> Any:
    if weight(value, MAX_OUTPUT) > MAX_OUTPUT:
        raise TemplateLimit(TOO_LONG)
    return value


def _refuse_over(size: int) -> None:
    if size > MAX_OUTPUT:
        raise TemplateLimit(TOO_LONG)


def _replaced_size(text: Any, old: Any, new: Any, count: Any = -1) -> int:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def _joined_size(separator: Any, items: list[Any]) -> int:
    return weight(items, MAX_OUTPUT) + len(str(separator)) * max(len(items) - 1, 0)


# printf-style conversions: %(name)-10.3f and the like.
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


def _check_percent(text: str, values: Any) -> None:
    """Refuse ``text % values`` when its widths, precisions or values could make it too long."""
    specs = _PERCENT.findall(text)
    if not specs:
        return
    if isinstance(values, Mapping):
        args: Iterable[Any] = values.values()
    else:
        args = values if isinstance(values, tuple) else (values,)
    args = list(args)
    stars = [a for a in args if isinstance(a, int)]
    numbers = [int(n) for spec in specs for n in spec if n.isdigit()]
    if any(n == "*" for spec in specs for n in spec):
        numbers += stars
    widest = max(numbers, default=0)
    largest = max((weight(a, MAX_OUTPUT) for a in args), default=0)
    _refuse_over(len(text) + len(specs) * max(widest + 1, 2 * largest + 32))


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    """The ``format`` filter (``"%s, %s"|format(a, b)``), size-checked first."""
    if args and kwargs:
        raise TemplateError("can't handle positional and keyword arguments at the same time")
    text = str(value)
    _check_percent(text, kwargs or args)
    return text % (kwargs or args)


def _check_str_method(text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple:
    """Refuse a string method call that would build too long a string; returns the args to call with."""
    if name in ("translate", "maketrans"):
        raise SecurityError(f"str.{name} is not allowed in templates")
    if name in ("center", "ljust", "rjust", "zfill"):
        width = args[0] if args else kwargs.get("width", 0)
        _refuse_over(width if isinstance(width, int) else 0)
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        _refuse_over(len(text) + text.count("\t") * size if isinstance(size, int) else 0)
    elif name == "replace":
        _refuse_over(_replaced_size(text, *args[:3], **kwargs))
    elif name == "join" and args:
        items = list(args[0])
        _refuse_over(_joined_size(text, items))
        args = (items, *args[1:])
    return args


def _filter_sizes(name: str, arguments: dict[str, Any]) -> None:
    """Refuse a filter call that would build too long a string or list, before it does."""
    if name == "join":
        arguments["value"] = items = list(arguments["value"])
        _refuse_over(_joined_size(arguments["d"], items))
    elif name == "replace":
        _refuse_over(_replaced_size(arguments["s"], arguments["old"], arguments["new"], arguments["count"]))
    elif name == "indent":
        text, width = str(arguments["s"]), arguments["width"]
        per_line = width if isinstance(width, int) else len(str(width))
        _refuse_over(len(text) + (text.count("\n") + 1) * per_line)
    elif name == "wordwrap":
        text, width = str(arguments["s"]), arguments["width"]
        breaks = len(text) // max(width, 1) + text.count("\n") + 1 if isinstance(width, int) else 0
        _refuse_over(len(text) + breaks * len(arguments["wrapstring"] or "\n"))
    elif name == "sum" and not isinstance(arguments["start"], int | float):
        raise SecurityError("sum adds up numbers only")
    elif name in ("center", "batch", "slice"):
        for key in ("width", "linecount", "slices"):
            if isinstance(arguments.get(key), int):
                _refuse_over(arguments[key])


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` charged to the render's budget, size-checked, with lazy results counted item by item."""
    signature = inspect.signature(func)

    @wraps(func)  # keeps jinja_pass_arg, so Jinja still passes the context or environment
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.step()
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        _filter_sizes(name, bound.arguments)
        budget.charge(sum(weight(arg) for arg in bound.args if isinstance(arg, str | list | tuple | dict)))
        result = func(*bound.args, **bound.kwargs)
        if isinstance(result, Iterator) and not isinstance(result, str):
            return budget.counted(result)
        budget.charge(weight(result))
        return _sized(result)

    return guarded


class _SizedFields(Formatter):
    """``str.format`` that refuses wide fields and stops once the text grows too long."""

    _size = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        if any(int(n) > MAX_OUTPUT for n in re.findall(r"\d+", format_spec)):
            raise TemplateLimit(TOO_LONG)
        text = super().format_field(value, format_spec)
        self._size += len(text)
        _refuse_over(self._size)
        return text


class _Formatter(_SizedFields, SandboxedFormatter):
    pass


class _EscapeFormatter(_SizedFields, SandboxedEscapeFormatter):
    pass


class _Instrument(NodeTransformer):
    """Charge each pass through a body to the budget, and size-check every list, tuple and dict literal."""

    def _sized(self, node: nodes.Expr) -> nodes.Expr:
        self.generic_visit(node)
        return _environment_call("sized", node)

    visit_List = visit_Dict = _sized

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Expr:
        return self._sized(node) if node.ctx == "load" else node

    def _charged(self, node: nodes.Node) -> nodes.Node:
        self.generic_visit(node)
        size = 1 + sum(1 for child in node.body for _ in child.find_all(nodes.Node)) + len(node.body)
        node.body.insert(0, nodes.ExprStmt(_environment_call("step", nodes.Const(size)), lineno=node.lineno))
        return node

    visit_Macro = visit_CallBlock = visit_Block = _charged

    def visit_For(self, node: nodes.For) -> nodes.Node:
        # Every item taken counts, also those a loop's ``if`` skips (a recursive loop's: see ``call``).
        node.iter = _environment_call("counted", node.iter)
        return self._charged(node)


def _environment_call(name: str, arg: nodes.Expr) -> nodes.Call:
    return nodes.Call(nodes.EnvironmentAttribute(name), [arg], [], None, None, lineno=arg.lineno)


class _CodeGenerator(CodeGenerator):
    """Jinja's code generator, instrumented (see :class:`_Instrument`), with ``~`` and text size-checked."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        _Instrument().visit(node)
        super().visit_Template(node, frame)

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        if isinstance(node.node, nodes.EnvironmentAttribute):  # only _Instrument makes these: call directly
            self.write(f"environment.{node.node.name}(")
            self.visit(node.args[0], frame)
            self.write(")")
            return
        super().visit_Call(node, frame, forward_caller=forward_caller)

    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        if not isinstance(node.arg, nodes.Slice):
            super().visit_Getitem(node, frame)
            return
        # A slice is a copy: charged like any other text a template builds.
        self.write("environment.sliced(")
        self.visit(node.node, frame)
        self.write(", slice(")
        for index, part in enumerate((node.arg.start, node.arg.stop, node.arg.step)):
            self.write(", " if index else "")
            if part is None:
                self.write("None")
            else:
                self.visit(part, frame)
        self.write("))")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_sized((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        # Text written as it is (and expressions folded into text) is charged here, the rest by finalize.
        size = 0
        for child in node.nodes:
            with contextlib.suppress(Exception):  # not a constant: charged when it is output
                size += len(str(child.as_const(frame.eval_ctx)))
        if size:
            self.writeline(f"environment.charge({size})")
        super().visit_Output(node, frame)


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox, bounded in steps, sizes, work and depth (see the module's docstring)."""

    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False, finalize=_finalize
        )
        self.globals.clear()  # no range, dict, lipsum, cycler, joiner or namespace
        self.filters = {name: _guard_filter(name, func) for name, func in self.filters.items()}
        self.filters["format"] = _guard_filter("format", _format)

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "**":
            raise SecurityError("powers are not allowed in templates")
        if op == "%" and isinstance(left, str):
            _check_percent(left, right)
        elif op == "*" and isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise TemplateLimit("that number would be too large")
        elif op == "*" and (isinstance(left, str | list | tuple) or isinstance(right, str | list | tuple)):
            sequence, times = (left, right) if isinstance(left, str | list | tuple) else (right, left)
            if isinstance(times, int):
                _refuse_over(weight(sequence, MAX_OUTPUT) * max(times, 0))
        elif op == "+":
            _refuse_over(weight(left, MAX_OUTPUT) + weight(right, MAX_OUTPUT))
        result = self.binop_table[op](left, right)
        _budget().charge(weight(result))
        return result

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.step()
        if inspect.isbuiltin(obj) and isinstance(getattr(obj, "__self__", None), str):
            budget.charge(len(obj.__self__))
            args = _check_str_method(obj.__self__, obj.__name__, args, kwargs)
        elif isinstance(obj, LoopContext) and args:  # loop(items) in a recursive loop
            args = (budget.counted(args[0]), *args[1:])
        budget.depth += 1
        try:
            if budget.depth > MAX_DEPTH:
                raise TemplateLimit(f"calls nest more than {MAX_DEPTH} deep (a macro calling itself?)")
            result = super().call(context, obj, *args, **kwargs)
        finally:
            budget.depth -= 1
        budget.charge(weight(result))
        return _sized(result)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if super().wrap_str_format(value) is None:
            return None
        text, is_format_map = value.__self__, value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            formatter = (
                _EscapeFormatter(self, escape=text.escape) if isinstance(text, Markup) else _Formatter(self)
            )
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            return type(text)(formatter.vformat(text, args, kwargs))

        return update_wrapper(bounded, value)

    # Called from the instrumented templates' code.

    def step(self, count: int) -> None:
        _budget().step(count)

    def charge(self, characters: int) -> None:
        _budget().charge(characters)

    def sized(self, value: Any) -> Any:
        _budget().step()
        return _sized(value)

    def counted(self, items: Iterable[Any]) -> Iterator[Any]:
        return _budget().counted(items)

    def sliced(self, value: Any, part: slice) -> Any:
        result = value[part]
        _budget().charge(weight(result))
        return result

    def concat_sized(self, values: tuple[Any, ...]) -> str:
        texts = [str(value) for value in values]
        size = sum(len(text) for text in texts)
        _refuse_over(size)
        _budget().charge(size)
        return "".join(texts)


def _finalize(value: Any) -> Any:
    """Every ``{{ expression }}`` output: charged to the render's work."""
    _budget().charge(weight(value))
    return value


_ENV = _Environment()


def render_text(
    source: str, variables: dict[str, Any], field: str = "body", budget: Budget | None = None
) -> str:
    """Render one template string; a mistake in it, or a bound exceeded, is :class:`InvalidInput`.

    ``budget`` (a fresh one by default) is what the render uses up, for a caller who measures it.
    """
    token = _BUDGET.set(budget or Budget())
    try:
        parts, size = [], 0
        for part in _ENV.from_string(source).generate(variables):
            size += len(part)
            _refuse_over(size)
            parts.append(part)
    except TemplateLimit as exc:
        raise InvalidInput({field: [f"The template does too much: {exc}."]}) from exc
    except RecursionError as exc:
        raise InvalidInput({field: ["The template does too much: it nests too deeply."]}) from exc
    except SecurityError as exc:
        raise InvalidInput({field: [f"Not allowed in a template: {exc}"]}) from exc
    except TemplateError as exc:
        raise InvalidInput({field: [f"Template error: {exc.message or exc}"]}) from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise InvalidInput({field: [f"Template error: {exc}"]}) from exc
    finally:
        _BUDGET.reset(token)
    return "".join(parts).strip()


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
