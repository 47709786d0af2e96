"""The inbound endpoint's side in the core: a practice's secret, and taking a posted message.

Mail providers (Mailgun's, Postmark's or SendGrid's inbound parse, set to post the raw MIME
message) post each email to ``/inbound/<practice id>/mail`` with ``Authorization: Bearer
<secret>``. The secret is stored as its SHA-256 digest (it is 32 random bytes, so a slow hash
adds nothing) and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import InboundMail, PracticeMail
from .receive import MAX_RAW_BYTES, Incoming, record, recorded, recorded_id

#: Largest message the endpoint takes (bigger ones are refused with 413).
MAX_POST_BYTES = MAX_RAW_BYTES
_NOBODY = hashlib.sha256(b"no practice has this secret").hexdigest()


def new_secret() -> str:
    """A fresh endpoint secret, safe in a header."""
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def practice_for(session: Session, practice_ref: str, secret: str) -> int | None:
    """The practice ``practice_ref`` (its id) if ``secret`` is its endpoint secret, else None.

    Compares in constant time, and as long for an unknown practice as for a known one.
    """
    stored = None
    if practice_ref.isdigit() and len(practice_ref) < 12:
        stored = session.execute(
            select(PracticeMail.practice_id, PracticeMail.inbound_secret_hash).where(
                PracticeMail.practice_id == int(practice_ref)
            )
        ).first()
    expected = stored.inbound_secret_hash if stored is not None and stored.inbound_secret_hash else _NOBODY
    matches = hmac.compare_digest(secret_hash(secret), expected)
    return stored.practice_id if stored is not None and matches and expected != _NOBODY else None


def take(session: Session, practice_id: int, raw: bytes) -> tuple[InboundMail, bool]:
    """Record a posted message for the practice and commit; ``(mail, False)`` if it was recorded
    before. The worker processes it right after (a session with the queue attached wakes it)."""
    created = record(session, practice_id, [Incoming(raw, "post")])
    session.commit()
    message_id = created[0][1] if created else recorded_id(raw)
    mail = recorded(session, practice_id, message_id)
    assert mail is not None
    return mail, bool(created)
