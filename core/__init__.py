"""Crossroads core: the domain of informational interviews, free of any web or plugin code."""
