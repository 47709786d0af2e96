"""The sweeps: every route with an id refuses whoever may not reach its row; every POST route
refuses a request without its CSRF token; every table of a client's is in their export and
emptied by their erasure.

One implementation, used by the core's own tests (``tests/test_isolation.py``,
``tests/test_security.py``, ``tests/test_export.py``, ``tests/test_erasure.py``) and offered to
a plugin's suite through the ``crossroads_isolation_sweep``, ``crossroads_csrf_sweep`` and
``crossroads_export_erasure_sweep`` fixtures. The sweeps read the app's URL map, so a new route
is covered without a new test; the ids in a route's path are filled by
:class:`~crossroads.core.route_ids.RouteId` declarations: the core's (:func:`core_route_ids`)
and each installed plugin's ``crossroads_route_ids``. A plugin's tables are found through its
SQLAlchemy models (:func:`client_tables`).

Importing this module is cheap: Crossroads, Flask and SQLAlchemy are imported when a sweep runs.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask
    from sqlalchemy.orm import Session
    from werkzeug.routing import Rule

    from crossroads.core.models import ApiToken, Client, User, WebhookDelivery, WebhookSubscription
    from crossroads.core.plugins import PluginManager
    from crossroads.core.route_ids import RouteId

    from . import World
    from .browser import Browser

#: Where a client downloads their own data export (POST; a ZIP archive).
EXPORT_URL = "/me/export"
#: Where their coach or the practice's owner downloads it for them (POST).
STAFF_EXPORT_URL = "/coach/clients/{client_id}/export"
#: The owner's erasure of a client: GET shows the confirmation, POST with ``confirm_name`` erases.
ERASE_URL = "/coach/clients/{client_id}/erase"
#: The live checks of a draft message while the client types (POST ``channel``, ``kind``,
#: ``format``, ``subject``, ``body``; answers JSON ``{"warnings": [...]}``).
LIVE_CHECK_URL = "/contacts/{contact_id}/write/check"

#: Values for path parameters that are not ids (extend them with a sweep's ``other_params``).
OTHER_PARAMS: dict[str, str] = {
    "status": "dropped",
    "name": "theme_progress",
    "state": "off",
    "stage": "requested",
    "action": "link",
    "answer": "dismiss",
    "direction": "up",
    "token": "not-a-real-token",
    "channel_name": "email",
    "kind": "first_request",
    "practice_ref": "1",  # the inbound endpoint: authenticated by the practice's secret, not a session
}

COACH, OWNER, CLIENT = "coach", "owner", "client"
#: Who rightfully uses a route: the client's coach, and the client too.
STAFF, EITHER = (COACH,), (COACH, CLIENT)

#: ``{endpoint: (roles, form)}``: who rightfully uses each route and the form they send. Values
#: in the form may be callables of the target client; ``"_ids"`` fills path ids differently
#: (``{name: callable}``) and ``"_before"`` names an endpoint to post first (a restore after a remove).
Rightful = dict[str, tuple[tuple[str, ...], dict[str, Any]]]


# -- the ids in the routes --------------------------------------------------------------------------


def core_route_ids() -> dict[str, RouteId]:
    """The core's own id parameters and how to find (or make) a row of a client for each."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from crossroads.core.demo_mail import record
    from crossroads.core.models import (
        CareerTheme,
        Category,
        Contact,
        Conversation,
        ConversationStatus,
        DemoMail,
        MessageKind,
        MessageStatus,
        Notification,
        NotificationKind,
        OutreachMessage,
        PrepQuestion,
        Question,
        QuestionBank,
        Reach,
        Reflection,
        StageChange,
        bank_client,
    )
    from crossroads.core.route_ids import RouteId
    from crossroads.core.services.notifications import notify

    def contact(session: Session, client: Client) -> Contact:
        found = session.scalars(
            select(Contact).where(Contact.client_id == client.id).order_by(Contact.id).limit(1)
        ).first()
        assert found is not None, f"{client.name!r} has no contact: the sweep needs one"
        return found

    def conversation(session: Session, client: Client) -> Conversation:
        held = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
        row = Conversation(
            practice_id=client.practice_id,
            client_id=client.id,
            contact=contact(session, client),
            starts_at=held,
            uid=f"sweep-{client.id}@crossroads.test",
            status=ConversationStatus.HELD,
            held_at=held,
        )
        session.add(row)
        session.flush()
        return row

    def conversation_id(session: Session, client: Client) -> int:
        return ids["conversation_id"].resolve(session, client)

    def reflection(session: Session, client: Client) -> Reflection:
        from crossroads.core.db import utcnow

        return Reflection(
            practice_id=client.practice_id,
            client_id=client.id,
            conversation_id=conversation_id(session, client),
            energy=1,
            fit=4,
            insights="An insight",
            shared_at=utcnow(),
        )

    def bank(session: Session, client: Client) -> int | None:
        """The bank the client's coach chose for this client alone."""
        return session.scalar(
            select(bank_client.c.bank_id)
            .where(bank_client.c.client_id == client.id)
            .order_by(bank_client.c.bank_id)
            .limit(1)
        )

    def new_bank(session: Session, client: Client) -> QuestionBank:
        row = QuestionBank(
            practice_id=client.practice_id,
            owner_id=client.coach_id,
            name=f"Questions for {client.name}",
            reach=Reach.CLIENTS,
            clients=[client],
        )
        row.questions.append(
            Question(practice_id=client.practice_id, text="What surprised you?", category=Category.BACKGROUND)
        )
        return row

    def question(session: Session, client: Client) -> int | None:
        bank_id = ids["bank_id"].resolve(session, client)
        return session.scalar(select(Question.id).where(Question.bank_id == bank_id).order_by(Question.id))

    def latest_change(session: Session, client: Client) -> int | None:
        return session.scalar(
            select(StageChange.id).where(StageChange.client_id == client.id).order_by(StageChange.id.desc())
        )

    def message(session: Session, client: Client) -> OutreachMessage:
        to = contact(session, client)
        return OutreachMessage(
            practice_id=client.practice_id,
            client_id=client.id,
            contact_id=to.id,
            channel="email",
            kind=MessageKind.FIRST_REQUEST,
            subject=f"A question for {to.name}",
            body="Would you have 20 minutes next week?",
            to_name=to.name,
            to_address=to.email,
            status=MessageStatus.HANDED_OFF,
        )

    def demo_mail(session: Session, client: Client) -> int | None:
        return session.scalar(
            select(DemoMail.id).where(DemoMail.party_client_id == client.id).order_by(DemoMail.id)
        )

    def new_demo_mail(session: Session, client: Client) -> DemoMail:
        """A message the demo's mail catcher received for the client (routed when the app runs the demo)."""
        raw = f"To: {client.user.email}\r\nSubject: Welcome\r\n\r\nHi\r\n"
        return record(session, client.practice_id, "hello@x.example", [client.user.email], raw.encode())

    def token(session: Session, client: Client) -> int | None:
        from crossroads.core.models import ApiToken

        return session.scalar(
            select(ApiToken.id).where(ApiToken.user_id == client.user_id).order_by(ApiToken.id)
        )

    def new_token(session: Session, client: Client) -> ApiToken:
        from crossroads.core.models import ApiToken, TokenAccess

        return ApiToken(
            practice_id=client.practice_id,
            user_id=client.user_id,
            name="Sweep token",
            access=TokenAccess.READ,
            prefix="crt_sweep",
            token_hash=f"sweep-{client.id}".ljust(64, "0"),
        )

    def webhook(session: Session, client: Client) -> int | None:
        from crossroads.core.models import WebhookSubscription

        return session.scalar(
            select(WebhookSubscription.id)
            .where(WebhookSubscription.practice_id == client.practice_id)
            .order_by(WebhookSubscription.id)
        )

    def new_webhook(session: Session, client: Client) -> WebhookSubscription:
        from crossroads.core.models import WebhookSubscription

        return WebhookSubscription(
            practice_id=client.practice_id,
            url="https://hooks.example.org/crossroads",
            events=["*"],
            secret="whsec_c3dlZXAtc2VjcmV0LXN3ZWVwLXNlY3JldA==",
        )

    def new_delivery(session: Session, client: Client) -> WebhookDelivery:
        from crossroads.core.models import WebhookDelivery

        return WebhookDelivery(
            practice_id=client.practice_id,
            subscription_id=ids["webhook_id"].resolve(session, client),
            message_id=f"msg_sweep_{client.id}",
            event="client.invited",
            payload={"type": "client.invited", "data": {"id": client.id}},
        )

    def delivery(session: Session, client: Client) -> int | None:
        from crossroads.core.models import WebhookDelivery

        return session.scalar(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.practice_id == client.practice_id)
            .order_by(WebhookDelivery.id)
        )

    def notification(session: Session, client: Client) -> int | None:
        return session.scalar(
            select(Notification.id).where(Notification.user_id == client.user_id).order_by(Notification.id)
        )

    def new_notification(session: Session, client: Client) -> Notification:
        return notify(session, client.user, NotificationKind.SUGGESTION, "A suggestion", "/me/", client)

    declared = [
        RouteId("client_id", find=lambda session, client: client.id),
        RouteId("user_id", find=lambda session, client: client.user_id),
        RouteId("theme_id", CareerTheme),
        RouteId("contact_id", find=lambda session, client: contact(session, client).id),
        RouteId("change_id", find=latest_change),
        RouteId("conversation_id", Conversation, make=conversation),
        RouteId(
            "prep_question_id",
            PrepQuestion,
            make=lambda session, client: PrepQuestion(
                practice_id=client.practice_id,
                client_id=client.id,
                conversation_id=conversation_id(session, client),
                text="What is hard about it?",
            ),
        ),
        RouteId("reflection_id", Reflection, make=reflection),
        RouteId("bank_id", find=bank, make=new_bank),
        RouteId("question_id", find=question),
        RouteId("message_id", OutreachMessage, make=message),
        RouteId("mail_id", find=demo_mail, make=new_demo_mail, practice_wide=True),
        RouteId("notification_id", find=notification, make=new_notification),
        RouteId("token_id", find=token, make=new_token),
        RouteId("webhook_id", find=webhook, make=new_webhook, practice_wide=True),
        RouteId("delivery_id", find=delivery, make=new_delivery, practice_wide=True),
    ]
    ids = {route_id.param: route_id for route_id in declared}
    return ids


def plugin_route_ids(manager: PluginManager) -> dict[str, tuple[str, RouteId]]:
    """Each installed plugin's declared id parameters: ``{param: (plugin name, RouteId)}``."""
    from crossroads.core.route_ids import ATTRIBUTE

    found: dict[str, tuple[str, RouteId]] = {}
    for name, module in plugin_modules(manager).items():
        for route_id in getattr(module, ATTRIBUTE, None) or ():
            if route_id.param in found and found[route_id.param][0] != name:
                raise AssertionError(
                    f"<{route_id.param}> is declared by both {found[route_id.param][0]} and {name}"
                )
            found[route_id.param] = (name, route_id)
    return found


def plugin_modules(manager: PluginManager) -> dict[str, Any]:
    """The module of each registered plugin that was loaded as one (its entry point's module)."""
    import sys

    return {info.name: sys.modules[info.module] for info in manager.plugins() if info.module in sys.modules}


def all_route_ids(manager: PluginManager) -> dict[str, RouteId]:
    """The core's id parameters and every installed plugin's; a plugin may not redeclare the core's."""
    ids = core_route_ids()
    for param, (plugin, route_id) in plugin_route_ids(manager).items():
        if param in ids:
            raise AssertionError(f"plugin {plugin} redeclares the core's <{param}>: name it differently")
        ids[param] = route_id
    return ids


def plugin_of(rule: Rule) -> str | None:
    """The plugin whose blueprint serves ``rule`` (mounted under ``/plugins/<name>/``, or its API
    under ``/api/v1/plugins/<name>/``), or None."""
    match = re.match(r"(?:/api/v\d+)?/plugins/([^/<]+)/", rule.rule)
    return match.group(1) if match else None


#: Where the JSON API lives: its routes are sent with a personal access token, never a session.
API_PREFIX = "/api/"


def is_api(rule: Rule) -> bool:
    """True for a route of the JSON API (the core's or a plugin's)."""
    return rule.rule.startswith(API_PREFIX)


def api_headers(actor: User) -> dict[str, str]:
    """An ``Authorization`` header with a read and write token of ``actor`` (made once per session,
    and kept in the session's ``info``)."""
    from sqlalchemy.orm import Session

    from crossroads.core.services.api_tokens import issue_for

    session = Session.object_session(actor)
    tokens = session.info.setdefault("crossroads.sweep_api_tokens", {})
    if actor.id not in tokens:
        tokens[actor.id] = issue_for(session, actor)
    return {"Authorization": f"Bearer {tokens[actor.id]}"}


def _id_names(rule: Rule) -> set[str]:
    from werkzeug.routing import IntegerConverter

    return {name for name, c in rule._converters.items() if isinstance(c, IntegerConverter)}


class IsolationSweep:
    """The isolation sweep over one app: its id routes, how to fill them, and the three checks.

    ``other_params`` adds values for path parameters that are not ids (a plugin's ``<slug>``).
    """

    def __init__(self, app: Flask, other_params: dict[str, str] | None = None):
        self.app = app
        self.manager: PluginManager = app.extensions["crossroads"].plugins
        self.ids = all_route_ids(self.manager)
        self.other_params = {**OTHER_PARAMS, **(other_params or {})}

    def routes(self, plugins: Iterable[str] | None = None) -> list[tuple[Rule, str]]:
        """(rule, method) for every route with an integer id in its path, removals last.

        ``plugins`` keeps only the routes of those plugins' blueprints.
        """
        wanted = set(plugins) if plugins is not None else None
        found = []
        for rule in self.app.url_map.iter_rules():
            if not _id_names(rule) or (wanted is not None and plugin_of(rule) not in wanted):
                continue
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule, method))
        # Removing a contact removes its conversations too, so it goes last of all.
        return sorted(
            found, key=lambda pair: ("remove" in pair[0].endpoint, pair[0].endpoint == "contacts.remove")
        )

    def url(self, rule: Rule, target: Client, ids: dict[str, int] | None = None) -> str:
        """``rule``'s path with every id a row of ``target``'s (and fixed values for the rest)."""
        from sqlalchemy.orm import Session

        from crossroads.core.route_ids import ATTRIBUTE

        values: dict[str, Any] = dict(ids or {})
        session = Session.object_session(target)
        id_names = _id_names(rule)
        for name in rule._converters:
            if name in values:
                continue
            if name in id_names:
                if name not in self.ids:
                    raise AssertionError(
                        f"{rule.rule}: nothing declares how to fill <{name}>; the plugin serving it "
                        f"declares a RouteId for it in its {ATTRIBUTE} (crossroads.core.route_ids)"
                    )
                values[name] = self.ids[name].resolve(session, target)
            else:
                if name not in self.other_params:
                    raise AssertionError(f"{rule.rule}: give the sweep a value for <{name}> (other_params)")
                values[name] = self.other_params[name]
        return rule.build(values)[1]

    def practice_wide(self, rule: Rule) -> bool:
        """True when every id in the route is of a row the practice's staff share."""
        return all(self.ids[name].practice_wide for name in _id_names(rule) if name in self.ids)

    def refusals(
        self,
        cases: list[tuple[str, User, Client]],
        as_user: Callable[[User], Browser],
        routes: list[tuple[Rule, str]] | None = None,
    ) -> list[str]:
        """Each (label, who asks, whose row) case on every route: anything but 404 is a failure."""
        failures = []
        for label, actor, target in cases:
            browser = as_user(actor)
            for rule, method in routes if routes is not None else self.routes():
                if actor.is_staff and actor.practice_id == target.practice_id and self.practice_wide(rule):
                    continue  # the practice's shared rows: refused to other practices and to clients
                url = self.url(rule, target)
                status = _send(browser, method, url, actor=actor if is_api(rule) else None).status_code
                if status != 404:
                    failures.append(f"{label}: {method} {url} answered {status}")
        return failures

    def signed_out(
        self, browser: Browser, target: Client, routes: list[tuple[Rule, str]] | None = None
    ) -> list[str]:
        """Every route sends a signed-out visitor to the login page (an API route answers 401)."""
        failures = []
        for rule, method in routes if routes is not None else self.routes():
            url = self.url(rule, target)
            response = _send(browser, method, url)
            if is_api(rule):
                if response.status_code != 401:
                    failures.append(f"signed out: {method} {url} answered {response.status_code}")
            elif not (response.status_code == 302 and "/login" in response.location):
                failures.append(f"signed out: {method} {url} answered {response.status_code}")
        return failures

    def uncovered(self, rightful: Rightful, routes: list[tuple[Rule, str]] | None = None) -> list[str]:
        """The endpoints of ``routes`` that ``rightful`` does not name."""
        return sorted({rule.endpoint for rule, _ in (routes or self.routes())} - set(rightful))

    def rightful_failures(
        self,
        users: dict[str, tuple[User, Client]],
        as_user: Callable[[User], Browser],
        rightful: Rightful,
        routes: list[tuple[Rule, str]] | None = None,
    ) -> list[str]:
        """The control: each route's rightful user, sending its form, gets the route's real success.

        ``users`` maps a role (``"client"``, ``"coach"``, ``"owner"``) to who plays it and the
        client they act on; roles run in that order (the owner's erasure of a client last).
        """
        failures = []
        for role in (CLIENT, COACH, OWNER):
            if role not in users:
                continue
            actor, target = users[role]
            browser = as_user(actor)
            for rule, method in routes if routes is not None else self.routes():
                if role not in rightful.get(rule.endpoint, ((),))[0]:
                    continue
                url, response = self.rightful_request(
                    browser, rule, method, target, rightful, actor=actor if is_api(rule) else None
                )
                reason = failure_of(browser, response)
                if reason:
                    failures.append(f"{role}: {method} {url} {reason}")
        return failures

    def rightful_request(
        self,
        browser: Browser,
        rule: Rule,
        method: str,
        target: Client,
        rightful: Rightful,
        actor: User | None = None,
    ):
        """The route's request as its rightful user sends it, with the form ``rightful`` gives
        (to an API route, as JSON with ``actor``'s token)."""
        form = dict(rightful[rule.endpoint][1])
        ids, before = form.pop("_ids", {}), form.pop("_before", None)
        values = {name: value(target) if callable(value) else value for name, value in form.items()}
        url = self.url(rule, target, {name: fill(target) for name, fill in ids.items()})
        if before:
            [before_rule] = [r for r in self.app.url_map.iter_rules() if r.endpoint == before]
            browser.post(self.url(before_rule, target))
            take_flashes(browser)
        if actor is not None:
            body = None if method == "GET" else values
            query = values if method == "GET" else None
            return url, browser.open(
                url, method=method, json=body, query_string=query, headers=api_headers(actor)
            )
        if method == "GET":
            return url, browser.get(url, query_string=values)
        return url, browser.post(url, data=values)


def refusal_cases(world: World) -> list[tuple[str, User, Client]]:
    """(label, who asks, whose row) pairs that must be refused, from what ``world`` has.

    Another practice's owner, coach and client asking for the world's client; the world's
    owner, coach and client asking for the other practice's client; the coach asking for a
    client of the owner's; the client asking for the coach's other client.
    """
    cases = []
    other = world.other_practice
    if other is not None:
        cases.append(("another practice's owner", other.owner, world.client))
        if other.coach is not None and other.coach.id != other.owner.id:
            cases.append(("another practice's coach", other.coach, world.client))
        cases += [
            ("another practice's client", other.client.user, world.client),
            ("a coach, for another practice's client", world.coach, other.client),
            ("the owner, for another practice's client", world.owner, other.client),
            ("a client, for another practice's client", world.client.user, other.client),
        ]
    if world.owners_client is not None:
        cases.append(("a coach, for another coach's client", world.coach, world.owners_client))
    if world.other_client is not None:
        cases.append(("a client, for another client", world.client.user, world.other_client))
    return cases


def _send(browser: Browser, method: str, url: str, coach_id: int = 1, actor: User | None = None):
    data = {"status": "paused", "coach_id": str(coach_id), "title": "x", "target_conversations": "3"}
    if actor is not None:  # an API route, with the actor's token
        body = None if method in ("GET", "DELETE") else {**data, "coach_id": coach_id}
        return browser.open(url, method=method, json=body, headers=api_headers(actor))
    return browser.open(url, method=method, data=data if method == "POST" else None)


def take_flashes(browser: Browser) -> list:
    """The notices waiting for the next page, taken off the session."""
    with browser.session_transaction() as session:
        return session.pop("_flashes", [])


def failure_of(browser: Browser, response) -> str | None:
    """Why ``response`` is not the route's real success, or None when it is.

    A success is 2xx, or a redirect to a page (not the sign-in page) with no error notice.
    """
    if response.status_code in (200, 201, 204):
        return None
    if response.mimetype == "application/problem+json":
        return f"answered {response.status_code}: {response.get_json()}"
    if response.status_code not in (302, 303):
        return f"answered {response.status_code}: {_errors(response.data)}"
    if "/login" in response.location:
        return f"sent the user to {response.location}"
    errors = [message["text"] for level, message in take_flashes(browser) if level == "error"]
    if errors:
        return f"redirected to {response.location} saying {errors}"
    landing = browser.get(response.location)
    if landing.status_code != 200:
        return f"redirected to {response.location}, which answered {landing.status_code}"
    return None


def _errors(page: bytes) -> str:
    """The field errors a refused form shows, or the page's title."""
    text = page.decode(errors="replace")
    found = re.findall(r'class="field-error"[^>]*>(.*?)<', text, re.S) or re.findall(
        r"<title>(.*?)</title>", text
    )
    return " | ".join(found)[:300]


# -- CSRF -------------------------------------------------------------------------------------------

#: POST routes authorised by a signed token in their address instead of the session's CSRF token
#: (the daily reminder's links): without a valid token they refuse as invalid.
TOKEN_AUTHORISED = {"/reminders/<token>", "/reminders/undo/<token>"}
#: Posted by machines with a secret of their own, not by a browser: no session, so no CSRF.
#: (The JSON API's routes are left out too: a session never authenticates them, a token does.)
CSRF_EXEMPT = {"inbound.receive_mail"}


def post_routes(app: Flask, plugins: Iterable[str] | None = None) -> list[Rule]:
    """Every POST route of the app (or of those plugins' blueprints), CSRF-exempt ones left out."""
    wanted = set(plugins) if plugins is not None else None
    return [
        rule
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods
        and rule.endpoint not in CSRF_EXEMPT
        and not is_api(rule)
        and (wanted is None or plugin_of(rule) in wanted)
    ]


def csrf_failures(
    app: Flask, browser: Browser, target: Client, routes: list[Rule] | None = None
) -> list[str]:
    """Each POST route, posted without a CSRF token by a signed-in ``browser``, must answer 400.

    The app must have CSRF on (``WTF_CSRF_ENABLED``). Ids are ``target``'s rows where the sweep
    knows how to fill them, and 1 otherwise: the token is checked before any view runs.
    """
    from werkzeug.routing import AnyConverter, IntegerConverter

    assert app.config.get("WTF_CSRF_ENABLED", True), "the CSRF sweep needs an app with CSRF on"
    sweep = IsolationSweep(app)
    failures = []
    for rule in routes if routes is not None else post_routes(app):
        values: dict[str, Any] = {}
        for name, converter in rule._converters.items():
            if isinstance(converter, IntegerConverter):
                values[name] = sweep.ids[name].resolve(_session(target), target) if name in sweep.ids else 1
            elif isinstance(converter, AnyConverter):
                values[name] = sorted(converter.items)[0]
            else:
                values[name] = sweep.other_params.get(name, "x")
        url = rule.build(values)[1]
        response = browser.post(url, data={"title": "x", "email": "x@y.example"})
        expected = "This link is not valid" if rule.rule in TOKEN_AUTHORISED else "Form expired"
        if response.status_code != 400 or expected not in response.get_data(as_text=True):
            failures.append(f"POST {url} without a CSRF token answered {response.status_code}")
    return failures


def _session(client: Client) -> Session:
    from sqlalchemy.orm import Session

    return Session.object_session(client)


# -- a client's tables: export and erasure ----------------------------------------------------------


def client_tables(manager: PluginManager | None = None) -> dict[str, str]:
    """Every table with a ``client_id`` column: table name → ``"core"`` or the plugin it comes from.

    A plugin's tables are those of its SQLAlchemy models (on ``crossroads.core.db.Base``), found
    by the module they are defined in: the plugin's module or one below it. With no ``manager``,
    every installed plugin.
    """
    from crossroads.core.db import Base
    from crossroads.core.plugins import PluginManager

    manager = manager or PluginManager()
    packages = {info.module: info.name for info in manager.plugins()}
    modules = {mapper.local_table.name: mapper.class_.__module__ for mapper in Base.registry.mappers}

    def owner(table_name: str) -> str:
        module = modules.get(table_name, "")
        for package, plugin in packages.items():
            if module == package or module.startswith(package + "."):
                return plugin
        return "core"

    return {table.name: owner(table.name) for table in Base.metadata.sorted_tables if "client_id" in table.c}


def client_rows(session: Session, client_id: int, tables: Iterable[str]) -> dict[str, int]:
    """How many rows of ``client_id`` each of ``tables`` holds."""
    from sqlalchemy import func, select

    from crossroads.core.db import Base

    session.expire_all()
    return {
        name: session.scalar(
            select(func.count())
            .select_from(Base.metadata.tables[name])
            .where(Base.metadata.tables[name].c.client_id == client_id)
        )
        for name in tables
    }


def read_archive(data: bytes) -> dict[str, bytes]:
    """An export archive's files by name."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def export_erasure_failures(
    plugin: str,
    session: Session,
    as_user: Callable[[User], Browser],
    world: World,
) -> list[str]:
    """``plugin``'s tables with ``client_id``: the client's rows are in their export, and erasing
    them (as the owner) empties the tables of theirs and leaves the other client's rows alone.

    Seed at least one row of the world's client in each table first (and of
    ``world.other_client``, when there is one, to see that they stay). In the archive, each table
    must have a file ``<plugin>/<name>.json`` with as many rows as the table holds for the client
    (one file per table, as ``export_client_data`` is documented to return).
    """
    manager = as_user(world.owner).application.extensions["crossroads"].plugins
    tables = sorted(name for name, owner in client_tables(manager).items() if owner == plugin)
    if not tables:
        return []  # nothing of a client's is kept: nothing to export or erase
    client = world.client
    before = client_rows(session, client.id, tables)
    empty = [name for name, count in before.items() if not count]
    if empty:
        return [f"seed a row of {world.client.name!r} in {', '.join(empty)} before the sweep"]
    others = client_rows(session, world.other_client.id, tables) if world.other_client else {}

    failures = []
    response = as_user(client.user).post(EXPORT_URL)
    if response.status_code != 200:
        return [f"POST {EXPORT_URL} answered {response.status_code}"]
    files = read_archive(response.data)
    if "INCOMPLETE" in files.get("README.txt", b"").decode():
        failures.append(f"the export says it is incomplete: {files['README.txt'].decode()[:500]}")
    lengths = {
        name: len(json.loads(data))
        for name, data in files.items()
        if name.startswith(f"{plugin}/") and name.endswith(".json")
    }
    for table, count in before.items():
        if count not in lengths.values():
            failures.append(
                f"{table} holds {count} row(s) of the client, but no {plugin}/*.json file in the export "
                f"has {count} (files and rows: {lengths})"
            )

    url = ERASE_URL.format(client_id=client.id)
    name, client_id = client.user.name, client.id
    response = as_user(world.owner).post(url, data={"confirm_name": name})
    if response.status_code != 302:
        return [*failures, f"the owner's POST {url} answered {response.status_code}"]
    left = {table: n for table, n in client_rows(session, client_id, tables).items() if n}
    if left:
        failures.append(f"after the erasure, rows of the client are left in {left}")
    if world.other_client and client_rows(session, world.other_client.id, tables) != others:
        failures.append("the erasure deleted rows of another client")
    return failures
