"""The demo's Sent mail page: what its local mail catcher received (``crossroads serve --demo`` only).

The blueprint is registered only when the app runs the demo (``Settings.demo_practice_id``),
and answers 404 to users of any other practice. What each user sees is :meth:`Scope.demo_mail`.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from crossroads.core.demo_mail import read
from crossroads.core.errors import InvalidInput, NotFound
from crossroads.core.models import DemoMail
from crossroads.core.pagination import paginate
from crossroads.core.schemas import DemoMailQuerySchema, load

from .context import crossroads, db, scope

bp = Blueprint("demo_mail", __name__, url_prefix="/demo/mail")
PER_PAGE = 25


@bp.before_request
@login_required
def demo_practice_only():
    """Signed in, and in the demo practice: for anyone else the page does not exist."""
    if current_user.practice_id != crossroads().settings.demo_practice_id:
        abort(404)


@bp.get("/")
def index():
    """Every message the catcher received that this user may see, newest first."""
    try:
        params = load(DemoMailQuerySchema(), request.args)
    except InvalidInput:
        params = load(DemoMailQuerySchema(), {})
    query = scope().demo_mail().order_by(DemoMail.received_at.desc(), DemoMail.id.desc())
    return render_template("demo/index.html", page=paginate(db(), query, params["page"], PER_PAGE))


@bp.get("/<int:mail_id>")
def show(mail_id: int):
    """One caught message: its headers and parts as received, shown as text."""
    mail = db().scalar(scope().demo_mail().where(DemoMail.id == mail_id))
    if mail is None:
        raise NotFound(f"DemoMail {mail_id}")
    if mail.party_client_id is not None:
        scope().reached.add(mail.party_client_id)  # the audit log notes whose mail staff read
    return render_template("demo/show.html", mail=mail, caught=read(mail))
