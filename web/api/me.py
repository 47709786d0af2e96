"""``/me``: the token's own user."""

from __future__ import annotations

from crossroads.core.schemas.api import UserShape

from .conventions import api_scope
from .strict import ApiBlueprint as Blueprint

bp = Blueprint("api_me", __name__, description="The user the token belongs to.")


@bp.route("/me", methods=["GET"])
@bp.response(200, UserShape)
def show_me():
    """The token's user: role, practice and, for a client, their client id."""
    return api_scope().user
