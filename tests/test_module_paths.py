"""Modules that moved keep their old path for one release, as a shim that warns naming the new
place (``core/deprecation.py``); the repository itself imports only the new places."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crossroads.core.deprecation import MOVED_MODULES
from crossroads.core.import_rules import modules_of, moved_problems, plugin_problems

ROOT = Path(__file__).resolve().parent.parent
#: The repository's Python, as (folder, the dotted package its files are imported as).
FOLDERS = {
    "core": "crossroads.core",
    "web": "crossroads.web",
    "plugins": "crossroads.plugins",
    "testing": "crossroads.testing",
    "plugin_face": "crossroads.plugin",
    "tests": "tests",
    "bench": "bench",
    "docs": "docs",
}
SHIMS = {f"{old}.py" for old in MOVED_MODULES}
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)

#: A name each old path gave a plugin, to import the way a plugin wrote it.
A_NAME = {
    "crossroads.core.channels": "Channel",
    "crossroads.core.checks": "CORE_CHECKS",
    "crossroads.core.templating": "Variable",
    "crossroads.core.followups": "due_items",
    "crossroads.core.transports": "Transport",
    "crossroads.core.services.outreach": "initial_draft",
}


def _is_shim(module: str) -> bool:
    return module in MOVED_MODULES


def test_every_shim_has_a_name_to_try():
    assert set(A_NAME) == set(MOVED_MODULES)


@pytest.mark.parametrize("old", sorted(MOVED_MODULES))
def test_an_old_module_path_still_imports_with_a_warning_naming_its_new_place(old, monkeypatch):
    new, release = MOVED_MODULES[old]
    monkeypatch.delitem(sys.modules, old, raising=False)  # as in a fresh process
    name = A_NAME[old]
    namespace: dict = {}
    with pytest.warns(DeprecationWarning, match=re.escape(f"{old} is deprecated")) as caught:
        exec(f"from {old} import {name}", namespace)  # the way a plugin wrote it
    message = str(caught[0].message)
    assert new in message and f"goes in Crossroads {release}" in message
    assert caught[0].filename == "<string>"  # blamed on the importer, not on the import machinery
    new_module = importlib.import_module(new)
    assert namespace[name] is getattr(new_module, name)
    assert importlib.import_module(old) is new_module  # one module under both names


def test_nothing_in_the_repository_imports_a_moved_modules_old_path():
    problems = []
    for folder, package in FOLDERS.items():
        for path, module, is_package in modules_of(ROOT / folder, package):
            if _is_shim(module) or ".venv" in path.parts:
                continue
            shown = str(path.relative_to(ROOT))
            problems += moved_problems(
                path.read_text(), module, MOVED_MODULES, is_package=is_package, path=shown
            )
    # The docs' examples, which readers copy.
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for block in PYTHON_BLOCK.findall(path.read_text()):
            ast.parse(block)
            problems += moved_problems(block, "example", MOVED_MODULES, path=str(path.relative_to(ROOT)))
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize(
    "source",
    [
        "from crossroads.core.channels import Channel",
        "from crossroads.core import templating",
        "import crossroads.core.followups",
        "from crossroads.core.services import contacts, outreach",
        "from ..checks import CORE_CHECKS",
        "from ..services.outreach import send",
    ],
)
def test_the_check_finds_old_paths_however_they_are_written(source):
    [problem] = moved_problems(source, "crossroads.core.inbox.apply", MOVED_MODULES)
    assert "old path" in problem.reason


def test_the_check_lets_the_new_paths_through():
    source = (
        "from crossroads.core.outreach import service as outreach\n"
        "from crossroads.core.outreach.channels import Channel\n"
        "from crossroads.core.services import contacts\n"
        "from .outreach.followups import due_for\n"
    )
    assert moved_problems(source, "crossroads.core.figures", MOVED_MODULES) == []


def _defined_at_top(path: Path) -> list[str]:
    """The public names a module's source defines at its top level (classes, functions, constants)."""
    names = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [n for n in names if not n.startswith("_")]


@pytest.mark.parametrize("package", ["crossroads.core.models", "crossroads.core.schemas"])
def test_a_package_split_by_domain_re_exports_every_name_its_modules_define(package):
    """``crossroads.core.models`` and ``.schemas`` were one module each: every name stays importable
    from the package (Alembic's environment, the face and plugins import them there)."""
    imported = importlib.import_module(package)
    folder = Path(imported.__file__).parent
    missing = []
    for path in sorted(folder.glob("[!_]*.py")):
        module = importlib.import_module(f"{package}.{path.stem}")
        for name in _defined_at_top(path):
            if name not in imported.__all__ or getattr(imported, name, None) is not getattr(module, name):
                missing.append(f"{path.stem}.{name}")
    assert not missing, f"not re-exported by {package}: {missing}"
    assert all(hasattr(imported, name) for name in imported.__all__)


def test_importing_the_models_package_alone_registers_every_table():
    """What Alembic's environment does: ``import crossroads.core.models``, in a fresh interpreter."""
    code = "import crossroads.core.models; from crossroads.core.db import Base; print(*Base.metadata.tables)"
    registered = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    tables = {
        node.value.value
        for path in (ROOT / "core" / "models").glob("*.py")
        for cls in ast.parse(path.read_text()).body
        if isinstance(cls, ast.ClassDef)
        for node in cls.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__tablename__" for t in node.targets)
        and isinstance(node.value, ast.Constant)
    }
    assert len(tables) > 25 and tables <= set(registered.stdout.split())


def test_crossroads_plugins_names_the_new_place_of_a_moved_module_a_plugin_imports():
    [problem] = plugin_problems("from crossroads.core.checks import CORE_CHECKS", "my_plugin", "my_plugin")
    assert "import it from crossroads.plugin" in problem.reason
    assert "crossroads.core.outreach.checks" in problem.reason and "0.3" in problem.reason
