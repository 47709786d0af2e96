"""Reading an incoming email's headers without trusting them: one line each, never an exception.

The standard library's modern parser raises on some hostile values (an encoded word that
decodes to a line break inside an address); these read the raw value instead and decode it
as text, with every control character turned into a space.
"""

from __future__ import annotations

from email.header import decode_header, make_header
from email.message import Message

from ..mail.compose import one_line


def _decoded(raw: str) -> str:
    try:
        return str(make_header(decode_header(raw)))
    except (LookupError, ValueError, UnicodeError):
        return raw


def header_values(message: Message, name: str) -> list[str]:
    """Every value of header ``name``, decoded, each on one line."""
    wanted = name.lower()
    raw_items = message.raw_items() if hasattr(message, "raw_items") else message.items()
    return [one_line(_decoded(str(value))) for key, value in raw_items if key.lower() == wanted]


def header(message: Message, name: str) -> str:
    """The first value of header ``name``, decoded, on one line; "" when absent."""
    values = header_values(message, name)
    return values[0] if values else ""
