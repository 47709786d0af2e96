"""Invitations and password resets: signed, expiring, single-use links.

A link carries a random secret signed with the app's key; the database keeps
only the secret's hash, when it expires, and whether it was used or revoked.
The web layer shows the link to whoever issued it and writes it to the log.

An address that already has an account in another practice is not refused:
that would tell the inviter that the person uses Crossroads elsewhere. The
inviter is answered exactly as for a new address (with a link that, like an
expired one, leads nowhere), and the person is told by email, through the
practice's outbox, that someone invited them and that they already have an
account. Without an email server the inviter is told nothing different.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import events
from ..db import utcnow
from ..errors import Forbidden, InvalidInput, NotFound
from ..mail.outbox import queue_email
from ..models import (
    Client,
    ClientStatus,
    Invitation,
    InvitationPurpose,
    OutboxEmail,
    PracticeMail,
    Role,
    User,
)
from ..scoping import Scope
from ..security import LinkSigner, digest, new_link_secret
from . import notifications, webhooks
from .accounts import set_password

LIFETIMES = {
    InvitationPurpose.INVITE: timedelta(days=7),
    InvitationPurpose.RESET: timedelta(hours=2),
}
EMAIL_TAKEN = "Someone with this email address already has a Crossroads account."
LINK_UNUSABLE = "This link has expired or has already been used. Ask for a new one."


@dataclass(frozen=True)
class IssuedLink:
    """An invitation row and the token to put in its link (shown once, never stored)."""

    invitation: Invitation
    token: str


@dataclass(frozen=True)
class Invited:
    """What the inviter is told: the same for a new address and one with an account elsewhere.

    ``client`` and ``invitation`` are None in the second case (nothing was created, and the
    token's link leads nowhere); only the service's caller in tests looks at them.
    """

    name: str
    email: str
    token: str
    client: Client | None = None
    invitation: Invitation | None = None


def _issue(
    session: Session,
    signer: LinkSigner,
    user: User,
    purpose: InvitationPurpose,
    invited_by: User | None,
) -> IssuedLink:
    now = utcnow()
    # A fresh link replaces any earlier open one for the same purpose.
    session.execute(
        update(Invitation)
        .where(
            Invitation.user_id == user.id,
            Invitation.purpose == purpose,
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    raw, token_hash = new_link_secret()
    invitation = Invitation(
        practice_id=user.practice_id,
        user=user,
        invited_by=invited_by,
        purpose=purpose,
        token_hash=token_hash,
        created_at=now,
        expires_at=now + LIFETIMES[purpose],
    )
    session.add(invitation)
    return IssuedLink(invitation, signer.sign(raw))


def _account_of(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email))


def _new_user(session: Session, scope: Scope, data: dict[str, Any], role: Role) -> User:
    user = User(
        practice_id=scope.practice_id,
        email=data["email"],
        name=data["name"],
        role=role,
        timezone=data.get("timezone") or scope.user.practice.timezone,
    )
    session.add(user)
    return user


def _elsewhere(scope: Scope, signer: LinkSigner, data: dict[str, Any], role: Role) -> Invited | None:
    """For an address with an account: refused within the practice (its staff see its people);
    for one in another practice, the person is emailed and the inviter answered as for anyone."""
    existing = _account_of(scope.session, data["email"])
    if existing is None:
        return None
    if existing.practice_id == scope.practice_id:
        raise InvalidInput({"email": [EMAIL_TAKEN]})
    tell_existing_account(scope, data["name"], data["email"], role)
    scope.session.commit()
    raw, _ = new_link_secret()  # stored nowhere: the link reads as expired, as any old link does
    return Invited(data["name"], data["email"], signer.sign(raw))


def tell_existing_account(scope: Scope, name: str, email: str, role: Role) -> OutboxEmail | None:
    """Queue the email telling ``email``'s owner that they were invited and already have an account.

    Names the inviter and their practice only, never the person's own practice. Sent through the
    practice's outbox like every email; nothing is queued when the practice has no email server
    (the inviter is told nothing different either way). Flushes, no commit.
    """
    session, inviter = scope.session, scope.user
    from_address = session.scalar(
        select(PracticeMail.from_address).where(PracticeMail.practice_id == scope.practice_id)
    )
    if from_address is None:
        return None
    practice = inviter.practice
    what = "a coach" if role == Role.COACH else "a client"
    body = (
        f"Hello {name},\n\n"
        f"{inviter.name} of {practice.name} invited you to join them on Crossroads as {what}.\n\n"
        f"There is already a Crossroads account with this address ({email}), and an address can "
        "belong to one account only, so this invitation could not be set up for it. "
        f"{inviter.name} has not been told that you have an account.\n\n"
        f"If you would like to join {practice.name}, reply to this email and give {inviter.name} "
        "another address of yours to invite. If you did not expect this, you can ignore it: "
        "nothing changes for your account, and you sign in as usual.\n\n"
        "Crossroads\n"
    )
    return queue_email(
        session,
        practice_id=scope.practice_id,
        client_id=None,
        sender_name=f"{inviter.name} via {practice.name}",
        reply_to=inviter.email,
        to_address=email,
        to_name=name,
        subject=f"{inviter.name} invited you to {practice.name} on Crossroads",
        body=body,
        from_address=from_address,
    )


def invite_client(scope: Scope, signer: LinkSigner, data: dict[str, Any]) -> Invited:
    """Create a client in the inviter's practice and a link for them to set a password.

    Data comes from ``InviteClientSchema``. A coach invites into their own
    caseload; the owner may name any coach of the practice. An address with an
    account in another practice gets an email instead, and the same answer.
    """
    if not scope.user.is_staff:
        raise Forbidden("only coaches invite clients")
    coach = scope.user
    if data.get("coach_id") and data["coach_id"] != scope.user.id:
        if scope.user.role != Role.OWNER:
            raise InvalidInput({"coach_id": ["You can invite clients to your own caseload only."]})
        coach = scope.session.scalar(scope.coaches().where(User.id == data["coach_id"]))
        if coach is None:
            raise InvalidInput({"coach_id": ["Choose a coach of this practice."]})
    elsewhere = _elsewhere(scope, signer, data, Role.CLIENT)
    if elsewhere is not None:
        return elsewhere
    session = scope.session
    user = _new_user(session, scope, data, Role.CLIENT)
    client = Client(practice_id=scope.practice_id, user=user, coach=coach)
    session.add(client)
    session.flush()
    link = _issue(session, signer, user, InvitationPurpose.INVITE, scope.user)
    events.fire(session, "client_invited", client.practice_id, client=client)
    session.commit()
    return Invited(user.name, user.email, link.token, client, link.invitation)


def invite_coach(scope: Scope, signer: LinkSigner, data: dict[str, Any]) -> Invited:
    """The owner invites a coach to the practice (data from ``InviteCoachSchema``); an address
    with an account in another practice gets an email instead, and the same answer."""
    if scope.user.role != Role.OWNER:
        raise Forbidden("only the practice owner invites coaches")
    elsewhere = _elsewhere(scope, signer, data, Role.COACH)
    if elsewhere is not None:
        return elsewhere
    user = _new_user(scope.session, scope, data, Role.COACH)
    scope.session.flush()
    link = _issue(scope.session, signer, user, InvitationPurpose.INVITE, scope.user)
    scope.session.commit()
    return Invited(user.name, user.email, link.token, None, link.invitation)


def reissue_invitation(scope: Scope, signer: LinkSigner, user_id: int) -> IssuedLink:
    """A new invitation link for someone who has not yet accepted; the old link stops working."""
    user = _invitee(scope, user_id)
    link = _issue(scope.session, signer, user, InvitationPurpose.INVITE, scope.user)
    scope.session.commit()
    return link


def revoke_invitations(scope: Scope, user_id: int) -> User:
    """Make every open invitation link for this person unusable."""
    user = _invitee(scope, user_id)
    scope.session.execute(
        update(Invitation)
        .where(Invitation.user_id == user.id, Invitation.used_at.is_(None))
        .values(revoked_at=utcnow())
    )
    scope.session.commit()
    return user


def _invitee(scope: Scope, user_id: int) -> User:
    """A not-yet-accepted person the signed-in staff member may manage."""
    if not scope.user.is_staff:
        raise NotFound(f"User {user_id}")
    user = scope.get(User, user_id)
    if user.role == Role.CLIENT:
        scope.get(Client, user.client.id)  # a coach manages their own clients' invitations only
    elif scope.user.role != Role.OWNER:
        raise NotFound(f"User {user_id}")
    if user.has_password:
        raise InvalidInput({"_schema": [f"{user.name} has already accepted their invitation."]})
    return user


def pending_invitations(scope: Scope) -> list[Invitation]:
    """Open invitations the signed-in staff member can see, newest first."""
    query = (
        select(Invitation)
        .join(User, Invitation.user_id == User.id)
        .where(
            Invitation.practice_id == scope.practice_id,
            Invitation.purpose == InvitationPurpose.INVITE,
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .order_by(Invitation.created_at.desc())
    )
    if scope.user.role != Role.OWNER:
        query = query.join(Client, Client.user_id == User.id).where(Client.coach_id == scope.user.id)
    return list(scope.session.scalars(query))


def request_password_reset(session: Session, signer: LinkSigner, email: str) -> IssuedLink | None:
    """A reset link for an active account with a password; None (silently) for anyone else."""
    user = session.scalar(select(User).where(User.email == email))
    if user is None or not user.is_active or not user.has_password:
        return None
    link = _issue(session, signer, user, InvitationPurpose.RESET, None)
    session.commit()
    return link


def find_usable(session: Session, signer: LinkSigner, token: str, purpose: InvitationPurpose) -> Invitation:
    """The open link of ``purpose`` behind ``token``; :class:`NotFound` when it cannot be used."""
    raw = signer.unsign(token, int(LIFETIMES[purpose].total_seconds()))
    invitation = (
        session.scalar(select(Invitation).where(Invitation.token_hash == digest(raw))) if raw else None
    )
    if (
        invitation is None
        or invitation.purpose != purpose
        or not invitation.is_usable(utcnow())
        or not invitation.user.is_active
    ):
        raise NotFound(LINK_UNUSABLE)
    return invitation


def accept(
    session: Session, signer: LinkSigner, token: str, purpose: InvitationPurpose, password: str
) -> User:
    """Use a link: set the password, spend the link, and return the user to sign in."""
    invitation = find_usable(session, signer, token, purpose)
    # Spend the link with a conditional UPDATE: of two requests racing with one link, one wins.
    claimed = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None), Invitation.revoked_at.is_(None))
        .values(used_at=utcnow())
    ).rowcount
    if claimed != 1:
        session.rollback()
        raise NotFound(LINK_UNUSABLE)
    user = invitation.user
    set_password(user, password)
    if user.client is not None and user.client.status == ClientStatus.ONBOARDING:
        user.client.last_activity_at = invitation.used_at
    if purpose == InvitationPurpose.INVITE:
        notifications.notify_invitation_accepted(session, user, invitation.invited_by)
        if user.client is not None:
            webhooks.record_row(session, user.practice_id, "client.joined", user.client)
    session.commit()
    return user
