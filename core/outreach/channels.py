"""The outreach channel contract: what a channel plugin gives Crossroads, and what it gets.

A plugin offers channels through the ``outreach_channels`` hook, returning
instances of a :class:`Channel` subclass. Crossroads asks a channel which
kinds of message it carries and in which formats, drafts from the practice's
template (or the channel's default), runs the method's checks plus the
channel's own, and hands the finished message to :meth:`Channel.deliver`,
which either queues it in the outbox (email, or the channel's own
:attr:`Channel.transport`) or hands it back to the client to send themselves
(LinkedIn), who then marks it sent.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ..models import CareerTheme, Client, Contact, MessageKind, OutreachMessage, Practice, User
    from .transports import Transport


class Counting(enum.StrEnum):
    """How a limit counts a text's length."""

    CHARACTERS = "characters"  # Unicode code points
    UTF16 = "utf16"  # UTF-16 code units, as browsers' maxlength and LinkedIn count: an emoji is two


def length(text: str, counting: Counting = Counting.CHARACTERS) -> int:
    """The length of ``text`` as ``counting`` measures it; line breaks count once."""
    text = text.replace("\r\n", "\n")
    if counting == Counting.UTF16:
        return len(text.encode("utf-16-le")) // 2
    return len(text)


@dataclass(frozen=True)
class Limit:
    """A length limit on a subject or body.

    Past ``max`` the text does not fit (the channel will refuse or cut it);
    past ``warn`` it still fits but earns a warning. The client may send anyway.
    """

    max: int | None = None
    warn: int | None = None
    counting: Counting = Counting.CHARACTERS
    #: Why the limit is what it is, shown beside the counter.
    note: str = ""


@dataclass(frozen=True)
class MessageFormat:
    """One shape a channel's message can take (an email; a LinkedIn connection note; an InMail)."""

    name: str
    label: str
    body: Limit = field(default_factory=Limit)
    #: ``None`` when this format has no subject line.
    subject: Limit | None = None


@dataclass(frozen=True)
class TemplateText:
    """A subject and body written in the template language (sandboxed Jinja)."""

    subject: str
    body: str


@dataclass(frozen=True)
class MessageWarning:
    """A check's warning about a draft: what is wrong and, in one line, why it matters.

    ``field`` names the form field the warning is about (``"body"``, ``"subject"``, or a
    field of the channel's own form, such as the alumni offices' ``"hoped_for"``), so the
    page can show it beside that field. Until 0.2 this class was called ``Warning``.
    """

    code: str
    message: str
    why: str = ""
    field: str = "body"


def __getattr__(name: str) -> Any:
    """Names that moved, kept for one release with a warning (docs/plugins/changes.md)."""
    if name == "Warning":
        import warnings

        warnings.warn(
            "crossroads.core.outreach.channels.Warning is deprecated and goes in Crossroads 0.3; "
            "use crossroads.plugin.MessageWarning",
            DeprecationWarning,
            stacklevel=2,
        )
        return MessageWarning
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class DraftContext:
    """Everything a channel may look at when drafting, checking or delivering one message."""

    session: Session
    practice: Practice
    client: Client
    sender: User
    kind: MessageKind
    format: str
    contact: Contact | None = None
    theme: CareerTheme | None = None
    #: Earlier messages to the same contact on the same channel, oldest first.
    earlier: list[OutreachMessage] = field(default_factory=list)
    #: The name of the channel the message is written on (``Channel.name``).
    channel: str = ""


@dataclass(frozen=True)
class Draft:
    """A message as the client has written it, with the context it was written in."""

    context: DraftContext
    subject: str
    body: str

    @property
    def kind(self) -> MessageKind:
        """What kind of message this is (a first request, a follow-up …)."""
        return self.context.kind

    @property
    def channel(self) -> str:
        """The name of the channel the draft is written on (``Channel.name``: ``"email"`` …)."""
        return self.context.channel

    @property
    def format(self) -> str:
        """The name of the draft's format (``MessageFormat.name``; ``""`` for a channel's only one)."""
        return self.context.format


@dataclass(frozen=True)
class Handoff:
    """How the client sends a message themselves: copy it, open a page, or open their mail program."""

    copy: bool = True
    open_url: str | None = None
    open_label: str = ""
    mailto: str | None = None


@dataclass(frozen=True)
class Delivery:
    """What :meth:`Channel.deliver` did: queued the message for sending, or handed it to the client."""

    queued: bool
    handoff: Handoff | None = None


class Channel:
    """Base class for an outreach channel. Subclass it, set the attributes, override what you need.

    ``name`` must be unique among installed channels and stay stable: it is
    stored with every message and template.
    """

    name: str = ""
    label: str = ""
    #: A sentence for the client on when this channel is the right one.
    description: str = ""
    kinds: tuple[MessageKind, ...] = ()
    #: True when the client sends messages themselves: the page offers copy and "I sent it", not Send.
    hands_off: bool = False
    #: The channel's own way of sending (:class:`~crossroads.core.outreach.transports.Transport`), for
    #: messages ``deliver`` queues with ``queue_outbox(session, transport.name, ...)``; None when it
    #: sends by email or not at all. The outbox's worker finds it here.
    transport: Transport | None = None

    def hands_off_in(self, context: DraftContext) -> bool:
        """Whether a message written in ``context`` will go to the client to send rather than be sent.

        ``hands_off`` by default; a channel that sends only when the practice can (email without
        an email server) says so here, and the page says it before the button is pressed.
        """
        return self.hands_off

    def formats(self, context: DraftContext) -> list[MessageFormat]:
        """The formats this channel offers for ``context.kind`` (the first is the default)."""
        return [MessageFormat("message", self.label)]

    def unavailable_reason(self, context: DraftContext) -> str | None:
        """Why this channel cannot carry a message in this context (say, no email address), or None."""
        return None

    def default_template(self, kind: MessageKind, format: str) -> TemplateText:
        """The wording used until the practice writes its own."""
        raise NotImplementedError

    #: Documentation of the variables ``variables`` adds (``templating.Variable`` items), for the editor.
    variable_docs: tuple[Any, ...] = ()

    def variables(self, context: DraftContext) -> dict[str, Any]:
        """Extra template variables this channel offers (plain strings or dicts of them)."""
        return {}

    def example_variables(self) -> dict[str, Any]:
        """Examples of the variables ``variables`` adds: saved templates are checked against them."""
        return {}

    def core_checks(self, context: DraftContext) -> Mapping[str, Mapping[str, Any] | None]:
        """Which of the core's method checks run on this channel's drafts in ``context``, and how.

        A mapping from a check's code (``crossroads.plugin.CORE_CHECKS`` lists them with their
        settings) to the settings to change, or to ``None`` to switch that check off. Checks not
        named run with their defaults, so the default, ``{}``, runs them all as they are. For
        example ``{"long_request": {"words": 120}}`` moves the length check to 120 words, and
        ``{"long_request": None}`` leaves length to the channel's own limits or ``check``.
        """
        return {}

    def check(self, draft: Draft) -> list[MessageWarning]:
        """The channel's own warnings about a draft (beyond the format's length limits)."""
        return []

    def deliver(self, message: OutreachMessage, context: DraftContext) -> Delivery:
        """Send ``message`` or hand it off. Called inside the transaction that saves it; do not commit.

        To send, queue an outbox row (``queue_email``, or ``queue_outbox`` for ``transport``), set
        ``message.outbox`` to it and return ``Delivery(queued=True)``.
        """
        raise NotImplementedError

    def handoff(self, message: OutreachMessage, context: DraftContext) -> Handoff:
        """How the client sends a handed-off ``message`` themselves (copy it, by default)."""
        return Handoff()

    def thread_parent(self, context: DraftContext) -> OutreachMessage | None:
        """The earlier message a new one replies to (the latest, by default), for threading."""
        return context.earlier[-1] if context.earlier else None
