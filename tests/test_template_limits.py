"""Message templates: every render is bounded in steps, size, work and depth, and a template that
fails on a client's draft falls back to the channel's default and is reported to the practice."""

from __future__ import annotations

import tracemalloc

import pytest
from sqlalchemy import select

from crossroads.core.errors import InvalidInput
from crossroads.core.models import MessageKind, MessageTemplate, OutboxEmail, PracticeMail
from crossroads.core.outreach import templating
from crossroads.testing import make_contact

#: A ten-thousand-character text built in the template itself: long strings need no variable.
LONG = '{% set s = "x" * 10000 %}'

HOSTILE = {
    "loop inside a loop over long text": (
        '{% set s = "x" * 400 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}'
    ),
    "loop inside a loop whose if skips every item": (
        '{% set s = "x" * 400 %}{% for a in s %}{% for b in s if b == "y" %}{% endfor %}{% endfor %}'
    ),
    "center": '{{ "x".center(50000000) }}',
    "center filter": '{{ "x"|center(50000000) }}',
    "ljust": '{{ "x".ljust(50000000) }}',
    "rjust": '{{ "x".rjust(50000000) }}',
    "zfill": '{{ "1".zfill(50000000) }}',
    "expandtabs": '{% set s = "\t" * 10000 %}{{ s.expandtabs(10000) }}',
    "format filter padding": '{{ "%50000000s"|format("x") }}',
    "format filter star width": '{{ "%*s"|format(50000000, "x") }}',
    "percent operator padding": '{{ "%50000000s" % "x" }}',
    "str.format padding": '{{ "{:>50000000}".format("x") }}',
    "str.format width from an argument": '{{ "{:>{}}".format("x", "50000000") }}',
    "str.format repeating a field": LONG + '{{ ("{0}" * 5000).format(s) }}',
    "tilde doubling": LONG + "{% set a = s ~ s %}" + "{% set a = a ~ a %}" * 10 + "{{ a|length }}",
    "plus doubling": LONG + "{% set a = s + s %}" + "{% set a = a + a %}" * 10 + "{{ a|length }}",
    "replace of the empty string": LONG + '{{ s.replace("", s)|length }}',
    "replace filter": LONG + '{{ s|replace("", s)|length }}',
    "join method": LONG + "{{ s.join(s)|length }}",
    "join filter": LONG + "{{ s|join(s)|length }}",
    "indent": '{% set s = "\n" * 10000 %}{{ s|indent(10000)|length }}',
    "wordwrap": LONG + "{{ s|wordwrap(1, wrapstring=s)|length }}",
    "nested list literals": (
        LONG + "{% set a = [s, s, s, s] %}{% set b = [a, a, a, a] %}{% set c = [b, b, b, b] %}"
        "{% set d = [c, c, c, c] %}{{ [d, d, d, d] }}"
    ),
    "map over a list": '{% set l = ["x"] * 5000 %}{{ l|map("center", 10000)|join|length }}',
    "batch filling": '{{ ["x"]|batch(50000000, "y")|list|length }}',
    "macro output in a loop": LONG
    + "{% macro m() %}{% for a in s %}{{ s }}{% endfor %}{% endmacro %}{{ m()|length }}",
    "copying long text in a loop": LONG + '{% for a in s %}{% set t = s ~ "" %}{% endfor %}',
    "slicing long text in a loop": LONG + "{% for a in s %}{% set t = s[::-1] %}{% endfor %}",
    "recursive macro": "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "macro calling itself twice": (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(20) }}"
    ),
    "recursive block": "{% block a %}{{ self.a() }}{% endblock %}",
    "squaring a number": (
        "{% macro sq(n, k) %}{% if k %}{{ sq(n * n, k - 1) }}{% endif %}{% endmacro %}"
        "{{ sq(99999999999, 20) }}"
    ),
    "deeply nested brackets": "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}",
}


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_template_ends_in_a_template_error_without_a_large_allocation(source):
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput) as refused:
            templating.render_text(source, templating.example_variables())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.errors["body"]
    assert peak < 4_000_000, f"{peak:,} bytes at the peak"


def test_steps_are_counted_for_every_pass_through_a_loop_and_stop_at_the_bound():
    budget = templating.Budget()
    assert templating.render_text('{% for c in "abcdefghij" %}{{ c }}{% endfor %}', {}, budget=budget)
    ten = budget.steps
    budget = templating.Budget()
    templating.render_text('{% for c in "abcdefghij" * 10 %}{{ c }}{% endfor %}', {}, budget=budget)
    assert budget.steps >= 10 * ten - 10 and ten >= 10
    with pytest.raises(InvalidInput) as refused:
        templating.render_text(HOSTILE["loop inside a loop over long text"], {})
    assert f"more than {templating.MAX_STEPS:,} steps" in refused.value.errors["body"][0]


def test_an_ordinary_template_renders_within_its_bounds():
    source = (
        "{% macro greet(name) %}Dear {{ name|title }},{% endmacro %}{{ greet(contact.first_name) }}\n"
        "{{ connection }} {% for word in theme.split() %}{{ word|capitalize }}{% if not loop.last %} "
        "{% endif %}{% endfor %}, {{ '%s minutes'|format(minutes) }}? {{ '{:>3}'.format('a') }}"
        "{{ ['x', 'y']|join('-') }}"
    )
    text = templating.render_text(source, templating.example_variables())
    assert text.startswith("Dear Sam,\nDana Lee suggested I write to you. Magazine Editing, 20 minutes?")
    assert text.endswith("  ax-y")


# The hidden payload: the save-time check renders with the example values, where the condition is false.
HIDDEN = (
    "{% if client.email != 'priya@example.com' %}"
    "{% set s = 'x' * 400 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}"
    "{% endif %}Our own hidden wording"
)


def test_a_template_that_fails_on_a_clients_draft_falls_back_to_the_default_and_tells_the_owner_once(
    world, db, as_user
):
    db.add(
        PracticeMail(practice_id=world.practice.id, host="127.0.0.1", port=2525, from_address="h@a.example")
    )
    contact = make_contact(db, world.client, "Sam Okafor", "Riverside Press", email="sam@riverside.example")
    db.commit()
    coach = as_user(world.coach)
    saved = coach.post("/templates/email/first_request", data={"subject": "Hello", "body": HIDDEN})
    assert saved.status_code == 302  # the save-time check cannot see the payload

    client = as_user(world.client.user)
    for _ in range(3):
        page = client.get(f"/contacts/{contact.id}/write?channel=email&kind=first_request")
        assert page.status_code == 200
        assert b"Our own hidden wording" not in page.data
        assert b"Sam" in page.data  # the channel's default wording, filled in

    row = db.scalar(select(MessageTemplate).where(MessageTemplate.kind == MessageKind.FIRST_REQUEST))
    db.refresh(row)
    assert "steps" in row.problem and row.problem_at is not None
    emails = db.scalars(select(OutboxEmail).where(OutboxEmail.to_address == world.owner.email)).all()
    assert len(emails) == 1 and "Email: First request" in emails[0].subject
    assert "steps" in emails[0].body

    listing = as_user(world.owner).get("/templates")
    assert b"Failed on a client's draft" in listing.data and b"steps" in listing.data
    editor = as_user(world.owner).get("/templates/email/first_request")
    assert b"failed on a client's draft" in editor.data

    assert (
        coach.post("/templates/email/first_request", data={"subject": "Hi", "body": "Plain"}).status_code
        == 302
    )
    db.refresh(row)
    assert (row.problem, row.problem_at) == ("", None)
    assert b"Failed on a client" not in as_user(world.owner).get("/templates").data
