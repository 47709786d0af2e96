"""Invitations and password resets: signed, expiring, single-use links.

A link carries a random secret signed with the app's key; the database keeps
only the secret's hash, when it expires, and whether it was used or revoked.
Until outreach email exists, the web layer shows the link to whoever issued it
and writes it to the log.
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
from ..models import Client, ClientStatus, Invitation, InvitationPurpose, Role, User
from ..scoping import Scope
from ..security import LinkSigner, digest, new_link_secret
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


def _new_user(session: Session, scope: Scope, data: dict[str, Any], role: Role) -> User:
    if session.scalar(select(User.id).where(User.email == data["email"])) is not None:
        raise InvalidInput({"email": [EMAIL_TAKEN]})
    user = User(
        practice_id=scope.practice_id,
        email=data["email"],
        name=data["name"],
        role=role,
        timezone=data.get("timezone") or scope.user.practice.timezone,
    )
    session.add(user)
    return user


def invite_client(scope: Scope, signer: LinkSigner, data: dict[str, Any]) -> tuple[Client, IssuedLink]:
    """Create a client in the inviter's practice and a link for them to set a password.

    Data comes from ``InviteClientSchema``. A coach invites into their own
    caseload; the owner may name any coach of the practice.
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
    session = scope.session
    user = _new_user(session, scope, data, Role.CLIENT)
    client = Client(practice_id=scope.practice_id, user=user, coach=coach)
    session.add(client)
    session.flush()
    link = _issue(session, signer, user, InvitationPurpose.INVITE, scope.user)
    events.fire(session, "client_invited", client.practice_id, client=client)
    session.commit()
    return client, link


def invite_coach(scope: Scope, signer: LinkSigner, data: dict[str, Any]) -> IssuedLink:
    """The owner invites a coach to the practice (data from ``InviteCoachSchema``)."""
    if scope.user.role != Role.OWNER:
        raise Forbidden("only the practice owner invites coaches")
    user = _new_user(scope.session, scope, data, Role.COACH)
    scope.session.flush()
    link = _issue(scope.session, signer, user, InvitationPurpose.INVITE, scope.user)
    scope.session.commit()
    return link


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
    session.commit()
    return user
