"""A client's data: the ZIP export (by the client, or by their coach or the owner for them) and erasure.

Downloads are POSTs (a form button, CSRF-checked): each one is recorded in the audit log.
Erasure asks the owner to type the client's name first. A coach asking to erase their own
client is refused with 403 (they know the client exists; only the owner erases); anyone
asking about a client outside their scope gets 404, as everywhere.
"""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import login_required

from crossroads.core.models import Client, Role
from crossroads.core.schemas import EraseClientSchema
from crossroads.core.services import erasure, export

from .context import crossroads, require_role, scope
from .forms import Form, submit
from .notices import notify

bp = Blueprint("client_data", __name__)


@bp.before_request
@login_required
def signed_in():
    """Every page here needs a user; which client's data they reach is up to the scope."""


def download(archive: export.Archive) -> Response:
    if archive.errors:
        notify(
            "The download is incomplete: " + ", ".join(sorted(archive.errors)) + " could not be exported. "
            "README.txt in the archive says more.",
            level="error",
        )
    return Response(
        archive.data,
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{archive.filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.post("/me/export")
def export_own():
    """The client downloads everything Crossroads keeps about them."""
    require_role(Role.CLIENT)
    client_id = scope().own_client_id or 0
    return download(export.export_client(scope(), client_id, crossroads().plugins, ip=request.remote_addr))


@bp.post("/coach/clients/<int:client_id>/export")
def export_client(client_id: int):
    """A coach (or the owner) downloads a client's archive on their behalf."""
    require_role(Role.OWNER, Role.COACH)
    return download(export.export_client(scope(), client_id, crossroads().plugins, ip=request.remote_addr))


def render_confirm(client: Client, form: Form | None = None, status: int = 200):
    return render_template("coach/erase.html", client=client, form=form or Form()), status


@bp.get("/coach/clients/<int:client_id>/erase")
def confirm_erase(client_id: int):
    require_role(Role.OWNER, Role.COACH)
    return render_confirm(erasure.client_to_erase(scope(), client_id))


@bp.post("/coach/clients/<int:client_id>/erase")
def erase(client_id: int):
    require_role(Role.OWNER, Role.COACH)
    client = erasure.client_to_erase(scope(), client_id)
    name = client.name
    done, form = submit(
        EraseClientSchema(),
        lambda data: erasure.erase_client(
            scope(), client_id, data["confirm_name"], crossroads().plugins, ip=request.remote_addr
        ),
    )
    if done is None:
        return render_confirm(scope().get(Client, client_id), form, 422)
    notify(f"{name} is erased: their account and all their data are deleted. The audit log keeps a record.")
    return redirect(url_for("coach.caseload"))
