"""The words of an incoming email: its text part (or its HTML as plain text), trimmed of the
quoted history and the signature by ``mail-parser-reply``."""

from __future__ import annotations

import re
from email.message import EmailMessage
from html import unescape
from html.parser import HTMLParser

from mailparser_reply import EmailReplyParser

#: Longest body read, and longest trimmed text kept.
MAX_BODY = 200_000
MAX_TEXT = 20_000
LANGUAGES = ["en", "de", "fr", "es", "nl", "it"]

_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table"}
_SKIPPED = {"script", "style", "head", "title", "template", "noscript"}


class _Text(HTMLParser):
    """HTML to text: the characters only; no markup, link or script survives."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of ``html`` (never HTML again: the result is shown escaped)."""
    parser = _Text()
    parser.feed(html[:MAX_BODY])
    parser.close()
    text = unescape("".join(parser.parts))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _decoded(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown or lying charset
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace")
    return content if isinstance(content, str) else ""


def body_text(message: EmailMessage) -> str:
    """The message's own text: its text/plain body, else its HTML body as text."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except (KeyError, IndexError):
        part = None
    if part is None:
        return ""
    content = _decoded(part)[:MAX_BODY]  # type: ignore[arg-type]
    if part.get_content_subtype() == "html":
        return html_to_text(content)
    return content.replace("\r\n", "\n").strip()


def trimmed(text: str) -> str:
    """``text`` without quoted history and signature; the whole text when nothing is left."""
    if not text.strip():
        return ""
    try:
        replies = EmailReplyParser(languages=LANGUAGES).read(text=text).replies
        own = replies[0].body.strip() if replies else ""
    except Exception:  # a parser failing on odd input must not lose the reply
        own = ""
    return (own or text.strip())[:MAX_TEXT]
