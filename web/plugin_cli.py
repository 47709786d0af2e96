"""Plugins on the command line: their commands under ``crossroads``, and the ``plugins`` listing."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

import click

from crossroads.core.import_rules import FACE, Problem, package_problems, plugin_problems
from crossroads.core.plugins import PluginInfo, PluginManager

log = logging.getLogger(__name__)


class PluginCommandsGroup(click.Group):
    """A click group that adds the commands plugins return from ``cli_commands``.

    Built-in commands always win: a plugin command with a taken name is
    refused with a warning, so a plugin cannot replace ``db`` or ``serve``.
    Plugins are loaded only when a name is not built in, or for ``--help``;
    from the installed entry points, or from a :class:`PluginManager` passed
    as the context's ``obj`` (tests do).
    """

    def plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        """The plugins' commands by name (loaded once per invocation)."""
        if "crossroads.plugin_commands" not in ctx.meta:
            built_in = set(super().list_commands(ctx))
            found: dict[str, click.Command] = {}
            manager = ctx.obj if isinstance(ctx.obj, PluginManager) else PluginManager()
            for result in manager.call("cli_commands", None, expect=click.Command):
                for command in result.items:  # a failed plugin has none (logged by the manager)
                    if command.name in built_in or command.name in found:
                        log.warning(
                            "plugin %s: command %r refused; the name is taken", result.plugin, command.name
                        )
                        continue
                    found[command.name] = command
            ctx.meta["crossroads.plugin_commands"] = found
        return ctx.meta["crossroads.plugin_commands"]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.plugin_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or self.plugin_commands(ctx).get(cmd_name)


def _package_of(module_name: str) -> tuple[str, Path] | None:
    """A plugin module's own package (its name and folder; for a lone module, the module and its file)."""
    try:
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
    except Exception:  # registered in code, or gone: nothing to read
        return None
    file = getattr(module, "__file__", None)
    if not file:
        return None
    if hasattr(module, "__path__"):  # the entry point names a package
        return module.__name__, Path(file).parent
    parent = module.__name__.rpartition(".")[0]
    if parent:  # a module inside a package: the package is the plugin's
        return parent, Path(file).parent
    return module.__name__, Path(file)


def import_problems(infos: list[PluginInfo]) -> dict[str, list[Problem]]:
    """Each installed plugin's imports that go around the public face, ``crossroads.plugin``
    (the rules of :mod:`crossroads.core.import_rules`, read from its source, never run)."""
    packages = {info.name: found for info in infos if (found := _package_of(info.module))}
    problems: dict[str, list[Problem]] = {}
    for name, (package, path) in packages.items():
        others = [other for other_name, (other, _) in packages.items() if other_name != name]
        if path.is_dir():
            found = package_problems(path, package, others, root=path.parent)
        else:
            source = path.read_text(encoding="utf-8")
            found = plugin_problems(source, package, package, others, path=path.name)
        if found:
            problems[name] = found
    return problems


def warn_about_imports(infos: list[PluginInfo]) -> None:
    """Warn (on stderr) about installed plugins that import Crossroads around its public face."""
    for name, problems in import_problems(infos).items():
        click.echo(
            f"warning: plugin {name} imports Crossroads outside {FACE}; those names may move or go "
            "(see docs/plugins/changes.md):",
            err=True,
        )
        for problem in problems:
            click.echo(f"  {problem}", err=True)
