"""Recording that a client did something, for the caseload's "last activity"."""

from __future__ import annotations

from datetime import datetime

from ..db import utcnow
from ..models import Client


def touch(client: Client, when: datetime | None = None) -> None:
    """Mark ``client`` as active now (the caller commits)."""
    client.last_activity_at = when or utcnow()
