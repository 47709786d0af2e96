"""crossroads.testing: pytest fixtures for testing a Crossroads plugin (registered as a pytest plugin)."""
