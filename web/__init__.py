"""Crossroads' web layer: the Flask app factory and its blueprints."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from crossroads.core.config import Settings
from crossroads.core.db import make_engine, make_sessionmaker
from crossroads.core.locking import new_form_token
from crossroads.core.mail.queue import make_queue
from crossroads.core.migrate import ensure_current
from crossroads.core.plugins import PluginManager
from crossroads.core.schemas import MAX_ID
from crossroads.core.security import LinkSigner

from . import (
    api,
    api_tokens,
    audit,
    auth,
    banks,
    calendar_feed,
    client,
    client_data,
    coach,
    contacts,
    conversations,
    demo_mail,
    errors,
    filters,
    headers,
    inbound,
    navigation,
    notifications,
    ops,
    outreach,
    plugin_ui,
    practice,
    reminders,
    themes,
)
from .context import Crossroads, close_session, login_manager


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in a route: a positive id no larger than a database integer."""

    def __init__(self, url_map, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, **kwargs)


def create_app(
    settings: Settings | None = None,
    plugins: PluginManager | None = None,
    check_schema: bool = True,
) -> Flask:
    """Build the Flask app.

    Refuses to start (raising :class:`~crossroads.core.errors.SchemaOutOfDate`)
    when the database is behind the code, unless ``check_schema`` is off.
    """
    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_path=str(settings.instance_path))
    # An id too large for the database is simply not found, rather than an error from the driver.
    app.url_map.converters["int"] = RowIdConverter
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=11 * 1024 * 1024,  # a 10 MB import plus the form around it
    )
    if settings.trusted_proxies:
        # Behind TLS-terminating proxies: trust their headers for the client address and scheme,
        # which the login throttle and the CSRF referrer check depend on.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    engine = make_engine(settings.database_url)
    if check_schema:
        ensure_current(engine)
    plugins = plugins if plugins is not None else PluginManager()
    app.extensions["crossroads"] = Crossroads(
        settings=settings,
        engine=engine,
        sessionmaker=make_sessionmaker(engine),
        plugins=plugins,
        signer=LinkSigner(settings.secret_key),
        queue=make_queue(settings, plugins),
    )
    # A deployment's own templates (the instance folder's templates/) come first, so it can
    # override any page or plugin part; plugins' templates come after the app's.
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(settings.instance_path / "templates")),
            app.jinja_loader,
            *(FileSystemLoader(str(f)) for f in plugins.template_folders()),
        ]
    )

    navigation.refuse_other_hosts(app, settings.trusted_hosts)
    login_manager.init_app(app)
    csrf = CSRFProtect(app)
    csrf.exempt(inbound.bp)  # authenticated by the practice's secret, posted by mail providers
    app.teardown_appcontext(close_session)
    filters.register(app)
    errors.register(app)
    headers.register(app)
    ops.register(app, settings)
    for blueprint in (
        auth.bp,
        coach.bp,
        client.bp,
        themes.bp,
        contacts.bp,
        conversations.bp,
        banks.bp,
        outreach.bp,
        practice.bp,
        audit.bp,
        client_data.bp,
        calendar_feed.bp,
        api_tokens.bp,
        reminders.bp,
        notifications.bp,
        inbound.bp,
    ):
        app.register_blueprint(blueprint)
    # Reminder links are authorised by their signed token, not the session (see web/reminders.py).
    csrf.exempt(reminders.bp)
    if settings.demo_practice_id is not None:  # `crossroads serve --demo` only: its Sent mail page
        app.register_blueprint(demo_mail.bp)
    app.jinja_env.globals["demo_practice_id"] = settings.demo_practice_id
    plugin_ui.register_blueprints(app, plugins)
    api.register(app, plugins, csrf)
    plugin_ui.register_timing(app, plugins)
    app.jinja_env.globals["plugin_menu"] = plugin_ui.menu_items
    app.jinja_env.globals["form_token"] = new_form_token
    app.jinja_env.globals["unread_notifications"] = notifications.unread_notifications
    return app
