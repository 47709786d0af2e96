"""Plugins on the command line: their commands under ``crossroads``, and the ``plugins`` listing."""

from __future__ import annotations

import logging

import click

from crossroads.core.plugins import PluginManager

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
