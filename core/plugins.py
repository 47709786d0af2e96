"""The plugin manager: finds plugins by entry point and calls their hooks one at a time.

This is a thin layer over :mod:`pluggy`. It adds what a multi-tenant web app
needs: hooks run only for plugins switched on for the practice at hand, and
each plugin is called separately so that one that raises, or answers with the
wrong type, is logged and reported as unavailable instead of taking the page
down with it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pluggy
from sqlalchemy.orm import Session

from . import hookspecs
from .services.practices import plugin_states

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "crossroads"
#: Comma-separated plugin names; when set, only these load (to isolate a broken install).
ONLY_ENV = "CROSSROADS_PLUGINS"


@dataclass(frozen=True)
class Panel:
    """A block on a dashboard, contributed by a plugin.

    ``template`` is a path inside the plugin's ``templates/`` folder, such as
    ``"my_plugin/panel.html"``; it is rendered with ``context``.
    """

    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MenuItem:
    """A navigation link contributed by a plugin; ``endpoint`` is a Flask endpoint name."""

    label: str
    endpoint: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HookResult:
    """What one plugin answered to one hook call; ``error`` is set when it failed."""

    plugin: str
    value: Any = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class PluginInfo:
    """An installed plugin, as ``crossroads plugins`` lists it."""

    name: str
    version: str
    source: str
    module: str
    hooks: tuple[str, ...]


class IncompatiblePlugin(Exception):
    """A plugin was built for hooks this Crossroads does not have; it is refused whole."""


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        raise IncompatiblePlugin(f"crossroads_hooks = {text!r} is not a version like '0.3'") from None


#: Called after each plugin's hook call: (hook name, result). The web layer sums them per request.
CallObserver = Callable[[str, "HookResult"], None]


class PluginManager:
    """Loads plugins and calls their hooks with per-plugin isolation."""

    def __init__(self, load_entry_points: bool = True, only: Iterable[str] | None = None):
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._sources: dict[str, tuple[str, str]] = {}
        self.load_errors: dict[str, str] = {}
        self.observers: list[CallObserver] = []
        if only is None and os.environ.get(ONLY_ENV):
            only = [n.strip() for n in os.environ[ONLY_ENV].split(",") if n.strip()]
        self._only = set(only) if only is not None else None
        if load_entry_points:
            self._load_entry_points()

    def _load_entry_points(self) -> None:
        loaded_from: dict[str, str] = {}  # plugin name -> "module" it was loaded from
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if self._only is not None and ep.name not in self._only:
                continue
            if self._pm.has_plugin(ep.name):
                if ep.name in loaded_from and loaded_from[ep.name] == ep.value:
                    continue  # the same package seen twice on the path
                taken_by = self._sources.get(ep.name, ("", "another package"))[1]
                message = f"the name {ep.name!r} is already taken by {taken_by}; rename the entry point"
                log.error("plugin %s (%s) not loaded: %s", ep.name, ep.value, message)
                self.load_errors[f"{ep.name} ({ep.value})"] = message
                continue
            try:
                self.register(ep.load(), ep.name)
            except Exception as exc:  # a broken plugin must not stop Crossroads from starting
                log.exception("plugin %s failed to load", ep.name)
                self.load_errors[ep.name] = f"{type(exc).__name__}: {exc}"
                continue
            loaded_from[ep.name] = ep.value
            dist = ep.dist
            if dist is not None:
                self._sources[ep.name] = (dist.version, dist.name)

    def register(self, plugin: object, name: str) -> None:
        """Register a plugin object under ``name`` (tests and embedding apps use this directly).

        Refuses the whole plugin (:class:`IncompatiblePlugin`, nothing registered)
        when it declares ``crossroads_hooks`` newer than :data:`~crossroads.core.hookspecs.HOOKS_VERSION`,
        or implements a hook this Crossroads does not know, or takes arguments a hook does not pass.
        """
        wanted = getattr(plugin, "crossroads_hooks", None)
        if wanted is not None and _version(str(wanted)) > _version(hookspecs.HOOKS_VERSION):
            raise IncompatiblePlugin(
                f"needs Crossroads hooks {wanted}, but this Crossroads offers {hookspecs.HOOKS_VERSION}; "
                "upgrade Crossroads or install an older release of the plugin"
            )
        try:
            self._pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            if self._pm.is_registered(plugin):  # pluggy keeps the hooks it validated before the bad one
                self._pm.unregister(plugin)
            raise IncompatiblePlugin(" ".join(str(exc).split())) from None
        unknown = [hook.name for hook in self._pm.get_hookcallers(plugin) or [] if not hook.has_spec()]
        if unknown:
            self._pm.unregister(plugin)
            raise IncompatiblePlugin(
                f"implements {', '.join(sorted(unknown))}, which this Crossroads (hooks "
                f"{hookspecs.HOOKS_VERSION}) does not know; upgrade Crossroads or check the name"
            )

    def unregister(self, name: str) -> None:
        self._pm.unregister(name=name)

    @property
    def names(self) -> set[str]:
        """Names of every registered plugin."""
        return {name for name, _ in self._pm.list_name_plugin()}

    def plugins(self) -> list[PluginInfo]:
        """Every registered plugin with its version, source and implemented hooks."""
        infos = []
        for name, plugin in sorted(self._pm.list_name_plugin()):
            version, dist = self._sources.get(name, ("", "registered in code"))
            hooks = tuple(sorted(h.name for h in self._pm.get_hookcallers(plugin) or []))
            module = getattr(plugin, "__name__", type(plugin).__name__)
            infos.append(PluginInfo(name, version or "-", dist, module, hooks))
        return infos

    def template_folders(self) -> list[Path]:
        """The ``templates/`` folder beside each plugin module that has one."""
        folders = []
        for _, plugin in sorted(self._pm.list_name_plugin()):
            module_file = getattr(plugin, "__file__", None)
            if module_file and (folder := Path(module_file).parent / "templates").is_dir():
                folders.append(folder)
        return folders

    def migration_folders(self) -> list[Path]:
        """The ``migrations/`` folder beside each plugin module that ships tables (Alembic versions)."""
        folders = []
        for _, plugin in sorted(self._pm.list_name_plugin()):
            module_file = getattr(plugin, "__file__", None)
            if module_file and (folder := Path(module_file).parent / "migrations").is_dir():
                folders.append(folder)
        return folders

    def enabled_for(self, session: Session, practice_id: int) -> set[str]:
        """Names of the plugins on for a practice; a plugin is on until the owner switches it off."""
        states = plugin_states(session, practice_id)
        return {name for name in self.names if states.get(name, True)}

    def call(
        self,
        hook_name: str,
        enabled: set[str] | None,
        expect: Callable[[Any], bool] | None = None,
        isolate: Callable[[], AbstractContextManager[Any]] | None = None,
        **kwargs: Any,
    ) -> list[HookResult]:
        """Call ``hook_name`` on each enabled plugin, in pluggy's order, one plugin at a time.

        ``enabled`` limits the call to those plugin names (``None`` calls all).
        ``expect`` checks each answer; an answer it rejects is reported as an
        error like an exception would be. ``None`` answers are left out.
        ``isolate`` wraps each plugin's call (the web layer passes a database
        savepoint, so a plugin's failed SQL does not abort the page's transaction).
        """
        caller = getattr(self._pm.hook, hook_name)
        results = []
        # pluggy keeps implementations in reverse call order.
        for impl in reversed(caller.get_hookimpls()):
            if enabled is not None and impl.plugin_name not in enabled:
                continue
            started = time.perf_counter()
            try:
                args = {name: kwargs[name] for name in impl.argnames}
                with isolate() if isolate else nullcontext():
                    value = impl.function(**args)
                if value is not None and expect is not None and not expect(value):
                    raise TypeError(f"returned {type(value).__name__}, which {hook_name} does not take")
            except Exception as exc:
                log.exception("plugin %s failed in %s", impl.plugin_name, hook_name)
                result = HookResult(
                    impl.plugin_name,
                    error=f"{type(exc).__name__}: {exc}",
                    seconds=time.perf_counter() - started,
                )
            else:
                result = HookResult(impl.plugin_name, value=value, seconds=time.perf_counter() - started)
            log.debug("plugin %s spent %.1f ms in %s", result.plugin, result.seconds * 1000, hook_name)
            for observe in self.observers:
                observe(hook_name, result)
            if result.error is not None or result.value is not None:
                results.append(result)
        return results
