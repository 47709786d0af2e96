"""Per-request plumbing: the database session, the signed-in user, and their scope."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, current_app, g
from flask_login import LoginManager, current_user
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crossroads.core import events
from crossroads.core.config import Settings
from crossroads.core.mail.queue import MailQueue
from crossroads.core.models import Role, User
from crossroads.core.plugins import PluginManager
from crossroads.core.scoping import Scope
from crossroads.core.security import LinkSigner


@dataclass
class Crossroads:
    """What the app factory builds once and every request shares (kept in ``app.extensions``)."""

    settings: Settings
    engine: Engine
    sessionmaker: sessionmaker[Session]
    plugins: PluginManager
    signer: LinkSigner
    #: Wakes the mail worker after a request that queued email commits.
    queue: MailQueue


def crossroads() -> Crossroads:
    return current_app.extensions["crossroads"]


def db() -> Session:
    """This request's database session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = crossroads().sessionmaker()
        events.attach(g.db_session, crossroads().plugins)
        crossroads().queue.attach(g.db_session)
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def scope() -> Scope:
    """The signed-in user's scope: the one way views reach practice data."""
    if "scope" not in g:
        g.scope = Scope(db(), current_user._get_current_object())
    return g.scope


def require_role(*roles: Role) -> None:
    """404 unless the signed-in user has one of ``roles`` (a page that is not theirs does not exist)."""
    if current_user.role not in roles:
        abort(404)


login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Session ids are ``"<user id>:<session version>"``; a password change invalidates old ones."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db().get(User, int(user_id))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    return user
