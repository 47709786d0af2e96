"""The plugin manager: finds plugins by entry point and calls their hooks one at a time.

This is a thin layer over :mod:`pluggy`. It adds what a multi-tenant web app
needs: hooks run only for plugins switched on for the practice at hand, and
each plugin is called separately so that one that raises, or answers with the
wrong type, is logged and reported as unavailable instead of taking the page
down with it.

Each plugin's call still goes through pluggy's own machinery (the hook
caller's ``_hookexec``, with that plugin's implementation and the enabled
plugins' wrappers), so hook wrappers (``@hookimpl(wrapper=True)``), pluggy's
``add_hookcall_monitoring`` (and :data:`TRACE_ENV` tracing, built on it) and
``warn_on_impl`` deprecations behave as pluggy documents them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pluggy
from sqlalchemy.orm import Session

from . import hookspecs
from .services.practices import plugin_states

log = logging.getLogger(__name__)
trace_log = logging.getLogger("crossroads.plugins.trace")

ENTRY_POINT_GROUP = "crossroads"
#: Comma-separated plugin names; when set, only these load (to isolate a broken install).
ONLY_ENV = "CROSSROADS_PLUGINS"
#: ``1`` logs every hook call (plugin, hook, time, outcome) to ``crossroads.plugins.trace`` at INFO.
TRACE_ENV = "CROSSROADS_TRACE_HOOKS"

#: What a hook's answers must be: a type (or tuple of types) for a "one or a list" hook, or a predicate.
Expect = type | tuple[type, ...] | Callable[[Any], bool] | None


def as_items(value: Any, kind: type | tuple[type, ...] | None = None) -> list[Any]:
    """A "one or a list" hook answer as a list (``None`` is ``[]``); with ``kind``, every item is checked.

    Raises :class:`TypeError` naming the first item that is not a ``kind``.
    The one normaliser for hooks such as ``client_panels`` or ``scheduled_jobs``.
    """
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if kind is not None:
        for item in items:
            if not isinstance(item, kind):
                raise TypeError(f"{type(item).__name__} is not {_kind_name(kind)}")
    return items


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(f"a {k.__name__}" for k in kinds)


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
class DueEntry:
    """One thing a plugin says is due for a client, shown in their due list and daily reminder.

    ``label`` is one line of plain text; ``due_on`` the client's own calendar date; ``kind`` a
    short name of the plugin's own (marks the entry on the page, ``data-kind``). ``open_endpoint``
    and ``open_values`` link to where it is; ``done_endpoint`` and ``done_values``, when set,
    name a POST route that ticks it off (the due list shows the client a button).
    """

    client_id: int
    label: str
    due_on: date
    overdue: bool
    kind: str = "plugin"
    open_endpoint: str | None = None
    open_values: dict[str, Any] = field(default_factory=dict)
    done_endpoint: str | None = None
    done_values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseloadColumn:
    """A column a plugin adds to the caseload: a ``label`` and each client's cell, by client id.

    ``key`` names the column (``data-column`` on the page); a client missing from ``cells`` shows
    ``empty``; clients in ``flagged`` are marked for attention (a badge, as the core's "overdue").
    """

    key: str
    label: str
    cells: dict[int, str]
    flagged: frozenset[int] = frozenset()
    empty: str = "0"


@dataclass(frozen=True)
class HookResult:
    """What one plugin answered to one hook call; ``error`` is set when it failed."""

    plugin: str
    value: Any = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the plugin answered without failing."""
        return self.error is None

    @property
    def items(self) -> list[Any]:
        """The answer as a list (see :func:`as_items`); empty when the plugin failed."""
        return as_items(self.value) if self.ok else []


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

    def __init__(
        self, load_entry_points: bool = True, only: Iterable[str] | None = None, trace: bool | None = None
    ):
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._sources: dict[str, tuple[str, str]] = {}
        self.load_errors: dict[str, str] = {}
        #: Deprecation warnings raised while registering each plugin (a deprecated hook it implements).
        self.load_warnings: dict[str, list[str]] = {}
        self.observers: list[CallObserver] = []
        if only is None and os.environ.get(ONLY_ENV):
            only = [n.strip() for n in os.environ[ONLY_ENV].split(",") if n.strip()]
        self._only = set(only) if only is not None else None
        if trace is None:
            trace = os.environ.get(TRACE_ENV, "").strip().lower() in ("1", "true", "yes", "on")
        if trace:
            self.add_hookcall_monitoring(*_tracers())
        if load_entry_points:
            self._load_entry_points()

    def add_hookcall_monitoring(
        self,
        before: Callable[[str, list[pluggy.HookImpl], dict[str, Any]], None],
        after: Callable[[pluggy.Result[Any], str, list[pluggy.HookImpl], dict[str, Any]], None],
    ) -> Callable[[], None]:
        """pluggy's :meth:`~pluggy.PluginManager.add_hookcall_monitoring`: ``before`` and ``after`` each call.

        Every plugin's call is one pluggy call, so ``hook_impls`` holds that
        plugin's implementation and the wrappers around it. Returns an undo function.
        """
        return self._pm.add_hookcall_monitoring(before, after)

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
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", DeprecationWarning)
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
        for warning in caught:
            # pluggy's warn_on_impl: keep it, log it (the default filters hide DeprecationWarning
            # outside __main__), and pass it on so that tests and -W options see it.
            message = str(warning.message)
            self.load_warnings.setdefault(name, []).append(message)
            log.warning("plugin %s: %s (%s:%s)", name, message, warning.filename, warning.lineno)
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)

    def unregister(self, name: str) -> None:
        """Remove the plugin registered under ``name``."""
        self._pm.unregister(name=name)
        self.load_warnings.pop(name, None)

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
        expect: Expect = None,
        isolate: Callable[[], AbstractContextManager[Any]] | None = None,
        **kwargs: Any,
    ) -> list[HookResult]:
        """Call ``hook_name`` on each enabled plugin, in pluggy's order, one plugin at a time.

        ``enabled`` limits the call to those plugin names (``None`` calls all).
        ``expect`` checks each answer: a type (or tuple of types) for a hook
        answering one object or a list of them (checked item by item with
        :func:`as_items`; read them back with :attr:`HookResult.items`), or a
        predicate. An answer it rejects is reported as an error like an
        exception would be. ``None`` answers are left out.
        ``isolate`` wraps each plugin's call (the web layer passes a database
        savepoint, so a plugin's failed SQL does not abort the page's transaction).

        Each plugin is called through pluggy with its own implementation and
        the wrappers of the enabled plugins around it: a wrapper sees (and may
        change) one plugin's answer at a time, as a list (empty for ``None``).
        A hook marked ``firstresult`` stops at the first plugin that answers.
        An event that replaced a deprecated one (:data:`~crossroads.core.hookspecs.FORWARDED`)
        also calls the old hook's implementations of plugins that have not moved to the new one.
        """
        results = self._call_each(hook_name, enabled, expect, isolate, kwargs)
        forward = hookspecs.FORWARDED.get(hook_name)
        if forward is not None:
            old_name, extra = forward
            moved = {impl.plugin_name for impl in getattr(self._pm.hook, hook_name).get_hookimpls()}
            still_old = (self.names if enabled is None else set(enabled)) - moved
            if still_old:
                results += self._call_each(old_name, still_old, expect, isolate, {**kwargs, **extra})
        return results

    def _call_each(
        self,
        hook_name: str,
        enabled: set[str] | None,
        expect: Expect,
        isolate: Callable[[], AbstractContextManager[Any]] | None,
        kwargs: dict[str, Any],
    ) -> list[HookResult]:
        caller: pluggy.HookCaller = getattr(self._pm.hook, hook_name)
        firstresult = bool(caller.spec and caller.spec.opts.get("firstresult"))
        impls = [i for i in caller.get_hookimpls() if enabled is None or i.plugin_name in enabled]
        # pluggy keeps implementations in reverse call order, wrappers after the plain ones.
        wrappers = [i for i in impls if i.wrapper or i.hookwrapper]
        results = []
        for impl in reversed(impls):
            if impl.wrapper or impl.hookwrapper:
                continue
            started = time.perf_counter()
            try:
                with isolate() if isolate else nullcontext():
                    # The hook caller's own executor: what pm.hook.<name>() runs, monitoring and all.
                    answer = self._pm._hookexec(hook_name, [impl, *wrappers], kwargs, firstresult)
                value = answer if firstresult else _one_answer(answer)
                _check(value, expect, hook_name)
            except Exception as exc:
                culprit = _culprit(exc, [impl, *wrappers]) or impl.plugin_name
                wrapping = f" (wrapping plugin {impl.plugin_name})" if culprit != impl.plugin_name else ""
                log.exception("plugin %s failed in %s%s", culprit, hook_name, wrapping)
                error = f"{type(exc).__name__}: {exc}"
                result = HookResult(
                    impl.plugin_name,
                    error=f"{culprit}'s wrapper: {error}" if wrapping else error,
                    seconds=time.perf_counter() - started,
                )
            else:
                result = HookResult(impl.plugin_name, value=value, seconds=time.perf_counter() - started)
            log.debug("plugin %s spent %.1f ms in %s", result.plugin, result.seconds * 1000, hook_name)
            for observe in self.observers:
                observe(hook_name, result)
            if result.error is not None or result.value is not None:
                results.append(result)
                if firstresult and result.ok:
                    break
        return results


def _one_answer(answer: list[Any]) -> Any:
    """One plugin's answer from pluggy's list: ``None``, the one item, or a list if a wrapper added some."""
    if not answer:
        return None
    if len(answer) == 1:
        return answer[0]
    return [item for part in answer for item in as_items(part)]


def _culprit(exc: BaseException, impls: list[pluggy.HookImpl]) -> str | None:
    """The plugin whose function raised ``exc``: the deepest frame that is one of ``impls``' functions."""
    codes = {impl.function.__code__: impl.plugin_name for impl in impls if hasattr(impl.function, "__code__")}
    found = None
    tb = exc.__traceback__
    while tb is not None:
        found = codes.get(tb.tb_frame.f_code, found)
        tb = tb.tb_next
    return found


def _check(value: Any, expect: Expect, hook_name: str) -> None:
    if value is None or expect is None:
        return
    if isinstance(expect, type | tuple):
        for item in as_items(value):
            if not isinstance(item, expect):
                wanted = _kind_name(expect)
                raise TypeError(
                    f"returned {type(item).__name__}, which {hook_name} does not take (it takes {wanted})"
                )
    elif not expect(value):
        raise TypeError(f"returned {type(value).__name__}, which {hook_name} does not take")


def _tracers() -> tuple[Callable[..., None], Callable[..., None]]:
    """``before`` and ``after`` for pluggy's monitoring: one log line per plugin call, with its time."""
    local = threading.local()

    def before(hook_name: str, hook_impls: list[pluggy.HookImpl], kwargs: dict[str, Any]) -> None:
        local.__dict__.setdefault("starts", []).append(time.perf_counter())

    def after(
        outcome: pluggy.Result[Any], hook_name: str, hook_impls: list[pluggy.HookImpl], kwargs: dict[str, Any]
    ) -> None:
        ms = (time.perf_counter() - local.starts.pop()) * 1000
        plain = [i.plugin_name for i in hook_impls if not (i.wrapper or i.hookwrapper)]
        wrapped = [i.plugin_name for i in hook_impls if i.wrapper or i.hookwrapper]
        if outcome.exception is not None:
            what = f"raised {type(outcome.exception).__name__}"
        else:
            what = _describe(outcome.get_result())
        trace_log.info(
            "hook %s(%s): %s %.2f ms%s, %s",
            hook_name,
            ", ".join(kwargs),  # names only: the values hold people's data
            ", ".join(plain) or "(no plugin)",
            ms,
            f" (wrapped by {', '.join(wrapped)})" if wrapped else "",
            what,
        )

    return before, after


def _describe(answer: Any) -> str:
    """What a call answered, by type only: ``answered Panel``, ``answered 2 items (Section)``."""
    items = [item for part in (answer if isinstance(answer, list) else [answer]) for item in as_items(part)]
    if not items:
        return "answered nothing"
    kinds = ", ".join(sorted({type(item).__name__ for item in items}))
    return f"answered {len(items)} items ({kinds})" if len(items) > 1 else f"answered {kinds}"
