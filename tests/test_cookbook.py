"""The plugin cookbook quotes the example package verbatim, so its recipes cannot drift from code CI runs.

Each code block of ``docs/plugins/cookbook.md`` (except shell sessions) follows a marker
``<!-- include: PATH -->`` or ``<!-- include: PATH::function -->``, PATH being relative to
``docs/examples/professional_association/``. The block must be that whole file, or that whole
top-level function with its decorators.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COOKBOOK = ROOT / "docs" / "plugins" / "cookbook.md"
EXAMPLE = ROOT / "docs" / "examples" / "professional_association"
BLOCK = re.compile(r"^(?:<!-- include: (?P<ref>\S+) -->\n)?```(?P<lang>\w*)\n(?P<code>.*?)^```$", re.M | re.S)
#: Code blocks that are not quoted from the package: shell sessions.
FREE_LANGUAGES = {"sh", "console", ""}


def blocks() -> list[tuple[str | None, str, str]]:
    return [(m["ref"], m["lang"], m["code"]) for m in BLOCK.finditer(COOKBOOK.read_text(encoding="utf-8"))]


def quoted(ref: str) -> str:
    """The text ``ref`` names: a whole file, or one top-level function or class with its decorators."""
    path, _, name = ref.partition("::")
    text = (EXAMPLE / path).read_text(encoding="utf-8")
    if not name:
        return text
    node = next((n for n in ast.parse(text).body if getattr(n, "name", None) == name), None)
    assert node is not None, f"{path} has no top-level {name}"
    first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    return "\n".join(text.splitlines()[first - 1 : node.end_lineno]) + "\n"


def test_the_cookbook_has_the_five_recipes():
    headings = re.findall(r"^## Recipe \d: (.+)$", COOKBOOK.read_text(encoding="utf-8"), re.M)
    assert headings == ["an outreach channel", "a report section", "a page", "a command", "a contact source"]


@pytest.mark.parametrize("ref", [ref for ref, _, _ in blocks() if ref], ids=str)
def test_each_quoted_block_is_the_example_packages_source(ref):
    [code] = [code for r, _, code in blocks() if r == ref]
    assert code == quoted(ref), f"docs/plugins/cookbook.md quotes {ref} out of date; copy it again"


def test_every_code_block_but_shell_sessions_is_quoted():
    unquoted = [code[:60] for ref, lang, code in blocks() if ref is None and lang not in FREE_LANGUAGES]
    assert not unquoted


def test_every_file_of_the_package_is_in_the_cookbook():
    package = EXAMPLE / "crossroads_professional_association"
    files = {
        str(p.relative_to(EXAMPLE))
        for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    quoted_files = {ref.partition("::")[0] for ref, _, _ in blocks() if ref}
    assert files - quoted_files == set()
    assert "pyproject.toml" in quoted_files
