"""Generate a realistic, deterministic data set: one practice, 40 coaches, 500 clients, 100,000 contacts.

Also 25,000 conversations (with prep questions and reflections), 60,000 outreach
messages (every email one with its outbox row), themes, stage changes, goals and
decisions, spread over the last twelve months. Rows go in with SQLAlchemy Core
bulk inserts in batches; ids are assigned here (after whatever the tables already
hold), so the run is the same every time for a given --seed.

python bench/generate_data.py                         # a SQLite file in a temporary folder
python bench/generate_data.py --database-url postgresql+psycopg://postgres@127.0.0.1/crossroads_bench

Every account's password is printed at the end, with a few logins.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_PASSWORD  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.engine import Connection, Engine  # noqa: E402

from crossroads.core import migrate  # noqa: E402
from crossroads.core.db import make_engine  # noqa: E402
from crossroads.core.models import (  # noqa: E402
    CareerTheme,
    Category,
    Client,
    ClientStatus,
    Contact,
    ContactSource,
    Conversation,
    ConversationStatus,
    Goal,
    GoalMetric,
    GoalPeriod,
    Medium,
    MessageKind,
    MessageStatus,
    OutboxEmail,
    OutreachMessage,
    Practice,
    PrepQuestion,
    Reflection,
    Role,
    Stage,
    StageChange,
    ThemeDecision,
    ThemeStatus,
    User,
    contact_theme,
)
from crossroads.core.outreach import due_dates  # noqa: E402
from crossroads.core.security import hash_password  # noqa: E402
from crossroads.core.services.contacts import search_columns  # noqa: E402

BATCH = 5000
DOMAIN = "harbourline.example"
PRACTICE_NAME = "Harbourline Career Partners"

FIRST = [
    "Priya",
    "Daniel",
    "Sofia",
    "Hannah",
    "Kenji",
    "Aisha",
    "Liam",
    "Elena",
    "Maya",
    "Tom",
    "Noah",
    "Olivia",
    "Mateo",
    "Chloe",
    "Arjun",
    "Zoë",
    "Lucas",
    "Amara",
    "Felix",
    "Ines",
    "Jonas",
    "Leila",
    "Omar",
    "Grace",
    "Tariq",
    "Yuki",
    "Rosa",
    "Ben",
    "Nadia",
    "Samuel",
    "Ivy",
    "Marco",
    "Freya",
    "Diego",
    "Anika",
    "Hugo",
    "Lena",
    "Ravi",
    "Clara",
    "Emeka",
    "Sara",
    "Pablo",
    "Mei",
    "Oscar",
    "Nora",
    "Idris",
    "Julia",
    "Kofi",
    "Lucia",
    "Theo",
    "Ayesha",
    "Erik",
    "Chidi",
    "Hana",
    "Luca",
    "Fatima",
    "Ruth",
    "Dmitri",
    "Alba",
    "Kwame",
    "Iris",
]
LAST = [
    "Raman",
    "Osei",
    "Marquez",
    "Becker",
    "Watanabe",
    "Bello",
    "O'Connor",
    "Petrova",
    "Okonkwo",
    "Lindqvist",
    "Schmidt",
    "Rossi",
    "Novak",
    "Haddad",
    "Kowalski",
    "Müller",
    "Tanaka",
    "Nguyen",
    "Silva",
    "Dubois",
    "Andersen",
    "Mensah",
    "Ibrahim",
    "Costa",
    "Fischer",
    "Okafor",
    "Garcia",
    "Chen",
    "Kim",
    "Patel",
    "Singh",
    "Moreau",
    "Hansen",
    "Jensen",
    "Santos",
    "Lopez",
    "Cohen",
    "Ahmed",
    "Yilmaz",
    "Eriksson",
    "Novotná",
    "Bianchi",
    "Ferreira",
    "Nakamura",
    "Adeyemi",
    "Walsh",
    "Byrne",
    "Kaur",
    "Lindgren",
    "Sato",
    "Dimitrov",
    "Horvat",
    "Mwangi",
    "Abbott",
    "Whitfield",
]
ORGANISATIONS = [
    "Penguin Random House",
    "The Atlantic Review",
    "Northwind Analytics",
    "Greenleaf Consulting",
    "City of Bristol",
    "Stripe",
    "GitLab",
    "Mozilla Foundation",
    "Oxfam",
    "Arup",
    "Deloitte",
    "BBC News",
    "The Guardian",
    "Monzo",
    "Spotify",
    "Shopify",
    "Save the Children",
    "Wellcome Trust",
    "Ordnance Survey",
    "Transport for London",
    "NHS Digital",
    "Ada Health",
    "Canva",
    "Atlassian",
    "Siemens",
    "Unilever",
    "IKEA",
    "Patagonia",
    "Lonely Planet",
    "Duolingo",
    "Khan Academy",
    "Coursera",
    "Octopus Energy",
    "Ørsted",
    "ClientEarth",
    "Mind",
    "Crisis",
    "National Trust",
    "Tate",
    "Design Council",
    "Thoughtworks",
    "Red Hat",
    "Canonical",
    "Ocado Technology",
    "Wise",
    "Deliveroo",
    "Bloomberg",
    "Reuters",
    "Nesta",
    "IDEO",
]
POSITIONS = [
    "Features Editor",
    "Senior Editor",
    "Technical Writer",
    "Documentation Lead",
    "UX Researcher",
    "Product Manager",
    "Data Journalist",
    "Policy Analyst",
    "Sustainability Consultant",
    "Urban Planner",
    "Learning Designer",
    "People Partner",
    "Employee Engagement Lead",
    "Systems Analyst",
    "Data Scientist",
    "Engineering Manager",
    "Content Designer",
    "Head of Communications",
    "Programme Manager",
    "Research Fellow",
    "Account Director",
    "Customer Success Manager",
    "Founder",
    "Operations Lead",
    "Head of Talent",
    "Grant Manager",
    "Curator",
]
THEMES = [
    ("Magazine editing", "Shaping long-form features; the craft of editing."),
    ("Technical writing", "Explaining complex systems clearly, ideally in developer tools."),
    ("UX research", "Interviewing users and turning what they say into decisions."),
    ("Product management", "Deciding what to build and why."),
    ("Data journalism", "Stories from public data sets."),
    ("Public policy research", "Evidence for local government decisions."),
    ("Sustainability consulting", "Helping firms measure and cut emissions."),
    ("Urban planning", "Streets that work for people on foot."),
    ("Learning and development", "Designing programmes people actually want to attend."),
    ("Employee engagement", "Helping teams feel their work matters."),
    ("Systems analysis", "Untangling how a business really runs."),
    ("Nonprofit fundraising", "Raising money for causes I care about."),
    ("Museum curation", "Telling stories with collections."),
    ("Teaching adults", "Evening classes and workplace training."),
]
TAGS = ["former colleague", "alumni", "warm", "conference", "friend of a friend", "coach network", "remote"]
TIMEZONES = [
    "Europe/London",
    "Europe/Berlin",
    "Europe/Dublin",
    "America/New_York",
    "America/Toronto",
    "Asia/Tokyo",
    "Africa/Lagos",
    "Australia/Sydney",
]
QUESTIONS = [
    ("How did you come to this work, and what would you do differently?", Category.BACKGROUND),
    ("What does a normal week look like for you?", Category.DAY_TO_DAY),
    ("Which skills matter most that nobody mentions in job adverts?", Category.SKILLS),
    ("What is changing in your field over the next few years?", Category.FUTURE),
    ("What drains you about the job, and what gives you energy?", Category.WORK_LIFE),
    ("If you were starting again, how would you get in?", Category.CAREER_ADVICE),
    ("Which events or groups are worth joining?", Category.NETWORKING),
    ("Who else should I talk to?", Category.CLOSING),
]
INSIGHTS = [
    "Most of the job is shaping other people's work, which I'd love.",
    "The pace is slower than I expected, and I liked that.",
    "It is far more about people than tools.",
    "Deadlines drive everything; I am not sure I want that.",
    "The craft is real, and the pay is lower than I hoped.",
]


@dataclass
class Counters:
    """The next id per table, starting after whatever is already there."""

    ids: dict[str, int]

    def take(self, table: str, n: int = 1) -> int:
        first = self.ids[table] + 1
        self.ids[table] += n
        return first


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def distribute(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` that add up exactly."""
    scale = total / sum(weights)
    shares = [w * scale for w in weights]
    counts = [int(s) for s in shares]
    remainders = sorted(range(len(weights)), key=lambda i: shares[i] - counts[i], reverse=True)
    for i in remainders[: total - sum(counts)]:
        counts[i] += 1
    return counts


def bulk(connection: Connection, table, rows: Iterable[dict], counts: dict[str, int]) -> None:
    batch: list[dict] = []
    name = table.name
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            connection.execute(insert(table), batch)
            counts[name] = counts.get(name, 0) + len(batch)
            batch = []
    if batch:
        connection.execute(insert(table), batch)
        counts[name] = counts.get(name, 0) + len(batch)


def generate(
    engine: Engine,
    *,
    coaches: int = 40,
    clients: int = 500,
    contacts: int = 100_000,
    conversations: int = 25_000,
    messages: int = 60_000,
    seed: int = 8,
    now: datetime | None = None,
) -> dict[str, int]:
    """Write the data set in one transaction; return the number of rows per table."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC).replace(microsecond=0)
    year_ago = now - timedelta(days=365)
    password_hash = hash_password(BENCH_PASSWORD)  # once: Argon2 is slow on purpose
    counts: dict[str, int] = {}

    tables = {
        m.__table__.name: m.__table__
        for m in (
            Practice,
            User,
            Client,
            CareerTheme,
            Contact,
            StageChange,
            Conversation,
            PrepQuestion,
            Reflection,
            OutboxEmail,
            OutreachMessage,
            Goal,
            ThemeDecision,
        )
    }
    with engine.begin() as connection:
        ids = Counters(
            {
                name: connection.scalar(select(func.coalesce(func.max(t.c.id), 0)))
                for name, t in tables.items()
            }
        )
        run = ids.ids["practice"] + 1  # keeps emails unique when the script runs twice on one database
        domain = DOMAIN if run == 1 else f"run{run}.{DOMAIN}"

        practice_id = ids.take("practice")
        connection.execute(
            insert(Practice.__table__),
            [
                {
                    "id": practice_id,
                    "name": PRACTICE_NAME if run == 1 else f"{PRACTICE_NAME} ({run})",
                    "timezone": "Europe/London",
                    "created_at": year_ago - timedelta(days=30),
                    "second_person_after_days": 3,
                    "follow_up_after_days": 7,
                }
            ],
        )
        counts["practice"] = 1

        # -- people ------------------------------------------------------------------------
        users, coach_ids = [], []
        owner_id = ids.take("user_account")
        users.append(
            {
                "id": owner_id,
                "practice_id": practice_id,
                "email": f"owner@{domain}",
                "name": "Morgan Ellery",
                "role": Role.OWNER,
                "timezone": "Europe/London",
                "password_hash": password_hash,
                "session_version": 1,
                "is_active": True,
                "created_at": year_ago - timedelta(days=30),
            }
        )
        for n in range(1, coaches + 1):
            uid = ids.take("user_account")
            coach_ids.append(uid)
            first, last = FIRST[n % len(FIRST)], LAST[(n * 7) % len(LAST)]
            users.append(
                {
                    "id": uid,
                    "practice_id": practice_id,
                    "email": f"coach{n:02d}@{domain}",
                    "name": f"{first} {last}",
                    "role": Role.COACH,
                    "timezone": rng.choice(TIMEZONES[:5]),
                    "password_hash": password_hash,
                    "session_version": 1,
                    "is_active": True,
                    "created_at": year_ago - timedelta(days=rng.randint(0, 29)),
                }
            )
        client_rows = []
        client_users = []
        statuses = [
            (ClientStatus.ONBOARDING, 0.12),
            (ClientStatus.EXPLORING, 0.5),
            (ClientStatus.DECIDING, 0.15),
            (ClientStatus.DECIDED, 0.13),
            (ClientStatus.PAUSED, 0.10),
        ]
        for n in range(1, clients + 1):
            uid = ids.take("user_account")
            cid = ids.take("client")
            first, last = rng.choice(FIRST), rng.choice(LAST)
            created = year_ago + timedelta(seconds=rng.randint(0, int(330 * 86400)))
            status = rng.choices([s for s, _ in statuses], [w for _, w in statuses])[0]
            client_users.append(
                {
                    "id": uid,
                    "practice_id": practice_id,
                    "email": f"client{n:03d}@{domain}",
                    "name": f"{first} {last}",
                    "role": Role.CLIENT,
                    "timezone": rng.choice(TIMEZONES),
                    "password_hash": password_hash,
                    "session_version": 1,
                    "is_active": True,
                    "created_at": created,
                }
            )
            client_rows.append(
                {
                    "id": cid,
                    "practice_id": practice_id,
                    "user_id": uid,
                    "coach_id": coach_ids[(n - 1) % coaches] if rng.random() < 0.8 else rng.choice(coach_ids),
                    "status": status,
                    "created_at": created,
                    "last_activity_at": None,
                }
            )
        bulk(connection, User.__table__, users + client_users, counts)
        bulk(connection, Client.__table__, client_rows, counts)

        # -- per-client amounts: busy clients have more of everything ----------------------------
        activity = [
            rng.lognormvariate(0, 0.5) * (0.3 if c["status"] == ClientStatus.ONBOARDING else 1)
            for c in client_rows
        ]
        contact_counts = distribute(contacts, activity)
        conversation_counts = [
            min(c, n // 2) for c, n in zip(distribute(conversations, activity), contact_counts, strict=True)
        ]
        conversation_counts = _top_up(conversation_counts, conversations, [n // 2 for n in contact_counts])
        message_targets = distribute(messages, activity)

        themes, decisions, goals = [], [], []
        client_themes: dict[int, list[dict]] = {}
        for c in client_rows:
            picked = rng.sample(
                THEMES, rng.randint(1, 3) if c["status"] != ClientStatus.ONBOARDING else rng.randint(0, 1)
            )
            rows = []
            for position, (title, description) in enumerate(picked, start=1):
                status = ThemeStatus.EXPLORING
                if c["status"] == ClientStatus.DECIDED:
                    status = ThemeStatus.CHOSEN if position == 1 else ThemeStatus.DROPPED
                elif c["status"] == ClientStatus.PAUSED:
                    status = ThemeStatus.PARKED
                created = c["created_at"] + timedelta(days=rng.randint(1, 14))
                row = {
                    "id": ids.take("career_theme"),
                    "practice_id": practice_id,
                    "client_id": c["id"],
                    "title": title,
                    "description": description,
                    "target_conversations": rng.choice([3, 4, 5, 5, 6]),
                    "status": status,
                    "position": position,
                    "created_at": created,
                    "updated_at": created,
                }
                rows.append(row)
                if status != ThemeStatus.EXPLORING:
                    decisions.append(
                        {
                            "id": ids.take("theme_decision"),
                            "practice_id": practice_id,
                            "client_id": c["id"],
                            "theme_id": row["id"],
                            "decision": status,
                            "note": "Decided in review with the coach.",
                            "at": min(now, created + timedelta(days=rng.randint(30, 120))),
                            "by_user_id": c["coach_id"],
                        }
                    )
            client_themes[c["id"]] = rows
            themes.extend(rows)
            if rows:
                for period, metric, target in (
                    (GoalPeriod.WEEK, GoalMetric.REQUESTS, rng.randint(2, 5)),
                    (GoalPeriod.QUARTER, GoalMetric.CONVERSATIONS, rng.randint(4, 10)),
                ):
                    goals.append(
                        {
                            "id": ids.take("goal"),
                            "practice_id": practice_id,
                            "client_id": c["id"],
                            "period": period,
                            "metric": metric,
                            "target": target,
                            "set_by_id": c["coach_id"],
                            "updated_at": c["created_at"] + timedelta(days=3),
                        }
                    )
        bulk(connection, CareerTheme.__table__, themes, counts)
        bulk(connection, ThemeDecision.__table__, decisions, counts)
        bulk(connection, Goal.__table__, goals, counts)

        # -- contacts, stage changes, conversations, messages, client by client -------------------
        contact_rows: list[dict] = []
        links: list[dict] = []
        changes: list[dict] = []
        conversation_rows: list[dict] = []
        prep_rows: list[dict] = []
        reflection_rows: list[dict] = []
        message_rows: list[dict] = []
        outbox_rows: list[dict] = []
        last_activity: dict[int, datetime] = {}

        def flush(final: bool = False) -> None:
            # Parents before children; only once enough has piled up, to keep batches large.
            if not final and len(contact_rows) < 20_000:
                return
            bulk(connection, Contact.__table__, contact_rows, counts)
            bulk(connection, contact_theme, links, counts)
            bulk(connection, StageChange.__table__, changes, counts)
            bulk(connection, Conversation.__table__, conversation_rows, counts)
            bulk(connection, PrepQuestion.__table__, prep_rows, counts)
            bulk(connection, Reflection.__table__, reflection_rows, counts)
            bulk(connection, OutboxEmail.__table__, outbox_rows, counts)
            bulk(connection, OutreachMessage.__table__, message_rows, counts)
            for rows in (contact_rows, links, changes, conversation_rows, prep_rows, reflection_rows):
                rows.clear()
            outbox_rows.clear()
            message_rows.clear()

        for index, c in enumerate(client_rows):
            user = client_users[index]
            sender = f"{user['name']} via {PRACTICE_NAME}"
            n_contacts, n_conv = contact_counts[index], conversation_counts[index]
            active = [
                t
                for t in client_themes[c["id"]]
                if t["status"] in (ThemeStatus.EXPLORING, ThemeStatus.CHOSEN)
            ]
            all_themes = client_themes[c["id"]]
            start = c["created_at"] + timedelta(days=2)
            span = max(1.0, (now - start).total_seconds() - 86400 * 3)
            mine: list[dict] = []
            # Stages: the first n_conv contacts were talked to (or are about to be); of the rest,
            # about 40 % were asked, 15 % researched, the others only identified.
            rest = n_contacts - n_conv
            asked = int(rest * 0.4)
            researched = int(rest * 0.15)
            for k in range(n_contacts):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                name = f"{first} {last}"
                organisation, position = rng.choice(ORGANISATIONS), rng.choice(POSITIONS)
                email = (
                    f"{first}.{last}{k}@example.org".lower().replace("'", "") if rng.random() < 0.7 else ""
                )
                tags = rng.sample(TAGS, rng.choice([0, 0, 1, 1, 2]))
                created = start + timedelta(seconds=rng.random() * span * 0.6)
                source = rng.choices(list(ContactSource), [50, 20, 8, 12, 5, 5, 2])[0]
                if k < n_conv:
                    stage = rng.choices(
                        [Stage.THANKED, Stage.TALKED, Stage.SCHEDULED, Stage.DECLINED], [60, 20, 12, 8]
                    )[0]
                elif k < n_conv + asked:
                    stage = rng.choices(
                        [Stage.REQUESTED, Stage.REPLIED, Stage.DECLINED, Stage.NO_RESPONSE], [40, 15, 15, 30]
                    )[0]
                elif k < n_conv + asked + researched:
                    stage = Stage.RESEARCHED
                else:
                    stage = Stage.IDENTIFIED
                changed = min(now - timedelta(hours=1), created + timedelta(days=rng.uniform(1, 60)))
                if stage == Stage.SCHEDULED:
                    changed = max(created + timedelta(hours=1), now - timedelta(days=rng.uniform(0.5, 6)))
                row = {
                    "id": ids.take("contact"),
                    "practice_id": practice_id,
                    "client_id": c["id"],
                    "name": name,
                    "email": email,
                    "linkedin_url": (
                        f"https://www.linkedin.com/in/{first}-{last}-{c['id']}-{k}".lower().replace("'", "")
                        if source == ContactSource.LINKEDIN or rng.random() < 0.3
                        else None
                    ),
                    "organisation": organisation,
                    "position": position,
                    "source": source,
                    "referred_by_id": None,
                    "suggested_by_id": c["coach_id"] if source == ContactSource.COACH else None,
                    "suggestion": None,
                    "research_notes": (
                        f"Moved to {organisation} two years ago; wrote about {position.lower()} work."
                        if stage != Stage.IDENTIFIED
                        else ""
                    ),
                    "tags": tags,
                    "connected_on": (created - timedelta(days=rng.randint(30, 3000))).date()
                    if source == ContactSource.LINKEDIN
                    else None,
                    "stage": stage,
                    "stage_changed_at": changed if stage != Stage.IDENTIFIED else created,
                    "follow_ups_sent": 1 if stage == Stage.NO_RESPONSE else 0,
                    "last_follow_up_at": changed - timedelta(days=3) if stage == Stage.NO_RESPONSE else None,
                    "created_at": created,
                    "updated_at": changed,
                    **search_columns(name, organisation, position, email, tags),
                }
                if source == ContactSource.REFERRAL and mine:
                    row["referred_by_id"] = rng.choice(mine[: max(1, n_conv)])["id"]
                mine.append(row)
                contact_rows.append(row)
                if active and (stage != Stage.IDENTIFIED or rng.random() < 0.2):
                    links.append({"contact_id": row["id"], "theme_id": rng.choice(active)["id"]})
                if stage != Stage.IDENTIFIED:
                    changes.append(
                        {
                            "id": ids.take("stage_change"),
                            "practice_id": practice_id,
                            "client_id": c["id"],
                            "contact_id": row["id"],
                            "from_stage": Stage.IDENTIFIED,
                            "to_stage": stage,
                            "note": "",
                            "at": row["stage_changed_at"],
                            "by_user_id": user["id"],
                        }
                    )
                last_activity[c["id"]] = max(last_activity.get(c["id"], created), row["stage_changed_at"])

            # Conversations with the first n_conv contacts.
            for k in range(n_conv):
                contact = mine[k]
                stage = contact["stage"]
                if stage == Stage.SCHEDULED:
                    starts, status = now + timedelta(days=rng.uniform(0.5, 14)), ConversationStatus.SCHEDULED
                elif stage == Stage.DECLINED:
                    starts, status = (
                        contact["stage_changed_at"] - timedelta(days=1),
                        ConversationStatus.CANCELLED,
                    )
                else:
                    starts, status = (
                        contact["stage_changed_at"] - timedelta(hours=rng.randint(2, 30)),
                        ConversationStatus.HELD,
                    )
                starts = starts.replace(minute=rng.choice([0, 30]), second=0)
                conv_id = ids.take("conversation")
                theme = rng.choice(all_themes) if all_themes else None
                conversation_rows.append(
                    {
                        "id": conv_id,
                        "practice_id": practice_id,
                        "client_id": c["id"],
                        "contact_id": contact["id"],
                        "theme_id": theme["id"] if theme else None,
                        "starts_at": starts,
                        "minutes": rng.choice([15, 20, 20, 20, 30]),
                        "medium": rng.choice(list(Medium)),
                        "location": "https://meet.example/" + uuid.UUID(int=rng.getrandbits(128)).hex[:10],
                        "status": status,
                        "uid": f"bench-{conv_id}-{uuid.UUID(int=rng.getrandbits(128))}@crossroads",
                        "sequence": 0,
                        "goals": "Understand what a normal week looks like, and how they got in.",
                        "pitch": "I'm moving from operations into this field; I want to hear it from inside.",
                        "likely_questions": [
                            {"question": "Why this field?", "answer": "It fits what I enjoy."}
                        ],
                        "held_at": starts + timedelta(minutes=20)
                        if status == ConversationStatus.HELD
                        else None,
                        "created_at": starts - timedelta(days=rng.randint(2, 10)),
                        "updated_at": starts,
                    }
                )
                for position, (question, category) in enumerate(rng.sample(QUESTIONS, 3)):
                    prep_rows.append(
                        {
                            "id": ids.take("prep_question"),
                            "practice_id": practice_id,
                            "client_id": c["id"],
                            "conversation_id": conv_id,
                            "text": question,
                            "category": category,
                            "position": position,
                            "notes": "Deadlines drive the week; ask about the quieter months."
                            if status == ConversationStatus.HELD
                            else "",
                            "notes_saved_at": starts + timedelta(minutes=25)
                            if status == ConversationStatus.HELD
                            else None,
                        }
                    )
                if status == ConversationStatus.HELD and rng.random() < 0.8:
                    written = starts + timedelta(hours=rng.randint(1, 20))
                    reflection_rows.append(
                        {
                            "id": ids.take("reflection"),
                            "practice_id": practice_id,
                            "client_id": c["id"],
                            "conversation_id": conv_id,
                            "energy": rng.randint(-2, 2),
                            "fit": rng.randint(1, 5),
                            "body": "Relaxed, then tired by the end.",
                            "thoughts": "I kept picturing my own week in that team.",
                            "feelings": rng.choice(["Energised", "Curious", "Flat", "Uneasy"]),
                            "surprises": "How much of the work is talking to people.",
                            "less_shiny": "Long review cycles and unpaid overtime before launches.",
                            "insights": rng.choice(INSIGHTS),
                            "open_questions": "How do people move up?",
                            "next_steps": "Ask for an introduction to their colleague.",
                            "shared_at": written + timedelta(hours=1) if rng.random() < 0.55 else None,
                            "created_at": written,
                            "updated_at": written,
                        }
                    )

            # Messages: a first request to every contact asked (email or LinkedIn), thank-yous,
            # follow-ups; LinkedIn notes handed off for researched ones; as many as the target.
            candidates: list[tuple[dict, MessageKind]] = []
            for contact in mine[: n_conv + asked]:
                candidates.append((contact, MessageKind.FIRST_REQUEST))
            for contact in mine[: n_conv + asked]:
                if contact["stage"] == Stage.THANKED:
                    candidates.append((contact, MessageKind.THANK_YOU))
            for contact in mine[n_conv : n_conv + asked]:
                if contact["stage"] in (Stage.NO_RESPONSE, Stage.REQUESTED, Stage.DECLINED):
                    candidates.append((contact, MessageKind.FOLLOW_UP))
            for contact in mine[n_conv + asked : n_conv + asked + researched]:
                candidates.append((contact, MessageKind.FIRST_REQUEST))
            for contact in mine[: n_conv + asked]:
                candidates.append((contact, MessageKind.FOLLOW_UP))
            wanted = message_targets[index]
            if index + 1 < len(client_rows):
                # Whatever this client could not take goes to the next one.
                message_targets[index + 1] += max(0, wanted - len(candidates))
            firsts: dict[int, tuple[int, int | None, str]] = {}
            for contact, kind in candidates[:wanted]:
                message_id, outbox_id, mid = _message(
                    rng,
                    ids,
                    practice_id,
                    c,
                    user,
                    sender,
                    contact,
                    kind,
                    firsts.get(contact["id"]),
                    now,
                    message_rows,
                    outbox_rows,
                )
                if kind == MessageKind.FIRST_REQUEST:
                    firsts[contact["id"]] = (message_id, outbox_id, mid)
            flush()
        flush(final=True)

        # The caseload sorts by last activity.
        for c in client_rows:
            if c["id"] in last_activity:
                connection.execute(
                    Client.__table__.update()
                    .where(Client.__table__.c.id == c["id"])
                    .values(last_activity_at=min(now, last_activity[c["id"]]))
                )
        if connection.dialect.name == "postgresql":
            for name in tables:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {name}))"
                    )
                )
    with engine.begin() as connection:  # the contacts' due dates, as the application keeps them
        for (practice_id,) in connection.execute(select(Practice.id)).all():
            due_dates.refresh(connection, practice_id=practice_id)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    return counts


def _top_up(counts: list[int], total: int, caps: list[int]) -> list[int]:
    """Add what the caps cut off back where there is room, so that the total is exact."""
    missing = total - sum(counts)
    i = 0
    while missing > 0 and i < 10 * len(counts):
        j = i % len(counts)
        if counts[j] < caps[j]:
            counts[j] += 1
            missing -= 1
        i += 1
    return counts


def _message(rng, ids, practice_id, c, user, sender, contact, kind, first, now, message_rows, outbox_rows):
    """One outreach message (and its outbox row when it is an email); returns (id, outbox id, Message-ID)."""
    by_email = bool(contact["email"]) and not (
        kind == MessageKind.FIRST_REQUEST and contact["stage"] == Stage.RESEARCHED
    )
    first_name = contact["name"].split()[0]
    if kind == MessageKind.THANK_YOU:
        sent_at = contact["stage_changed_at"]
        subject, body = (
            "Thank you",
            f"Dear {first_name},\n\nThank you for your time and your candour.\n\nWith thanks",
        )
    elif kind == MessageKind.FOLLOW_UP:
        sent_at = contact["stage_changed_at"] - timedelta(days=rng.uniform(0.5, 3))
        subject = "Re: A question about your work"
        body = (
            f"Dear {first_name},\n\nFollowing up on my note last week: 20 minutes would help a lot.\n\nBest"
        )
    else:
        sent_at = contact["stage_changed_at"] - timedelta(days=rng.uniform(5, 10))
        subject = "A question about your work"
        body = (
            f"Dear {first_name},\n\nI'm exploring a move into your field and would value your view. "
            "Would you have 20 minutes in the next couple of weeks? I'm not looking for a job.\n\nWith thanks"
        )
    sent_at = max(contact["created_at"] + timedelta(hours=1), min(now - timedelta(minutes=5), sent_at))
    message_id = ids.take("outreach_message")
    outbox_id = None
    mid = ""
    if contact["stage"] == Stage.RESEARCHED:
        status, channel, fmt, subject, sent = MessageStatus.HANDED_OFF, "linkedin", "note", "", None
        body = f"Hi {first_name}, I'm exploring your field. Could I ask you about your work for 20 minutes?"
    elif by_email:
        channel, fmt, sent = "email", "", sent_at
        status = (
            MessageStatus.SENT
            if rng.random() < 0.98
            else rng.choice([MessageStatus.FAILED, MessageStatus.UNKNOWN])
        )
        outbox_id = ids.take("outbox_email")
        mid = f"<{uuid.UUID(int=rng.getrandbits(128))}.{outbox_id}@{DOMAIN}>"
        parent_mid = first[2] if first else ""
        outbox_rows.append(
            {
                "id": outbox_id,
                "practice_id": practice_id,
                "client_id": c["id"],
                "status": status,
                "sender_name": sender,
                "reply_to": user["email"],
                "to_address": contact["email"],
                "to_name": contact["name"],
                "subject": subject,
                "body": body,
                "ics": None,
                "ics_method": None,
                "message_id": mid,
                "in_reply_to": parent_mid,
                "references": parent_mid,
                "attempts": 1,
                "next_attempt_at": sent_at,
                "claimed_at": sent_at,
                "sent_at": sent_at if status == MessageStatus.SENT else None,
                "last_error": "" if status == MessageStatus.SENT else "550 5.1.1 Mailbox unavailable",
                "created_at": sent_at,
            }
        )
    else:
        channel, fmt, sent, status = "linkedin", "message", sent_at, MessageStatus.SENT
    replied = kind == MessageKind.FIRST_REQUEST and contact["stage"] in (
        Stage.REPLIED,
        Stage.SCHEDULED,
        Stage.TALKED,
        Stage.THANKED,
    )
    message_rows.append(
        {
            "id": message_id,
            "practice_id": practice_id,
            "client_id": c["id"],
            "contact_id": contact["id"],
            "conversation_id": None,
            "channel": channel,
            "kind": kind,
            "format": fmt,
            "subject": subject,
            "body": body,
            "to_name": contact["name"],
            "to_address": contact["email"] if channel == "email" else "",
            "status": status,
            "warnings": [],
            "in_reply_to_id": first[0] if first and kind != MessageKind.FIRST_REQUEST else None,
            "outbox_id": outbox_id,
            "error": ""
            if status in (MessageStatus.SENT, MessageStatus.HANDED_OFF)
            else "550 5.1.1 Mailbox unavailable",
            "created_by_id": user["id"],
            "created_at": sent or contact["stage_changed_at"],
            "sent_at": sent if status == MessageStatus.SENT else None,
            "replied_at": sent_at + timedelta(days=1) if replied else None,
        }
    )
    return message_id, outbox_id, mid


def sample_logins(engine: Engine, limit: int = 3) -> list[tuple[str, str]]:
    """(role, email) of a few generated coaches and clients."""
    with engine.connect() as connection:
        rows = []
        for role in (Role.OWNER, Role.COACH, Role.CLIENT):
            rows += [
                (role.value, email)
                for (email,) in connection.execute(
                    select(User.email)
                    .where(User.role == role, User.email.like(f"%{DOMAIN}"))
                    .order_by(User.id)
                    .limit(1 if role == Role.OWNER else limit)
                )
            ]
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", help="SQLAlchemy URL (default: a new SQLite file in a temporary folder)"
    )
    parser.add_argument("--coaches", type=int, default=40)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--conversations", type=int, default=25_000)
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()

    url = args.database_url
    if not url:
        folder = Path(tempfile.mkdtemp(prefix="crossroads-bench-data-"))
        url = f"sqlite:///{folder / 'crossroads.sqlite3'}"
    engine = make_engine(url)
    print(f"Database: {engine.url.render_as_string(hide_password=True)}")
    started = time.perf_counter()
    migrate.upgrade(engine)
    migrated = time.perf_counter() - started
    counts = generate(
        engine,
        coaches=args.coaches,
        clients=args.clients,
        contacts=args.contacts,
        conversations=args.conversations,
        messages=args.messages,
        seed=args.seed,
    )
    seconds = time.perf_counter() - started
    print(f"Migrations: {migrated:.1f} s; data: {seconds - migrated:.1f} s; total {seconds:.1f} s")
    width = max(len(k) for k in counts)
    for name, count in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<{width}}  {count:>8,}")
    print(f"  {'(all rows)':<{width}}  {sum(counts.values()):>8,}")
    print(f"Every account's password: {BENCH_PASSWORD}")
    for role, email in sample_logins(engine):
        print(f"  {role:<6} {email}")
    engine.dispose()


if __name__ == "__main__":
    main()
