"""Progress reports: the client's progress report and the coach's caseload report, as a plugin.

A built-in plugin, registered through the ``crossroads`` entry point exactly as a third
party's would be. It contributes the reports' sections through the core's
``report_sections`` hook and three formats through ``report_formats`` (a web page, a PDF
drawn by WeasyPrint with the charts, and CSV of the rows), its pages through
``blueprints`` and ``menu_items``, and a weekly digest email to coaches who opt in
through ``scheduled_jobs``. Its tables (a coach's note on a client's period, the digest
opt-in) come with their own Alembic branch (``migrations/``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from crossroads.plugin import Client, MenuItem, Practice, ReportRequest, Scope, User, hookimpl

from . import client_data, models  # noqa: F401  (registers the plugin's tables on Base.metadata)
from .demo import load_demo
from .digest import JOB
from .formats import FORMATS
from .sections import caseload_sections, client_sections
from .views import bp


@hookimpl
def report_sections(request: ReportRequest):
    if request.kind == "client":
        return client_sections(request)
    return caseload_sections(request)


@hookimpl
def report_formats():
    return FORMATS


@hookimpl
def scheduled_jobs():
    return JOB


@hookimpl
def load_demo_data(session, practice: Practice) -> None:
    load_demo(session, practice)


@hookimpl
def blueprints():
    return bp


@hookimpl
def menu_items(viewer: User, client: Client | None) -> MenuItem | None:
    """A "Progress report" tab in each client's workspace; the caseload report in the staff menu."""
    if client is not None:
        return MenuItem("Progress report", "progress_report.client_report", {"client_id": client.id})
    if viewer.is_staff:
        return MenuItem("Caseload report", "progress_report.caseload_report")
    return None


@hookimpl
def export_client_data(scope: Scope, client: Client) -> dict[str, list[dict]]:
    """The client's coach's notes on their periods, for their data export."""
    return client_data.export_rows(scope, client)


@hookimpl
def erase_client_data(session: Session, client: Client) -> None:
    """Delete the client's coach's notes on their periods: the owner is erasing them."""
    client_data.erase_rows(session, client)
