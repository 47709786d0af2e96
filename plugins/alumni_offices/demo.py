"""Demo data for the alumni offices plugin: two institutions, where the demo client studied,
and one answered introduction request that brought one contact.

Self-contained: the core's demo calls :func:`load_demo` through a hook, never by import.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crossroads.plugin import (
    Client,
    MessageKind,
    MessageStatus,
    OutreachMessage,
    Practice,
    Scope,
    add_contact,
    utcnow,
)

from . import services
from .models import Affiliation, Institution, Introduction, IntroductionRequest, Office, RequestStatus

INSTITUTIONS = [
    {
        "name": "Riverside University",
        "alumni_email": "alumni@riverside.example",
        "career_email": "careers@riverside.example",
        "notes": "Ask for Grace in the alumni office; she usually answers within a week.",
    },
    {
        "name": "Northgate School of Journalism",
        "alumni_email": "",
        "career_email": "careers@northgate.example",
        "notes": "Short courses count: their career centre helps former course students too.",
    },
]
AFFILIATIONS = [(0, "BA English Literature", 2012), (1, "Magazine Journalism short course", 2019)]
INTRODUCED = {
    "name": "Hannah Osei",
    "email": "hannah.osei@longread.example",
    "position": "Features Editor",
    "organisation": "The Long Read Quarterly",
    "linkedin_url": None,
}


def load_demo(session: Session, practice: Practice, clients: list[Client]) -> None:
    """Add the plugin's demo rows for ``practice``, around ``clients[0]`` (flushed, not committed).

    Does nothing when the practice already has institutions (loading the demo twice changes nothing).
    """
    if not clients:
        return
    if session.scalar(select(Institution.id).where(Institution.practice_id == practice.id).limit(1)):
        return
    client = clients[0]
    now = utcnow()
    institutions = []
    for data in INSTITUTIONS:
        institution = Institution(
            practice_id=practice.id, created_by_id=client.coach_id, created_at=now - timedelta(days=30)
        )
        services.fill_institution(institution, data)
        session.add(institution)
        institutions.append(institution)
    for index, programme, year in AFFILIATIONS:
        session.add(
            Affiliation(
                practice_id=practice.id,
                client_id=client.id,
                institution=institutions[index],
                programme=programme,
                year=year,
                created_at=now - timedelta(days=20),
            )
        )
    session.flush()

    scope = Scope(session, client.user)
    theme = client.active_themes[0] if client.active_themes else None
    context = services.request_context(
        scope,
        client,
        {"institution_id": institutions[0].id, "office": Office.ALUMNI, "theme_id": theme and theme.id},
    )
    draft = services.initial_draft(scope, context)
    sent_at, answered_at = now - timedelta(days=12), now - timedelta(days=9)
    message = OutreachMessage(
        practice_id=practice.id,
        client_id=client.id,
        channel=services.CHANNEL.name,
        kind=MessageKind.INTRODUCTION_REQUEST,
        subject=draft.subject,
        body=draft.body,
        to_name=f"{institutions[0].name} alumni office",
        to_address=institutions[0].alumni_email,
        status=MessageStatus.SENT,
        warnings=[],
        created_by_id=client.user_id,
        created_at=sent_at,
        sent_at=sent_at,
        replied_at=answered_at,
    )
    request = IntroductionRequest(
        practice_id=practice.id,
        client_id=client.id,
        institution=institutions[0],
        affiliation=context.affiliation,
        office=Office.ALUMNI,
        theme=theme,
        hoped_for=3,
        message=message,
        status=RequestStatus.ANSWERED,
        answered_at=answered_at,
        note="Grace passed my note to three graduates in publishing; one has written back so far.",
        created_by_id=client.user_id,
        created_at=sent_at,
    )
    session.add_all([message, request])
    contact = add_contact(
        scope,
        client.id,
        {
            **INTRODUCED,
            "source": "alumni_office",
            "research_notes": f"Introduced by the {institutions[0].name} alumni office.",
            "theme_ids": [theme.id] if theme else [],
        },
    )
    session.add(
        Introduction(
            practice_id=practice.id,
            client_id=client.id,
            request=request,
            contact=contact,
            created_at=answered_at,
        )
    )
    session.flush()
