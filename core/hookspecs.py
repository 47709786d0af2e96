"""The hooks a Crossroads plugin may implement.

A plugin is a module (or object) registered under the entry-point group
``crossroads``; its functions are marked with :data:`hookimpl` and named
after the specifications below. Built-in plugins use exactly this contract.

Every hook is called through :class:`crossroads.core.plugins.PluginManager`,
which calls each plugin separately: a plugin that raises, or returns the
wrong type, is logged and its part is shown as unavailable, while the rest of
the page renders. Hooks run only for plugins the practice has switched on.

The plugin author's reference in ``docs/plugins/hooks.md`` is generated from
this module's docstrings (``python -m crossroads.core.hookdocs``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .models import Client, User
    from .plugins import Panel

PROJECT = "crossroads"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorate a plugin's hook functions with this.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def client_panels(client: Client, viewer: User) -> Panel | list[Panel] | None:
    """Panels for a client's dashboard.

    Called when the client's home page, or a coach's page about that client,
    is rendered. ``client`` is the :class:`~crossroads.core.models.Client`
    being shown and ``viewer`` the signed-in :class:`~crossroads.core.models.User`
    (the client themself, their coach, or the practice owner); the objects belong to the viewer's
    practice and are already scoped. Do not change them here.

    Return a :class:`~crossroads.core.plugins.Panel`, a list of them, or
    ``None`` for nothing. A panel names a template of the plugin's own
    (kept in a ``templates/`` folder beside the plugin module, under a folder
    named after the plugin) and the context to render it with.

    Since: 0.1.
    """
