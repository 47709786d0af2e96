"""Generate the plugin hook reference (Markdown) from :mod:`crossroads.core.hookspecs`.

Each hook specification's signature and docstring become one section, in the
order they are defined, so the reference cannot say anything the code does
not. ``docs/plugins/hooks.md`` is this module's output; a test fails when the
two differ.

Usage::

    python -m crossroads.core.hookdocs                               # print the Markdown
    python -m crossroads.core.hookdocs --write docs/plugins/hooks.md  # write it to a file
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from . import hookspecs

REGENERATE = "python -m crossroads.core.hookdocs --write docs/plugins/hooks.md"

# reStructuredText as written in docstrings, and its Markdown equivalent.
_ROLE = re.compile(r":(?:class|func|meth|data|attr|mod|exc|obj):`(~?)([^`]+)`")
_LITERAL = re.compile(r"``(.+?)``")


def hook_specs(module: ModuleType = hookspecs) -> list[Callable[..., Any]]:
    """The hook specifications in ``module``, in the order they are defined."""
    marker = f"{module.PROJECT}_spec"
    specs = [
        value
        for value in vars(module).values()
        if inspect.isfunction(value) and value.__module__ == module.__name__ and hasattr(value, marker)
    ]
    return sorted(specs, key=lambda f: f.__code__.co_firstlineno)


def rst_to_markdown(text: str) -> str:
    """Turn the few reStructuredText constructs used in docstrings into Markdown."""

    def role(match: re.Match[str]) -> str:
        short, target = match.groups()
        return f"`{target.rsplit('.', 1)[-1] if short else target}`"

    text = _ROLE.sub(role, text)
    text = _LITERAL.sub(r"`\1`", text)
    # A paragraph ending in "::" introduces an indented literal block, as in reStructuredText.
    out: list[str] = []
    in_block = False
    for line in text.splitlines():
        if in_block and line.strip() and not line.startswith("    "):
            _close_block(out)
            in_block = False
        if in_block:
            if line.strip() or out[-1] != "```":  # no blank line right after the opening fence
                out.append(line[4:])
        elif line.rstrip().endswith("::"):
            out += [line.rstrip()[:-1], "", "```"]
            in_block = True
        else:
            out.append(line)
    if in_block:
        _close_block(out)
    return "\n".join(out).rstrip()


def references(text: str) -> list[str]:
    """Dotted names that ``text`` refers to by role, in order of first mention."""
    found = [target for _, target in _ROLE.findall(text) if "." in target]
    return list(dict.fromkeys(found))


def _close_block(out: list[str]) -> None:
    while out and not out[-1].strip():
        out.pop()
    out += ["```", ""]


def _annotation(value: Any) -> str:
    return value if isinstance(value, str) else inspect.formatannotation(value)


def signature(func: Callable[..., Any]) -> str:
    """``def name(arg: Type, ...) -> Return`` as written in the specification."""
    sig = inspect.signature(func)
    params = []
    for param in sig.parameters.values():
        text = param.name
        if param.annotation is not inspect.Parameter.empty:
            text += f": {_annotation(param.annotation)}"
        params.append(text)
    result = ""
    if sig.return_annotation is not inspect.Signature.empty:
        result = f" -> {_annotation(sig.return_annotation)}"
    return f"def {func.__name__}({', '.join(params)}){result}"


def _options(func: Callable[..., Any], module: ModuleType) -> list[str]:
    opts = getattr(func, f"{module.PROJECT}_spec")
    notes = []
    if opts.get("firstresult"):
        notes.append("The first answer other than `None` wins; later plugins are not called.")
    if opts.get("historic"):
        notes.append("Historic: a plugin registered late is still called with earlier calls' arguments.")
    if warning := opts.get("warn_on_impl"):
        notes.insert(0, f"**Deprecated:** {warning}. Implementing it warns when the plugin loads.")
    return notes


def generate(module: ModuleType = hookspecs) -> str:
    """The whole reference as Markdown, ending in one newline."""
    specs = hook_specs(module)
    parts = [
        "# Plugin hooks",
        "",
        "<!-- Generated from crossroads/core/hookspecs.py; do not edit by hand.",
        f"     Regenerate with: {REGENERATE} -->",
        "",
        rst_to_markdown(inspect.cleandoc(module.__doc__ or "")),
        "",
        "A plugin implements a hook by defining a function with the hook's name, decorated with",
        "`hookimpl`. It may accept only the arguments it needs, by name. See the",
        "[plugin author's guide](guide.md) for a complete example.",
        "",
        "## Hooks",
        "",
        *(f"- [`{func.__name__}`](#{func.__name__})" for func in specs),
    ]
    for func in specs:
        parts += [
            "",
            f"## {func.__name__}",
            "",
            "```python",
            "@hookimpl",
            f"{signature(func)}: ...",
            "```",
            "",
            rst_to_markdown(inspect.cleandoc(func.__doc__ or "(undocumented)")),
        ]
        notes = _options(func, module)
        if notes:
            parts += ["", *notes]
        if names := references(func.__doc__ or ""):
            parts += ["", "Named above: " + ", ".join(f"`{name}`" for name in names) + "."]
    return "\n".join(parts).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crossroads.core.hookdocs",
        description="Print the plugin hook reference in Markdown, generated from crossroads.core.hookspecs.",
    )
    parser.add_argument("--write", metavar="PATH", type=Path, help="write the Markdown to PATH instead")
    args = parser.parse_args(argv)
    text = generate()
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text, encoding="utf-8")
        print(f"Wrote {args.write}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
