"""The practice's plugins, on or off (the owner's)."""

from __future__ import annotations

from typing import Any

from crossroads.core.errors import NotFound
from crossroads.core.models import Role
from crossroads.core.schemas.api import PluginStateSchema, PluginStateShape
from crossroads.core.services.practices import set_plugin_enabled

from ..context import crossroads
from .conventions import api_scope
from .strict import ApiBlueprint as Blueprint

bp = Blueprint("api_practice", __name__, description="The practice's settings (owner).")


def _owner() -> None:
    if api_scope().user.role != Role.OWNER:
        raise NotFound("the practice's settings are the owner's")


def _states() -> list[dict[str, Any]]:
    plugins = crossroads().plugins
    enabled = plugins.enabled_for(api_scope().session, api_scope().practice_id)
    return [{"name": info.name, "enabled": info.name in enabled} for info in plugins.plugins()]


@bp.route("/practice/plugins", methods=["GET"])
@bp.response(200, PluginStateShape(many=True))
def list_plugins():
    """Every installed plugin and whether it is on for the practice."""
    _owner()
    return _states()


@bp.route("/practice/plugins/<name>", methods=["PUT"])
@bp.arguments(PluginStateSchema)
@bp.response(200, PluginStateShape)
def set_plugin(data: dict[str, Any], name: str):
    """Switch a plugin on or off for the practice."""
    _owner()
    installed = {info.name for info in crossroads().plugins.plugins()}
    if name not in installed:
        raise NotFound(name)
    set_plugin_enabled(api_scope(), name, data["enabled"], installed)
    return next(state for state in _states() if state["name"] == name)
