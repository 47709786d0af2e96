"""Which of the core's checks run on a channel, and with what limits; what a check is told about the
draft (its channel and format); and ``MessageWarning``, once called ``Warning``."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

from crossroads.core.models import ContactSource, MessageKind
from crossroads.core.outreach import service as outreach
from crossroads.core.outreach.channels import Draft, DraftContext, MessageWarning
from crossroads.core.outreach.checks import CORE_CHECKS, core_check_settings, method_warnings
from crossroads.core.scoping import Scope
from crossroads.plugin import Channel, TemplateText, hookimpl, words
from crossroads.plugins.email_channel import CHANNEL as EMAIL
from crossroads.plugins.linkedin import CHANNEL as LINKEDIN
from crossroads.testing import make_contact

#: A request that passes every check of the method but length: the connection first, a 20-minute
#: question, not a job request; padded to ``n`` words.
OPENING = (
    "Dana Lee suggested I write to you. I'm Clara, exploring a move into magazine editing, and your "
    "work as an editor is what I'd love to learn about."
)
CLOSING = (
    "Would you have 20 minutes for a call next week? I'm not looking for a job, only your view of the work."
)


def request_of(n: int) -> str:
    """A good request of exactly ``n`` words as the core counts them (padding in the middle)."""
    fixed = len(words(OPENING + " " + CLOSING))
    return " ".join([OPENING, *(["editing"] * (n - fixed)), CLOSING])


class WordLimitChannel(Channel):
    """A channel with its own 120-word limit, warned about by its own ``check``."""

    name = "short_notes"
    label = "Short notes"
    kinds = (MessageKind.FIRST_REQUEST,)
    hands_off = True
    limit = 120

    def __init__(self, core_checks: dict | None = None):
        self.choices = core_checks

    def default_template(self, kind, format):
        return TemplateText("", "Hello")

    def core_checks(self, context):
        return self.choices if self.choices is not None else {}

    def check(self, draft):
        count = len(words(draft.body))
        if count <= self.limit:
            return []
        return [MessageWarning("over_word_limit", f"{count} words; this channel takes {self.limit}.")]


@pytest.fixture
def contact(world, db):
    """A contact Dana Lee suggested, exploring the client's theme, with an email address."""
    contact = make_contact(
        db, world.client, "Sam Okafor", "Riverside Press", "Managing Editor", email="sam@riverside.example"
    )
    contact.themes.append(world.client.themes[0])
    db.commit()
    return contact


def context_for(db, world, contact, fmt: str = "", channel: str = "") -> DraftContext:
    return DraftContext(
        session=db,
        practice=world.practice,
        client=world.client,
        sender=world.client.user,
        kind=MessageKind.FIRST_REQUEST,
        format=fmt,
        contact=contact,
        theme=world.client.themes[0],
        channel=channel,
    )


def codes(found) -> list[str]:
    return [w.code for w in found]


LENGTH_CODES = {"long_request", "over_word_limit", "body_too_long", "body_long"}


def length_warnings(found) -> list[str]:
    return [code for code in codes(found) if code in LENGTH_CODES]


# -- a channel chooses the core's checks ------------------------------------------------------------


def test_a_channel_with_its_own_word_limit_shows_one_warning_for_an_over_long_draft(db, world, contact):
    body = request_of(130)
    assert method_warnings(Draft(context_for(db, world, contact), "", request_of(99))) == []
    # Without a say in the core's checks, one problem earned two warnings.
    before = outreach.warnings(WordLimitChannel(), Draft(context_for(db, world, contact), "", body))
    assert length_warnings(before) == ["long_request", "over_word_limit"]
    # Switching the core's length check off leaves the channel's own.
    channel = WordLimitChannel({"long_request": None})
    found = outreach.warnings(channel, Draft(context_for(db, world, contact), "", body))
    assert length_warnings(found) == ["over_word_limit"]
    assert codes(found) == ["over_word_limit"]  # the rest of the method still passes


def test_a_channel_may_move_the_core_length_check_to_its_own_limit_instead(db, world, contact):
    class Tuned(WordLimitChannel):
        def check(self, draft):
            return []

    channel = Tuned({"long_request": {"words": 120}})
    assert outreach.warnings(channel, Draft(context_for(db, world, contact), "", request_of(110))) == []
    [warning] = outreach.warnings(channel, Draft(context_for(db, world, contact), "", request_of(125)))
    assert warning.code == "long_request" and "125 words long; aim for under 120" in warning.message


def test_a_channel_that_says_nothing_keeps_every_core_check_at_its_default(db, world, contact):
    assert Channel().core_checks(context_for(db, world, contact)) == {}
    assert core_check_settings({}) == {code: dict(check.settings) for code, check in CORE_CHECKS.items()}
    found = outreach.warnings(EMAIL, Draft(context_for(db, world, contact), "Hello", request_of(100)))
    assert codes(found) == ["long_request"]
    assert "aim for under 100" in found[0].message


def test_the_settings_of_the_connection_and_the_ask_checks_come_from_the_channel(db, world, contact):
    late = "I'm Clara. " + "I am exploring editing. " * 12 + "Dana Lee suggested I write. " + CLOSING
    ask = OPENING + " Would you have 45 minutes next week? I'm not looking for a job."
    default = method_warnings(Draft(context_for(db, world, contact), "", late))
    assert "connection_first" in codes(default)
    assert "short_ask" in codes(method_warnings(Draft(context_for(db, world, contact), "", ask)))
    generous = core_check_settings(
        {"connection_first": {"within_words": 80}, "short_ask": {"minutes": (15, 45)}}
    )
    assert codes(method_warnings(Draft(context_for(db, world, contact), "", late), generous)) == []
    assert codes(method_warnings(Draft(context_for(db, world, contact), "", ask), generous)) == []


def test_a_switched_off_check_is_not_run_and_the_others_are(db, world, contact):
    statement = OPENING + " I'd value 20 minutes of your time next week. I'm not looking for a job."
    assert codes(outreach.warnings(EMAIL, Draft(context_for(db, world, contact), "Hi", statement))) == [
        "no_question"
    ]
    channel = WordLimitChannel({"no_question": None})
    assert outreach.warnings(channel, Draft(context_for(db, world, contact), "", statement)) == []


@pytest.mark.parametrize(
    ("choices", "named"),
    [
        ({"long_requests": None}, "'long_requests'"),
        ({"long_request": {"word": 120}}, "no setting 'word'"),
        ({"job_request": {"words": 3}}, "(its settings: none)"),
    ],
)
def test_an_unknown_check_or_setting_is_refused_naming_it(choices, named):
    with pytest.raises(ValueError, match="core check") as refused:
        core_check_settings(choices)
    assert named in str(refused.value)


# -- the built-in channels -----------------------------------------------------------------------------


@pytest.fixture
def linkedin_contact(world, db):
    contact = make_contact(
        db,
        world.client,
        "Sam Okafor",
        "Riverside Press",
        "Managing Editor",
        source=ContactSource.COACH,
        linkedin_url="https://www.linkedin.com/in/sam-okafor",
    )
    contact.themes.append(world.client.themes[0])
    db.commit()
    return contact


def linkedin_draft(db, world, contact, fmt: str, body: str) -> Draft:
    context = outreach.draft_context(Scope(db, world.client.user), contact.id, LINKEDIN, "first_request", fmt)
    return Draft(context, "About editing" if fmt == "inmail" else "", body)


def test_an_over_long_linkedin_note_gets_one_length_warning_the_character_limit(db, world, linkedin_contact):
    found = outreach.warnings(LINKEDIN, linkedin_draft(db, world, linkedin_contact, "note", request_of(110)))
    assert length_warnings(found) == ["body_too_long"]
    assert "Does not fit" in found[0].message


def test_linkedin_messages_and_inmails_keep_the_methods_word_count(db, world, linkedin_contact):
    for fmt in ("message", "inmail"):
        found = outreach.warnings(LINKEDIN, linkedin_draft(db, world, linkedin_contact, fmt, request_of(110)))
        assert length_warnings(found) == ["long_request"], fmt


# -- the draft names its channel and format ------------------------------------------------------------


class Seen:
    """Records what each check was told about the draft."""

    def __init__(self):
        self.drafts: list[tuple[str, str, str]] = []

    def __call__(self, draft: Draft) -> list[MessageWarning]:
        self.drafts.append((draft.channel, draft.format, draft.context.channel))
        return []


def test_every_check_sees_the_drafts_channel_and_format_even_when_the_caller_left_them_out(
    db, world, linkedin_contact
):
    seen = Seen()
    # A context built by hand, naming neither: the core fills both in from the channel it checks for.
    bare = Draft(context_for(db, world, linkedin_contact), "", "Hello?")
    outreach.warnings(LINKEDIN, bare, seen)
    assert seen.drafts == [("linkedin", "note", "linkedin")]
    outreach.warnings(LINKEDIN, linkedin_draft(db, world, linkedin_contact, "inmail", "Hello?"), seen)
    outreach.warnings(EMAIL, Draft(context_for(db, world, linkedin_contact), "Hi", "Hello?"), seen)
    assert seen.drafts[1:] == [("linkedin", "inmail", "linkedin"), ("email", "", "email")]


def test_the_draft_context_names_the_channel_it_was_made_for(db, world, linkedin_contact):
    context = outreach.draft_context(
        Scope(db, world.client.user), linkedin_contact.id, LINKEDIN, "first_request", "message"
    )
    draft = Draft(context, "", "Hello")
    assert (draft.channel, draft.format) == ("linkedin", "message")


def test_a_plugins_message_checks_hook_tells_the_channels_apart_on_the_live_check(
    world, contact, as_user, plugins
):
    told = []

    def message_checks(draft):
        told.append((draft.channel, draft.format))
        if draft.channel == "email":
            return MessageWarning("email_only", "Only on email.", field="subject")
        return None

    plugins.register(SimpleNamespace(message_checks=hookimpl(message_checks)), "channel_aware")
    browser = as_user(world.client.user)
    answers = {}
    for channel in ("email", "linkedin"):
        response = browser.post(
            f"/contacts/{contact.id}/write/check",
            data={"channel": channel, "kind": "first_request", "subject": "Hi", "body": "Hello?"},
        )
        assert response.status_code == 200
        answers[channel] = {w["code"]: w for w in response.json["warnings"]}
    assert told == [("email", ""), ("linkedin", "note")]
    assert answers["email"]["email_only"]["field"] == "subject"
    assert "email_only" not in answers["linkedin"]


def test_a_channel_with_its_own_word_limit_shows_one_warning_on_the_live_check(
    world, contact, as_user, plugins
):
    channel = WordLimitChannel({"long_request": None})
    plugins.register(SimpleNamespace(outreach_channels=hookimpl(lambda: channel)), "short_notes")
    response = as_user(world.client.user).post(
        f"/contacts/{contact.id}/write/check",
        data={"channel": "short_notes", "kind": "first_request", "body": request_of(130)},
    )
    assert response.status_code == 200, response.data
    assert [w["code"] for w in response.json["warnings"]] == ["over_word_limit"]


def test_the_compose_page_marks_each_warning_with_the_field_it_is_about(world, contact, as_user):
    page = as_user(world.client.user).get(f"/contacts/{contact.id}/write?channel=email")
    html = page.get_data(as_text=True)
    # A contact added by hand: the default wording leaves a gap for the client to fill in.
    assert '<li data-code="placeholder" data-field="body">' in html


# -- MessageWarning, once Warning ----------------------------------------------------------------------


@pytest.mark.parametrize("module", ["crossroads.plugin", "crossroads.core.outreach.channels"])
def test_the_old_name_warning_still_works_and_warns_naming_the_new_one(module):
    import importlib

    imported = importlib.import_module(module)
    with pytest.warns(
        DeprecationWarning, match=r"Warning is deprecated .* 0\.3; use crossroads\.plugin\.MessageWarning"
    ):
        old = imported.Warning
    assert old is MessageWarning
    with pytest.warns(DeprecationWarning):
        exec(f"from {module} import Warning")  # the way a plugin wrote it


def test_the_new_name_is_on_the_face_and_the_old_one_is_not_and_does_not_shadow_the_builtin():
    import builtins

    import crossroads.plugin as face

    assert "MessageWarning" in face.__all__ and "CORE_CHECKS" in face.__all__
    assert "Warning" not in face.__all__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        namespace: dict = {}
        exec("from crossroads.plugin import *", namespace)
    assert "Warning" not in namespace and namespace["MessageWarning"] is MessageWarning
    assert builtins.Warning is not MessageWarning


# -- the guide's examples and table are the code's -----------------------------------------------------

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "plugins" / "guide.md"


def guide_python(after: str) -> str:
    """The guide's first Python block after the heading ``after``."""
    text = GUIDE.read_text(encoding="utf-8").split(after, 1)[1]
    return text.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_guides_channel_example_shows_one_warning_for_an_over_long_draft(db, world, contact):
    namespace: dict = {}
    exec(guide_python("#### Warnings"), namespace)
    channel = namespace["ShortNotes"]()
    channel.kinds = (MessageKind.FIRST_REQUEST,)
    found = outreach.warnings(channel, Draft(context_for(db, world, contact), "", request_of(130)))
    assert codes(found) == ["over_120_words"]


def test_the_guides_message_checks_example_looks_only_at_email(db, world, contact):
    namespace: dict = {}
    exec(guide_python("### Checks on every draft"), namespace)
    check = namespace["message_checks"]
    shouting = "Hello!! Would you have 20 minutes?"
    [warning] = check(Draft(context_for(db, world, contact, channel="email"), "Hi", shouting))
    assert warning.code == "exclamations"
    assert check(Draft(context_for(db, world, contact, fmt="note", channel="linkedin"), "", shouting)) is None


def test_the_guides_table_of_core_checks_is_the_codes_and_defaults():
    section = GUIDE.read_text(encoding="utf-8").split("#### The core's checks, and which to use", 1)[1]
    rows = re.findall(r"^\| `(\w+)` \| .* \| (.*) \|$", section.split("Which to use", 1)[0], re.MULTILINE)
    assert [code for code, _ in rows] == list(CORE_CHECKS)
    for code, settings in rows:
        expected = ", ".join(f"`{name}` ({value})" for name, value in CORE_CHECKS[code].settings.items())
        assert settings == (expected or "none"), code
