"""Plugins import Crossroads only through its public face, ``crossroads.plugin``; none imports another;
the web layer imports none of them. Every import is read (plain, ``from``, relative), not only
``from crossroads… import``. The rules are ``crossroads.core.import_rules``, which ``crossroads plugins``
uses for installed plugins too."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from crossroads.core import import_rules
from crossroads.core.import_rules import BUILT_IN, package_problems, plugin_problems, web_problems

ROOT = Path(__file__).resolve().parent.parent
BUILT_IN_PLUGINS = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists())
PACKAGES = [f"{BUILT_IN}.{name}" for name in BUILT_IN_PLUGINS]


@pytest.mark.parametrize("name", BUILT_IN_PLUGINS)
def test_each_builtin_plugin_imports_crossroads_only_through_the_face(name):
    problems = package_problems(ROOT / "plugins" / name, f"{BUILT_IN}.{name}", PACKAGES, root=ROOT)
    assert not problems, "\n".join(map(str, problems))


def test_the_example_plugin_imports_crossroads_only_through_the_face():
    example = ROOT / "docs" / "examples" / "professional_association"
    problems = package_problems(
        example / "crossroads_professional_association", "crossroads_professional_association", PACKAGES, ROOT
    )
    # Its tests too: a plugin's own tests are written against the same face.
    for path in (example / "tests").glob("*.py"):
        problems += plugin_problems(path.read_text(), f"tests.{path.stem}", "tests", PACKAGES, path=str(path))
    assert not problems, "\n".join(map(str, problems))


def test_the_web_layer_imports_no_plugin():
    problems = []
    for path, module, is_package in import_rules.modules_of(ROOT / "web", "crossroads.web"):
        problems += web_problems(path.read_text(), module, is_package=is_package, path=str(path))
    assert not problems, "\n".join(map(str, problems))


# -- the checker can fail -----------------------------------------------------------------------

MODULE = "crossroads.plugins.alumni_offices.views"
OWN = "crossroads.plugins.alumni_offices"
OUTSIDE = "outside the public face"


@pytest.mark.parametrize(
    "source, refused, reason",
    [
        ("from crossroads.core.models import Client", "crossroads.core.models.Client", OUTSIDE),
        ("from crossroads.web.context import scope", "crossroads.web.context.scope", OUTSIDE),
        ("import crossroads.core.db", "crossroads.core.db", OUTSIDE),
        ("import crossroads", "crossroads", OUTSIDE),
        ("from crossroads import core", "crossroads.core", OUTSIDE),
        ("from crossroads.plugin_kit import x", "crossroads.plugin_kit.x", OUTSIDE),
        ("from crossroads.testing import World", "crossroads.testing.World", OUTSIDE),
        ("from crossroads.plugins.linkedin import channel", "crossroads.plugins.linkedin.channel", "another"),
        ("import crossroads.plugins.linkedin.limits", "crossroads.plugins.linkedin.limits", "another plugin"),
        ("from .. import linkedin", "crossroads.plugins.linkedin", "another plugin"),
        ("from ..linkedin.limits import LIMITS", "crossroads.plugins.linkedin.limits.LIMITS", "another"),
        ("from ... import core", "crossroads.core", OUTSIDE),
        ("from ...core.models import Client", "crossroads.core.models.Client", OUTSIDE),
        ("from ..... import anything", "<a relative import beyond the top-level package>", "climbs out"),
        ("def f():\n    from crossroads.core import demo\n", "crossroads.core.demo", OUTSIDE),
    ],
)
def test_the_checker_refuses_imports_outside_the_face(source, refused, reason):
    [problem] = plugin_problems(source, MODULE, OWN, PACKAGES)
    assert problem.imported == refused
    assert reason in problem.reason


@pytest.mark.parametrize(
    "source",
    [
        "from crossroads.plugin import Client, hookimpl, scope",
        "import crossroads.plugin",
        "from crossroads import plugin",
        "from .models import Institution",
        "from . import services",
        "from crossroads.plugins.alumni_offices.models import Institution",
        "from flask import Blueprint\nimport sqlalchemy as sa",
    ],
)
def test_the_checker_allows_the_face_the_plugins_own_package_and_libraries(source):
    assert plugin_problems(source, MODULE, OWN, PACKAGES) == []


def test_a_third_party_plugin_may_not_import_another_installed_plugin():
    source = "from crossroads_professional_association.channel import NAME\nfrom ..other import x\n"
    problems = plugin_problems(
        source, "my_plugin.views", "my_plugin", ["crossroads_professional_association", *PACKAGES]
    )
    assert [p.reason.split(":")[0] for p in problems] == [
        "imports another plugin",
        "climbs out of the plugin's own package",
    ]


def test_the_checker_refuses_the_web_layer_importing_a_plugin():
    for source in ("from crossroads.plugins.linkedin import views", "from ..plugins import linkedin"):
        [problem] = web_problems(source, "crossroads.web.outreach")
        assert problem.imported.startswith("crossroads.plugins")
    assert web_problems("from crossroads.core.plugins import PluginManager", "crossroads.web.outreach") == []


# -- the face -------------------------------------------------------------------------------------


def test_the_face_exports_every_name_it_lists():
    import crossroads.plugin as face

    missing = [name for name in face.__all__ if not hasattr(face, name)]
    assert not missing
    assert len(face.__all__) == len(set(face.__all__))


def test_importing_the_face_does_not_import_pytest():
    code = (
        "import sys, crossroads.plugin as f; "
        "print('pytest' in sys.modules, 'crossroads.testing' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_the_face_hands_out_the_test_kit_on_first_use():
    import crossroads.plugin as face
    import crossroads.testing as kit

    assert face.World is kit.World and face.RenderedPage is kit.Page and face.Outbox is kit.Outbox
    assert face.OtherPractice is kit.OtherPractice and face.TEST_PASSWORD == kit.PASSWORD
    assert face.make_contact is kit.make_contact and face.add_history is kit.add_history


def test_the_old_private_enum_helper_still_works_with_a_warning_naming_the_new_place():
    from crossroads.core import models
    from crossroads.plugin import enum_column

    with pytest.warns(DeprecationWarning, match=r"crossroads\.plugin\.enum_column") as caught:
        from crossroads.core.models import _enum  # noqa: F401
    assert _enum is enum_column
    assert "goes in Crossroads 0.3" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert models.Client is not None  # the names that did not move do not warn
    with pytest.raises(AttributeError):
        models.no_such_name  # noqa: B018


# -- crossroads plugins warns about installed plugins around the face ------------------------------


def _install(tmp_path: Path, monkeypatch, name: str, files: dict[str, str]) -> None:
    """A distribution on sys.path whose entry point ``name`` names the package ``name``."""
    package = tmp_path / name
    package.mkdir()
    for filename, source in files.items():
        (package / filename).write_text(textwrap.dedent(source))
    info = tmp_path / f"{name}-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0.0\n")
    (info / "entry_points.txt").write_text(f"[crossroads]\n{name} = {name}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)


@pytest.fixture
def installed_plugins(tmp_path, monkeypatch):
    """Two installed plugins: one written against the old names (it still loads), one against the face."""
    _install(
        tmp_path,
        monkeypatch,
        "old_names",
        {
            "__init__.py": """
                from crossroads.core.hookspecs import hookimpl
                from crossroads.core.plugins import Panel

                from . import views  # noqa: F401

                @hookimpl
                def client_panels(client):
                    return Panel("Old", "old_names/panel.html")
                """,
            "views.py": "from crossroads.web.context import scope\nfrom new_names import helpers\n",
        },
    )
    _install(
        tmp_path,
        monkeypatch,
        "new_names",
        {
            "__init__.py": """
                from crossroads.plugin import Panel, hookimpl

                @hookimpl
                def client_panels(client):
                    return Panel("New", "new_names/panel.html")
                """,
            "helpers.py": "",
        },
    )
    yield
    for name in [m for m in sys.modules if m.split(".")[0] in {"old_names", "new_names"}]:
        sys.modules.pop(name)


def test_crossroads_plugins_warns_about_a_plugin_importing_around_the_face(installed_plugins):
    from click.testing import CliRunner

    from crossroads.web.cli import main

    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "old_names 1.0.0" in result.output and "new_names 1.0.0" in result.output  # both still load
    assert (
        "warning: plugin old_names imports Crossroads outside crossroads.plugin; those names may move "
        "or go (see docs/plugins/changes.md):" in result.output
    )
    assert f"old_names/__init__.py:2: crossroads.core.hookspecs.hookimpl: {OUTSIDE}" in result.output
    assert f"old_names/views.py:1: crossroads.web.context.scope: {OUTSIDE}" in result.output
    assert "old_names/views.py:2: new_names.helpers: imports another plugin" in result.output
    assert "plugin new_names" not in result.output
    assert "plugin theme_progress" not in result.output  # the built-in plugins use the face
