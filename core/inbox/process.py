"""What an incoming email means: a reply, an automatic reply, a delivery failure, or nothing of ours.

Spam and unrelated mail are left alone, their kind recorded (they are counted). A delivery
failure marks the original failed (:func:`.apply.on_bounce`). Anything else is matched to the
message it answers (:mod:`.match`, never across practices); an automatic reply quiets the
follow-up (:func:`.apply.on_auto_reply`), a reply takes effect through :func:`.apply.on_reply`.
"""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import InboundKind, InboundMail
from . import apply, classify, match
from .text import body_text, trimmed


def process(session: Session, mail: InboundMail, message: EmailMessage) -> None:
    """Classify ``mail`` and apply what it means; does not commit."""
    mail.processed_at = utcnow()
    if classify.is_spam(message):
        mail.kind = InboundKind.SPAM
        return
    bounce = classify.bounce_of(message, mail.raw)
    if bounce is not None:
        apply.on_bounce(session, mail, bounce, mail.practice_id)
        return
    text = body_text(message)
    mail.text = trimmed(text)
    try:
        found = match.match(session, mail.practice_id, message)
    except match.UnknownToken:
        mail.kind = InboundKind.UNRELATED
        mail.reason = "Sent to the reply address with a token of no message of this practice."
        return
    if found is None:
        mail.kind = InboundKind.UNRELATED
        mail.reason = "Matched no message of this practice."
        return
    if classify.is_auto_reply(message, mail.text):
        today = apply._client_today(found.message)
        back_on = classify.return_date(f"{mail.subject}\n{text}", today)
        mail.reason = f"Automatic reply, matched by {found.how}."
        apply.on_auto_reply(session, mail, found.message, back_on)
        return
    counted = match.from_the_contact(found.message, message) and not match.is_forward_subject(mail.subject)
    mail.reason = f"Matched by {found.how}." + ("" if counted else " Written by someone else: not counted.")
    apply.on_reply(session, mail, found.message, counted=counted, email=message)
