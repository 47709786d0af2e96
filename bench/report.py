"""Benchmark: a client's progress report (HTML page, PDF, CSV) and the caseload report, after one month
and after twelve months of activity, with the number of SQL statements each request runs.

The statement counts must be the same at 1 and 12 months: the reports fetch each kind of event in
one statement and count in Python, so more activity means more rows, never more statements.

python bench/report.py
python bench/report.py --database-url postgresql+psycopg://postgres@127.0.0.1/crossroads_bench
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from crossroads.core import migrate  # noqa: E402
from crossroads.core.config import Settings  # noqa: E402
from crossroads.core.db import make_engine, make_sessionmaker, utcnow  # noqa: E402
from crossroads.core.models import (  # noqa: E402
    CareerTheme,
    Client,
    Contact,
    ContactSource,
    Conversation,
    ConversationStatus,
    Goal,
    GoalMetric,
    GoalPeriod,
    MessageKind,
    MessageStatus,
    OutreachMessage,
    Practice,
    Reflection,
    Role,
    Stage,
    StageChange,
    ThemeDecision,
    ThemeStatus,
    User,
)
from crossroads.core.plugins import PluginManager  # noqa: E402
from crossroads.web import create_app  # noqa: E402
from tests.conftest import USER_AGENT, Browser  # noqa: E402

#: Per week of activity: requests sent, follow-ups, conversations held (each thanked).
REQUESTS, FOLLOW_UPS, CONVERSATIONS = 8, 3, 2


def fresh_database(url: str):
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    return engine


def populate(session, months: int) -> tuple[User, Client]:
    """A practice with a coach and a client who has ``months`` of steady activity up to now."""
    rng = random.Random(months)
    practice = Practice(name="Bench Coaching", timezone="Europe/London")
    coach = User(
        practice=practice,
        email="coach@bench.example",
        name="Coach",
        role=Role.COACH,
        timezone="Europe/London",
    )
    person = User(
        practice=practice,
        email="client@bench.example",
        name="Client",
        role=Role.CLIENT,
        timezone="Europe/London",
    )
    client = Client(practice=practice, user=person, coach=coach)
    session.add_all([practice, coach, person, client])
    session.flush()
    themes = [
        CareerTheme(
            practice_id=practice.id,
            client_id=client.id,
            title=title,
            position=i,
            target_conversations=30,
            status=ThemeStatus.EXPLORING,
        )
        for i, title in enumerate(("Magazine editing", "Systems analysis", "Technical writing"))
    ]
    session.add_all(themes)
    session.add(
        Goal(
            practice_id=practice.id,
            client_id=client.id,
            period=GoalPeriod.WEEK,
            metric=GoalMetric.CONVERSATIONS,
            target=2,
        )
    )
    session.flush()
    now = utcnow()
    weeks = round(months * 52 / 12)
    ids = {"practice_id": practice.id, "client_id": client.id}
    for week in range(weeks):
        start = now - timedelta(weeks=weeks - week)
        for n in range(REQUESTS):
            when = start + timedelta(hours=rng.randint(0, 24 * 7 - 1))
            source = rng.choice(list(ContactSource))
            contact = Contact(
                **ids,
                name=f"Contact {week}-{n}",
                sort_name=f"contact {week}-{n}",
                source=source,
                stage=Stage.REQUESTED,
                stage_changed_at=when,
                created_at=when - timedelta(days=2),
            )
            session.add(contact)
            session.flush()
            session.add(StageChange(**ids, contact_id=contact.id, to_stage=Stage.REQUESTED, at=when))
            message = OutreachMessage(
                **ids,
                contact_id=contact.id,
                channel=rng.choice(["email", "linkedin"]),
                kind=MessageKind.FIRST_REQUEST,
                status=MessageStatus.SENT,
                sent_at=when,
                replied_at=when + timedelta(days=2) if n % 2 else None,
            )
            session.add(message)
            if n < FOLLOW_UPS:
                session.add(
                    StageChange(
                        **ids,
                        contact_id=contact.id,
                        from_stage=Stage.REQUESTED,
                        to_stage=Stage.REQUESTED,
                        note="follow_up",
                        at=when + timedelta(days=9),
                    )
                )
            if n < CONVERSATIONS:
                held = when + timedelta(days=4)
                contact.stage = Stage.THANKED
                session.add_all(
                    [
                        StageChange(
                            **ids,
                            contact_id=contact.id,
                            from_stage=Stage.REQUESTED,
                            to_stage=Stage.REPLIED,
                            at=when + timedelta(days=2),
                        ),
                        StageChange(
                            **ids,
                            contact_id=contact.id,
                            from_stage=Stage.SCHEDULED,
                            to_stage=Stage.TALKED,
                            at=held,
                        ),
                        StageChange(
                            **ids,
                            contact_id=contact.id,
                            from_stage=Stage.TALKED,
                            to_stage=Stage.THANKED,
                            at=held + timedelta(hours=20),
                        ),
                    ]
                )
                conversation = Conversation(
                    **ids,
                    contact_id=contact.id,
                    theme_id=themes[n % 3].id,
                    starts_at=held,
                    held_at=held,
                    status=ConversationStatus.HELD,
                    uid=f"{uuid.uuid4()}@bench",
                )
                session.add(conversation)
                session.flush()
                session.add(
                    Reflection(
                        **ids,
                        conversation_id=conversation.id,
                        energy=rng.randint(-2, 2),
                        fit=rng.randint(1, 5),
                        insights=f"What week {week} taught",
                        shared_at=held if n % 2 == 0 else None,
                    )
                )
        if week % 8 == 7:
            session.add(
                ThemeDecision(
                    **ids,
                    theme_id=themes[week % 3].id,
                    decision=ThemeStatus.EXPLORING,
                    note="Still curious",
                    at=start,
                )
            )
    session.commit()
    return coach, client


@contextmanager
def count_statements(engine):
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    # On the Engine class: the app under test opened its own engine on the same database.
    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def measure(browser, engine, url: str, repeat: int) -> tuple[float, int, int]:
    """Median milliseconds, statements per request, and response size for ``url``."""
    response = browser.get(url)  # warm up: templates compiled, plugin states read
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = browser.get(url)
        times.append(time.perf_counter() - started)
    with count_statements(engine) as statements:
        browser.get(url)
    return statistics.median(times) * 1000, len(statements), len(response.data)


def run(url: str, months: int, repeat: int) -> dict[str, tuple[float, int, int]]:
    engine = fresh_database(url)
    session = make_sessionmaker(engine)()
    coach, client = populate(session, months)
    rows = session.query(StageChange).count() + session.query(Conversation).count()
    settings = Settings(
        instance_path=Path(tempfile.mkdtemp()), database_url=url, secret_key="bench", testing=True
    )
    app = create_app(settings, plugins=PluginManager())
    app.config.update(WTF_CSRF_ENABLED=False, SERVER_NAME="localhost", PREFERRED_URL_SCHEME="https")
    app.test_client_class = Browser
    browser = app.test_client()
    browser.environ_base.update(
        {"HTTP_USER_AGENT": USER_AGENT, "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "https"}
    )
    browser.sign_in(coach)
    year = utcnow().date()
    period = f"period=custom&start={(year - timedelta(days=364)).isoformat()}&end={year.isoformat()}"
    base = f"/plugins/progress_report/clients/{client.id}/report"
    results = {
        "client report, HTML page (a year)": measure(browser, engine, f"{base}?{period}", repeat),
        "client report, PDF (a year)": measure(
            browser, engine, f"{base}/download?format=pdf&{period}", repeat
        ),
        "client report, CSV (a year)": measure(
            browser, engine, f"{base}/download?format=csv&{period}", repeat
        ),
        "client report, HTML page (this month)": measure(
            browser, engine, f"{base}?period=this_month", repeat
        ),
        "caseload report, HTML page (a year)": measure(
            browser, engine, f"/plugins/progress_report/caseload?{period}", repeat
        ),
    }
    print(f"\n{months} month(s) of activity: {rows} stage changes and conversations")
    for name, (ms, statements, size) in results.items():
        print(f"  {name:40s} {ms:8.1f} ms  {statements:3d} SQL statements  {size / 1024:7.1f} KiB")
    session.close()
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    def url() -> str:  # PostgreSQL is emptied before each run; SQLite gets a new file
        return args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"

    print(f"database: {make_engine(url()).dialect.name}; median of {args.repeat} requests each")
    one = run(url(), 1, args.repeat)
    twelve = run(url(), 12, args.repeat)
    same = all(one[name][1] == twelve[name][1] for name in one)
    print(f"\nSQL statements the same at 1 and 12 months: {'yes' if same else 'NO'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
