"""Moved to :mod:`crossroads.core.outreach.transports`; this old path warns and goes in Crossroads 0.3."""

from crossroads.core.deprecation import forward

forward(__name__)
