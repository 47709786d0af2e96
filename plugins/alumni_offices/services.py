"""The alumni offices plugin's rules: the directory, affiliations, requests and introductions.

Views stay thin and call these; tests call them without HTTP. Every lookup goes
through :class:`~crossroads.plugin.Scope`, so another practice's rows (and
another coach's clients') are :class:`NotFound`. Coaches keep the directory;
clients record their affiliations, send requests and record what came of them,
and their coach reads along.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from crossroads.plugin import (
    CareerTheme,
    Client,
    Contact,
    Draft,
    Forbidden,
    InboundMail,
    InvalidInput,
    MessageKind,
    MessageStatus,
    MessageWarning,
    NotFound,
    OutreachMessage,
    Page,
    Role,
    Scope,
    TemplateText,
    add_contact,
    draft_warnings,
    fold,
    like_pattern,
    paginate,
    touch_client,
    utcnow,
    words,
)
from crossroads.plugin import initial_draft as core_initial_draft

from .channel import AlumniOfficeChannel, IntroductionContext, office_label
from .models import (
    OFFICE_LABELS,
    REQUEST_STATUS_LABELS,
    Affiliation,
    Institution,
    Introduction,
    IntroductionRequest,
    Office,
    RequestStatus,
)

CHANNEL = AlumniOfficeChannel()
ExtraChecks = Callable[[Draft], list[MessageWarning]]


def _require_staff(scope: Scope) -> None:
    """The directory is kept by coaches; to a client its pages do not exist."""
    if not scope.user.is_staff:
        raise NotFound("the institution directory")


def _require_client(scope: Scope, what: str) -> None:
    """Clients act on their own affiliations and requests; their coach reads them (403)."""
    if scope.user.role != Role.CLIENT:
        raise Forbidden(what)


# -- the directory ------------------------------------------------------------------------


def name_key(name: str) -> str:
    """The name as compared for duplicates and sorted: folded, with single spaces."""
    return " ".join(fold(name).split())[:200]


def fill_institution(institution: Institution, data: dict[str, Any]) -> None:
    institution.name = data["name"]
    institution.name_key = name_key(data["name"])
    institution.alumni_email = data.get("alumni_email", "")
    institution.career_email = data.get("career_email", "")
    institution.notes = data.get("notes", "")
    institution.search_text = " ".join(
        part
        for part in (
            institution.name_key,
            institution.alumni_email,
            institution.career_email,
            fold(institution.notes),
        )
        if part
    )


def _check_unique_name(scope: Scope, name: str, institution_id: int | None) -> None:
    query = select(Institution).where(
        Institution.practice_id == scope.practice_id, Institution.name_key == name_key(name)
    )
    if institution_id is not None:
        query = query.where(Institution.id != institution_id)
    existing = scope.session.scalars(query).first()
    if existing is None:
        return
    if existing.is_removed:
        message = f"“{existing.name}” is already in the directory, removed: restore it from the removed list."
        raise InvalidInput({"name": [message]})
    raise InvalidInput({"name": [f"“{existing.name}” is already in the directory."]})


def _commit_directory(scope: Scope, name: str) -> None:
    """Commit, turning a colleague's save of the same name at the same moment into a field error."""
    try:
        scope.session.commit()
    except IntegrityError:
        scope.session.rollback()
        raise InvalidInput({"name": [f"“{name}” was added to the directory a moment ago."]}) from None


def create_institution(scope: Scope, data: dict[str, Any]) -> Institution:
    """A coach adds an institution to the practice's directory (data from ``InstitutionSchema``)."""
    _require_staff(scope)
    _check_unique_name(scope, data["name"], None)
    institution = Institution(practice_id=scope.practice_id, created_by_id=scope.user.id)
    fill_institution(institution, data)
    scope.session.add(institution)
    _commit_directory(scope, data["name"])
    return institution


def institution_for_staff(scope: Scope, institution_id: int) -> Institution:
    """An institution of the user's practice (removed or not), for its coaches."""
    institution = scope.get(Institution, institution_id)
    _require_staff(scope)
    return institution


def update_institution(scope: Scope, institution_id: int, data: dict[str, Any]) -> Institution:
    institution = institution_for_staff(scope, institution_id)
    _check_unique_name(scope, data["name"], institution.id)
    fill_institution(institution, data)
    _commit_directory(scope, data["name"])
    return institution


def set_institution_removed(scope: Scope, institution_id: int, removed: bool) -> Institution:
    """Remove an institution from the directory, or restore it (the undo).

    Clients' affiliations and requests keep it; it is no longer offered for new ones.
    """
    institution = institution_for_staff(scope, institution_id)
    if removed and institution.is_removed:
        raise InvalidInput({"_schema": [f"{institution.name} was already removed."]})
    if not removed and not institution.is_removed:
        raise InvalidInput({"_schema": [f"{institution.name} is in the directory."]})
    institution.removed_at = utcnow() if removed else None
    scope.session.commit()
    return institution


SORT_COLUMNS = {
    "name": Institution.name_key,
    "added": Institution.created_at,
    "updated": Institution.updated_at,
}


def search_institutions(scope: Scope, params: dict[str, Any]) -> Page[Institution]:
    """One page of the directory (params from ``InstitutionQuerySchema``).

    Every word of ``q`` must appear in the name, an address or the notes, ignoring case and accents.
    """
    _require_staff(scope)
    query = scope.select(Institution)
    if params.get("removed"):
        query = query.where(Institution.removed_at.is_not(None))
    else:
        query = query.where(Institution.removed_at.is_(None))
    for word in words(params.get("q") or ""):
        query = query.where(Institution.search_text.like(like_pattern(word), escape="\\"))
    sort = params.get("sort") or "name"
    column = SORT_COLUMNS[sort.lstrip("-")]
    query = query.order_by(column.desc() if sort.startswith("-") else column.asc(), Institution.id)
    return paginate(scope.session, query, params.get("page", 1), params.get("per_page", 25))


def removed_count(scope: Scope) -> int:
    _require_staff(scope)
    return scope.session.scalar(
        select(func.count()).select_from(
            scope.select(Institution).where(Institution.removed_at.is_not(None)).subquery()
        )
    )


def usage(scope: Scope, institution: Institution) -> dict[str, int]:
    """How many of the user's clients name this institution, and how many requests went to it."""
    affiliations = scope.select(Affiliation).where(
        Affiliation.institution_id == institution.id, Affiliation.removed_at.is_(None)
    )
    requests = scope.select(IntroductionRequest).where(IntroductionRequest.institution_id == institution.id)
    count = lambda query: scope.session.scalar(select(func.count()).select_from(query.subquery()))  # noqa: E731
    return {"affiliations": count(affiliations), "requests": count(requests)}


def directory(scope: Scope) -> list[Institution]:
    """The institutions a client may choose from: the practice's directory, without removed ones.

    The directory belongs to the whole practice, so its clients read it too (the core's
    scope keeps practice-level rows from clients; this is the one place they see them).
    """
    return list(
        scope.session.scalars(
            select(Institution)
            .where(Institution.practice_id == scope.practice_id, Institution.removed_at.is_(None))
            .order_by(Institution.name_key, Institution.id)
        )
    )


def _choosable(scope: Scope, institution_id: int | None) -> Institution:
    """An institution of the directory the client may pick; otherwise an error on ``institution_id``."""
    institution = scope.session.scalar(
        select(Institution).where(
            Institution.id == (institution_id or 0),
            Institution.practice_id == scope.practice_id,
            Institution.removed_at.is_(None),
        )
    )
    if institution is None:
        raise InvalidInput({"institution_id": ["Choose an institution from the list."]})
    return institution


# -- affiliations -------------------------------------------------------------------------


def affiliations(scope: Scope, client_id: int, include_removed: bool = False) -> list[Affiliation]:
    """A client's affiliations, by institution name."""
    client = scope.get(Client, client_id)
    query = (
        scope.select(Affiliation)
        .join(Institution, Affiliation.institution_id == Institution.id)
        .where(Affiliation.client_id == client.id)
        .options(selectinload(Affiliation.institution))
        .order_by(Institution.name_key, Affiliation.year, Affiliation.id)
    )
    if not include_removed:
        query = query.where(Affiliation.removed_at.is_(None))
    return list(scope.session.scalars(query))


def add_affiliation(scope: Scope, client_id: int, data: dict[str, Any]) -> Affiliation:
    """The client records where they studied (data from ``AffiliationSchema``)."""
    client = scope.get(Client, client_id)
    _require_client(scope, "clients record their own affiliations")
    institution = _choosable(scope, data["institution_id"])
    programme = data.get("programme", "")
    duplicate = scope.session.scalar(
        scope.select(Affiliation).where(
            Affiliation.client_id == client.id,
            Affiliation.institution_id == institution.id,
            func.lower(Affiliation.programme) == programme.lower(),
            Affiliation.removed_at.is_(None),
        )
    )
    if duplicate is not None:
        what = f"{programme} at {institution.name}" if programme else institution.name
        raise InvalidInput({"programme": [f"{what} is already among your affiliations."]})
    affiliation = Affiliation(
        practice_id=client.practice_id,
        client_id=client.id,
        institution=institution,
        programme=programme,
        year=data.get("year"),
    )
    scope.session.add(affiliation)
    touch_client(client)
    scope.session.commit()
    return affiliation


def set_affiliation_removed(scope: Scope, affiliation_id: int, removed: bool) -> Affiliation:
    """The client removes an affiliation, or takes the removal back."""
    affiliation = scope.get(Affiliation, affiliation_id)
    _require_client(scope, "clients keep their own affiliations")
    if removed == (affiliation.removed_at is not None):
        state = "removed" if removed else "among your affiliations"
        raise InvalidInput({"_schema": [f"{affiliation.institution.name} is already {state}."]})
    affiliation.removed_at = utcnow() if removed else None
    scope.session.commit()
    return affiliation


# -- introduction requests ----------------------------------------------------------------


def _theme(scope: Scope, client: Client, theme_id: int | None) -> CareerTheme | None:
    if not theme_id:
        return None
    theme = scope.session.scalar(
        scope.select(CareerTheme).where(CareerTheme.id == theme_id, CareerTheme.client_id == client.id)
    )
    if theme is None:
        raise InvalidInput({"theme_id": ["Choose one of your themes."]})
    return theme


def latest_affiliation(scope: Scope, client: Client, institution: Institution) -> Affiliation | None:
    """The client's affiliation with ``institution`` that a request leans on: the latest year."""
    return scope.session.scalars(
        scope.select(Affiliation)
        .where(
            Affiliation.client_id == client.id,
            Affiliation.institution_id == institution.id,
            Affiliation.removed_at.is_(None),
        )
        .order_by(Affiliation.year.is_(None), Affiliation.year.desc(), Affiliation.id.desc())
    ).first()


def request_context(scope: Scope, client: Client, data: dict[str, Any]) -> IntroductionContext:
    """The drafting context for a request (data from ``RequestChoiceSchema`` or ``RequestSchema``)."""
    institution = _choosable(scope, data.get("institution_id"))
    theme = _theme(scope, client, data.get("theme_id"))
    return IntroductionContext(
        session=scope.session,
        practice=client.practice,
        client=client,
        sender=scope.user,
        kind=MessageKind.INTRODUCTION_REQUEST,
        format="",
        theme=theme,
        channel=CHANNEL.name,
        institution=institution,
        affiliation=latest_affiliation(scope, client, institution),
        office=Office(data.get("office") or Office.ALUMNI),
        hoped_for=data.get("hoped_for") or 3,
    )


def initial_draft(scope: Scope, context: IntroductionContext, channel=CHANNEL) -> TemplateText:
    """The draft the client starts from: the practice's template for this channel, or the default."""
    return core_initial_draft(scope, channel, context)


def warnings(
    context: IntroductionContext,
    subject: str,
    body: str,
    extra_checks: ExtraChecks | None = None,
    channel=CHANNEL,
) -> list[MessageWarning]:
    """The core's checks for an introduction request, the channel's own, then plugins'."""
    return draft_warnings(channel, Draft(context, subject, body), extra_checks)


def send_request(
    scope: Scope,
    client_id: int,
    data: dict[str, Any],
    extra_checks: ExtraChecks | None = None,
    channel: AlumniOfficeChannel = CHANNEL,
) -> IntroductionRequest:
    """The client sends an introduction request (data from ``RequestSchema``).

    The email is an outreach message on this channel, queued in the outbox (or handed to the
    client when the practice has no email server); the warnings at the moment of sending are
    kept with it, as the core does.
    """
    client = scope.get(Client, client_id)
    _require_client(scope, "introduction requests are sent by the client")
    context = request_context(scope, client, data)
    if reason := channel.unavailable_reason(context):
        raise InvalidInput({"office": [str(reason)]})
    found = warnings(context, data["subject"], data["body"], extra_checks, channel)
    message = OutreachMessage(
        practice_id=client.practice_id,
        client_id=client.id,
        contact=None,
        channel=channel.name,
        kind=MessageKind.INTRODUCTION_REQUEST,
        format="",
        subject=data["subject"],
        body=data["body"],
        status=MessageStatus.HANDED_OFF,
        warnings=[{"code": w.code, "message": w.message} for w in found],
        created_by_id=scope.user.id,
    )
    scope.session.add(message)
    delivery = channel.deliver(message, context)
    message.status = MessageStatus.QUEUED if delivery.queued else MessageStatus.HANDED_OFF
    request = IntroductionRequest(
        practice_id=client.practice_id,
        client_id=client.id,
        institution=context.institution,
        affiliation=context.affiliation,
        office=context.office,
        theme=context.theme,
        hoped_for=context.hoped_for,
        message=message,
        status=RequestStatus.SENT,
        created_by_id=scope.user.id,
    )
    scope.session.add(request)
    touch_client(client)
    scope.session.commit()
    return request


def requests_for(scope: Scope, client_id: int) -> list[IntroductionRequest]:
    """A client's requests, newest first, with their institutions, messages and introductions."""
    client = scope.get(Client, client_id)
    return list(
        scope.session.scalars(
            scope.select(IntroductionRequest)
            .where(IntroductionRequest.client_id == client.id)
            .options(
                selectinload(IntroductionRequest.institution),
                selectinload(IntroductionRequest.message),
                selectinload(IntroductionRequest.introductions).selectinload(Introduction.contact),
                selectinload(IntroductionRequest.theme),
            )
            .order_by(IntroductionRequest.created_at.desc(), IntroductionRequest.id.desc())
        )
    )


def request_for(scope: Scope, request_id: int) -> IntroductionRequest:
    return scope.get(IntroductionRequest, request_id)


def _own_request(scope: Scope, request_id: int) -> IntroductionRequest:
    request = scope.get(IntroductionRequest, request_id)
    _require_client(scope, "the client keeps track of their own requests")
    return request


def mark_answered(scope: Scope, request_id: int, data: dict[str, Any]) -> IntroductionRequest:
    """The office answered (data from ``AnswerSchema``); the email counts as replied to."""
    request = _own_request(scope, request_id)
    if request.status == RequestStatus.CLOSED:
        raise InvalidInput({"_schema": ["This request is closed: reopen it first."]})
    request.status = RequestStatus.ANSWERED
    request.answered_at = request.answered_at or utcnow()
    if data.get("note"):
        request.note = data["note"]
    _count_reply(request)
    touch_client(request.client)
    scope.session.commit()
    return request


def close_request(scope: Scope, request_id: int) -> IntroductionRequest:
    """The client expects nothing more from this request (reopening undoes it)."""
    request = _own_request(scope, request_id)
    if request.status == RequestStatus.CLOSED:
        raise InvalidInput({"_schema": ["This request is already closed."]})
    request.status = RequestStatus.CLOSED
    request.closed_at = utcnow()
    scope.session.commit()
    return request


def reopen_request(scope: Scope, request_id: int) -> IntroductionRequest:
    """Undo the last step: a closed request goes back to where it was; an answered one to waiting."""
    request = _own_request(scope, request_id)
    if request.status == RequestStatus.CLOSED:
        request.status = RequestStatus.ANSWERED if request.answered_at else RequestStatus.SENT
        request.closed_at = None
    elif request.status == RequestStatus.ANSWERED:
        if request.introductions:
            raise InvalidInput({"_schema": ["The office has introduced people already, so it did answer."]})
        request.status = RequestStatus.SENT
        request.answered_at = None
        message = request.message
        if message is not None:
            message.replied_at = None
    else:
        raise InvalidInput({"_schema": ["This request is still waiting for an answer."]})
    scope.session.commit()
    return request


def add_introduction(scope: Scope, request_id: int, data: dict[str, Any]) -> Introduction:
    """Someone the office introduced becomes a contact (source: alumni office), linked to the request.

    The request counts as answered from then on. Data from ``IntroductionSchema``.
    """
    request = _own_request(scope, request_id)
    institution = request.institution
    where = f"{institution.name} {office_label(request.office)}"
    contact_data = {
        **data,
        "source": "alumni_office",
        "research_notes": f"Introduced by the {where}.",
        "tags": [],
        "theme_ids": [request.theme_id] if request.theme_id else [],
    }
    # The core's own way of adding a contact (it checks the profile address), in one transaction
    # with the introduction: both are saved, or neither.
    contact = add_contact(scope, request.client_id, contact_data)
    introduction = Introduction(
        practice_id=request.practice_id, client_id=request.client_id, request=request, contact=contact
    )
    scope.session.add(introduction)
    if request.status == RequestStatus.SENT:
        request.status = RequestStatus.ANSWERED
        request.answered_at = utcnow()
    _count_reply(request)
    scope.session.commit()
    return introduction


def answered_by_email(session: Session, message: OutreachMessage, reply: InboundMail) -> None:
    """The office's answer to the request sent as ``message`` came back by email: mark it answered
    (unless the client closed it), when the answer arrived. Does not commit."""
    request = session.scalar(select(IntroductionRequest).where(IntroductionRequest.message_id == message.id))
    if request is None or request.status != RequestStatus.SENT:
        return
    request.status = RequestStatus.ANSWERED
    request.answered_at = request.answered_at or reply.received_at or utcnow()
    _count_reply(request)


def _count_reply(request: IntroductionRequest) -> None:
    """The office answered: its email counts as replied to in the figures (the core's counting rules)."""
    message = request.message
    if message is not None and message.status == MessageStatus.SENT and message.replied_at is None:
        message.replied_at = request.answered_at


def introduced_by(scope: Scope, contact: Contact) -> IntroductionRequest | None:
    """The request that brought ``contact``, if an office introduced them."""
    return scope.session.scalar(
        scope.select(IntroductionRequest)
        .join(Introduction, Introduction.request_id == IntroductionRequest.id)
        .where(Introduction.contact_id == contact.id)
    )


#: A request whose email has not gone yet is not waiting for an answer: it says where its email is.
EMAIL_NOT_SENT = {
    MessageStatus.HANDED_OFF: "Not sent yet: waiting for you to send it",
    MessageStatus.QUEUED: "Not sent yet: the email is queued",
    MessageStatus.SENDING: "Not sent yet: the email is being sent",
    MessageStatus.FAILED: "Not sent: the email failed",
    MessageStatus.UNKNOWN: "Perhaps not sent: check your sent mail",
}


def request_state(request: IntroductionRequest) -> str:
    """The request's status as the client should read it: "waiting for an answer" only once its email went."""
    message = request.message
    if request.status == RequestStatus.SENT and message is not None and message.status in EMAIL_NOT_SENT:
        return EMAIL_NOT_SENT[message.status]
    return REQUEST_STATUS_LABELS[request.status]


def office_name(request: IntroductionRequest) -> str:
    return f"{request.institution.name}, {OFFICE_LABELS[request.office].lower()}"
