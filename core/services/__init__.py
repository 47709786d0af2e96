"""Domain services: plain functions that take a session or a :class:`~crossroads.core.scoping.Scope`.

Views call these; so do the CLI and tests. Each service commits its own unit of work.
The outreach service lives with the rest of outreach, in :mod:`crossroads.core.outreach.service`.
"""
