"""The pages the accessibility and markup checkers look at: every page of the URL map that answers
HTML to the demo practice's owner, a coach and a client, with their own rows filling the ids (so a
new page is checked without anyone listing it), plus the not-found page."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from crossroads.core import demo
from crossroads.core.models import Client, Conversation, Question, QuestionBank, User
from crossroads.testing.browser import browser_for
from crossroads.testing.sweeps import IsolationSweep

#: Routes whose answer is a file, not a page.
NOT_PAGES = {"static", "ops.healthz"}


@dataclass
class Visitor:
    """A demo user and the pages they can open."""

    role: str
    user: User
    urls: list[str]


def _whose(session: Session, user: User) -> Client:
    """The client whose rows fill the ids: the client themselves, or the staff member's own client
    with conversations (so every kind of row exists)."""
    if user.client is not None:
        return user.client
    return session.scalars(
        select(Client).where(Client.coach_id == user.id).join(Conversation).order_by(Client.id)
    ).first()


def _bank(client: Client) -> int:
    """A bank of the client's coach (the demo chooses none for one client alone)."""
    session = Session.object_session(client)
    return session.scalar(
        select(QuestionBank.id).where(QuestionBank.owner_id == client.coach_id).order_by(QuestionBank.id)
    )


def _question(client: Client) -> int:
    session = Session.object_session(client)
    return session.scalar(select(Question.id).where(Question.bank_id == _bank(client)).order_by(Question.id))


def demo_pages(app: Flask, session: Session, monkeypatch) -> list[Visitor]:
    """Load the demo practice (with the installed plugins' rows) and list each role's pages."""
    demo.load_demo(session, app.extensions["crossroads"].plugins)
    sweep = IsolationSweep(app)  # fills each id with a row of the target client's
    own = {"bank_id": _bank, "question_id": _question}  # the demo's banks: the coach's own
    visitors = []
    for role, email in (
        ("owner", demo.OWNER_EMAIL),
        ("coach", demo.COACH_EMAIL),
        ("client", demo.CLIENT_EMAIL),
    ):
        user = session.scalar(select(User).where(User.email == email))
        target = _whose(session, user)
        browser = browser_for(app, user)
        urls = []
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint in NOT_PAGES or rule.endpoint.endswith(".static"):
                continue
            url = sweep.url(rule, target, {n: fill(target) for n, fill in own.items() if n in rule.arguments})
            response = browser.get(url)
            if response.status_code == 200 and response.mimetype == "text/html":
                urls.append(url)
        urls.append("/no-such-page")  # the error page
        visitors.append(Visitor(role, user, urls))
    return visitors
