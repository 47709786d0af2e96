"""Crossroads' built-in plugins. Each registers through the ``crossroads`` entry-point group."""
