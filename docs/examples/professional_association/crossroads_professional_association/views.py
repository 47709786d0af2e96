"""The plugin's page: a client's guest requests, mounted at /plugins/professional_association/."""

from flask import Blueprint, render_template

from crossroads.plugin import Client, OutreachMessage, scope

from .channel import NAME

# static_folder: served at /plugins/professional_association/static/..., behind sign-in like the pages.
bp = Blueprint("professional_association", __name__, static_folder="static")


@bp.get("/clients/<int:client_id>/guest-requests")
def guest_requests(client_id: int):
    """The client's guest requests, newest first; the client and their coach see it, nobody else (404)."""
    client = scope().get(Client, client_id)
    requests = scope().session.scalars(
        scope()
        .select(OutreachMessage)
        .where(OutreachMessage.client_id == client.id, OutreachMessage.channel == NAME)
        .order_by(OutreachMessage.created_at.desc(), OutreachMessage.id.desc())
    )
    return render_template("professional_association/requests.html", client=client, requests=list(requests))
