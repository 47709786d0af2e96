"""A realistic demo practice: two coaches and eight clients at different steps of the method."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import utcnow
from .demo_mail import ANSWERING_DOMAIN
from .models import (
    CareerTheme,
    Category,
    Client,
    ClientStatus,
    Contact,
    Conversation,
    ConversationStatus,
    GoalMetric,
    GoalPeriod,
    Medium,
    Practice,
    Reach,
    Reflection,
    Role,
    Stage,
    StageChange,
    ThemeDecision,
    ThemeStatus,
    User,
)
from .plugins import PluginManager
from .scoping import Scope
from .security import hash_password
from .services.banks import add_question, copy_bank, create_bank, starter_bank
from .services.contacts import add_referral, create_contact
from .services.conversations import add_prep_question, schedule, to_utc
from .services.goals import set_goal
from .services.imports import import_linkedin
from .services.reflections import comment, set_shared

DEMO_PASSWORD = "crossroads-demo"
#: The client's contact who answers a first request by email (see :mod:`.demo_mail`).
ANSWERING_CONTACT = "Rosa Lindgren"
OWNER_EMAIL = "maya@northbridge.example"
COACH_EMAIL = "tom@northbridge.example"
CLIENT_EMAIL = "priya@northbridge.example"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    name: str
    email: str
    password: str = DEMO_PASSWORD


# name, email, coach (owner/coach), status, days since last activity (None: never),
# accepted invitation, timezone, themes: (title, description, target, status)
CLIENTS = [
    (
        "Priya Raman",
        CLIENT_EMAIL,
        "owner",
        ClientStatus.EXPLORING,
        1,
        True,
        "Europe/London",
        [
            (
                "Magazine editing",
                "Shaping long-form features; I miss the craft of editing from university.",
                5,
                ThemeStatus.EXPLORING,
            ),
            (
                "Technical writing",
                "Explaining complex systems clearly, ideally in developer tools.",
                5,
                ThemeStatus.EXPLORING,
            ),
        ],
    ),
    (
        "Daniel Osei",
        "daniel@northbridge.example",
        "owner",
        ClientStatus.ONBOARDING,
        3,
        True,
        "Africa/Accra",
        [],
    ),
    (
        "Sofia Marquez",
        "sofia@northbridge.example",
        "owner",
        ClientStatus.DECIDING,
        6,
        True,
        "America/Mexico_City",
        [
            ("Employee engagement", "Helping teams feel their work matters.", 5, ThemeStatus.EXPLORING),
            (
                "Learning and development",
                "Designing programmes people actually want to attend.",
                4,
                ThemeStatus.EXPLORING,
            ),
            ("Systems analysis", "", 3, ThemeStatus.PARKED),
        ],
    ),
    (
        "Hannah Becker",
        "hannah@northbridge.example",
        "owner",
        ClientStatus.DECIDED,
        12,
        True,
        "Europe/Berlin",
        [
            ("Technical writing", "Documentation for open-source infrastructure.", 6, ThemeStatus.CHOSEN),
            (
                "UX research",
                "Interviewing users; turned out to drain me more than I expected.",
                4,
                ThemeStatus.DROPPED,
            ),
        ],
    ),
    (
        "Kenji Watanabe",
        "kenji@northbridge.example",
        "coach",
        ClientStatus.PAUSED,
        30,
        True,
        "Asia/Tokyo",
        [
            ("Product management", "On hold while I finish a project at work.", 5, ThemeStatus.PARKED),
        ],
    ),
    (
        "Aisha Bello",
        "aisha@northbridge.example",
        "coach",
        ClientStatus.EXPLORING,
        2,
        True,
        "Europe/London",
        [
            ("Data journalism", "Stories from public data sets.", 5, ThemeStatus.EXPLORING),
            ("Public policy research", "Evidence for local government decisions.", 5, ThemeStatus.EXPLORING),
        ],
    ),
    (
        "Liam O'Connor",
        "liam@northbridge.example",
        "coach",
        ClientStatus.ONBOARDING,
        None,
        False,
        "Europe/Dublin",
        [],
    ),
    (
        "Elena Petrova",
        "elena@northbridge.example",
        "coach",
        ClientStatus.EXPLORING,
        16,
        True,
        "Europe/Sofia",
        [
            (
                "Sustainability consulting",
                "Helping firms measure and cut emissions.",
                6,
                ThemeStatus.EXPLORING,
            ),
            ("Urban planning", "Streets that work for people on foot.", 4, ThemeStatus.EXPLORING),
        ],
    ),
]


def demo_logins() -> list[DemoLogin]:
    return [
        DemoLogin("practice owner", "Maya Okonkwo", OWNER_EMAIL),
        DemoLogin("coach", "Tom Lindqvist", COACH_EMAIL),
        DemoLogin("client", "Priya Raman", CLIENT_EMAIL),
    ]


SAMPLE_EXPORT = Path(__file__).parent / "demo_data" / "linkedin-connections.csv"

# For clients with themes: how many contacts to move into each stage, and how many
# business days ago the move happened (so follow-ups and thank-yous come due).
PIPELINE = [
    (Stage.RESEARCHED, 3, 2),
    (Stage.REQUESTED, 2, 1),
    (Stage.REQUESTED, 1, 4),
    (Stage.REQUESTED, 1, 9),
    (Stage.REPLIED, 1, 2),
    (Stage.SCHEDULED, 1, 1),
    (Stage.TALKED, 1, 2),
    (Stage.THANKED, 2, 10),
    (Stage.DECLINED, 1, 12),
    (Stage.NO_RESPONSE, 1, 25),
]


def _back_date(now: datetime, business_days: int) -> datetime:
    moment = now
    while business_days > 0:
        moment -= timedelta(days=1)
        if moment.weekday() < 5:
            business_days -= 1
    return moment


def _demo_pipeline(session: Session, client: Client, now: datetime) -> None:
    """Import the sample network for a client and move some contacts along the pipeline."""
    scope = Scope(session, client.user)
    import_linkedin(scope, client.id, SAMPLE_EXPORT.read_bytes())
    if not client.active_themes:
        return
    # Each client gets a different slice of the same sample network.
    offset = client.id * 17 % 200
    people = session.scalars(
        select(Contact).where(Contact.client_id == client.id).order_by(Contact.id).offset(offset).limit(20)
    ).all()
    queue = iter(people)
    for stage, count, days_ago in PIPELINE:
        for _ in range(count):
            contact = next(queue)
            moved_at = _back_date(now, days_ago)
            contact.stage = stage
            contact.stage_changed_at = moved_at
            contact.themes = [client.active_themes[0]]
            session.add(
                StageChange(
                    practice_id=client.practice_id,
                    client_id=client.id,
                    contact=contact,
                    from_stage=Stage.IDENTIFIED,
                    to_stage=stage,
                    at=moved_at,
                )
            )
    talked = [c for c in people if c.stage in (Stage.TALKED, Stage.THANKED)]
    if talked:
        add_referral(
            scope,
            talked[0].id,
            {
                "name": "Referred Rivera",
                "organisation": talked[0].organisation,
                "position": "Senior Editor",
                "email": "",
                "linkedin_url": None,
                "research_notes": f"{talked[0].name} said to mention them.",
                "tags": ["referral"],
                "theme_ids": [],
            },
        )


REFLECTIONS = [
    # energy, fit, insights, less shiny parts, shared with the coach
    (
        2,
        4,
        "Most of the job is shaping other people's drafts, which I'd love.",
        "Evenings before print deadlines.",
        True,
    ),
    (
        -1,
        2,
        "Agency life runs on pitching, and I found that draining just to hear about.",
        "Constant new business.",
        False,
    ),
    (
        1,
        4,
        "Good documentation work starts with interviewing engineers.",
        "Docs are often cut first in a crunch.",
        True,
    ),
]


def _demo_banks(session: Session, owner: User, coach: User) -> None:
    """A practice-wide bank, a coach's private one, and one chosen for a single client."""
    owner_scope, coach_scope = Scope(session, owner), Scope(session, coach)
    essentials = copy_bank(owner_scope, "starter")
    essentials.name, essentials.reach = "Northbridge essentials", Reach.PRACTICE
    essentials.description = "Our house selection, adapted from the Crossroads starter bank."
    private = create_bank(
        coach_scope,
        {
            "name": "Tom's follow-up questions",
            "description": "For second talks.",
            "reach": Reach.OWNER,
            "client_ids": [],
        },
    )
    add_question(
        coach_scope,
        private.id,
        {
            "text": "Since we last spoke, what has changed in your team?",
            "category": Category.INDUSTRY,
            "tags": ["follow-up"],
        },
    )
    aisha = session.scalar(select(User).where(User.email == "aisha@northbridge.example")).client
    data_bank = create_bank(
        coach_scope,
        {
            "name": "Questions for data journalists",
            "description": "",
            "reach": Reach.CLIENTS,
            "client_ids": [aisha.id],
        },
    )
    add_question(
        coach_scope,
        data_bank.id,
        {
            "text": "Which data set changed how you see your beat?",
            "category": Category.DAY_TO_DAY,
            "tags": [],
        },
    )
    session.commit()


def _demo_conversations(session: Session, client: Client, now: datetime) -> None:
    """Held conversations with notes and reflections, one coming up, goals and a decision log."""
    if not client.active_themes:
        return
    scope = Scope(session, client.user)
    zone = ZoneInfo(client.timezone)
    starter = starter_bank().questions
    talked = session.scalars(
        select(Contact)
        .where(Contact.client_id == client.id, Contact.stage.in_([Stage.TALKED, Stage.THANKED]))
        .order_by(Contact.id)
    ).all()
    # The last reflection the client shares is shared through the service, so their coach has
    # the notification a real share makes.
    shared_indexes = [i for i in range(len(talked)) if REFLECTIONS[i % len(REFLECTIONS)][4]]
    share_now = None
    for index, contact in enumerate(talked):
        held_at = contact.stage_changed_at - timedelta(hours=2)
        start = held_at.astimezone(zone).replace(tzinfo=None, minute=0, second=0, microsecond=0)
        conversation = schedule(
            scope,
            contact.id,
            {
                "starts_at": start,
                "minutes": 20,
                "medium": Medium.VIDEO,
                "location": "https://meet.example/demo",
                "theme_id": client.active_themes[0].id,
                "already_happened": True,
            },
        )
        for question in starter[index * 7 : index * 7 + 3]:
            added = add_prep_question(scope, conversation.id, {"bank_question": question.id})
            added.notes = "Noted: talk to people on both sides of the deadline."
        conversation.goals = "Understand what a normal week looks like."
        conversation.status, conversation.held_at = ConversationStatus.HELD, held_at
        energy, fit, insights, less_shiny, shared = REFLECTIONS[index % len(REFLECTIONS)]
        reflection = Reflection(
            practice_id=client.practice_id,
            client_id=client.id,
            conversation=conversation,
            energy=energy,
            fit=fit,
            insights=insights,
            less_shiny=less_shiny,
            open_questions="How do people move up?",
            shared_at=held_at + timedelta(hours=1) if shared else None,
        )
        if shared and index == shared_indexes[-1]:
            reflection.shared_at, share_now = None, reflection
        session.add(reflection)
    if share_now is not None:
        session.flush()
        set_shared(scope, share_now.id, True)
    scheduled = session.scalars(
        select(Contact).where(Contact.client_id == client.id, Contact.stage == Stage.SCHEDULED)
    ).first()
    if scheduled is not None:
        soon = (now + timedelta(days=2)).astimezone(zone).replace(tzinfo=None, hour=12, minute=30, second=0)
        upcoming = Conversation(
            practice_id=client.practice_id,
            client_id=client.id,
            contact=scheduled,
            theme=client.active_themes[0],
            starts_at=to_utc(soon, client.timezone),
            minutes=20,
            medium=Medium.PHONE,
            uid=f"demo-{client.id}-{scheduled.id}@crossroads",
            goals="Hear how they moved into the field.",
        )
        session.add(upcoming)
        session.flush()
        for question in starter[40:43]:
            add_prep_question(scope, upcoming.id, {"bank_question": question.id})
    for period, metric, target in (
        (GoalPeriod.WEEK, GoalMetric.REQUESTS, 3),
        (GoalPeriod.QUARTER, GoalMetric.CONVERSATIONS, 6),
    ):
        set_goal(scope, client.id, {"period": period, "metric": metric, "target": target})
    for theme in client.themes:
        if theme.status in (ThemeStatus.CHOSEN, ThemeStatus.DROPPED, ThemeStatus.PARKED):
            session.add(
                ThemeDecision(
                    practice_id=client.practice_id,
                    client_id=client.id,
                    theme=theme,
                    decision=theme.status,
                    note=theme.description or "",
                    at=now - timedelta(days=5),
                    by_user_id=client.user_id,
                )
            )
    session.commit()


def _email_of(contact: Contact) -> str:
    local = ".".join(contact.sort_name.split()[:2]) or f"contact{contact.id}"
    return f"{local}@example.org"


def _demo_addresses(session: Session, client: Client) -> None:
    """An email address for each contact the pipeline moved, as the client would have found.

    The channels' own demo rows (the email and LinkedIn plugins' ``load_demo_data``) write to them.
    """
    contacts = session.scalars(
        select(Contact).where(Contact.client_id == client.id, Contact.stage != Stage.IDENTIFIED)
    ).all()
    for contact in contacts:
        contact.email = contact.email or _email_of(contact)
    session.commit()


#: What the demo's coaches say on a reflection their client shared (a notification for the client).
COMMENT = "Good catch on how the work really splits up. Who could tell you more about the deadlines side?"


def _demo_comments(session: Session, clients: list[Client]) -> None:
    """Each client's coach comments on the client's latest shared reflection, through the service."""
    for client in clients:
        latest = session.scalar(
            select(Reflection)
            .join(Conversation, Reflection.conversation_id == Conversation.id)
            .where(Reflection.client_id == client.id, Reflection.shared_at.is_not(None))
            .order_by(Conversation.held_at.desc(), Reflection.id.desc())
            .limit(1)
        )
        if latest is not None:
            comment(Scope(session, client.coach), latest.id, COMMENT)


def _demo_plugins(session: Session, practice: Practice, plugins: PluginManager) -> None:
    """Let each plugin add its own demo rows (the ``load_demo_data`` hook), each in a savepoint."""
    plugins.call("load_demo_data", None, isolate=session.begin_nested, session=session, practice=practice)
    session.commit()


def load_demo(session: Session, plugins: PluginManager | None = None) -> Practice:
    """Create the demo practice, or return it when it is already there.

    ``plugins`` add their rows too (by default, the installed ones).
    """
    existing = session.scalar(select(User).where(User.email == OWNER_EMAIL))
    if existing is not None:
        return existing.practice
    now = utcnow()
    password_hash = hash_password(DEMO_PASSWORD)  # hashed once: Argon2 is slow on purpose
    practice = Practice(name="Northbridge Career Studio", timezone="Europe/London")
    owner = User(
        practice=practice,
        email=OWNER_EMAIL,
        name="Maya Okonkwo",
        role=Role.OWNER,
        timezone="Europe/London",
        password_hash=password_hash,
    )
    coach = User(
        practice=practice,
        email=COACH_EMAIL,
        name="Tom Lindqvist",
        role=Role.COACH,
        timezone="Europe/Stockholm",
        password_hash=password_hash,
    )
    session.add_all([practice, owner, coach])
    coaches = {"owner": owner, "coach": coach}
    for index, (name, email, coach_key, status, days, accepted, tz, themes) in enumerate(CLIENTS):
        user = User(
            practice=practice,
            email=email,
            name=name,
            role=Role.CLIENT,
            timezone=tz,
            password_hash=password_hash if accepted else None,
        )
        client = Client(
            practice=practice,
            user=user,
            coach=coaches[coach_key],
            status=status,
            created_at=now - timedelta(days=60 - index * 5),
            last_activity_at=None if days is None else now - timedelta(days=days, hours=index),
        )
        session.add_all([user, client])
        for position, (title, description, target, theme_status) in enumerate(themes, start=1):
            session.add(
                CareerTheme(
                    practice=practice,
                    client=client,
                    title=title,
                    description=description,
                    target_conversations=target,
                    status=theme_status,
                    position=position,
                )
            )
    session.commit()
    # Each client's story ends at their last activity: a client quiet for 16 days took their
    # last step 16 days ago, so the caseload's "last activity" and "stalled" match the figures.
    last_step = {
        email: None if days is None else now - timedelta(days=days, hours=index)
        for index, (_, email, _, _, days, *_) in enumerate(CLIENTS)
    }
    for client in session.scalars(select(Client).where(Client.practice_id == practice.id)).all():
        if client.user.has_password:
            _demo_pipeline(session, client, last_step[client.email] or now)
    for client in session.scalars(select(Client).where(Client.practice_id == practice.id)).all():
        if client.user.has_password:
            _demo_conversations(session, client, last_step[client.email] or now)
            _demo_addresses(session, client)
    _demo_banks(session, owner, coach)
    priya = session.scalar(select(User).where(User.email == CLIENT_EMAIL)).client
    create_contact(
        Scope(session, owner),
        priya.id,
        {
            "name": "Ines Calder",
            "organisation": "Penguin Random House",
            "position": "Features Editor",
            "email": "",
            "linkedin_url": None,
            "tags": ["coach network"],
            "theme_ids": [],
            "research_notes": "Edited my book club's anthology; generous with time. Mention my name.",
        },
    )
    writing = next((t for t in priya.active_themes if t.title == "Technical writing"), None)
    create_contact(  # the client's own, ready to write to
        Scope(session, priya.user),
        priya.id,
        {
            "name": ANSWERING_CONTACT,
            "organisation": "Meridian Docs",
            "position": "Senior Technical Writer",
            "email": f"rosa.lindgren@{ANSWERING_DOMAIN}",
            "linkedin_url": None,
            "tags": ["meetup"],
            "theme_ids": [writing.id] if writing else [],
            "research_notes": (
                "Wrote the style guide I keep quoting; answers quickly. "
                "(In the demo, a first request by email gets her reply within a minute.)"
            ),
        },
    )
    aisha = session.scalar(select(User).where(User.email == "aisha@northbridge.example")).client
    _demo_comments(session, [priya, aisha])
    for client in session.scalars(select(Client).where(Client.practice_id == practice.id)).all():
        client.last_activity_at = last_step[client.email]  # building the demo touched them all
    session.commit()
    _demo_plugins(session, practice, plugins or PluginManager())
    return practice
