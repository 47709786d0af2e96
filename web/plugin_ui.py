"""Plugins' contributions, rendered for a page. Views reach plugins only through here."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    has_request_context,
    render_template,
    request,
)
from flask_login import current_user
from markupsafe import Markup

from crossroads.core.db import utcnow
from crossroads.core.due_entries import due_entries as collect_due_entries
from crossroads.core.models import Client, Conversation
from crossroads.core.outreach.channels import Channel
from crossroads.core.plugin_settings import PluginSettings
from crossroads.core.plugins import CaseloadColumn, DueEntry, HookResult, MenuItem, Panel, PluginManager
from crossroads.core.sources import Importer, SourceRegistry
from crossroads.core.sources import registry as build_source_registry

from .context import crossroads, db, login_manager, scope

log = logging.getLogger(__name__)
timing_log = logging.getLogger("crossroads.plugins.timing")


@dataclass(frozen=True)
class RenderedPanel:
    """A panel ready for the page; ``html`` is None when the plugin failed."""

    plugin: str
    title: str
    html: Markup | None

    @property
    def unavailable(self) -> bool:
        return self.html is None


def enabled_plugins() -> set[str]:
    """Plugins on for the signed-in user's practice (looked up once per request)."""
    if "enabled_plugins" not in g:
        g.enabled_plugins = crossroads().plugins.enabled_for(db(), current_user.practice_id)
    return g.enabled_plugins


def client_panels(client: Client) -> list[RenderedPanel]:
    """Every enabled plugin's panels for ``client``; a failing plugin yields an unavailable panel."""
    return _panels("client_panels", client=client)


def conversation_panels(conversation: Conversation) -> list[RenderedPanel]:
    """Every enabled plugin's panels for a conversation's prep page."""
    return _panels("conversation_panels", conversation=conversation)


@dataclass(frozen=True)
class PluginMenu:
    """Plugins' links for one menu, and the plugins whose ``menu_items`` failed (logged by the manager)."""

    items: list[MenuItem]
    failed: list[str]

    def __iter__(self):
        return iter(self.items)


def menu_items(client: Client | None = None) -> PluginMenu:
    """Links enabled plugins add: to ``client``'s workspace tabs, or (no client) to the staff menu.

    A plugin that fails is named in ``failed``, so the menu can show staff
    that an entry is missing instead of silently leaving it out.
    """
    results = crossroads().plugins.call(
        "menu_items",
        enabled_plugins(),
        expect=MenuItem,
        isolate=db().begin_nested,
        viewer=current_user._get_current_object(),
        client=client,
    )
    return PluginMenu(
        items=[item for result in results for item in result.items],
        failed=[result.plugin for result in results if not result.ok],
    )


def due_entries(client: Client) -> list[DueEntry]:
    """What the plugins on for the practice say is due for ``client`` (the ``due_entries`` hook)."""
    return collect_due_entries(db(), [client], utcnow())[client.id]


@dataclass(frozen=True)
class CaseloadColumns:
    """Plugins' caseload columns, and the plugins whose ``caseload_columns`` failed (logged)."""

    columns: list[CaseloadColumn]
    failed: list[str]


def caseload_columns(clients: list[Client], now: Any) -> CaseloadColumns:
    """The columns enabled plugins add to the caseload table for ``clients``."""
    results = crossroads().plugins.call(
        "caseload_columns",
        enabled_plugins(),
        expect=CaseloadColumn,
        isolate=db().begin_nested,
        scope=scope(),
        clients=clients,
        now=now,
    )
    return CaseloadColumns(
        columns=[column for result in results for column in result.items],
        failed=[result.plugin for result in results if not result.ok],
    )


def channels() -> dict[str, Channel]:
    """The outreach channels of the plugins on for this practice, by name, in plugin order."""
    if "channels" not in g:
        results = crossroads().plugins.call("outreach_channels", enabled_plugins(), expect=Channel)
        g.channels = {c.name: c for r in results for c in r.items}
    return g.channels


def source_registry() -> SourceRegistry:
    """The core's and every installed plugin's contact sources and importers (once per request).

    Switched-off plugins' sources are in it, so their contacts keep their labels.
    """
    if "source_registry" not in g:
        g.source_registry = build_source_registry(crossroads().plugins)
    return g.source_registry


def source_label(name: str | None) -> str:
    """What people read for a contact's stored source, whichever plugin added it (or none)."""
    return source_registry().label(name)


def importers() -> dict[str, Importer]:
    """The importers the import page offers: the core's and those of the plugins on for this practice."""
    return source_registry().importers_for(enabled_plugins())


def settings_schemas() -> dict[str, type[PluginSettings]]:
    """Each installed plugin's settings schema, by plugin name (switched-off plugins included).

    A schema whose ``plugin`` is not the name the plugin is installed under
    is refused (logged): it would read and write another plugin's settings.
    """
    if "settings_schemas" not in g:
        results = crossroads().plugins.call(
            "plugin_settings",
            None,
            expect=lambda value: isinstance(value, type) and issubclass(value, PluginSettings),
        )
        schemas = {}
        for result in results:
            if not result.ok:
                continue
            if result.value.plugin != result.plugin:
                log.error(
                    "plugin %s: its settings schema says plugin = %r; set it to %r",
                    result.plugin,
                    result.value.plugin,
                    result.plugin,
                )
                continue
            schemas[result.plugin] = result.value
        g.settings_schemas = schemas
    return g.settings_schemas


def _panels(hook: str, **kwargs: Any) -> list[RenderedPanel]:
    results = crossroads().plugins.call(
        hook,
        enabled_plugins(),
        expect=Panel,
        isolate=db().begin_nested,
        viewer=current_user._get_current_object(),
        **kwargs,
    )
    rendered = []
    for result in results:
        if not result.ok:
            rendered.append(RenderedPanel(result.plugin, result.plugin.replace("_", " "), None))
            continue
        for panel in result.items:
            try:
                html = Markup(render_template(panel.template, **panel.context))
            except Exception:
                log.exception("plugin %s: panel %r failed to render", result.plugin, panel.title)
                html = None
            rendered.append(RenderedPanel(result.plugin, panel.title, html))
    return rendered


def register_blueprints(app: Flask, plugins: PluginManager) -> None:
    """Mount each plugin's blueprints under ``/plugins/<name>``, behind sign-in and the practice's switch.

    A route of a plugin that the signed-in user's practice has switched off
    answers 404, like any page that is not theirs.
    """
    owners: dict[str, str] = {}  # blueprint name -> plugin name
    for result in plugins.call("blueprints", None, expect=Blueprint):
        # A failed plugin has no items: logged by the manager; the rest of the app starts.
        for blueprint in result.items:
            app.register_blueprint(blueprint, url_prefix=blueprint.url_prefix or f"/plugins/{result.plugin}")
            owners[blueprint.name] = result.plugin
    if owners:
        # On the app, not the blueprint: a plugin's blueprint object is shared by every app built.
        app.before_request(_guard(owners))


def _guard(owners: dict[str, str]):
    def plugin_switched_on():
        plugin = owners.get(request.blueprints[-1]) if request.blueprints else None
        if plugin is None:
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if plugin not in enabled_plugins():
            abort(404)
        return None

    return plugin_switched_on


def record_time(hook_name: str, result: HookResult) -> None:
    """Add a plugin's time in a hook to the request's tally (outside a request, nothing)."""
    if not has_request_context():
        return
    tally: dict[str, list[float]] = g.setdefault("plugin_time", {})
    seconds_and_calls = tally.setdefault(result.plugin, [0.0, 0])
    seconds_and_calls[0] += result.seconds
    seconds_and_calls[1] += 1


def report_time(response: Response) -> Response:
    """Log the time each plugin took in this request; in debug mode, also send it as ``Server-Timing``.

    The log line (logger ``crossroads.plugins.timing``, level INFO) finds a
    slow plugin in production; the header shows it in the browser's developer tools.
    """
    tally: dict[str, list[float]] = g.get("plugin_time") or {}
    if not tally:
        return response
    ranked = sorted(tally.items(), key=lambda item: -item[1][0])
    timing_log.info(
        "plugin time for %s %s: %s",
        request.method,
        request.path,
        ", ".join(f"{name} {seconds * 1000:.1f} ms in {calls} call(s)" for name, (seconds, calls) in ranked),
    )
    if current_app.debug:
        response.headers["Server-Timing"] = ", ".join(
            f'plugin-{name};dur={seconds * 1000:.2f};desc="{name}, {calls} call(s)"'
            for name, (seconds, calls) in ranked
        )
    return response


def register_timing(app: Flask, plugins: PluginManager) -> None:
    """Record each plugin's time per request (see :func:`report_time`)."""
    if record_time not in plugins.observers:
        plugins.observers.append(record_time)
    app.after_request(report_time)
