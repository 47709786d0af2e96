"""`crossroads plugin new`: the package it writes, what it refuses, and that its own test passes."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from crossroads.core.hookspecs import HOOKS_VERSION
from crossroads.core.import_rules import package_problems
from crossroads.web.cli import main
from crossroads.web.scaffold import Names


def new(*args: str):
    return CliRunner().invoke(main, ["plugin", "new", *args])


@pytest.mark.parametrize(
    ("given", "plugin", "module", "distribution"),
    [
        ("next_step", "next_step", "crossroads_next_step", "crossroads-next-step"),
        ("Next-Step", "next_step", "crossroads_next_step", "crossroads-next-step"),
        ("crossroads-events 2", "events_2", "crossroads_events_2", "crossroads-events-2"),
    ],
)
def test_a_name_is_normalised_to_one_identifier(given, plugin, module, distribution):
    assert Names.of(given) == Names(plugin, module, distribution)


def test_it_writes_an_installable_package_with_a_panel_and_a_test(tmp_path):
    result = new("Next-Step", "--directory", str(tmp_path), "--description", 'Says "what next".')
    assert result.exit_code == 0, result.output
    root = tmp_path / "crossroads-next-step"
    assert f"Created {root}/ for the plugin next_step" in result.output
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == [
        "README.md",
        "crossroads_next_step/__init__.py",
        "crossroads_next_step/templates/crossroads_next_step/panel.html",
        "pyproject.toml",
        "tests/test_next_step.py",
    ]
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["name"] == "crossroads-next-step"
    assert project["project"]["description"] == "Says 'what next'."
    assert any(dep.startswith("crossroads>=") for dep in project["project"]["dependencies"])
    assert project["project"]["entry-points"]["crossroads"] == {"next_step": "crossroads_next_step"}
    assert project["tool"]["setuptools"]["package-data"] == {"crossroads_next_step": ["templates/*/*.html"]}
    module = (root / "crossroads_next_step" / "__init__.py").read_text()
    assert f'crossroads_hooks = "{HOOKS_VERSION}"' in module
    assert "@hookimpl\ndef client_panels(client, viewer):" in module
    # It imports Crossroads only through the public face, as `crossroads plugins` checks.
    assert "from crossroads.plugin import Panel, hookimpl" in module
    assert package_problems(root / "crossroads_next_step", "crossroads_next_step") == []
    compile(module, "__init__.py", "exec")
    compile((root / "tests" / "test_next_step.py").read_text(), "test_next_step.py", "exec")


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("9lives", "'9lives' is not a usable plugin name: use letters, digits, hyphens or underscores"),
        ("my plugin!", "'my plugin!' is not a usable plugin name"),
        ("class", "'class' is not a usable plugin name: it is a Python keyword"),
        ("", "'' is not a usable plugin name"),
    ],
)
def test_an_unusable_name_is_refused_in_one_line(tmp_path, name, error):
    result = new(name, "--directory", str(tmp_path))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {error}") and result.output.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_the_name_of_an_installed_plugin_is_refused(tmp_path):
    result = new("LinkedIn", "--directory", str(tmp_path))
    assert result.exit_code == 1
    assert result.output == (
        "Error: A plugin named linkedin is already installed (crossroads.plugins.linkedin); "
        "choose another name.\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_refused_and_left_alone(tmp_path):
    (tmp_path / "crossroads-next-step").mkdir()
    (tmp_path / "crossroads-next-step" / "mine.txt").write_text("keep me")
    result = new("next_step", "--directory", str(tmp_path))
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: {tmp_path / 'crossroads-next-step'} already exists; choose another name or --directory."
    )
    assert [p.name for p in (tmp_path / "crossroads-next-step").iterdir()] == ["mine.txt"]


def test_the_new_package_is_found_by_its_entry_point_and_its_own_test_passes(tmp_path):
    """As if `pip install -e` had run: a dist-info with the entry point, and the package on the path."""
    assert new("next-step", "--directory", str(tmp_path)).exit_code == 0
    root = tmp_path / "crossroads-next-step"
    site = tmp_path / "site"
    info = site / "crossroads_next_step-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: crossroads-next-step\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[crossroads]\nnext_step = crossroads_next_step\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSROADS_")}  # SQLite, all plugins
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)

    listed = subprocess.run(
        [sys.executable, "-c", "from crossroads.web.cli import main; main()", "plugins"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert "next_step 0.1.0\n  from:  crossroads-next-step (crossroads_next_step)" in listed.stdout, (
        listed.stdout + listed.stderr
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


GUIDE = Path(__file__).resolve().parent.parent / "docs" / "plugins" / "guide.md"


def guide_block(after: str) -> list[str]:
    """The non-blank lines of the guide's first code block after the text ``after``."""
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index("```", text.index(after))
    body = text[text.index("\n", start) + 1 : text.index("\n```", start)]
    return [line for line in body.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("after", "path"),
    [
        ("`pyproject.toml` (abridged):", "pyproject.toml"),
        ("implements one hook, `client_panels`:", "crossroads_next_step/__init__.py"),
        (
            "`crossroads_next_step/templates/crossroads_next_step/panel.html`:",
            "crossroads_next_step/templates/crossroads_next_step/panel.html",
        ),
        ("This is the\nscaffold's `tests/test_next_step.py`:", "tests/test_next_step.py"),
    ],
)
def test_the_guide_quotes_what_the_scaffold_writes(tmp_path, after, path):
    """The guide walks through a scaffolded package: each of its excerpts is in the file, in order."""
    assert new("next-step", "--directory", str(tmp_path)).exit_code == 0
    root = tmp_path / "crossroads-next-step"
    lines = iter((root / path).read_text().splitlines())
    missing = [line for line in guide_block(after) if not any(line == other for other in lines)]
    assert not missing, f"docs/plugins/guide.md quotes lines that {path} does not have (in order): {missing}"
