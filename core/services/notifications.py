"""Notifications: Crossroads tells a coach or a client what happened, in Crossroads and by email.

:func:`notify` is the one way a notification is made. It applies the recipient's choice for its
kind: a coach (or an owner who coaches) chooses per kind to have it emailed at once, gathered in
the weekly digest, or only listed in Crossroads; clients' notifications are listed in Crossroads
only. Every notification is listed in Crossroads, whatever the choice, until it is read.

The ``notify_*`` functions make the notifications of one event (a reply, a shared reflection, a
comment, a suggestion, an accepted invitation, a stalled client) for the right people; the
services where those events happen call them inside their own transaction. They flush and never
commit: the notification commits or rolls back with the event that made it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from .. import links
from ..db import per_transaction, utcnow
from ..figures import activity, last_activity_column, stalled_clause, stalled_days
from ..jobs import ScheduledJob
from ..mail.outbox import practice_mail, queue_email
from ..models import (
    KIND_LABELS,
    NOTIFICATION_KIND_LABELS,
    Client,
    Contact,
    Delivery,
    Notification,
    NotificationKind,
    NotificationPreference,
    OutreachMessage,
    Practice,
    Reflection,
    ReflectionComment,
    User,
)
from ..pagination import Page, paginate
from ..scoping import Scope

#: The kinds a coach receives, and what each does until the coach chooses otherwise.
COACH_DEFAULTS: dict[NotificationKind, Delivery] = {
    NotificationKind.REPLY: Delivery.AT_ONCE,
    NotificationKind.REFLECTION_SHARED: Delivery.AT_ONCE,
    NotificationKind.INVITATION_ACCEPTED: Delivery.IN_APP,
    NotificationKind.STALLED: Delivery.DIGEST,
}
#: The longest text a notification keeps (the column's size); longer text is cut with "…".
MAX_TEXT = 300
#: At most this many notifications are listed in one digest; the rest are counted.
DIGEST_LIMIT = 30


def _bounded(text: str, limit: int = MAX_TEXT) -> str:
    """One line of at most ``limit`` characters: line breaks and control characters become spaces."""
    line = " ".join("".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _local_path(link: str) -> str:
    """``link`` if it is a path on this site; a notification never points anywhere else."""
    if not link.startswith("/") or link.startswith("//") or "\\" in link or len(link) > 300:
        raise ValueError(f"a notification links to a path on this site, not {link!r}")
    return link


# -- preferences -----------------------------------------------------------------------------


def preferences(session: Session, user: User) -> dict[NotificationKind, Delivery]:
    """The delivery of each kind the user receives: a coach's choices over the defaults (clients: none)."""
    if not user.is_staff:
        return {}
    chosen = dict(
        session.execute(
            select(NotificationPreference.kind, NotificationPreference.delivery).where(
                NotificationPreference.user_id == user.id
            )
        ).all()
    )
    return {kind: chosen.get(kind, default) for kind, default in COACH_DEFAULTS.items()}


def save_preferences(scope: Scope, data: dict[str, Any]) -> dict[NotificationKind, Delivery]:
    """Save the signed-in coach's choices (data from ``NotificationPreferencesSchema``); commits."""
    user = scope.user
    if not user.is_staff:
        raise ValueError("only coaches and owners choose how notifications reach them")
    rows = {p.kind: p for p in scope.session.scalars(scope.select(NotificationPreference))}
    for kind in COACH_DEFAULTS:
        delivery = data.get(kind.value)
        if delivery is None:
            continue
        if kind in rows:
            rows[kind].delivery = delivery
        else:
            scope.session.add(
                NotificationPreference(
                    practice_id=user.practice_id, user_id=user.id, kind=kind, delivery=delivery
                )
            )
    scope.session.commit()
    return preferences(scope.session, user)


def delivery_for(session: Session, user: User, kind: NotificationKind) -> Delivery:
    """How a notification of ``kind`` reaches ``user`` now (their choices read once per transaction)."""
    chosen = per_transaction(session, (NotificationPreference, user.id), lambda: preferences(session, user))
    return chosen.get(kind, Delivery.IN_APP)


# -- making one ------------------------------------------------------------------------------


def notify(
    session: Session,
    user: User,
    kind: NotificationKind,
    text: str,
    link: str,
    client: Client | None = None,
) -> Notification:
    """Tell ``user`` that ``text`` happened, pointing at ``link`` (a path here); flushes, no commit.

    Applies the user's choice for ``kind``: "at once" also queues an email through the practice's
    outbox when the practice has an email server (without one it stays in Crossroads); "digest"
    waits for the weekly digest (:func:`take_for_digest`). ``client`` is who it is about: the
    notification is exported and erased with them.
    """
    delivery = delivery_for(session, user, kind)
    row = Notification(
        practice_id=user.practice_id,
        user_id=user.id,
        client_id=client.id if client is not None else None,
        kind=kind,
        delivery=delivery,
        text=_bounded(text),
        link=_local_path(link),
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    if delivery == Delivery.AT_ONCE and user.is_active:
        _email(session, row, user, client)
    return row


def _email(session: Session, row: Notification, user: User, client: Client | None) -> None:
    settings = practice_mail(session, user.practice_id)
    if settings is None:
        return  # no email server: it stays in Crossroads
    from_address = settings.from_address
    practice = session.get(Practice, user.practice_id)
    label = NOTIFICATION_KIND_LABELS[row.kind]
    subject = label if client is None else f"{label}: {client.name}"
    body = "\n".join(
        [
            f"Hello {user.name},",
            "",
            row.text,
            "",
            f"Open it in Crossroads: {links.absolute(session, f'{links.NOTIFICATIONS}/{row.id}')}",
            "",
            f"You asked for “{label}” by email at once. Your account page chooses which "
            f"notifications are emailed: {links.absolute(session, links.ACCOUNT)}",
        ]
    )
    queue_email(
        session,
        practice_id=user.practice_id,
        client_id=row.client_id,
        sender_name=_bounded(f"Crossroads for {practice.name}", 200),
        reply_to="",
        to_address=user.email,
        to_name=user.name,
        subject=_bounded(subject),
        body=body,
        from_address=from_address,
    )
    row.emailed_at = utcnow()


# -- reading them ------------------------------------------------------------------------------


def unread_count(scope: Scope) -> int:
    """How many of the signed-in user's notifications are unread."""
    query = scope.select(Notification).where(Notification.read_at.is_(None))
    return scope.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def for_user(scope: Scope, params: dict[str, Any]) -> Page[Notification]:
    """The signed-in user's notifications, newest first, one page (``page``, ``per_page``)."""
    query = scope.select(Notification).order_by(Notification.created_at.desc(), Notification.id.desc())
    return paginate(scope.session, query, params.get("page", 1), params.get("per_page", 25))


def open(scope: Scope, notification_id: int) -> Notification:  # noqa: A001 (the brief's name)
    """The user's own notification, marked read; :class:`NotFound` for anyone else's. Commits."""
    row = scope.get(Notification, notification_id)
    if row.read_at is None:
        row.read_at = utcnow()
        scope.session.commit()
    return row


def mark_all_read(scope: Scope) -> int:
    """Mark every unread notification of the signed-in user read; returns how many. Commits."""
    mine = scope.select(Notification).where(Notification.read_at.is_(None)).with_only_columns(Notification.id)
    done = scope.session.execute(
        update(Notification)
        .where(Notification.id.in_(mine))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    scope.session.commit()
    return done


def take_for_digest(session: Session, user: User, now: datetime) -> tuple[list[Notification], int]:
    """The user's notifications waiting for the digest (oldest first, at most :data:`DIGEST_LIMIT`)
    and how many more there are; all of them are marked digested. Flushes, no commit."""
    waiting = (
        select(Notification)
        .where(
            Notification.user_id == user.id,
            Notification.delivery == Delivery.DIGEST,
            Notification.digested_at.is_(None),
        )
        .order_by(Notification.created_at, Notification.id)
    )
    rows = list(session.scalars(waiting))
    if rows:
        session.execute(
            update(Notification)
            .where(Notification.id.in_([r.id for r in rows]))
            .values(digested_at=now)
            .execution_options(synchronize_session=False)
        )
        for row in rows:
            row.digested_at = now
    return rows[:DIGEST_LIMIT], max(0, len(rows) - DIGEST_LIMIT)


# -- the events ----------------------------------------------------------------------------------


def _contact_name(message: OutreachMessage) -> str:
    return message.contact.name if message.contact is not None else (message.to_name or "Your contact")


def notify_reply(session: Session, message: OutreachMessage) -> list[Notification]:
    """A reply to ``message`` came: tell the client and their coach. Flushes, no commit."""
    client = message.client
    who = _contact_name(message)
    what = KIND_LABELS.get(message.kind, "message").lower()
    link = links.message(message.id)
    return [
        notify(session, client.user, NotificationKind.REPLY, f"{who} replied to your {what}.", link, client),
        notify(
            session,
            client.coach,
            NotificationKind.REPLY,
            f"{client.name}: {who} replied to their {what}.",
            link,
            client,
        ),
    ]


def notify_reflection_shared(session: Session, reflection: Reflection) -> Notification:
    """The client shared ``reflection``: tell their coach. Flushes, no commit."""
    client = session.get(Client, reflection.client_id)
    conversation = reflection.conversation
    return notify(
        session,
        client.coach,
        NotificationKind.REFLECTION_SHARED,
        f"{client.name} shared a reflection on the conversation with {conversation.contact.name}.",
        links.reflection(conversation.id),
        client,
    )


def notify_comment(session: Session, comment: ReflectionComment) -> Notification:
    """A coach commented on a reflection: tell the client. Flushes, no commit."""
    client = session.get(Client, comment.client_id)
    reflection = session.get(Reflection, comment.reflection_id)
    author = comment.author.name if comment.author is not None else "Your coach"
    return notify(
        session,
        client.user,
        NotificationKind.COMMENT,
        f"{author} commented on your reflection on the conversation with "
        f"{reflection.conversation.contact.name}.",
        links.reflection(reflection.conversation_id),
        client,
    )


def notify_suggestion(session: Session, contact: Contact, coach: User) -> Notification:
    """``coach`` suggested ``contact`` to the client: tell the client. Flushes, no commit."""
    client = contact.client
    at = f" at {contact.organisation}" if contact.organisation else ""
    return notify(
        session,
        client.user,
        NotificationKind.SUGGESTION,
        f"{coach.name} suggested a contact: {contact.name}{at}.",
        links.contact(contact.id),
        client,
    )


def notify_invitation_accepted(session: Session, user: User, inviter: User | None) -> list[Notification]:
    """A client accepted their invitation: tell their coach, and whoever invited them if someone else.
    Flushes, no commit."""
    client = user.client
    if client is None:
        return []
    told = [client.coach]
    if inviter is not None and inviter.is_staff and inviter.id != client.coach_id:
        told.append(inviter)
    return [
        notify(
            session,
            person,
            NotificationKind.INVITATION_ACCEPTED,
            f"{client.name} accepted the invitation and joined Crossroads.",
            links.client_page(client.id),
            client,
        )
        for person in told
        if person.practice_id == client.practice_id
    ]


def notify_stalled(session: Session, now: datetime) -> int:
    """Tell each coach once when a client of theirs becomes stalled (``figures.stalled_clause``, the
    practice's own number of days). Returns how many were told. Flushes, no commit.

    Each client's ``stalled_notified_at`` remembers the telling, claimed with one conditional UPDATE
    (two workers running the job at once tell once): a client is told about again only after
    activity of their own since, and a new stall.
    """
    told = 0
    for practice_id in list(session.scalars(select(Practice.id).order_by(Practice.id))):
        threshold = stalled_days(session, practice_id)
        claimed = session.scalars(
            update(Client)
            .where(
                Client.practice_id == practice_id,
                stalled_clause(now, threshold),
                or_(
                    Client.stalled_notified_at.is_(None), Client.stalled_notified_at < last_activity_column()
                ),
            )
            .values(stalled_notified_at=now)
            .returning(Client.id)
            .execution_options(synchronize_session=False)
        ).all()
        for client in _clients(session, claimed):
            idle = activity(client, now, threshold).idle_days
            notify(
                session,
                client.coach,
                NotificationKind.STALLED,
                f"{client.name} has stalled: no activity of their own in {idle} days.",
                links.client_page(client.id),
                client,
            )
            told += 1
    session.flush()
    return told


def _clients(session: Session, ids: Iterable[int]) -> list[Client]:
    ids = list(ids)
    if not ids:
        return []
    return list(session.scalars(select(Client).where(Client.id.in_(ids)).order_by(Client.id)))


#: The core's scheduled job: the mail worker runs it at ten past every hour.
STALLED_JOB = ScheduledJob(name="stalled_clients", run=notify_stalled, cron={"minute": "10"})
