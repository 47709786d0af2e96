"""The id parameters of the plugin's routes, for the isolation sweeps (crossroads.core.route_ids).

An institution belongs to the practice's directory (every coach there keeps it); an affiliation
and an introduction request are the client's own. Each is made on first use.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from crossroads.plugin import Client, RouteId

from .models import Affiliation, Institution, IntroductionRequest, Office
from .services import fill_institution


def _institution(session: Session, client: Client) -> Institution:
    institution = Institution(practice_id=client.practice_id)
    fill_institution(
        institution,
        {"name": f"University of {client.practice.name}", "alumni_email": "alumni@university.example"},
    )
    return institution


def _institution_id(session: Session, client: Client) -> int:
    return INSTITUTION.resolve(session, client)


INSTITUTION = RouteId("institution_id", Institution, make=_institution, practice_wide=True)

crossroads_route_ids = [
    INSTITUTION,
    RouteId(
        "affiliation_id",
        Affiliation,
        make=lambda session, client: Affiliation(
            practice_id=client.practice_id,
            client_id=client.id,
            institution_id=_institution_id(session, client),
        ),
    ),
    RouteId(
        "intro_request_id",
        IntroductionRequest,
        make=lambda session, client: IntroductionRequest(
            practice_id=client.practice_id,
            client_id=client.id,
            institution_id=_institution_id(session, client),
            office=Office.ALUMNI,
        ),
    ),
]
