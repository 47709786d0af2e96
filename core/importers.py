"""The core's own contact sources and importers, answered as a plugin answers ``contact_sources``.

:func:`crossroads.core.sources.registry` puts this answer first, then every
plugin's, and treats them alike: the import page, ``crossroads
import-contacts`` and the import service know no importer by name.
"""

from __future__ import annotations

from .hookspecs import hookimpl
from .linkedin import ConnectionsImporter, OlderConnectionsImporter
from .models import SOURCE_LABELS
from .sources import Importer, Source
from .vcard import VCardImporter

#: The core's importers, in the order the import page offers them.
IMPORTERS: tuple[Importer, ...] = (ConnectionsImporter(), OlderConnectionsImporter(), VCardImporter())


@hookimpl
def contact_sources() -> list[Source | Importer]:
    """The core's sources (``ContactSource``, labelled by ``SOURCE_LABELS``) and importers."""
    return [*(Source(member.value, label) for member, label in SOURCE_LABELS.items()), *IMPORTERS]
