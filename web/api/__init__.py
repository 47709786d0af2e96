"""The JSON API under ``/api/v1``: flask-smorest blueprints, one module per group of resources.

Inputs are loaded with the forms' own marshmallow schemas and answered in the shapes of
``crossroads.core.schemas.api``; every request is a personal access token's (never a session
cookie's) and goes through the same :class:`~crossroads.core.scoping.Scope` and services as the
pages. The OpenAPI 3.1 document (``/api/v1/openapi.json``) and its reference page
(``/api/v1/docs``) are generated from the blueprints, plugins' included (the ``api_blueprints``
hook).
"""

from __future__ import annotations

from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app, jsonify, render_template
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.spec.plugins import integerconverter2paramschema
from werkzeug.routing import IntegerConverter

from crossroads.core.plugins import PluginManager
from crossroads.core.schemas.api import ProblemShape

from . import banks, clients, contacts, conversations, me, practice, progress, webhooks
from .conventions import (
    PREFIX,
    PROBLEM,
    RateLimiter,
    authenticate_request,
    conditional,
    handle_error,
    is_api_request,
)
from .strict import ApiBlueprint

#: The core's API blueprints, in the order the reference shows them.
CORE_BLUEPRINTS = (
    me.bp,
    clients.bp,
    contacts.bp,
    conversations.bp,
    banks.bp,
    progress.bp,
    practice.bp,
    webhooks.bp,
)


def schema_name(schema: Any) -> str:
    """A schema's name in the document: the class's, with ``Patch`` for a partial (PATCH) body."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    if not isinstance(schema, type) and schema.partial:
        name += "Patch"
    if not isinstance(schema, type) and schema.many:
        name += "List"
    return name


class CrossroadsApi(Api):
    """flask-smorest's Api, answering errors as problem details for API requests only."""

    ERROR_SCHEMA = ProblemShape

    def _register_error_handlers(self) -> None:
        """Not app-wide: the pages keep their own error pages (see :func:`_problem_handlers`)."""


def register(app: Flask, plugins: PluginManager, csrf: Any) -> None:
    """Mount the API on ``app``: the core's resources and each plugin's ``api_blueprints``."""
    app.config.update(
        API_TITLE="Crossroads API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX=None,  # the document and its page are served below, from the same spec
    )
    api = CrossroadsApi(
        app,
        spec_kwargs={
            "info": {
                "description": "Crossroads' JSON API. Authenticate with a personal access token "
                "(Authorization: Bearer crt_...) created on your account page."
            },
            "servers": [{"url": "/"}],
            "security": [{"token": []}],
            "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name),
        },
    )
    api.spec.components.security_scheme("token", {"type": "http", "scheme": "bearer"})
    for converter in app.url_map.converters.values():
        if isinstance(converter, type) and issubclass(converter, IntegerConverter):
            api.register_converter(converter, integerconverter2paramschema)
    for blueprint in CORE_BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix=PREFIX)
        csrf.exempt(blueprint)
    owners: dict[str, str] = {}
    for result in plugins.call("api_blueprints", None, expect=SmorestBlueprint):
        for blueprint in result.items:
            api.register_blueprint(blueprint, url_prefix=f"{PREFIX}/plugins/{result.plugin}")
            csrf.exempt(blueprint)
            owners[blueprint.name] = result.plugin
    app.extensions["crossroads_api"] = api
    app.extensions["crossroads_api_limiter"] = RateLimiter()
    app.extensions["crossroads_api_plugins"] = owners
    app.before_request(authenticate_request)
    app.after_request(conditional)
    app.add_url_rule(f"{PREFIX}/openapi.json", "api_openapi", openapi_json)
    app.add_url_rule(f"{PREFIX}/docs", "api_docs", reference_page)
    _problem_handlers(app)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document, errors declared as ``application/problem+json``."""
    spec = current_app.extensions["crossroads_api"].spec.to_dict()
    for response in spec.get("components", {}).get("responses", {}).values():
        content = response.get("content", {})
        if "application/json" in content:
            content[PROBLEM] = content.pop("application/json")
    return spec


def openapi_json():
    return jsonify(openapi_document())


def reference_page():
    """The readable reference: every operation, its parameters and answers, from the same document."""
    return render_template("api/reference.html", spec=openapi_document())


def _problem_handlers(app: Flask) -> None:
    """Every error handler of the app answers an API request with problem details instead."""

    def api_aware(page_handler):
        def handler(exc: Exception):
            if is_api_request():
                return handle_error(exc)
            if page_handler is not None:
                return page_handler(exc)
            from werkzeug.exceptions import HTTPException

            if isinstance(exc, HTTPException):
                return exc
            raise exc

        return handler

    for handlers in app.error_handler_spec[None].values():
        for cls, page_handler in list(handlers.items()):
            handlers[cls] = api_aware(page_handler)
    app.register_error_handler(Exception, api_aware(None))


__all__ = ["ApiBlueprint", "register", "openapi_document"]
