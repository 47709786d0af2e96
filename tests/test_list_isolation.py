"""Pages that list or search rows never show rows the viewer may not reach.

tests/test_isolation.py covers every route that takes an id (another practice's object answers
404). This file covers the other half: lists and searches, which answer 200 and could let a
row from elsewhere slip into the page. Two practices with distinctive names, emails, contacts,
banks and institutions; each page is fetched by each kind of viewer and must not contain any
marker of a row outside the viewer's reach, as core/scoping.py defines it:

- an owner reaches the whole practice;
- a coach reaches the practice's own rows, but among clients only their own caseload (not the
  owner's clients);
- a client reaches only their own workspace;
- and a page about one client (their contacts, conversations, messages, report, ...) shows only
  that client's rows, not those of the viewer's other clients.

A new list page is one line in ``PAGES``; a new search is one line in ``SEARCHES``.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from urllib.parse import quote_plus

import pytest
from markupsafe import escape
from sqlalchemy.orm import Session

from crossroads.core.models import Client, Practice, Reach
from crossroads.plugins.alumni_offices.models import Institution
from crossroads.plugins.alumni_offices.services import fill_institution
from crossroads.testing import World, make_bank, make_contact

# Per client: a contact with a unique name and email whose position matches the client's theme
# words ("Magazine editing" and "editor"), so that it is a warm lead and a search hit for its own
# client, and would be one for anybody else if scoping slipped.
LOOKALIKES = {
    "Clara Client": ("Dana Clarkson", "dana@clarkson.example"),
    "Otto Other": ("Dana Ottway", "dana@ottway.example"),
    "Ola Owned": ("Dana Olafsdottir", "dana@olafsdottir.example"),
    "Bea Beyond": ("Dana Beaumont", "dana@beaumont.example"),
}


@dataclass
class Lists:
    world: World

    def client_markers(self, client: Client) -> list[str]:
        """Text that appears only where this client's rows are shown: their name, address and theme,
        and the look-alike contact :func:`lists` gives them (their bank's name has their name too,
        see conftest.world)."""
        contact, email = LOOKALIKES[client.name]
        return [client.name, client.user.email, client.themes[0].title, contact, email]

    def practice_markers(self, practice: Practice) -> list[str]:
        owner = self.world.owner if practice is self.world.practice else self.world.stranger_owner
        shared = f"{practice.name} shared questions"
        return [practice.name, owner.name, owner.email, shared, f"{practice.name} University"]

    def clients(self, practice: Practice) -> list[Client]:
        w = self.world
        return [w.client, w.other_client, w.owners_client] if practice is w.practice else [w.stranger_client]

    def viewer(self, who: str):
        w = self.world
        viewers = {"owner": w.owner, "coach": w.coach, "client": w.client.user, "stranger": w.stranger_owner}
        return viewers[who]

    def subject(self, who: str) -> Client:
        """The client a page about one client is about: one the viewer may reach."""
        return self.world.stranger_client if who == "stranger" else self.world.client

    def reachable(self, who: str) -> list[Client]:
        w = self.world
        return {
            "owner": [w.client, w.other_client, w.owners_client],
            "coach": [w.client, w.other_client],  # the coach's caseload; not the owner's client
            "client": [w.client],
            "stranger": [w.stranger_client],
        }[who]

    def hidden(self, who: str, about_one_client: bool) -> list[str]:
        """Markers that must not appear on a page this viewer opens."""
        mine = self.viewer(who).practice
        other = self.world.stranger_practice if mine is self.world.practice else self.world.practice
        markers = self.practice_markers(other)
        for client in self.clients(other):
            markers += self.client_markers(client)
        shown = [self.subject(who)] if about_one_client else self.reachable(who)
        for client in self.clients(mine):
            if client not in shown:
                markers += self.client_markers(client)
        return markers

    def url(self, template: str, who: str) -> str:
        return template.format(client=self.subject(who).id)


@pytest.fixture
def lists(world: World, db: Session) -> Lists:
    for client in (world.client, world.other_client, world.owners_client, world.stranger_client):
        name, email = LOOKALIKES[client.name]
        make_contact(db, client, name, "Harbour Press", "Magazine editor", email=email)
    for practice, owner in ((world.practice, world.owner), (world.stranger_practice, world.stranger_owner)):
        make_bank(db, owner, f"{practice.name} shared questions", Reach.PRACTICE)
        institution = Institution(practice_id=practice.id)
        fill_institution(institution, {"name": f"{practice.name} University"})
        db.add(institution)
    db.commit()
    return Lists(world)


# (viewer, URL; "{client}" is the client the page is about, one of the viewer's).
PAGES = [
    # the caseload and its report
    ("owner", "/coach/"),
    ("coach", "/coach/"),
    ("stranger", "/coach/"),
    ("coach", "/coach/?per_page=100&sort=name"),
    ("owner", "/plugins/progress_report/caseload"),
    ("coach", "/plugins/progress_report/caseload"),
    ("stranger", "/plugins/progress_report/caseload"),
    ("owner", "/plugins/progress_report/caseload/download?format=csv"),
    ("coach", "/plugins/progress_report/caseload/download?format=csv"),
    # a client's workspace and the pages about one client
    ("client", "/me/"),
    ("coach", "/coach/clients/{client}"),
    ("coach", "/clients/{client}/contacts"),
    ("client", "/clients/{client}/contacts"),
    ("coach", "/clients/{client}/contacts?view=board"),
    ("stranger", "/clients/{client}/contacts"),
    ("coach", "/clients/{client}/leads"),
    ("client", "/clients/{client}/leads"),
    ("coach", "/clients/{client}/conversations"),
    ("client", "/clients/{client}/conversations"),
    ("coach", "/clients/{client}/synthesis"),
    ("coach", "/clients/{client}/messages"),
    ("client", "/clients/{client}/messages"),
    ("stranger", "/clients/{client}/messages"),
    ("coach", "/plugins/progress_report/clients/{client}/report"),
    ("client", "/plugins/progress_report/clients/{client}/report"),
    ("coach", "/plugins/progress_report/clients/{client}/report/download?format=csv"),
    ("coach", "/plugins/alumni_offices/clients/{client}"),
    # practice-level lists
    ("owner", "/banks/"),
    ("coach", "/banks/"),
    ("client", "/banks/"),
    ("stranger", "/banks/"),
    ("owner", "/practice/"),
    ("stranger", "/practice/"),
    ("coach", "/templates"),
    ("coach", "/plugins/alumni_offices/institutions"),
    ("stranger", "/plugins/alumni_offices/institutions"),
]


def _check(lists: Lists, as_user, who: str, url: str, hidden: list[str], searched: str = "") -> str:
    response = as_user(lists.viewer(who)).get(url)
    assert response.status_code == 200, f"{who} {url} answered {response.status_code}"
    page = response.get_data(as_text=True)
    if searched:  # the page repeats what was searched for (box, links, "nothing matches"): not a result
        page = re.sub(r"\bq=[^\"&\s]*", "q=", page)
        page = page.replace(f'value="{escape(searched)}"', 'value=""').replace(f"“{escape(searched)}”", "“”")
    leaked = [page[max(0, i - 80) : i + 80] for m in hidden if (i := page.find(m)) >= 0]
    assert not leaked, f"{who} sees on {url}:\n" + "\n".join(leaked)
    return page


@pytest.mark.parametrize(("who", "template"), PAGES, ids=[f"{who} {url}" for who, url in PAGES])
def test_a_list_shows_only_what_the_viewer_may_reach(lists, as_user, who, template):
    page = _check(lists, as_user, who, lists.url(template, who), lists.hidden(who, "{client}" in template))
    if "{client}" in template:  # the control: the page is really about that client
        assert lists.subject(who).name in page or LOOKALIKES[lists.subject(who).name][0] in page


def test_an_owner_does_not_see_a_coachs_banks_for_their_clients(lists, as_user):
    """Question banks have their own reach: a coach's banks chosen for clients stay with that coach."""
    w = lists.world
    coachs_banks = [f"Questions for {w.client.name}", f"Questions for {w.other_client.name}"]
    _check(lists, as_user, "owner", "/banks/", coachs_banks)


# (viewer, URL with "{q}", the term searched for, a row the search must find: the control).
SEARCHES = [
    ("coach", "/coach/?q={q}", "Ola Owned", None),  # the owner's client, same practice
    ("coach", "/coach/?q={q}", "ola@client.example", None),
    ("coach", "/coach/?q={q}", "Bea Beyond", None),
    ("coach", "/coach/?q={q}", "Data journalism", None),  # the owner's client's theme
    ("coach", "/coach/?q={q}", "Clara", "Clara Client"),
    ("owner", "/coach/?q={q}", "Bea Beyond", None),
    ("owner", "/coach/?q={q}", "bea@client.example", None),
    ("owner", "/coach/?q={q}", "Systems analysis", None),
    ("owner", "/coach/?q={q}", "Ola", "Ola Owned"),
    ("stranger", "/coach/?q={q}", "Clara Client", None),
    ("coach", "/coach/?q={q}&coach_id={owner}", "", None),  # filtering by another coach's caseload
    # a client's contacts: the exact name or email of another client's contact
    ("coach", "/clients/{client}/contacts?q={q}", "Dana Beaumont", None),
    ("coach", "/clients/{client}/contacts?q={q}", "dana@beaumont.example", None),
    ("coach", "/clients/{client}/contacts?q={q}", "Dana Ottway", None),  # the coach's other client
    ("coach", "/clients/{client}/contacts?q={q}", "Dana", "Dana Clarkson"),
    ("coach", "/clients/{client}/contacts?q={q}&view=board", "Dana", "Dana Clarkson"),
    ("client", "/clients/{client}/contacts?q={q}", "Dana Olafsdottir", None),
    ("client", "/clients/{client}/contacts?q={q}", "Harbour Press", "Dana Clarkson"),
    ("owner", "/clients/{client}/contacts?q={q}", "Bea Beyond", None),
    ("stranger", "/clients/{client}/contacts?q={q}", "Dana Clarkson", None),
    ("stranger", "/clients/{client}/contacts?q={q}", "Dana", "Dana Beaumont"),
    # the alumni directory is practice-wide, but per practice
    ("coach", "/plugins/alumni_offices/institutions?q={q}", "Elsewhere Coaching University", None),
    ("coach", "/plugins/alumni_offices/institutions?q={q}", "University", "Northbridge Coaching University"),
    ("stranger", "/plugins/alumni_offices/institutions?q={q}", "Northbridge", None),
]


@pytest.mark.parametrize(
    ("who", "template", "term", "finds"), SEARCHES, ids=[f"{s[0]} {s[1]} {s[2]}" for s in SEARCHES]
)
def test_a_search_never_finds_another_practices_or_caseloads_rows(lists, as_user, who, template, term, finds):
    url = template.format(client=lists.subject(who).id, owner=lists.world.owner.id, q=quote_plus(term))
    page = _check(lists, as_user, who, url, lists.hidden(who, "{client}" in template), searched=term)
    if finds:
        assert finds in page, f"{who} {url}: the search should find {finds}"


def test_the_audit_log_shows_only_the_practices_own_events(lists, as_user):
    w = lists.world
    as_user(w.coach).get(f"/coach/clients/{w.client.id}")  # recorded in the first practice
    as_user(w.stranger_owner).get(f"/coach/clients/{w.stranger_client.id}")  # and in the other
    page = _check(lists, as_user, "owner", "/practice/audit/", lists.hidden("owner", False))
    assert w.client.name in page  # the control: the page does list events
    page = _check(lists, as_user, "stranger", "/practice/audit/", lists.hidden("stranger", False))
    assert w.stranger_client.name in page


@pytest.mark.parametrize(
    ("who", "url"), [("client", "/me/export"), ("coach", "/coach/clients/{client}/export")]
)
def test_a_data_export_holds_only_that_clients_rows(lists, as_user, who, url):
    response = as_user(lists.viewer(who)).post(lists.url(url, who))
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        text = "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    leaked = [marker for marker in lists.hidden(who, about_one_client=True) if marker in text]
    assert not leaked, f"{who}'s export of {lists.subject(who).name} holds {leaked}"
    assert LOOKALIKES[lists.subject(who).name][0] in text  # the control: the client's own contact
