"""Professional associations: guest requests to an association's events contact.

A third-party Crossroads plugin: an outreach channel, a report section,
per-practice settings, a page with a tab in the client's workspace, a
command, and a contact source with its importer. Each hook below hands
Crossroads one of them.
"""

from crossroads.plugin import MenuItem, hookimpl

from .channel import GuestRequestChannel
from .commands import association_stats
from .directory import DIRECTORY, MemberDirectoryImporter
from .report import guest_requests_section
from .settings import AssociationSettings
from .views import bp

#: The hook set this plugin is written for: an older Crossroads refuses to load it.
crossroads_hooks = "0.5"

CHANNEL = GuestRequestChannel()


@hookimpl
def outreach_channels():
    return CHANNEL


@hookimpl
def report_sections(request):
    return guest_requests_section(request)


@hookimpl
def plugin_settings():
    return AssociationSettings


@hookimpl
def blueprints():
    return bp


@hookimpl
def menu_items(viewer, client):
    if client is None:
        return None
    return MenuItem("Guest requests", "professional_association.guest_requests", {"client_id": client.id})


@hookimpl
def cli_commands():
    return association_stats


@hookimpl
def contact_sources():
    return [DIRECTORY, MemberDirectoryImporter()]
