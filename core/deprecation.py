"""Old module paths kept for one release: each shim warns once, then stands for the module's new place.

A module that moves leaves a two-line shim at its old path that calls :func:`forward`. Importing
the old path raises a ``DeprecationWarning`` naming the new place and the release the old one goes
in, and hands the importer the new module itself (``sys.modules`` maps the old name to it), so every
name, private ones and later monkeypatching included, is the same object under both names.
``docs/plugins/changes.md`` lists the moves; ``tests/test_module_paths.py`` holds the repository
itself to the new paths and proves each shim.
"""

from __future__ import annotations

import importlib
import sys
import warnings

#: Old module path -> (its new place, the release in which the old path goes).
MOVED_MODULES: dict[str, tuple[str, str]] = {
    "crossroads.core.channels": ("crossroads.core.outreach.channels", "0.3"),
    "crossroads.core.checks": ("crossroads.core.outreach.checks", "0.3"),
    "crossroads.core.templating": ("crossroads.core.outreach.templating", "0.3"),
    "crossroads.core.followups": ("crossroads.core.outreach.followups", "0.3"),
    "crossroads.core.transports": ("crossroads.core.outreach.transports", "0.3"),
    "crossroads.core.services.outreach": ("crossroads.core.outreach.service", "0.3"),
}


def forward(old: str) -> None:
    """Warn that module ``old`` moved, and make its import give the module at its new place."""
    new, release = MOVED_MODULES[old]
    warnings.warn(
        f"{old} is deprecated and goes in Crossroads {release}; it moved to {new} "
        "(a plugin imports from crossroads.plugin)",
        DeprecationWarning,
        stacklevel=3,  # the module importing the shim (warnings skips the import machinery's frames)
    )
    sys.modules[old] = importlib.import_module(new)
