"""Finding a plugin's part on a rendered page: the elements the core marks ``data-plugin="<name>"``.

The core wraps each plugin's contribution in an element carrying the plugin's
name: a dashboard panel, a report section, a row on the owner's plugin
settings page. :class:`Page` parses the page with the standard library's
:mod:`html.parser` and hands those elements back as :class:`PluginPart` objects.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID_ELEMENTS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)
#: Elements that do not separate words: the text around them runs on without a space.
INLINE_ELEMENTS = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i", "kbd", "label", "mark"}
    | {"q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var"}
)


@dataclass
class PluginPart:
    """One element marked ``data-plugin``: its tag, attributes, inner HTML and visible text."""

    plugin: str
    tag: str
    attrs: dict[str, str]
    html: str = ""
    _text: list[str] = field(default_factory=list, repr=False)

    @property
    def text(self) -> str:
        """The element's text with runs of white space made single spaces."""
        return re.sub(r"\s+", " ", "".join(self._text)).strip()

    @property
    def unavailable(self) -> bool:
        """True when the core shows this part as unavailable (the plugin raised or answered wrongly)."""
        classes = self.attrs.get("class", "").split()
        return "panel-unavailable" in classes or "data-unavailable" in self.attrs

    def __contains__(self, text: str) -> bool:
        return text in self.text or text in self.html


class _PartsParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[PluginPart] = []
        self._stack: list[tuple[str, PluginPart | None]] = []  # open elements, with the part each starts

    def _emit(self, markup: str, text: str = "") -> None:
        for _, part in self._stack:
            if part is not None:
                part.html += markup
                if text:
                    part._text.append(text)

    def _gap(self, tag: str) -> str:
        return "" if tag in INLINE_ELEMENTS else " "

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._emit(self.get_starttag_text() or "", self._gap(tag))
        if tag in VOID_ELEMENTS:
            return
        values = {name: value or "" for name, value in attrs}
        part = None
        if "data-plugin" in values:
            part = PluginPart(values["data-plugin"], tag, values)
            self.parts.append(part)
        self._stack.append((tag, part))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._emit(self.get_starttag_text() or "", self._gap(tag))

    def handle_endtag(self, tag: str) -> None:
        if tag not in {name for name, _ in self._stack}:
            return  # a stray end tag
        # Close what was left open inside (a <p> or <li> without its end tag), then the element itself.
        while self._stack:
            name, _ = self._stack.pop()
            if name == tag:
                break
        self._emit(f"</{tag}>", self._gap(tag))

    def handle_data(self, data: str) -> None:
        self._emit(html.escape(data, quote=False), data)


def plugin_parts(markup: str) -> list[PluginPart]:
    """Every element of ``markup`` marked ``data-plugin``, in document order."""
    parser = _PartsParser()
    parser.feed(markup)
    parser.close()
    return parser.parts


@dataclass
class Page:
    """A page as a signed-in user got it: its status, its HTML, and the plugins' parts on it."""

    url: str
    status: int
    html: str

    @property
    def parts(self) -> list[PluginPart]:
        """Every plugin part on the page (panels, report sections, settings rows), in order."""
        return plugin_parts(self.html)

    @property
    def plugins(self) -> list[str]:
        """The names of the plugins that have a part on the page, in order, each once."""
        return list(dict.fromkeys(part.plugin for part in self.parts))

    def plugin_parts(self, plugin: str, available: bool = True) -> list[PluginPart]:
        """The parts of ``plugin`` on the page; at least one, or :class:`AssertionError` says what is there.

        With ``available`` (the default) a part the core shows as unavailable
        fails the assertion too: the plugin raised or returned the wrong type,
        and the traceback is in the log (pytest shows it under "Captured log").
        """
        found = [part for part in self.parts if part.plugin == plugin]
        if not found:
            present = ", ".join(self.plugins) or "none"
            raise AssertionError(
                f"no part of plugin {plugin!r} on {self.url} (status {self.status}); "
                f"plugin parts on the page: {present}. Is the plugin installed (its entry point), "
                "loaded (crossroads_plugins), switched on for the practice, and does its hook answer "
                "for this page?"
            )
        if available and all(part.unavailable for part in found):
            raise AssertionError(
                f"plugin {plugin!r} is shown as unavailable on {self.url}: its hook raised, returned "
                "something the hook does not take, or its template failed; see the captured log"
            )
        return found

    def plugin_part(self, plugin: str) -> PluginPart:
        """The first available part of ``plugin`` on the page (see :meth:`plugin_parts`)."""
        return next(part for part in self.plugin_parts(plugin) if not part.unavailable)
