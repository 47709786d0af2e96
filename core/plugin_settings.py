"""Per-practice plugin settings: a plugin declares a marshmallow schema; the owner fills it in.

A plugin returns a :class:`PluginSettings` subclass from its ``plugin_settings``
hook. The owner's plugin page renders a form from the schema's fields,
validates with it (:func:`save`) and stores the values in the practice's
:class:`~crossroads.core.models.PracticePlugin` row. The plugin reads them with
one call, ``YourSettings.read(session, practice_id)``.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import Forbidden
from .models import PracticePlugin, Role
from .schemas import CleanSchema, load
from .scoping import Scope

log = logging.getLogger(__name__)


class PluginSettings(CleanSchema):
    """Base of a plugin's settings schema; set :attr:`plugin` to the plugin's entry-point name.

    Give each field a ``load_default`` (the value before the owner sets one)
    and, in ``metadata``, a ``label`` and a ``description`` for the form.
    """

    #: The plugin's name, as in its ``crossroads`` entry point.
    plugin: ClassVar[str] = ""

    @classmethod
    def read(cls, session: Session, practice_id: int) -> dict[str, Any]:
        """This practice's settings, with defaults for fields never set.

        A stored value the schema no longer accepts (the plugin changed) is
        replaced by its default and logged, rather than breaking the plugin.
        """
        stored = session.scalar(
            select(PracticePlugin.settings).where(
                PracticePlugin.practice_id == practice_id, PracticePlugin.plugin_name == cls.plugin
            )
        )
        return _load_leniently(cls(), dict(stored or {}))


def _load_leniently(schema: Schema, stored: dict[str, Any]) -> dict[str, Any]:
    known = {name: value for name, value in stored.items() if name in schema.fields}
    try:
        return schema.load(known)
    except ValidationError as exc:
        log.warning("plugin %s: stored settings no longer valid: %s", type(schema).__name__, exc.messages)
        bad = set(exc.messages) if isinstance(exc.messages, dict) else set(known)
        return schema.load({name: value for name, value in known.items() if name not in bad})


def save(scope: Scope, schema_class: type[PluginSettings], data: dict[str, Any]) -> dict[str, Any]:
    """The owner saves a plugin's settings for their practice from raw input; errors name the field."""
    return store(scope, schema_class, load(schema_class(), data))


def store(scope: Scope, schema_class: type[PluginSettings], values: dict[str, Any]) -> dict[str, Any]:
    """Store settings already loaded (validated) with ``schema_class``; owner only."""
    if scope.user.role != Role.OWNER:
        raise Forbidden("only the owner changes plugin settings")
    schema = schema_class()
    row = scope.session.scalar(
        scope.select(PracticePlugin).where(PracticePlugin.plugin_name == schema_class.plugin)
    )
    if row is None:
        row = PracticePlugin(practice_id=scope.practice_id, plugin_name=schema_class.plugin, enabled=True)
        scope.session.add(row)
    row.settings = schema.dump(values)
    scope.session.commit()
    return values
