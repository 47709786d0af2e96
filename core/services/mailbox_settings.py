"""The owner's settings for the practice's reply mailbox (IMAP), and a test of the connection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..db import utcnow
from ..errors import Forbidden, InvalidInput
from ..inbox import imap, pending
from ..mail.secrets import encrypt
from ..models import InboundMail, PracticeMailbox, Role
from ..scoping import Scope

#: Seconds the "Test connection" button waits for the server (it runs in the web request).
TEST_TIMEOUT = 10.0


def _owner_only(scope: Scope) -> None:
    if scope.user.role != Role.OWNER:
        raise Forbidden("only the owner sees and changes the practice's reply mailbox")


def mailbox_settings(scope: Scope) -> PracticeMailbox | None:
    """The practice's reply mailbox, or None when it has not been set up."""
    _owner_only(scope)
    return scope.session.scalar(
        select(PracticeMailbox).where(PracticeMailbox.practice_id == scope.practice_id)
    )


def _check_server(data: dict[str, Any], allow_private: bool) -> None:
    """Refuse a private address unless allowed, and a login without TLS to a public server.

    A name that does not resolve now is saved: the poller checks the addresses again
    each time it connects, and records a name it cannot find.
    """
    server = imap.ImapServer(data["host"], data["port"], data["security"], data["username"])
    server.allow_private = allow_private
    try:
        imap.checked_addresses(server)
    except imap.UnknownHost:
        return
    except imap.ClearTextRefused as exc:
        raise InvalidInput({"security": [exc.reason]}) from None
    except imap.MailboxError as exc:
        raise InvalidInput({"host": [exc.reason]}) from None


def save_mailbox_settings(
    scope: Scope, data: dict[str, Any], secret_key: str, allow_private: bool = False
) -> PracticeMailbox:
    """Save the mailbox (data from ``MailboxSettingsSchema``); commits.

    The password is encrypted as the SMTP one is; a blank password keeps the
    stored one. Without TLS or STARTTLS, only a server on an allowed private
    address is accepted. Pointing at another mailbox (server, user or folder)
    starts afresh: the next poll is a first connection, which reads only what
    arrives from then on.
    """
    _owner_only(scope)
    _check_server(data, allow_private)
    mailbox = mailbox_settings(scope)
    if mailbox is None:
        if not data["password"]:
            raise InvalidInput({"password": ["Give the mailbox's password."]})
        mailbox = PracticeMailbox(practice_id=scope.practice_id, password_encrypted="", last_uid=0)
        scope.session.add(mailbox)
    elsewhere = (mailbox.host, mailbox.port, mailbox.username, mailbox.folder) != (
        data["host"],
        data["port"],
        data["username"],
        data["folder"],
    )
    if mailbox.id is not None and elsewhere:
        mailbox.uidvalidity = None
        mailbox.last_uid = 0
        mailbox.connected_at = None
        mailbox.last_polled_at = None
    mailbox.host = data["host"]
    mailbox.port = data["port"]
    mailbox.security = data["security"]
    mailbox.username = data["username"]
    mailbox.folder = data["folder"]
    if data["password"]:
        mailbox.password_encrypted = encrypt(secret_key, data["password"])
    mailbox.last_error = ""
    mailbox.failing_since = None
    mailbox.updated_at = utcnow()
    scope.session.commit()
    return mailbox


def test_mailbox(scope: Scope, secret_key: str, ca_file: str = "", allow_private: bool = False) -> int:
    """Connect with the saved settings, log in and open the folder; how many messages it holds.

    Reads nothing and changes nothing. Raises :class:`InvalidInput` with the
    reason when the mailbox cannot be opened, or has not been saved.
    """
    mailbox = mailbox_settings(scope)
    if mailbox is None:
        raise InvalidInput({"_schema": ["Save the reply mailbox's settings before testing the connection."]})
    try:
        server = imap.server_for(mailbox, secret_key, ca_file, allow_private, TEST_TIMEOUT)
        return imap.test_connection(server)
    except imap.MailboxError as exc:
        raise InvalidInput({"_schema": [exc.reason]}) from None


test_mailbox.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def incoming_mail_state(scope: Scope) -> tuple[pending.InboxState, list[InboundMail]]:
    """How processing the practice's incoming mail goes: what waits, and the messages given up as
    failed (latest first), with their errors."""
    _owner_only(scope)
    state = pending.inbox_state(scope.session, scope.practice_id)
    failed = pending.failed_mail(scope.session, scope.practice_id) if state.failed else []
    return state, failed
