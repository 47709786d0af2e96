"""The email channel's one page action: send a calendar invitation for a scheduled conversation."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for

from crossroads.plugin import (
    Conversation,
    ConversationStatus,
    Forbidden,
    InvalidInput,
    Role,
    db,
    notify,
    scope,
)

from . import invitations

bp = Blueprint("email_channel", __name__)


@bp.post("/conversations/<int:conversation_id>/invite")
def invite(conversation_id: int):
    """The client sends the contact a calendar invitation (METHOD:REQUEST) in the email thread."""
    conversation = scope().get(Conversation, conversation_id)
    if scope().user.role != Role.CLIENT:
        raise Forbidden("only the client sends their invitations")
    target = url_for("conversations.prep", conversation_id=conversation.id)
    if conversation.status != ConversationStatus.SCHEDULED:
        notify("Only a scheduled conversation can be sent as an invitation.", level="error")
        return redirect(target)
    try:
        invitations.queue_invitation(db(), conversation, "REQUEST", scope().user)
        db().commit()
    except InvalidInput as exc:
        db().rollback()
        notify(" ".join(m for ms in exc.errors.values() for m in ms), level="error")
        return redirect(target)
    notify(f"Invitation on its way to {conversation.contact.name}.")
    return redirect(target)
