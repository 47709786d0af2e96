"""What a plugin's code may import, checked by reading it (``ast``), never by running it.

A plugin imports Crossroads only through its public face, ``crossroads.plugin``;
anything else of ``crossroads.*`` is internal and may change in any release. A
plugin never imports another plugin (each may be switched off, or not installed),
and the web layer never imports a plugin (it reaches plugins through the plugin
manager only).

One implementation serves both the test that holds the built-in plugins to these
rules (``tests/test_plugin_imports.py``) and ``crossroads plugins``, which warns
about installed plugins that break them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .deprecation import MOVED_MODULES

#: The one module a plugin imports Crossroads from.
FACE = "crossroads.plugin"
#: Where the built-in plugins live; each subpackage is one plugin.
BUILT_IN = "crossroads.plugins"
_BEYOND = "<a relative import beyond the top-level package>"


@dataclass(frozen=True)
class Problem:
    """One refused import: where it is and why."""

    path: str
    line: int
    imported: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.imported}: {self.reason}"


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def reached(source: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """Each dotted name an import in ``source`` reaches, with its line, relative imports resolved.

    ``module`` is the dotted name of the module ``source`` is (``is_package`` for an
    ``__init__``). ``import a.b`` reaches ``a.b``; ``from a import b`` reaches ``a.b`` (a name
    in ``a`` or its submodule ``b``, which cannot be told apart without importing ``a``).
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                climb = node.level - 1
                if climb > len(parts) - 1 or not parts:
                    yield node.lineno, _BEYOND
                    continue
                base = ".".join(parts[: len(parts) - climb])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            for alias in node.names:
                yield node.lineno, target if alias.name == "*" else f"{target}.{alias.name}"


def plugin_problems(
    source: str,
    module: str,
    own_package: str,
    other_plugins: Iterable[str] = (),
    *,
    is_package: bool = False,
    path: str = "<source>",
) -> list[Problem]:
    """The imports in one module of a plugin that break the rules.

    ``own_package`` is the plugin's top package (its own imports are free); ``other_plugins`` are
    the top packages of the other plugins, which it may not import.
    """
    others = [p for p in other_plugins if not _within(p, own_package)]
    problems = []
    for line, name in reached(source, module, is_package):
        if _within(name, own_package) or _within(name, FACE):
            continue
        if name == _BEYOND:
            reason = "climbs out of the plugin's own package"
        elif any(_within(name, other) for other in others):
            reason = "imports another plugin: plugins may be switched off or missing; use a hook"
        elif _within(name, "crossroads"):
            reason = f"outside the public face: import it from {FACE}"
            moved = next((old for old in MOVED_MODULES if _within(name, old)), None)
            if moved:
                new, release = MOVED_MODULES[moved]
                reason += f" ({moved} moved to {new} and goes in Crossroads {release})"
        else:
            continue  # a third-party library
        problems.append(Problem(path, line, name, reason))
    return problems


def web_problems(
    source: str, module: str, *, is_package: bool = False, path: str = "<source>"
) -> list[Problem]:
    """Imports of a plugin by a web-layer module: it reaches plugins only through the plugin manager."""
    return [
        Problem(path, line, name, "the web layer reaches plugins only through the plugin manager")
        for line, name in reached(source, module, is_package)
        if _within(name, BUILT_IN)
    ]


def modules_of(package_dir: Path, package: str) -> Iterator[tuple[Path, str, bool]]:
    """Each ``.py`` file under ``package_dir`` with its dotted module name and whether it is a package."""
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        yield path, ".".join([package, *parts]), is_package


def package_problems(
    package_dir: Path, package: str, other_plugins: Iterable[str] = (), root: Path | None = None
) -> list[Problem]:
    """:func:`plugin_problems` for every module of the plugin package ``package`` in ``package_dir``."""
    others = list(other_plugins)
    found = []
    for path, module, is_package in modules_of(package_dir, package):
        shown = str(path.relative_to(root)) if root is not None else str(path)
        found += plugin_problems(
            path.read_text(encoding="utf-8"), module, package, others, is_package=is_package, path=shown
        )
    return found


def moved_problems(
    source: str, module: str, moved: Iterable[str], *, is_package: bool = False, path: str = "<source>"
) -> list[Problem]:
    """Imports of a module path that moved (``moved``, the old paths; ``core/deprecation.py``).

    The repository itself imports only the new places; the old ones are shims for plugins.
    """
    old_paths = list(moved)
    return [
        Problem(path, line, name, "a moved module's old path: import it from its new place")
        for line, name in reached(source, module, is_package)
        if any(_within(name, old) for old in old_paths)
    ]
