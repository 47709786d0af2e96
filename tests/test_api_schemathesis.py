"""The API against its own OpenAPI document, by a suite we did not write: schemathesis generates
requests for every operation, valid and invalid, and sends each with an owner's, a coach's and a
client's token. No answer may be a server error or break the document (status, content type,
shape), and no request the document forbids may succeed."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crossroads.core.services.api_tokens import issue_for
from crossroads.testing import make_bank, make_conversation, make_message

EXAMPLES = 8
#: What the issue asks of the API. Not "positive data acceptance": a request the document allows
#: may still break a rule it cannot state (a fourth active theme, a cursor this API did not make),
#: and is refused with 422 naming the field.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _real_ids(world, db) -> dict[str, object]:
    """Ids of rows that the owner, the coach and the client all reach (the world's client's)."""
    from sqlalchemy import select

    from crossroads.core.models import Contact, Reach

    contact = db.scalars(
        select(Contact).where(Contact.client_id == world.client.id).order_by(Contact.id)
    ).first()
    conversation = make_conversation(db, contact, shared_reflection=True)
    message = make_message(db, contact)
    bank = make_bank(db, world.coach, "Shared questions", Reach.PRACTICE)
    db.commit()
    return {
        "client_id": world.client.id,
        "theme_id": world.theme.id,
        "contact_id": contact.id,
        "conversation_id": conversation.id,
        "reflection_id": conversation.reflection.id,
        "message_id": message.id,
        "bank_id": bank.id,
        "name": "theme_progress",
    }


def test_every_operation_for_every_role(app, world, db, crossroads_other_client):
    """Each generated request is sent as generated (its ids mostly nobody's) and again with the
    path's ids those of rows every role reaches, so bodies are judged against real rows too."""
    real = _real_ids(world, db)
    app.extensions["crossroads"].settings.api_rate_limit = 10**9  # thousands of requests a minute here
    headers_by_role = {
        role: {"Authorization": f"Bearer {issue_for(db, user)}"}
        for role, user in (("owner", world.owner), ("coach", world.coach), ("client", world.client.user))
    }
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def send(case):
                negated = {
                    location.name for location, info in case.meta.components.items() if info.mode.is_negative
                }
                # Our token is sent in Authorization: a case whose only fault was its missing token
                # is then a valid request.
                checks = CHECKS if negated != {"HEADER"} else CHECKS[:-1]
                for headers in headers_by_role.values():
                    case.call_and_validate(headers=headers, checks=checks)
                if case.path_parameters and "PATH" not in negated:
                    case.path_parameters = {
                        name: real.get(name, value) for name, value in case.path_parameters.items()
                    }
                    for headers in headers_by_role.values():
                        case.call_and_validate(headers=headers, checks=checks)

            try:
                send()
            except BaseException as exc:  # every operation's failures are reported together
                if isinstance(exc, KeyboardInterrupt):
                    raise
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:3000])
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
