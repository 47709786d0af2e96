"""Outreach: a client writing to the people they want to meet, and what follows.

What lives where:

- ``channels``: the channel contract a plugin implements (``Channel``, ``Draft``,
  ``DraftContext``, ``MessageFormat``, ``MessageWarning``, ``Delivery``, ``Handoff``) and
  ``length``, how a channel counts its limits.
- ``checks``: the message checks that teach the method (``CORE_CHECKS``, ``method_warnings``),
  and a channel's limits and tuning of them (``limit_warnings``, ``core_check_settings``).
- ``templating``: the sandboxed Jinja environment that renders the practice's message
  templates (``Variable``, the bounded render).
- ``followups``: the follow-up rhythm (3B7) and thank-yous: what is due when (``due_for``,
  ``due_items``, ``add_business_days``), read by reminders, the calendar feed and the figures.
- ``transports``: how the outbox's worker hands a row to a channel's own way of sending
  (``Transport``, ``Envelope``, ``Outcome``, ``post_json``).
- ``service``: the outreach service: drafting a message on a channel, checking it, sending or
  handing it over, marking it sent or replied, the message lists, practice templates, replies.

Not here: email delivery infrastructure (the outbox table's worker, SMTP, the queue, the
practice's server secrets) stays in ``core/mail/``, and incoming mail (the reply mailbox,
classification, matching a reply to its message) in ``core/inbox/``. The tables are in
``core/models/outreach.py``. This package's ``__init__`` imports nothing, so any module of the
core may import one of its modules without a cycle.
"""
