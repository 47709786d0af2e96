"""``crossroads plugin new NAME``: a new plugin package, ready to install, with a panel and a passing test.

The package it writes is the smallest complete plugin: a ``pyproject.toml``
declaring the ``crossroads`` entry point, a module implementing
``client_panels`` with its template, a README, and a test that uses the
``crossroads.testing`` fixtures to find the panel on the client's page.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, entry_points, version
from pathlib import Path
from string import Template

import click

from crossroads.core.hookspecs import HOOKS_VERSION
from crossroads.core.plugins import ENTRY_POINT_GROUP

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Names:
    """The names one plugin goes by: ``next_step``, ``crossroads_next_step``, ``crossroads-next-step``."""

    plugin: str  # the entry point's name: what owners and `crossroads plugins` see
    module: str  # the Python package
    distribution: str  # the name on PyPI, and the folder

    @classmethod
    def of(cls, name: str) -> Names:
        """Normalise ``name`` ("Next-Step" → ``next_step``); :class:`ValueError` says why it cannot be."""
        plugin = re.sub(r"[-\s.]+", "_", name.strip()).lower().removeprefix("crossroads_")
        if not NAME_PATTERN.fullmatch(plugin) or plugin.endswith("_"):
            raise ValueError(
                f"{name!r} is not a usable plugin name: use letters, digits, hyphens or underscores, "
                "starting with a letter (for example next-step)"
            )
        if keyword.iskeyword(plugin):
            raise ValueError(f"{name!r} is not a usable plugin name: it is a Python keyword")
        return cls(plugin, f"crossroads_{plugin}", "crossroads-" + plugin.replace("_", "-"))

    @property
    def title(self) -> str:
        return self.plugin.replace("_", " ").capitalize()


PYPROJECT = """\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "$distribution"
version = "0.1.0"
description = "$description"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["crossroads>=$crossroads_version"]

[project.optional-dependencies]
test = ["pytest>=8"]

# The entry point's name ("$plugin") is the plugin's name: owners see it on the practice's
# plugins page, `crossroads plugins` lists it, and CROSSROADS_PLUGINS matches it.
[project.entry-points.crossroads]
$plugin = "$module"

[tool.setuptools]
packages = ["$module"]

# Ship the templates (and any static files or migrations you add) in the wheel.
[tool.setuptools.package-data]
$module = ["templates/*/*.html"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

MODULE = '''\
"""$title: $description

A Crossroads plugin. Crossroads finds it through the ``crossroads`` entry point
in ``pyproject.toml`` and calls the hook implementations below; see the plugin
guide for every hook (docs/plugins/guide.md and hooks.md in Crossroads).
Import Crossroads only from ``crossroads.plugin``: it is the one stable face.
"""

from crossroads.plugin import Panel, hookimpl

#: The hook set this plugin is written for; a Crossroads older than this refuses to load it.
crossroads_hooks = "$hooks_version"


@hookimpl
def client_panels(client, viewer):
    """A panel on the client's workspace and on their coach's page about them.

    ``client`` is the client being shown and ``viewer`` the signed-in user (the
    client, their coach or the owner), both already scoped to the practice:
    read them, do not change them. Return a ``Panel``, a list of them, or None.
    """
    return Panel(
        title="$title",
        template="$module/panel.html",
        context={
            "client_name": client.name,
            "themes": [theme.title for theme in client.active_themes],
            "viewer_is_client": viewer.id == client.user_id,
        },
    )
'''

PANEL = """\
{# The $plugin panel: rendered with the context client_panels returns; Crossroads adds the title. #}
<p>
  {% if viewer_is_client %}You are{% else %}{{ client_name }} is{% endif %}
  exploring {{ themes|length }} career theme{{ "" if themes|length == 1 else "s" }}{% if themes %}:
  {{ themes|join(", ") }}{% endif %}.
</p>
"""

README = """\
# $distribution

$description

A [Crossroads](https://pypi.org/project/crossroads/) plugin: it adds a panel, "$title",
to each client's workspace and to their coach's page about them.

## Install

In the environment where Crossroads runs:

```sh
pip install -e .
crossroads plugins        # lists $plugin
```

Restart Crossroads. The plugin is on for every practice until an owner switches it off
under Practice → Plugins.

## Develop

- `$module/__init__.py`: the hook implementations.
- `$module/templates/$module/`: the templates. A deployment may override one with a file
  of the same path under `templates/` in its instance folder.
- `tests/`: run `pytest`. The fixtures (`crossroads_page`, `crossroads_client`, …) come from
  `crossroads.testing`, which pytest loads wherever Crossroads is installed.

## Publish

```sh
python -m pip install build twine
python -m build
python -m twine upload dist/*
```
"""

TEST = '''\
"""Tests for the $plugin plugin, with Crossroads' fixtures (``crossroads.testing``, loaded by pytest)."""

import pytest


@pytest.fixture
def crossroads_plugins():
    """Load this plugin alone; add others' names to test it beside them."""
    return ["$plugin"]


def test_the_panel_is_on_the_clients_workspace(crossroads_page, crossroads_client):
    page = crossroads_page(crossroads_client.user, "/me/")
    panel = page.plugin_part("$plugin")
    assert "$title" in panel.text
    assert "You are exploring 1 career theme: Magazine editing." in panel.text


def test_the_coach_sees_it_on_the_clients_page(crossroads_page, crossroads_coach, crossroads_client):
    page = crossroads_page(crossroads_coach, f"/coach/clients/{crossroads_client.id}")
    assert "Clara Client is exploring 1 career theme" in page.plugin_part("$plugin").text
'''


def _crossroads_version() -> str:
    try:
        return version("crossroads")
    except PackageNotFoundError:  # running from a checkout that is not installed
        return "0.1"


def scaffold(names: Names, directory: Path, description: str) -> Path:
    """Write the package for ``names`` into ``directory``; returns its folder. Refuses an existing one."""
    root = directory / names.distribution
    if root.exists():
        raise click.ClickException(f"{root} already exists; choose another name or --directory.")
    values = {
        "plugin": names.plugin,
        "module": names.module,
        "distribution": names.distribution,
        "title": names.title,
        "description": " ".join(description.split()).replace("\\", "/").replace('"', "'"),
        "hooks_version": HOOKS_VERSION,
        "crossroads_version": _crossroads_version(),
    }
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"{names.module}/__init__.py": MODULE,
        f"{names.module}/templates/{names.module}/panel.html": PANEL,
        f"tests/test_{names.plugin}.py": TEST,
    }
    for path, template in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(template).substitute(values), encoding="utf-8")
    return root


@click.group()
def plugin() -> None:
    """Write plugins: start a new plugin package."""


@plugin.command("new")
@click.argument("name")
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default="the current folder",
    help="Where to create the package's folder.",
)
@click.option(
    "--description",
    default="A Crossroads plugin.",
    show_default=True,
    help="One sentence for the package's metadata and README.",
)
def new(name: str, directory: Path, description: str) -> None:
    """Create crossroads-NAME/: a plugin package with a client panel, its template and a test.

    NAME becomes the plugin's name (the entry point: "next-step" → next_step),
    the module crossroads_next_step and the distribution crossroads-next-step.
    """
    try:
        names = Names.of(name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if not directory.is_dir():
        raise click.ClickException(f"{directory} is not a folder.")
    taken = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if names.plugin in taken:
        raise click.ClickException(
            f"A plugin named {names.plugin} is already installed ({taken[names.plugin]}); "
            "choose another name."
        )
    root = scaffold(names, directory, description)
    click.echo(f"Created {root}/ for the plugin {names.plugin} (module {names.module}).")
    click.echo("Next:")
    click.echo(f"  pip install -e {root}")
    click.echo("  crossroads plugins")
    click.echo(f"  cd {root} && pytest")
