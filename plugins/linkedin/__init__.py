"""Placeholder: being built."""
