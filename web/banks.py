"""Question banks: coaches manage them, clients browse those shared with them."""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("banks", __name__, url_prefix="/banks")


@bp.before_request
@login_required
def signed_in():
    """Every page here needs a user; which banks they reach is up to the scope."""
