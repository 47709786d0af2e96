"""The documentation stays true: the hook reference matches the code, and no link points nowhere."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from crossroads.core import hookdocs, hookspecs

ROOT = Path(__file__).resolve().parent.parent
HOOKS_MD = ROOT / "docs" / "plugins" / "hooks.md"
MARKDOWN_FILES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])

# [text](target), ![alt](target), and reference definitions "[label]: target".
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def test_hook_reference_is_current():
    assert HOOKS_MD.exists(), f"docs/plugins/hooks.md is missing; create it with `{hookdocs.REGENERATE}`"
    assert HOOKS_MD.read_text(encoding="utf-8") == hookdocs.generate(), (
        f"docs/plugins/hooks.md is out of date with crossroads/core/hookspecs.py; "
        f"regenerate it with `{hookdocs.REGENERATE}`"
    )


def test_every_hook_has_a_docstring():
    marker = f"{hookspecs.PROJECT}_spec"
    specs = [
        func
        for _, func in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(func, marker) and func.__module__ == hookspecs.__name__
    ]
    assert specs, "crossroads.core.hookspecs defines no hooks"
    undocumented = [func.__name__ for func in specs if not (func.__doc__ or "").strip()]
    assert not undocumented, f"hooks without a docstring: {', '.join(undocumented)}"
    # The generator sees the same hooks, so none is left out of the reference.
    assert {f.__name__ for f in hookdocs.hook_specs()} == {f.__name__ for f in specs}


def _link_targets(markdown: str) -> list[str]:
    text = INLINE_CODE.sub("", FENCE.sub("", markdown))
    return INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text)


def _is_relative(target: str) -> bool:
    return not (re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("#", "/")))


@pytest.mark.parametrize("path", MARKDOWN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_files(path: Path):
    broken = []
    for target in _link_targets(path.read_text(encoding="utf-8")):
        if not _is_relative(target):
            continue
        file_part = unquote(target.split("#", 1)[0].split("?", 1)[0])
        if file_part and not (path.parent / file_part).exists():
            broken.append(target)
    assert not broken, f"{path.relative_to(ROOT)} links to files that do not exist: {', '.join(broken)}"


def test_link_finder_sees_links():
    """Guard against a regular expression that silently finds nothing."""
    sample = '[a](x.md) ![b](img/y.png "title") [c](https://example.org) `[d](not-a-link.md)`\n[e]: z.md\n'
    assert _link_targets(sample) == ["x.md", "img/y.png", "https://example.org", "z.md"]


def test_the_services_the_suite_needs_are_named_in_the_readme_and_started_by_ci():
    """The Redis tests need a server on 127.0.0.1:6379: the README says so and .ci/run starts one."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "127.0.0.1:6379" in readme and "redis-server" in readme
    assert "redis-server --daemonize yes" in ci and "redis-cli -h 127.0.0.1 -p 6379 ping" in ci


def _readme_command(section: str) -> str:
    """The one line of the first ``sh`` block under the README's heading ``section``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8").split(f"\n## {section}\n", 1)[1]
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    lines = block.strip().splitlines()
    assert len(lines) == 1, f"the README's {section!r} command is not one line: {lines}"
    return lines[0]


@pytest.mark.parametrize(
    ("section", "extra", "then"),
    [("Run it", ".", "crossroads serve --demo"), ("Test it", "'.[test]'", "pytest")],
)
def test_the_readmes_commands_make_a_virtual_environment_and_install_only_into_it(section, extra, then):
    """Debian and Ubuntu refuse ``pip install`` outside a virtual environment (PEP 668): each README
    command makes one in ``.venv`` (git-ignored) and uses that environment's pip and commands."""
    command = _readme_command(section)
    assert command == f"python3 -m venv .venv && .venv/bin/pip install -e {extra} && .venv/bin/{then}"
    assert ".venv/" in (ROOT / ".gitignore").read_text().splitlines()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    bare = [line for line in readme.splitlines() if re.search(r"(?<![/\w])pip install -e", line)]
    assert not bare, f"README installs outside the environment: {bare}"


def test_ci_installs_and_runs_what_the_readme_does_in_its_own_fresh_environment():
    ci = (ROOT / ".ci" / "run").read_text()
    assert '"$PYTHON" -m venv "$WORK/venv"' in ci and '. "$WORK/venv/bin/activate"' in ci
    assert "pip install --quiet -e '.[test]'" in ci and "crossroads serve --demo" in ci
