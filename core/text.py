"""Text folding for search: the same on SQLite and PostgreSQL because it happens in Python."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Letters that do not decompose into a base letter and an accent.
_SPECIAL = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i"})
_WORD = re.compile(r"[^\W_]+")


@lru_cache(maxsize=65536)  # organisations and positions repeat a great deal in an import
def fold(text: str) -> str:
    """Lowercase ``text`` and strip accents, so "Zoë Müller" is found by "zoe muller"."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_SPECIAL))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_SPECIAL)


_NOT_SLUG = re.compile(r"[\W_]+")
_APOSTROPHES = str.maketrans("", "", "'\u2019")


def slug(
    text: str, fallback: str = "", *, separator: str = "-", ascii_only: bool = False, max_length: int = 80
) -> str:
    """``text`` as a lowercase part of a file name: ``"Product & design: Q3"`` → ``"product-design-q3"``.

    Letters and digits of any alphabet stay (``"Économie sociale"`` → ``"économie-sociale"``);
    with ``ascii_only`` they are folded to ASCII first (``"Zoë's Müller"`` → ``"zoes-muller"``) and
    what has no ASCII form goes. Apostrophes vanish (``"Clara's"`` → ``"claras"``); every other
    run of anything else becomes one ``separator``. At most ``max_length`` characters, never
    starting or ending with ``separator``; ``fallback`` when nothing is left.
    """
    text = text.translate(_APOSTROPHES)
    if ascii_only:
        text = fold(text).encode("ascii", "ignore").decode()
    cut = _NOT_SLUG.sub(separator, text.lower()).strip(separator)[:max_length].strip(separator)
    return cut or fallback


def words(text: str) -> list[str]:
    """The folded words of ``text``."""
    return _WORD.findall(fold(text))


_ARTICLES = {"a", "an", "the"}
# Words spelt with a vowel that start with a consonant sound ("a university"), and the reverse ("an hour").
_VOWEL_SPELT_CONSONANT = ("uni", "use", "usu", "uti", "ure", "uro", "eu", "one", "once")
_SILENT_H = ("hour", "honest", "honor", "honour", "heir")
# Letters whose names start with a vowel sound, for acronyms read letter by letter ("an HR lead").
_VOWEL_SOUND_LETTERS = frozenset("AEFHILMNORSX")


def with_article(phrase: str) -> str:
    """``phrase`` with "a" or "an" before it: "a Systems Analyst", "an Editor", "an HR Manager".

    A phrase that already starts with an article stays as it is; an empty one stays empty.
    """
    phrase = phrase.strip()
    if not phrase:
        return ""
    first = phrase.split()[0]
    if first.lower() in _ARTICLES:
        return phrase
    letters = "".join(ch for ch in first if ch.isalpha())
    if len(letters) > 1 and letters.isupper():
        vowel_sound = letters[0] in _VOWEL_SOUND_LETTERS
    else:
        word = fold(first)
        if word.startswith(_SILENT_H):
            vowel_sound = True
        elif word.startswith(_VOWEL_SPELT_CONSONANT):
            vowel_sound = False
        else:
            vowel_sound = word[:1] in "aeiou"
    return f"{'an' if vowel_sound else 'a'} {phrase}"


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with LIKE's wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


#: Characters that let a name be read as an email address or a list of them in a header.
NAME_FORBIDDEN = frozenset('<>@,;"')
NAME_PROBLEM = 'A name cannot contain < > @ , ; " or control characters.'


#: The same characters, and every control character (Unicode's category Cc: U+0000-001F, U+007F-009F).
_NAME_REFUSED = re.compile('[<>@,;"\\x00-\\x1f\\x7f-\\x9f]')


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a person's or a practice's name, or None when it can."""
    if _NAME_REFUSED.search(name):  # one scan in C: imports check tens of thousands of names
        return NAME_PROBLEM
    return None
