"""The hooks a Crossroads plugin may implement.

A plugin is a module (or object) registered under the entry-point group
``crossroads``; its functions are marked with :data:`hookimpl` and named
after the specifications below. Built-in plugins use exactly this contract.
A plugin imports ``hookimpl``, and every other name of Crossroads it needs,
from the public face ``crossroads.plugin``, the only stable interface.

Every hook is called through :class:`crossroads.plugin.PluginManager`,
which calls each plugin separately: a plugin that raises, or returns the
wrong type, is logged and its part is shown as unavailable, while the rest of
the page renders. Hooks run only for plugins the practice has switched on.

Each specification's docstring ends with ``Since: X.Y``, the hook set version
that introduced it; :data:`HOOKS_VERSION` is the newest. A plugin that sets
``crossroads_hooks = "X.Y"`` (a module attribute) to a newer version than the
running Crossroads knows is refused at load time with a clear message.

Order: implementations run in pluggy's order (the most recently registered
first); ``@hookimpl(tryfirst=True)`` or ``@hookimpl(trylast=True)`` asks to
run before or after the others.

Wrappers: ``@hookimpl(wrapper=True)`` on a generator function wraps each
other plugin's call of that hook (one plugin at a time, so that a failure
stays that plugin's): ``answer = yield`` gives the list of that plugin's
answers (``[]`` when it answered ``None``), and what the wrapper returns
replaces it. A wrapper runs only where its plugin is switched on.

Events are named ``<thing>_<past participle>`` (``message_sent``,
``conversation_cancelled``): one hook per thing that happened, never one hook
with a string saying what. A deprecated hook still works for one release:
implementing it warns at load time (a :class:`HookDeprecationWarning` naming
its replacement) and it is still called.

The plugin author's reference in ``docs/plugins/hooks.md`` is generated from
this module's docstrings (``python -m crossroads.core.hookdocs``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from datetime import datetime

    import click
    from flask import Blueprint
    from flask_smorest import Blueprint as ApiBlueprint
    from sqlalchemy.orm import Session

    from .jobs import ScheduledJob
    from .models import (
        CareerTheme,
        Client,
        Conversation,
        InboundMail,
        OutreachMessage,
        Practice,
        Reflection,
        ThemeStatus,
        User,
    )
    from .outreach.channels import Channel, Draft, MessageWarning
    from .plugin_settings import PluginSettings
    from .plugins import CaseloadColumn, DueEntry, MenuItem, Panel
    from .reports import ReportFormat, ReportRequest, Section
    from .scoping import Scope
    from .sources import Importer, Source

PROJECT = "crossroads"
#: The newest hook set this Crossroads offers (the highest ``Since:`` below).
HOOKS_VERSION = "0.6"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorate a plugin's hook functions with this.
hookimpl = pluggy.HookimplMarker(PROJECT)


class HookDeprecationWarning(DeprecationWarning):
    """A plugin implements a hook that is going away; the message names what to implement instead."""


def deprecated(hook: str, *, instead: str, since: str, removed_in: str) -> HookDeprecationWarning:
    """The warning for a deprecated hook: pass it as ``@hookspec(warn_on_impl=deprecated(...))``.

    pluggy raises it when a plugin implementing ``hook`` is registered (at
    load time), pointing at the plugin's function; the plugin manager also
    logs it and keeps it in ``load_warnings``. Keep the hook specified, and
    keep calling it (see :data:`FORWARDED`), until ``removed_in``.
    """
    return HookDeprecationWarning(
        f"the hook {hook} is deprecated since hooks {since} and goes in {removed_in}: "
        f"implement {instead} instead"
    )


#: Events that replaced a deprecated one: new hook -> (old hook, arguments added for it). Firing
#: the new one also calls the old one's implementations, in plugins that do not implement the new one.
FORWARDED: dict[str, tuple[str, dict[str, object]]] = {
    "conversation_rescheduled": ("conversation_changed", {"change": "rescheduled"}),
    "conversation_cancelled": ("conversation_changed", {"change": "cancelled"}),
}


@hookspec
def client_panels(client: Client, viewer: User) -> Panel | list[Panel] | None:
    """Panels for a client's dashboard.

    Called when the client's home page, or a coach's page about that client,
    is rendered. ``client`` is the :class:`~crossroads.plugin.Client`
    being shown and ``viewer`` the signed-in :class:`~crossroads.plugin.User`
    (the client themself, their coach, or the practice owner); the objects belong to the viewer's
    practice and are already scoped. Do not change them here.

    Return a :class:`~crossroads.plugin.Panel`, a list of them, or
    ``None`` for nothing. A panel names a template of the plugin's own
    (kept in the ``templates/`` folder beside the plugin module, inside a
    folder of the plugin's own, named after the plugin or its module, such
    as ``templates/my_plugin/panel.html`` named ``"my_plugin/panel.html"``)
    and the context to render it with.

    Since: 0.1.
    """


@hookspec
def outreach_channels() -> Channel | list[Channel] | None:
    """The outreach channels this plugin offers.

    Return an instance of a :class:`~crossroads.plugin.Channel`
    subclass, or a list of them. Crossroads asks each channel which kinds of
    message it carries and in which formats, drafts from the practice's
    template or the channel's ``default_template``, checks the draft, and
    hands the finished message to ``Channel.deliver``. A channel is offered
    only to practices that have its plugin switched on.

    Since: 0.2.
    """


@hookspec
def message_checks(draft: Draft) -> list[MessageWarning] | None:
    """Warnings about a draft outreach message on any channel, in addition to the method's own checks.

    ``draft`` is a :class:`~crossroads.plugin.Draft`: the ``subject`` and
    ``body`` as the client has them now, the ``channel`` it is written on
    (the channel's ``name``: ``"email"``, ``"linkedin"``, ``"alumni_office"``
    or a plugin's), its ``format`` (the ``MessageFormat.name``, such as
    LinkedIn's ``"note"``; ``""`` for a channel's only format), its ``kind``,
    and its ``context`` (client, contact, theme, earlier messages). Look at
    ``draft.channel`` to check only some channels' drafts; a rule for your own
    channel belongs in its ``Channel.check`` instead, and changing the core's
    own checks for a channel in its ``Channel.core_checks``. Return a list of
    :class:`~crossroads.plugin.MessageWarning` (each with a one-line ``why``,
    and the ``field`` it is about) or ``None``. Warnings never stop the client
    from sending. Called on every live check, so keep it fast and do not write
    to the database.

    ``draft.channel`` and ``draft.format`` are there since hooks 0.4.

    Since: 0.2.
    """


@hookspec
def message_sent(session: Session, message: OutreachMessage) -> None:
    """Event: an outreach message was sent, or the client marked it sent.

    Fires inside the transaction that records it (a worker's, for email;
    the client's request, for a hand-off), before the commit: changes made
    through ``session`` commit with it. Do not commit here.

    Since: 0.2.
    """


@hookspec
def message_replied(session: Session, message: OutreachMessage, reply: InboundMail) -> None:
    """Event: the person an outreach message went to answered it, and the answer came back by email.

    ``reply`` is the incoming email as recorded (``reply.text`` is its own words, quoted
    history and signature trimmed; ``reply.raw`` the whole original). Fires inside the
    transaction that records it, before the commit, after ``message.replied_at`` is set and
    the contact moved to "replied"; changes made through ``session`` commit with it. Not fired
    for automatic replies, delivery failures, or an answer from someone else (a colleague the
    message was forwarded to). The alumni offices plugin marks its introduction request
    answered here. Do not commit here.

    Since: 0.3.
    """


@hookspec
def conversation_scheduled(session: Session, conversation: Conversation) -> None:
    """Event: a conversation with a contact was scheduled, at a time to come.

    Fires inside the request transaction that creates it, before the commit,
    with ``conversation.status`` ``scheduled`` and the contact moved to
    "scheduled". A conversation recorded after it took place fires
    :func:`conversation_held` instead. Do not commit here.

    One event per change of a conversation (scheduled, rescheduled, cancelled,
    held) rather than one event with a ``change`` argument: a plugin
    implements only what it handles, a misspelt hook name is refused at load
    time where a misspelt string would be ignored, and a new kind of change
    comes as a new hook instead of a value old plugins would mistake for another.

    Since: 0.4.
    """


@hookspec
def conversation_rescheduled(session: Session, conversation: Conversation) -> None:
    """Event: a conversation was moved to another time (or its details changed), or a cancelled one revived.

    Fires inside the transaction that changes it, before the commit, with
    ``conversation`` already updated: its ``sequence`` raised and its status
    ``scheduled``. The email channel sends the contact a calendar update here.
    Do not commit here.

    Since: 0.4.
    """


@hookspec
def conversation_cancelled(session: Session, conversation: Conversation) -> None:
    """Event: the client cancelled a conversation that had not taken place.

    Fires inside the client's request transaction, before the commit, with
    ``conversation.status`` already ``cancelled`` and its ``sequence`` raised.
    The email channel sends the contact a calendar cancellation here. Do not commit here.

    Since: 0.4.
    """


@hookspec
def conversation_held(session: Session, conversation: Conversation) -> None:
    """Event: the client marked a conversation as held, or recorded one that already took place.

    Fires inside the client's request transaction, before the commit, with
    ``conversation.status`` already ``held``; changes made through
    ``session`` commit with it. Do not commit here.

    Since: 0.3.
    """


@hookspec(
    warn_on_impl=deprecated(
        "conversation_changed",
        instead="conversation_rescheduled and conversation_cancelled",
        since="0.4",
        removed_in="0.5",
    )
)
def conversation_changed(session: Session, conversation: Conversation, change: str) -> None:
    """Deprecated event: a scheduled conversation was ``"rescheduled"`` or ``"cancelled"``.

    Implement :func:`conversation_rescheduled` and :func:`conversation_cancelled`
    instead. Until 0.5 it is still called, with ``change`` saying which, for
    plugins that do not implement the new event; implementing it logs a
    :class:`HookDeprecationWarning` when the plugin loads.

    Since: 0.2.
    """


@hookspec
def conversation_panels(conversation: Conversation, viewer: User) -> Panel | list[Panel] | None:
    """Panels for a conversation's prep page, like :func:`client_panels`.

    Since: 0.2.
    """


@hookspec
def blueprints() -> Blueprint | list[Blueprint] | None:
    """Flask blueprints with the plugin's own pages, registered when the app starts.

    Every route of a plugin's blueprint requires a signed-in user and answers
    404 to a practice that has the plugin switched off; scope every query with
    :func:`crossroads.plugin.scope` as the core's views do.

    Since: 0.2.
    """


@hookspec
def api_blueprints() -> ApiBlueprint | list[ApiBlueprint] | None:
    """The plugin's own JSON API resources: :class:`crossroads.plugin.ApiBlueprint` objects
    (flask-smorest blueprints), mounted under ``/api/v1/plugins/<name>/``.

    Their operations appear in the OpenAPI document (``/api/v1/openapi.json``) beside the
    core's. Every request is authenticated by a personal access token as the core's are (a
    read-only token may only read), answers 404 to a practice that has the plugin switched off,
    and its errors are problem details. Reach rows only through :func:`crossroads.plugin.api_scope`
    (the same Scope as the pages); describe inputs with marshmallow schemas
    (``@bp.arguments``) and answers with shapes (``@bp.response``), and use
    :func:`crossroads.plugin.cursor_page`, :func:`crossroads.plugin.require_fresh` and
    :func:`crossroads.plugin.idempotent` for the API's conventions. Declare a
    :class:`~crossroads.plugin.RouteId` for each id in a path, so the isolation sweep covers it.

    Since: 0.6.
    """


@hookspec
def menu_items(viewer: User, client: Client | None) -> MenuItem | list[MenuItem] | None:
    """Links the plugin adds to navigation.

    With ``client`` set, the links go in that client's workspace tabs (seen by
    the client and their coach); with ``client`` None, in the top menu of a
    staff member. Return :class:`~crossroads.plugin.MenuItem` objects.

    Since: 0.2.
    """


@hookspec
def load_demo_data(session: Session, practice: Practice) -> None:
    """Add this plugin's rows to the demo practice (``crossroads serve --demo``).

    Called once, after the core's demo data is in and committed, with the
    demo ``practice``; find its people through ``session``. Each plugin runs
    in a savepoint and Crossroads commits after the last one: add and flush,
    do not commit. Keep it small and plausible: it is what a new user sees first.

    Since: 0.2.
    """


@hookspec
def report_sections(request: ReportRequest) -> Section | list[Section] | None:
    """Sections this plugin adds to a progress report or a caseload report.

    ``request`` is a :class:`~crossroads.plugin.ReportRequest`: its
    ``subject`` is one client (``request.kind == "client"``) or a caseload
    (a coach's clients, or with no coach the whole practice), its ``period``
    a :class:`~crossroads.plugin.Period` in the viewer's time zone with
    UTC bounds ``since`` and ``until``, and ``scope`` the viewer's
    :class:`~crossroads.plugin.Scope`: build every query from it, so a
    coach's report holds only their caseload and only reflections the client
    shared. Use a fixed number of queries, whatever the amount of activity.

    Return :class:`~crossroads.plugin.Section` objects (each with its
    rows for export and a template for the page and the PDF), a list of them,
    or ``None`` for nothing. A plugin that raises is shown as unavailable and
    the other sections are unaffected. Do not write to the database here.

    Since: 0.2.
    """


@hookspec
def report_formats() -> ReportFormat | list[ReportFormat] | None:
    """Download formats this plugin offers for reports (PDF, CSV, a spreadsheet…).

    Return instances of :class:`~crossroads.plugin.ReportFormat`
    subclasses: a ``name`` (asked for as ``?format=name``), a label, a media
    type and file extension, and ``render(report)`` returning the file's bytes.
    A format is offered only to practices that have its plugin switched on.

    Since: 0.2.
    """


@hookspec
def scheduled_jobs() -> ScheduledJob | list[ScheduledJob] | None:
    """Jobs to run on a timetable in the background worker (``crossroads worker`` or ``serve``).

    Return :class:`~crossroads.plugin.ScheduledJob` objects: a unique
    ``name``, a Huey ``crontab`` schedule in UTC, and ``run(session, now)``,
    called with a fresh session that is committed when it returns (rolled back
    if it raises). Called once when the worker starts. A job sees every
    practice: skip those that have the plugin switched off. Send email with
    :func:`crossroads.plugin.queue_email`. Every worker process runs
    the timetable, so the same job may run in two at once: claim each piece of
    work with a conditional ``UPDATE`` (as the weekly digest claims a coach's
    week) rather than reading first and writing later.

    Since: 0.2.
    """


@hookspec
def reflection_shared(session: Session, reflection: Reflection) -> None:
    """Event: a client shared a reflection with their coach (saved as shared, or switched to shared).

    Fires inside the client's request transaction, before the commit. It does
    not fire again when an already shared reflection is edited. Do not commit here.

    Since: 0.3.
    """


@hookspec
def client_invited(session: Session, client: Client) -> None:
    """Event: a coach invited a new client (the account exists; the invitation link is issued).

    Fires inside the coach's request transaction, before the commit; the
    client has not signed in yet. Do not commit here.

    Since: 0.3.
    """


@hookspec
def theme_decided(session: Session, theme: CareerTheme, status: ThemeStatus) -> None:
    """Event: a career theme was decided: ``status`` is ``ThemeStatus.CHOSEN`` or ``ThemeStatus.DROPPED``.

    ``status`` is a :class:`~crossroads.core.models.ThemeStatus`, a string enum: it
    also equals ``"chosen"`` or ``"dropped"``.

    Fires inside the request transaction that moves the theme into one of
    those statuses from another (including an undo that moves it back), before
    the commit, with ``theme.status`` already changed. Do not commit here.

    Since: 0.3.
    """


@hookspec
def plugin_settings() -> type[PluginSettings] | None:
    """The plugin's settings for each practice, as a marshmallow schema.

    Return a subclass of :class:`~crossroads.plugin.PluginSettings`
    (a marshmallow ``Schema``). The practice owner's plugin page renders a form
    from its fields (the field's ``metadata`` may hold a ``label`` and a
    ``description``), validates what the owner enters with it, and stores
    the values. Read them anywhere with ``YourSettings.read(session, practice_id)``,
    which fills in each field's ``load_default`` for values never set.

    Since: 0.3.
    """


@hookspec
def cli_commands() -> click.Command | list[click.Command] | None:
    """Commands the plugin adds under ``crossroads`` (``crossroads <name> ...``).

    Return :mod:`click` commands or groups. A name the core already uses is
    refused (logged) so that a plugin cannot replace a built-in command. For
    the database, use :func:`crossroads.plugin.open_session`.

    Since: 0.3.
    """


@hookspec
def export_client_data(session: Session, client: Client, scope: Scope) -> dict[str, list[dict]] | None:
    """What this plugin keeps about ``client``, for the client's data export.

    Return a dict of table-like lists: each key becomes a file in the export
    archive (``<plugin>/<key>.json`` and ``.csv``), each item a row of plain
    JSON values. Read only; called by the client, their coach, or the owner.
    ``scope`` is the :class:`~crossroads.plugin.Scope` of whoever asked:
    build every query from it, so that an archive a coach or the owner makes
    holds only what staff may see (never a reflection the client did not
    share), and the client's own holds everything of theirs.

    Since: 0.3.
    """


@hookspec
def erase_client_data(session: Session, client: Client) -> None:
    """Delete everything this plugin keeps about ``client``: the owner is erasing them.

    Fires inside the erasure's transaction, before the core deletes the
    client's own rows; delete (do not hide) your rows through ``session`` and
    do not commit. If a plugin raises, the whole erasure is rolled back and
    the owner is told which plugin failed, so nothing is left half-erased.

    Since: 0.3.
    """


@hookspec
def contact_sources() -> Source | Importer | list[Source | Importer] | None:
    """Contact sources this plugin adds, and importers that read a file into contacts.

    Return :class:`~crossroads.plugin.Source` objects (a ``name`` stored on
    each contact, lowercase letters, digits and ``_``, and the ``label``
    people read) and instances of :class:`~crossroads.plugin.Importer`
    subclasses (a ``name``, a ``label`` such as "vCard (.vcf)", the ``source``
    its contacts get, and ``parse(data)`` turning the file's bytes into a
    :class:`~crossroads.plugin.ParsedFile` of
    :class:`~crossroads.plugin.ImportedContact` rows, or raising
    :class:`~crossroads.plugin.ImportRefused` naming every broken line). An
    importer may name a core source (``ContactSource.LINKEDIN``) or its
    plugin's own. The core's LinkedIn and vCard importers are answered the
    same way.

    The import page offers the importers of the plugins switched on for the
    practice; Crossroads writes the rows all or nothing, matching each to a
    contact the client has by LinkedIn profile, else email, else name and
    organisation. Sources of every installed plugin, switched on or off, label
    the contacts that have them; a source whose plugin is uninstalled shows
    its stored name. A name another plugin (or the core) took first is
    refused (logged). Called once per page that shows sources: keep it cheap
    and do not touch the database.

    Since: 0.5.
    """


@hookspec
def due_entries(session: Session, clients: list[Client], now: datetime) -> list[DueEntry] | None:
    """Things this plugin says are due for these clients, beside their follow-ups and thank-yous.

    ``clients`` are of one practice (the plugin is on there); ``now`` is the moment, in UTC: date
    each entry in the client's own calendar (``ZoneInfo(client.timezone)``). Return
    :class:`~crossroads.plugin.DueEntry` objects (``client_id``, a one-line ``label``, ``due_on``,
    ``overdue``; one or a list), only for the clients given. Crossroads shows them in the
    client's due list on their home page (with a button to the entry's ``done_endpoint``, a POST
    route of the plugin's that ticks it off) and on their coach's page about them, and lists
    them in the client's daily reminder email (with a link to their home page), which then goes
    out even on a day when nothing else is due. Read only, in a fixed number of queries whatever the number of
    clients (the reminder run asks for up to a hundred at once); do not write here.

    Since: 0.6.
    """


@hookspec
def caseload_columns(scope: Scope, clients: list[Client], now: datetime) -> list[CaseloadColumn] | None:
    """Columns this plugin adds to the coach's caseload table, for the clients on the page.

    ``scope`` is the viewer's :class:`~crossroads.plugin.Scope` (build every query from it);
    ``clients`` the page's clients (already scoped); ``now`` the moment the page's other figures
    use. Return :class:`~crossroads.plugin.CaseloadColumn` objects (one or a list): a ``key``, a
    ``label`` and each client's cell as plain text (escaped on the page). Use a fixed number of
    queries, whatever the number of clients; do not write here. A plugin that fails shows its
    column as unavailable.

    Since: 0.6.
    """


@hookspec
def coaching_session_held(session: Session, coaching_session: Any) -> None:
    """Event: a coach marked one of their coaching sessions with a client as held.

    ``coaching_session`` is the built-in ``coaching_sessions`` plugin's ``CoachingSession`` row
    (``client_id``, ``coach_id``, ``starts_at``, ``minutes``, ``status`` already ``held``; the
    coach's private notes are on it too: do not copy them where the client could read them).
    Fires inside the coach's request transaction, before the commit. Do not commit here.

    Since: 0.6.
    """


@hookspec
def action_item_completed(session: Session, action_item: Any) -> None:
    """Event: an action item agreed in a coaching session was ticked off.

    ``action_item`` is the ``coaching_sessions`` plugin's ``ActionItem`` row (``client_id``,
    ``assignee`` ``"client"`` or ``"coach"``, ``text``, ``due_on``, ``done_at`` already set).
    Fires inside the transaction of the request that ticked it off (the client's, or the
    coach's), before the commit, each time an open item becomes done. Do not commit here.

    Since: 0.6.
    """
