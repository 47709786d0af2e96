"""Every hook is guarded: a plugin that raises, or answers the wrong type, is logged and the rest works.

For each hook specification there is a trigger below: the real page, command
or service that calls the hook, and what must still work when one plugin
misbehaves in it. A new hook without a trigger fails
``test_every_hook_has_an_isolation_trigger``.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crossroads.core import hookspecs
from crossroads.core.config import Settings
from crossroads.core.demo import load_demo
from crossroads.core.hookdocs import hook_specs
from crossroads.core.hookspecs import HookDeprecationWarning, hookimpl
from crossroads.core.mail.queue import make_queue
from crossroads.core.models import (
    CareerTheme,
    Contact,
    Conversation,
    ConversationStatus,
    MessageStatus,
    OutreachMessage,
    Reflection,
    ThemeStatus,
    User,
)
from crossroads.core.plugins import PluginManager
from crossroads.testing import World
from crossroads.web import create_app
from crossroads.web.cli import main

BAD = "misbehaving"
UNAVAILABLE = "This part is unavailable right now."


@dataclass
class Ctx:
    world: World
    db: Session
    as_user: Callable[[User], Any]
    plugins: PluginManager
    settings: Settings


def misbehaving_plugin(hook_name: str, mode: str) -> SimpleNamespace:
    """A plugin implementing only ``hook_name``: it raises, or answers an object no hook takes."""

    def impl():
        if mode == "raises":
            raise RuntimeError(f"{hook_name} broke")
        return object()

    return SimpleNamespace(**{hook_name: hookimpl(impl)})


def first(ctx: Ctx, model: type) -> Any:
    """The world's client's first row of ``model`` (a contact, conversation or message)."""
    return ctx.db.scalars(
        select(model).where(model.client_id == ctx.world.client.id).order_by(model.id)
    ).first()


def scheduled_conversation(ctx: Ctx) -> Conversation:
    contact = first(ctx, Contact)
    conversation = Conversation(
        practice_id=contact.practice_id,
        client_id=contact.client_id,
        contact=contact,
        starts_at=datetime.now(UTC) + timedelta(days=3),
        uid=f"{uuid.uuid4()}@test",
        status=ConversationStatus.SCHEDULED,
    )
    ctx.db.add(conversation)
    ctx.db.commit()
    return conversation


# -- triggers: call the hook for real and assert what must still work ---------------------


def client_panels(ctx: Ctx) -> None:
    page = ctx.as_user(ctx.world.client.user).get("/me/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f'data-plugin="{BAD}"' in text and UNAVAILABLE in text
    assert "Themes against targets" in text  # the healthy plugin's panel


def conversation_panels(ctx: Ctx) -> None:
    conversation = first(ctx, Conversation)
    page = ctx.as_user(ctx.world.client.user).get(f"/conversations/{conversation.id}")
    assert page.status_code == 200
    assert f'data-plugin="{BAD}"' in page.get_data(as_text=True)


def outreach_channels(ctx: Ctx) -> None:
    contact = first(ctx, Contact)
    page = ctx.as_user(ctx.world.client.user).get(f"/contacts/{contact.id}/write?channel=linkedin")
    assert page.status_code == 200
    assert 'value="linkedin"' in page.get_data(as_text=True)


def message_checks(ctx: Ctx) -> None:
    contact = first(ctx, Contact)
    response = ctx.as_user(ctx.world.client.user).post(
        f"/contacts/{contact.id}/write/check",
        data={"channel": "email", "kind": "first_request", "subject": "Hi", "body": "Do you have a job?"},
    )
    assert response.status_code == 200
    assert "job_request" in {w["code"] for w in response.json["warnings"]}


def message_sent(ctx: Ctx) -> None:
    message = first(ctx, OutreachMessage)
    response = ctx.as_user(ctx.world.client.user).post(f"/messages/{message.id}/sent")
    assert response.status_code == 302
    ctx.db.expire_all()
    assert ctx.db.get(OutreachMessage, message.id).status == MessageStatus.SENT


def message_replied(ctx: Ctx) -> None:
    from crossroads.core import events
    from crossroads.core.db import make_sessionmaker
    from crossroads.core.inbox.pending import process_pending
    from crossroads.core.models import PracticeMail, Stage
    from crossroads.core.scoping import Scope
    from crossroads.core.services import mail_settings

    message = first(ctx, OutreachMessage)
    contact = message.contact
    contact.email, contact.stage = "zoe.ng@acme.example", Stage.REQUESTED
    message.to_address, message.status = contact.email, MessageStatus.SENT
    server = PracticeMail(practice_id=ctx.world.practice.id, host="smtp.a.example", from_address="a@a.ex")
    ctx.db.add(server)
    ctx.db.commit()
    secret = mail_settings.new_inbound_secret(Scope(ctx.db, ctx.world.owner))
    raw = b"From: Zoe <zoe.ng@acme.example>\r\nSubject: Re: hi\r\nMessage-ID: <r1@a.ex>\r\n\r\nYes!\r\n"
    response = ctx.as_user(ctx.world.owner).post(
        f"/inbound/{ctx.world.practice.id}/mail", data=raw, headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 202 and response.json["kind"] == "pending"  # recorded; read next
    bound = make_sessionmaker(ctx.db.get_bind())

    def worker_session() -> Session:  # as the worker's: the plugins hear the events
        session = bound()
        events.attach(session, ctx.plugins)
        return session

    process_pending(worker_session, ctx.world.practice.id)
    ctx.db.expire_all()
    assert ctx.db.get(Contact, contact.id).stage == Stage.REPLIED


def _in_a_week() -> str:
    return (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%dT10:00")


def conversation_scheduled(ctx: Ctx) -> None:
    contact = first(ctx, Contact)
    response = ctx.as_user(ctx.world.client.user).post(
        f"/contacts/{contact.id}/conversations",
        data={
            "starts_at": _in_a_week(),
            "minutes": "20",
            "medium": "video",
            "location": "https://meet.example",
        },
    )
    assert response.status_code == 302
    assert ctx.db.scalar(select(func.count(Conversation.id)).where(Conversation.contact_id == contact.id))


def conversation_rescheduled(ctx: Ctx) -> None:
    conversation = scheduled_conversation(ctx)
    response = ctx.as_user(ctx.world.client.user).post(
        f"/conversations/{conversation.id}/reschedule",
        data={"starts_at": _in_a_week(), "minutes": "30", "medium": "phone", "location": "+44 20 0000"},
    )
    assert response.status_code == 302
    ctx.db.expire_all()
    assert ctx.db.get(Conversation, conversation.id).sequence == 1


def conversation_cancelled(ctx: Ctx) -> None:
    conversation = scheduled_conversation(ctx)
    response = ctx.as_user(ctx.world.client.user).post(f"/conversations/{conversation.id}/cancel")
    assert response.status_code == 302
    ctx.db.expire_all()
    assert ctx.db.get(Conversation, conversation.id).status == ConversationStatus.CANCELLED


def conversation_changed(ctx: Ctx) -> None:
    """The deprecated event is still called, here from the cancellation that replaced it."""
    conversation_cancelled(ctx)


def conversation_held(ctx: Ctx) -> None:
    conversation = scheduled_conversation(ctx)
    conversation.starts_at = datetime.now(UTC) - timedelta(minutes=30)  # held only once it has started
    ctx.db.commit()
    response = ctx.as_user(ctx.world.client.user).post(f"/conversations/{conversation.id}/held")
    assert response.status_code == 302
    ctx.db.expire_all()
    assert ctx.db.get(Conversation, conversation.id).status == ConversationStatus.HELD


def reflection_shared(ctx: Ctx) -> None:
    conversation = scheduled_conversation(ctx)
    response = ctx.as_user(ctx.world.client.user).post(
        f"/conversations/{conversation.id}/reflection",
        data={"energy": "1", "fit": "4", "insights": "Deadlines rule", "share": "true"},
    )
    assert response.status_code == 302
    reflection = ctx.db.scalar(select(Reflection).where(Reflection.conversation_id == conversation.id))
    assert reflection is not None and reflection.shared_at is not None


def client_invited(ctx: Ctx) -> None:
    response = ctx.as_user(ctx.world.coach).post(
        "/coach/invite", data={"name": "Nina New", "email": "nina@a.example"}
    )
    assert response.status_code in (200, 302)
    assert ctx.db.scalar(select(User).where(User.email == "nina@a.example")).client is not None


def theme_decided(ctx: Ctx) -> None:
    theme = ctx.world.client.themes[0]
    response = ctx.as_user(ctx.world.client.user).post(f"/themes/{theme.id}/status/chosen")
    assert response.status_code == 302
    ctx.db.expire_all()
    assert ctx.db.get(CareerTheme, theme.id).status == ThemeStatus.CHOSEN


def blueprints(ctx: Ctx) -> None:
    app = create_app(ctx.settings, plugins=ctx.plugins)
    assert "progress_report.client_report" in {rule.endpoint for rule in app.url_map.iter_rules()}
    assert app.test_client().get("/login", base_url="https://localhost").status_code == 200


def api_blueprints(ctx: Ctx) -> None:
    app = create_app(ctx.settings, plugins=ctx.plugins)
    document = app.test_client().get("/api/v1/openapi.json", base_url="https://localhost")
    assert document.status_code == 200
    assert "/api/v1/plugins/alumni_offices/institutions" in document.get_json()["paths"]
    assert "/api/v1/clients" in document.get_json()["paths"]


def menu_items(ctx: Ctx) -> None:
    page = ctx.as_user(ctx.world.coach).get("/coach/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "/plugins/progress_report/caseload" in text
    assert f'<span class="plugin-failed" data-plugin="{BAD}">{BAD}: a plugin failed</span>' in text


def load_demo_data(ctx: Ctx) -> None:
    practice = load_demo(ctx.db, ctx.plugins)
    from crossroads.plugins.alumni_offices.models import Institution

    assert ctx.db.scalar(select(func.count(Institution.id)).where(Institution.practice_id == practice.id))


def _report(ctx: Ctx) -> str:
    page = ctx.as_user(ctx.world.coach).get(f"/plugins/progress_report/clients/{ctx.world.client.id}/report")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def report_sections(ctx: Ctx) -> None:
    text = _report(ctx)
    assert f'data-plugin="{BAD}"' in text
    assert 'data-plugin="progress_report"' in text


def report_formats(ctx: Ctx) -> None:
    assert "format=pdf" in _report(ctx)


def scheduled_jobs(ctx: Ctx) -> None:
    queue = make_queue(ctx.settings, ctx.plugins)
    try:
        assert any(name.startswith("job:progress_report:") for name in queue.jobs)
    finally:
        queue.close()


def plugin_settings(ctx: Ctx) -> None:
    page = ctx.as_user(ctx.world.owner).get("/practice/")
    assert page.status_code == 200
    assert f'data-plugin="{BAD}"' in page.get_data(as_text=True)  # still listed, to switch off


def cli_commands(ctx: Ctx) -> None:
    result = CliRunner().invoke(main, ["--help"], obj=ctx.plugins)
    assert result.exit_code == 0, result.output
    assert "serve" in result.output


def contact_sources(ctx: Ctx) -> None:
    client = ctx.world.client
    page = ctx.as_user(client.user).get(f"/clients/{client.id}/import")
    assert page.status_code == 200
    assert 'value="linkedin_connections"' in page.get_data(as_text=True)  # the core's importers still offered
    contact = ctx.world.contacts[0]  # its source's label is looked up through the hook too
    assert ctx.as_user(client.user).get(f"/contacts/{contact.id}").status_code == 200


def _coaching_action(ctx: Ctx, due_in_days: int = 0):
    """A coaching session of the world's client with one action item of theirs, due today."""
    from crossroads.plugins.coaching_sessions.models import ActionItem, CoachingSession

    client = ctx.world.client
    row = CoachingSession(
        practice_id=client.practice_id,
        client_id=client.id,
        coach_id=client.coach_id,
        starts_at=datetime.now(UTC) + timedelta(hours=1),
        uid=f"coaching-{uuid.uuid4()}@test",
    )
    ctx.db.add(row)
    ctx.db.flush()
    item = ActionItem(
        practice_id=client.practice_id,
        client_id=client.id,
        session_id=row.id,
        text="Write to two editors",
        due_on=datetime.now(UTC).date() + timedelta(days=due_in_days),
    )
    ctx.db.add(item)
    ctx.db.commit()
    return row, item


def due_entries(ctx: Ctx) -> None:
    _coaching_action(ctx)
    page = ctx.as_user(ctx.world.client.user).get("/me/")
    assert page.status_code == 200
    assert "Due today and overdue" in page.get_data(as_text=True)


def caseload_columns(ctx: Ctx) -> None:
    _coaching_action(ctx)
    page = ctx.as_user(ctx.world.coach).get("/coach/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert ctx.world.client.name in text and 'data-column="coaching_actions"' in text
    assert f'data-plugin="{BAD}"' in text  # its column, marked unavailable


def coaching_session_held(ctx: Ctx) -> None:
    from crossroads.plugins.coaching_sessions.models import CoachingSession, SessionStatus

    row, _ = _coaching_action(ctx)
    response = ctx.as_user(ctx.world.coach).post(f"/plugins/coaching_sessions/sessions/{row.id}/held")
    assert response.status_code == 302
    ctx.db.expire_all()
    assert ctx.db.get(CoachingSession, row.id).status == SessionStatus.HELD


def action_item_completed(ctx: Ctx) -> None:
    from crossroads.plugins.coaching_sessions.models import ActionItem

    _, item = _coaching_action(ctx)
    response = ctx.as_user(ctx.world.client.user).post(f"/plugins/coaching_sessions/actions/{item.id}/done")
    assert response.status_code == 302
    ctx.db.expire_all()
    assert ctx.db.get(ActionItem, item.id).done_at is not None


TRIGGERS: dict[str, Callable[[Ctx], None]] = {
    f.__name__: f
    for f in (
        client_panels,
        conversation_panels,
        outreach_channels,
        message_checks,
        message_sent,
        message_replied,
        conversation_scheduled,
        conversation_rescheduled,
        conversation_cancelled,
        conversation_changed,
        conversation_held,
        reflection_shared,
        client_invited,
        theme_decided,
        blueprints,
        api_blueprints,
        menu_items,
        load_demo_data,
        report_sections,
        report_formats,
        scheduled_jobs,
        plugin_settings,
        cli_commands,
        contact_sources,
        due_entries,
        caseload_columns,
        coaching_session_held,
        action_item_completed,
    )
}
#: Hooks whose answer is ignored: only raising can go wrong.
EVENTS = {
    name
    for name, spec in ((f.__name__, f) for f in hook_specs())
    if inspect.signature(spec).return_annotation in ("None", None)
}


def test_every_hook_has_an_isolation_trigger():
    assert set(TRIGGERS) | GUARDED_ELSEWHERE == {spec.__name__ for spec in hook_specs()}


#: Hooks whose misbehaviour is tested with the feature, because a failure must stop it instead.
GUARDED_ELSEWHERE = {
    "export_client_data",  # tests/test_export.py
    "erase_client_data",  # tests/test_erasure.py: a raising plugin rolls the whole erasure back
}

#: Hooks whose implementation warns at load time (and is still called).
DEPRECATED = {spec.__name__ for spec in hook_specs() if spec.crossroads_spec.get("warn_on_impl")}

CASES = [(hook, "raises") for hook in TRIGGERS] + [
    (hook, "wrong type") for hook in TRIGGERS if hook not in EVENTS
]


@pytest.mark.parametrize(("hook", "mode"), CASES, ids=[f"{h}-{m.replace(' ', '_')}" for h, m in CASES])
def test_a_misbehaving_plugin_is_logged_and_the_rest_works(
    hook, mode, world, db, as_user, plugins, settings, caplog
):
    with pytest.warns(HookDeprecationWarning) if hook in DEPRECATED else nullcontext():
        plugins.register(misbehaving_plugin(hook, mode), BAD)
    TRIGGERS[hook](Ctx(world, db, as_user, plugins, settings))
    assert f"plugin {BAD} failed in {hook}" in caplog.text


def test_every_hook_specification_has_a_docstring_and_a_since_version():
    for spec in hook_specs():
        doc = inspect.getdoc(spec) or ""
        assert doc.strip(), f"{spec.__name__} has no docstring"
        assert "Since: " in doc, f"{spec.__name__} does not say which hook set introduced it"
    versions = {doc.rsplit("Since: ", 1)[1].strip(" .") for doc in (inspect.getdoc(s) for s in hook_specs())}
    assert max(versions, key=lambda v: tuple(map(int, v.split(".")))) == hookspecs.HOOKS_VERSION
