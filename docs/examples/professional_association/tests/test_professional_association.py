"""The professional association plugin, installed by its entry point and tested with crossroads.testing."""

from __future__ import annotations

import io
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from crossroads_professional_association.settings import AssociationSettings
from sqlalchemy import event, select

from crossroads.plugin import Contact, MessageStatus, Period, ReportRequest, Scope, Subject, utcnow

PLUGIN = "professional_association"
CHANNEL = "association_guest"


@pytest.fixture
def eve(crossroads_world):
    """The world's contact found through a professional association: the Society's events manager."""
    return crossroads_world.contacts[2]


def write(
    browser, contact, subject="A guest at your next meeting?", body="Dear Eve, could I come as a guest?"
):
    """The client sends a guest request; returns the message's page (the hand-off)."""
    response = browser.post(
        f"/contacts/{contact.id}/write",
        data={
            "channel": CHANNEL,
            "kind": "first_request",
            "format": "guest_request",
            "subject": subject,
            "body": body,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser.page(response.location)


def test_the_plugin_is_found_through_its_entry_point(crossroads_cli):
    output = crossroads_cli("plugins").output
    assert (
        f"{PLUGIN} 0.1.0\n  from:  crossroads-professional-association (crossroads_professional_association)"
        in output
    )
    for hook in (
        "blueprints",
        "cli_commands",
        "contact_sources",
        "menu_items",
        "outreach_channels",
        "plugin_settings",
        "report_sections",
    ):
        assert hook in output.split(f"{PLUGIN} 0.1.0", 1)[1].split("\n")[2]


def test_the_channel_drafts_a_guest_request_to_an_association_contact(crossroads_as_client, eve):
    page = crossroads_as_client.page(f"/contacts/{eve.id}/write?channel={CHANNEL}&kind=first_request")
    assert "Coming to a Society of Magazine Editors meeting as a guest?" in page.html
    assert "We are both part of the same professional association." in page.html
    assert "With thanks,\nClara Client" in page.html


def test_the_channel_is_unavailable_for_other_contacts(crossroads_as_client, crossroads_world):
    ada = crossroads_world.contacts[0]  # added by hand, not through an association
    page = crossroads_as_client.page(f"/contacts/{ada.id}/write")
    assert "Professional association (guest request)" in page.html
    assert "Guest requests go to contacts you found through a professional association." in page.html


def test_sending_hands_the_request_to_the_client_with_a_mailto_link(
    crossroads_as_client, eve, crossroads_outbox
):
    page = write(crossroads_as_client, eve)
    assert "mailto:events%40sme.example?subject=A%20guest%20at%20your%20next%20meeting%3F" in page.html
    assert "Open in my mail program" in page.html
    assert len(crossroads_outbox) == 0  # nothing is emailed for the client: they send it themselves


def test_the_owner_sets_the_association_and_sign_off(
    crossroads_as_owner, crossroads_as_client, crossroads_db, eve
):
    url = f"/practice/plugins/{PLUGIN}/settings"
    form = crossroads_as_owner.page(url)
    assert "Default association" in form.html and "The line before the client&#39;s name." in form.html
    refused = crossroads_as_owner.post(url, data={"association_name": "Guild of Editors", "sign_off": ""})
    assert refused.status_code == 422
    saved = crossroads_as_owner.post(
        url, data={"association_name": "Guild of Editors", "sign_off": "Warm regards"}
    )
    assert saved.status_code == 302
    eve.organisation = ""  # no organisation on the contact: the practice's default association is named
    crossroads_db.commit()
    draft = crossroads_as_client.page(f"/contacts/{eve.id}/write?channel={CHANNEL}&kind=first_request").html
    assert "Coming to a Guild of Editors meeting as a guest?" in draft
    assert "Warm regards,\nClara Client" in draft


def test_the_report_counts_guest_requests(crossroads_as_client, crossroads_page, crossroads_world, eve):
    message_page = write(crossroads_as_client, eve)
    message_id = message_page.url.rstrip("/").rsplit("/", 1)[1]
    assert crossroads_as_client.post(f"/messages/{message_id}/sent").status_code == 302
    client, coach = crossroads_world.client, crossroads_world.coach
    section = crossroads_page(coach, f"/plugins/progress_report/clients/{client.id}/report").plugin_part(
        PLUGIN
    )
    assert section.text.startswith("Professional associations Guest requests")
    assert "Written Sent Answered 1 1 0" in section.text
    caseload = crossroads_page(coach, "/plugins/progress_report/caseload").plugin_part(PLUGIN)
    assert "Client Written Sent Answered Clara Client 1 1 0" in caseload.text


@pytest.mark.parametrize("requests", [0, 3])
def test_the_report_section_makes_one_query_whatever_the_activity(
    requests, crossroads_as_client, crossroads_db, crossroads_plugin_manager, crossroads_world, eve
):
    for n in range(requests):
        write(crossroads_as_client, eve, subject=f"Request {n}")
    report = ReportRequest(
        session=crossroads_db,
        scope=Scope(crossroads_db, crossroads_world.coach),
        subject=Subject(client=crossroads_world.client),
        period=Period.of("this_month", "Europe/London"),
        viewer=crossroads_world.coach,
        practice=crossroads_world.practice,
    )
    statements = []
    engine = crossroads_db.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        [result] = crossroads_plugin_manager.call("report_sections", {PLUGIN}, request=report)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert result.ok and result.value.rows == [{"written": requests, "sent": 0, "answered": 0}]
    assert len(statements) == 1


def test_the_page_lists_the_clients_guest_requests(
    crossroads_as_client, crossroads_page, crossroads_world, eve
):
    client = crossroads_world.client
    url = f"/plugins/{PLUGIN}/clients/{client.id}/guest-requests"
    assert "No guest requests yet." in crossroads_as_client.page(url).plugin_part(PLUGIN).text
    write(crossroads_as_client, eve, subject="May I visit?")
    listed = crossroads_page(client.user, url).plugin_part(PLUGIN).text
    assert "May I visit? to Eve Events (Society of Magazine Editors): Waiting for you to send it" in listed
    coach_view = crossroads_page(crossroads_world.coach, url).plugin_part(PLUGIN)
    assert "May I visit?" in coach_view.text
    contacts_page = crossroads_as_client.page(f"/clients/{client.id}/contacts").html
    assert f'href="{url}"' in contacts_page  # the tab in the client's workspace


def test_the_page_brings_its_stylesheet(crossroads_as_client, crossroads_world):
    url = f"/plugins/{PLUGIN}/clients/{crossroads_world.client.id}/guest-requests"
    css = f"/plugins/{PLUGIN}/static/guest_requests.css"
    assert f'href="{css}"' in crossroads_as_client.page(url).html
    response = crossroads_as_client.get(css)
    assert response.status_code == 200 and b".guest-requests" in response.data


def test_a_deployment_overrides_the_plugins_template(
    crossroads_settings, crossroads_as_client, crossroads_world
):
    override = crossroads_settings.instance_path / "templates" / "professional_association" / "requests.html"
    override.parent.mkdir(parents=True)
    override.write_text("<p>Our own guest requests page for {{ client.name }}</p>")
    url = f"/plugins/{PLUGIN}/clients/{crossroads_world.client.id}/guest-requests"
    assert crossroads_as_client.page(url).html == "<p>Our own guest requests page for Clara Client</p>"


def test_the_page_is_gone_when_the_practice_switches_the_plugin_off(
    crossroads_as_owner, crossroads_as_client, crossroads_world
):
    url = f"/plugins/{PLUGIN}/clients/{crossroads_world.client.id}/guest-requests"
    assert crossroads_as_owner.post(f"/practice/plugins/{PLUGIN}/off").status_code == 302
    crossroads_as_client.page(url, status=404)


def test_the_command_counts_a_practices_guest_requests(
    crossroads_cli, crossroads_as_client, crossroads_world, eve
):
    write(crossroads_as_client, eve)
    output = crossroads_cli("association-stats", "--practice", str(crossroads_world.practice.id)).output
    assert output == "Northbridge Coaching: 1 guest request\n  handed_off: 1\n"
    missing = crossroads_cli("association-stats", "--practice", "999999", exit_code=1)
    assert "No practice has the id 999999." in missing.output


# -- the booking service: guest requests sent through the plugin's own transport ----------------------


class BookingHandler(BaseHTTPRequestHandler):
    """A stand-in for an association's booking service: records each request, answers as told."""

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), json.loads(body)))
        status, text = self.server.answers.pop(0) if self.server.answers else (201, "booked")
        self.send_response(status)
        self.end_headers()
        self.wfile.write(text.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def booking_service(crossroads_set_plugin_settings, monkeypatch):
    """A real HTTP server on 127.0.0.1, named as the practice's booking service (a loopback
    address, which Crossroads reaches only when the administrator allows it)."""
    monkeypatch.setenv("CROSSROADS_SMTP_ALLOW_PRIVATE", "1")
    server = ThreadingHTTPServer(("127.0.0.1", 0), BookingHandler)
    server.received, server.answers = [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/guest-requests"
    crossroads_set_plugin_settings(AssociationSettings, {"sign_off": "With thanks", "booking_url": url})
    yield server
    server.shutdown()
    server.server_close()


def test_with_a_booking_service_the_request_is_sent_there_through_the_outbox(
    crossroads_as_client, crossroads_worker, crossroads_outbox, booking_service, eve
):
    compose = crossroads_as_client.page(f"/contacts/{eve.id}/write?channel={CHANNEL}&kind=first_request")
    assert ">Send</button>" in compose.html  # sent for the client, not handed to them
    write(crossroads_as_client, eve)
    [row] = crossroads_outbox.rows("association_booking")
    assert len(crossroads_outbox) == 0  # no email: the booking service takes it

    assert crossroads_worker.send_due() == {row.id: MessageStatus.SENT}
    [(headers, request)] = booking_service.received
    assert request == {
        "association": "Society of Magazine Editors",
        "to": {"name": "Eve Events", "email": "events@sme.example"},
        "subject": "A guest at your next meeting?",
        "message": "Dear Eve, could I come as a guest?",
    }
    assert headers["Idempotency-Key"] == row.message_id
    assert crossroads_worker.send_due() == {}  # sent once, never again


def test_a_busy_booking_service_is_tried_again_later(
    crossroads_as_client, crossroads_worker, crossroads_outbox, booking_service, eve
):
    booking_service.answers.append((503, "busy"))
    page = write(crossroads_as_client, eve)
    [row] = crossroads_outbox.rows("association_booking")
    assert crossroads_worker.send_due() == {row.id: MessageStatus.QUEUED}
    assert "Not sent yet, retrying:" in crossroads_as_client.page(page.url).html
    assert crossroads_worker.send_due(utcnow() + timedelta(minutes=2)) == {row.id: MessageStatus.SENT}
    assert len(booking_service.received) == 2


def test_a_refusal_by_the_booking_service_is_shown_on_the_message(
    crossroads_as_client, crossroads_worker, booking_service, eve
):
    booking_service.answers.append((404, "no such events contact"))
    page = write(crossroads_as_client, eve)
    assert list(crossroads_worker.send_due().values()) == [MessageStatus.FAILED]
    shown = crossroads_as_client.page(page.url).html
    assert "It could not be sent:" in shown and "answered 404 Not Found: no such events contact" in shown


# -- the kit's sweeps: the plugin's routes keep to their own, and its forms carry a CSRF token --------


def test_every_route_with_an_id_refuses_other_practices_coaches_and_clients(crossroads_isolation_sweep):
    from crossroads.plugin import SWEEP_EITHER as EITHER

    # Who rightfully uses each route with an id, and the form they send: the client and their coach
    # open the guest requests page.
    swept = crossroads_isolation_sweep({f"{PLUGIN}.guest_requests": (EITHER, {})}, plugin=PLUGIN)
    assert swept == [f"{PLUGIN}.guest_requests"]


def test_every_post_route_refuses_a_request_without_a_csrf_token(crossroads_csrf_sweep):
    # No POST route of its own yet: a new one is swept at once.
    assert crossroads_csrf_sweep(plugin=PLUGIN) == []


def test_what_it_keeps_about_a_client_is_exported_and_erased(crossroads_export_erasure_sweep):
    # No tables of its own yet (its messages are the core's): a table with client_id is swept at once.
    assert crossroads_export_erasure_sweep(plugin=PLUGIN) == []


DIRECTORY_CSV = (
    "\ufeffName,Email,Organisation,Role,Member since\r\n"
    'Nell Nakamura,NELL@features.example,Condé Nast,"Features editor, Vogue",2015\r\n'
    "Max Marlow,,Society of Magazine Editors,Membership secretary,2019\r\n"
)


def upload(browser, client, data: str, format: str = "auto"):
    """The client uploads a file on the core's import page."""
    return browser.post(
        f"/clients/{client.id}/import",
        data={"format": format, "file": (io.BytesIO(data.encode()), "members.csv")},
        content_type="multipart/form-data",
    )


def test_a_member_directory_imports_as_the_plugins_own_source(
    crossroads_as_client, crossroads_world, crossroads_db
):
    client = crossroads_world.client
    assert (
        "Association member directory (CSV)" in crossroads_as_client.page(f"/clients/{client.id}/import").html
    )
    response = upload(crossroads_as_client, client, DIRECTORY_CSV)  # recognised by its header
    assert response.status_code == 200 and "<strong>2</strong> added" in response.get_data(as_text=True)
    nell = crossroads_db.scalar(
        select(Contact).where(Contact.client_id == client.id, Contact.name == "Nell Nakamura")
    )
    assert (nell.source, nell.email, nell.position) == (
        "association_directory",
        "nell@features.example",
        "Features editor, Vogue",
    )
    assert "Professional association directory" in crossroads_as_client.page(f"/contacts/{nell.id}").html
    again = upload(crossroads_as_client, client, DIRECTORY_CSV, format="association_directory_csv")
    assert "<strong>2</strong> already up to date" in again.get_data(as_text=True)  # matched, not duplicated


def test_a_broken_directory_row_refuses_the_whole_file_naming_its_line(
    crossroads_as_client, crossroads_world, crossroads_db
):
    client = crossroads_world.client
    before = crossroads_db.scalar(
        select(Contact.id).where(Contact.client_id == client.id).order_by(Contact.id.desc())
    )
    response = upload(crossroads_as_client, client, DIRECTORY_CSV.replace("2019", "soon"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Nothing was imported" in page
    assert "Line 3: Member since &#39;soon&#39; is not a year" in page
    after = crossroads_db.scalar(
        select(Contact.id).where(Contact.client_id == client.id).order_by(Contact.id.desc())
    )
    assert after == before
