"""The LinkedIn plugin's one page action: the client says whether their account is free or Premium.

Mounted under ``/plugins/linkedin`` behind sign-in and the practice's switch.
Only the client changes it (their coach sees the panel read-only: 403);
anyone outside the client's scope gets 404 from the scope. The panel is on
the client's home, so the answer goes back there.
"""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from marshmallow import fields, validate

from crossroads.plugin import Client, Forbidden, InputSchema, Role, db, notify, scope, submit

from . import allowance
from .limits import value

bp = Blueprint("linkedin", __name__)

ACCOUNTS = ("free", "premium")


class AccountSchema(InputSchema):
    """The client's LinkedIn account type, from the dashboard panel."""

    account = fields.String(
        required=True, validate=validate.OneOf(ACCOUNTS, error="Choose a free or a Premium account.")
    )


def _save(client: Client, data: dict) -> bool:
    premium = data["account"] == "premium"
    allowance.set_premium(db(), client, premium)
    db().commit()
    return premium


@bp.post("/clients/<int:client_id>/account")
def account(client_id: int):
    """The client records their LinkedIn account type; connection notes get that account's limit."""
    client = scope().get(Client, client_id)
    if scope().user.role != Role.CLIENT or client.user_id != scope().user.id:
        raise Forbidden("only the client says what LinkedIn account they have")
    premium, form = submit(AccountSchema(), lambda data: _save(client, data))
    home = url_for("client.home")
    if form:
        notify(" ".join(m for ms in form.errors.values() for m in ms), level="error")
        return redirect(home)
    if premium:
        notify(f"Saved: LinkedIn Premium. Connection notes can be {value('note_premium')} characters.")
    else:
        notify(
            f"Saved: a free LinkedIn account. Connection notes can be {value('note_free')} characters, "
            f"and about {value('notes_per_month_free')} a month."
        )
    return redirect(home)
