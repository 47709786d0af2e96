"""The client's own workspace."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from crossroads.core.models import Client, GoalMetric, GoalPeriod, Role, ThemeStatus
from crossroads.core.services import contacts, conversations, goals

from .context import require_role, scope
from .forms import Form
from .plugin_ui import client_panels, due_entries

bp = Blueprint("client", __name__, url_prefix="/me")


@bp.before_request
@login_required
def clients_only():
    require_role(Role.CLIENT)


def own_client() -> Client:
    return scope().get(Client, scope().own_client_id or 0)


def render_home(client: Client, status: int = 200, **forms):
    """The client's home; ``forms`` carry a failed submit back onto it."""
    return render_template(
        "client/home.html",
        client=client,
        panels=client_panels(client),
        theme_statuses=list(ThemeStatus),
        due=contacts.due_for_client(scope(), client.id),
        due_entries=due_entries(client),
        upcoming=conversations.upcoming(scope(), client.id),
        progress=goals.progress(scope(), client.id),
        periods=list(GoalPeriod),
        metrics=list(GoalMetric),
        METRIC_LABELS=goals.METRIC_LABELS,
        theme_form=forms.get("theme_form") or Form(),
        edit_forms=forms.get("edit_forms") or {},
    ), status


@bp.get("/")
def home():
    return render_home(own_client())
