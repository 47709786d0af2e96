"""The owner's settings for the practice's email server, and a test email to check them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..db import utcnow
from ..errors import Forbidden, InvalidInput
from ..inbox import inbound
from ..mail import smtp
from ..mail.outbox import queue_email
from ..mail.secrets import encrypt
from ..models import MailSecurity, OutboxEmail, PracticeMail, Role
from ..scoping import Scope

TEST_SUBJECT = "Test email from Crossroads"


def _owner_only(scope: Scope) -> None:
    if scope.user.role != Role.OWNER:
        raise Forbidden("only the owner sees and changes the practice's email server")


def mail_settings(scope: Scope) -> PracticeMail | None:
    """The practice's email server, or None when it has not been set up."""
    _owner_only(scope)
    return scope.session.scalar(select(PracticeMail).where(PracticeMail.practice_id == scope.practice_id))


def can_send_email(scope: Scope) -> bool:
    """Whether the practice has an email server: without one, nothing is emailed (anyone may ask)."""
    found = select(PracticeMail.id).where(PracticeMail.practice_id == scope.practice_id)
    return scope.session.scalar(found) is not None


def _check_server(data: dict[str, Any], allow_private: bool) -> None:
    """Refuse a server on a private address (unless allowed) and a password sent without TLS.

    A name that does not resolve now is saved: delivery checks the addresses again
    each time it connects, and reports a name it cannot find.
    """
    if data["username"] and data["security"] == MailSecurity.NONE:
        raise InvalidInput({"security": [smtp.NO_PASSWORD_IN_CLEAR]})
    try:
        smtp.check_host(data["host"], data["port"], allow_private)
    except smtp.PermanentFailure as exc:
        raise InvalidInput({"host": [exc.reason]}) from None
    except (OSError, UnicodeError):
        pass


def save_mail_settings(
    scope: Scope, data: dict[str, Any], secret_key: str, allow_private: bool = False
) -> PracticeMail:
    """Save the server (data from ``MailSettingsSchema``); commits.

    The password is stored encrypted with a key derived from ``secret_key``; a
    blank password keeps the stored one. A password is only kept with a user name,
    and only with STARTTLS or TLS. The server must be on a public address unless
    ``allow_private`` (``CROSSROADS_SMTP_ALLOW_PRIVATE``).
    """
    _owner_only(scope)
    _check_server(data, allow_private)
    settings = mail_settings(scope)
    if settings is None:
        settings = PracticeMail(practice_id=scope.practice_id, password_encrypted="")
        scope.session.add(settings)
    settings.host = data["host"]
    settings.port = data["port"]
    settings.security = data["security"]
    settings.username = data["username"]
    settings.from_address = data["from_address"]
    if data["password"]:
        settings.password_encrypted = encrypt(secret_key, data["password"])
    if not settings.username:
        settings.password_encrypted = ""
    settings.updated_at = utcnow()
    scope.session.commit()
    return settings


def send_test_email(scope: Scope) -> OutboxEmail:
    """Queue a short email from the practice's server to the owner; commits."""
    settings = mail_settings(scope)
    if settings is None:
        raise InvalidInput({"_schema": ["Save the email server's settings before sending a test email."]})
    owner = scope.user
    practice = owner.practice
    email = queue_email(
        scope.session,
        practice_id=scope.practice_id,
        client_id=None,
        sender_name=f"{owner.name} via {practice.name}",
        reply_to=owner.email,
        to_address=owner.email,
        to_name=owner.name,
        subject=TEST_SUBJECT,
        body=(
            f"Hello {owner.name},\n\n"
            f"This test email went through {settings.host}:{settings.port}, the email server "
            f"{practice.name} sends through. Clients' messages will come from the same address, "
            "under the client's name, and replies will go to the client.\n\n"
            "Crossroads\n"
        ),
        from_address=settings.from_address,
    )
    scope.session.commit()
    return email


def last_test_email(scope: Scope) -> OutboxEmail | None:
    """The most recent test email sent to this owner, to show how it went."""
    _owner_only(scope)
    return scope.session.scalar(
        select(OutboxEmail)
        .where(
            OutboxEmail.practice_id == scope.practice_id,
            OutboxEmail.client_id.is_(None),
            OutboxEmail.to_address == scope.user.email,
            OutboxEmail.subject == TEST_SUBJECT,
        )
        .order_by(OutboxEmail.id.desc())
        .limit(1)
    )


# -- replies: the reply address and the inbound endpoint's secret ------------------------------


def save_reply_settings(scope: Scope, data: dict[str, Any]) -> PracticeMail:
    """Save where answers come back (data from ``ReplySettingsSchema``); commits. Needs the server."""
    settings = mail_settings(scope)
    if settings is None:
        raise InvalidInput({"_schema": ["Save the email server's settings first."]})
    if data["plus_addressing"] and not data["reply_address"]:
        raise InvalidInput({"reply_address": ["Give the reply address that plus addresses are made from."]})
    settings.reply_address = data["reply_address"]
    settings.plus_addressing = bool(data["plus_addressing"]) and bool(data["reply_address"])
    settings.updated_at = utcnow()
    scope.session.commit()
    return settings


def new_inbound_secret(scope: Scope) -> str:
    """A new secret for the inbound endpoint, replacing the old one; only its hash is kept, so the
    owner sees it this once. Commits."""
    settings = mail_settings(scope)
    if settings is None:
        raise InvalidInput({"_schema": ["Save the email server's settings first."]})
    secret = inbound.new_secret()
    settings.inbound_secret_hash = inbound.secret_hash(secret)
    settings.inbound_secret_at = utcnow()
    scope.session.commit()
    return secret
