"""What an incoming email means: a reply, an automatic reply, a delivery failure, or nothing of ours."""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import InboundKind, InboundMail


def process(session: Session, mail: InboundMail, message: EmailMessage) -> None:
    """Classify ``mail`` and apply what it means. (Until replies are matched: everything is unrelated.)"""
    mail.kind = InboundKind.UNRELATED
    mail.processed_at = utcnow()
