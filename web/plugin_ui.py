"""Plugins' contributions, rendered for a page. Views reach plugins only through here."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import g, render_template
from flask_login import current_user
from markupsafe import Markup

from crossroads.core.models import Client
from crossroads.core.plugins import Panel

from .context import crossroads, db

log = logging.getLogger(__name__)


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


def _is_panels(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    return all(isinstance(item, Panel) for item in items)


def client_panels(client: Client) -> list[RenderedPanel]:
    """Every enabled plugin's panels for ``client``; a failing plugin yields an unavailable panel."""
    results = crossroads().plugins.call(
        "client_panels",
        enabled_plugins(),
        expect=_is_panels,
        isolate=db().begin_nested,
        client=client,
        viewer=current_user._get_current_object(),
    )
    rendered = []
    for result in results:
        if not result.ok:
            rendered.append(RenderedPanel(result.plugin, result.plugin.replace("_", " "), None))
            continue
        for panel in result.value if isinstance(result.value, list) else [result.value]:
            try:
                html = Markup(render_template(panel.template, **panel.context))
            except Exception:
                log.exception("plugin %s: panel %r failed to render", result.plugin, panel.title)
                html = None
            rendered.append(RenderedPanel(result.plugin, panel.title, html))
    return rendered
