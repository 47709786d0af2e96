"""Conversations: scheduling, the prep sheet, the timed conversation view, reflections, goals, synthesis."""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("conversations", __name__)


@bp.before_request
@login_required
def signed_in():
    """Every page here needs a user; which client's data they reach is up to the scope."""
