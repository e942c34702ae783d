"""Text as people type it into a room: valid Unicode everywhere, and display names that show as they
were written and cannot pass for a role.

Every text field must be encodable as UTF-8: a lone surrogate ("\\ud800") would be kept in memory and
then fail in every encoder after it (msgpack for Redis, a browser's TextDecoder).

A display name (`display_name`)
- is NFKC-normalised, so that full-width "Ｈｏｓｔ", ligatures and other compatibility forms are the
  plain letters they show as, and each run of white space becomes one space;
- holds no character that changes how the text around it shows without showing itself: the
  bidirectional controls ("\\u202eHost" shows reversed), zero-width spaces, soft hyphens and every
  other format character, and fillers that print as nothing. A zero-width joiner or non-joiner is
  kept between two characters of scripts that need it (emoji sequences, Arabic, Persian, Indic
  scripts), never next to a Latin, Greek or Cyrillic letter, where it only hides;
- holds at least one letter, digit or symbol;
- does not pose as a role. The page shows who facilitates next to their name; a name that says so
  itself would pass for it. A name is refused when it is a role word ("Host", "Facilitator"), holds
  one in brackets ("Sam (host)", "[Moderator] Sam"), or has one as a part of its own between
  separators ("Sam - host", "Host | Sam"). A role word within an ordinary name is fine ("Mary Host",
  "Hosteen", "Moderato"). Letters of other scripts that look like Latin ones count as those letters
  here ("Hоst" with a Cyrillic "о").
"""

from __future__ import annotations

import re
import unicodedata

ROLE_WORDS = frozenset(
    {
        "host",
        "cohost",
        "facilitator",
        "cofacilitator",
        "moderator",
        "mod",
        "admin",
        "administrator",
        "organiser",
        "organizer",
        "staff",
        "system",
    }
)
"""Words a name may not pose with (compared without case, hyphens or spaces: "Co-Host" is "cohost")."""

_ZERO_WIDTH_JOINERS = frozenset("\u200c\u200d")
# Letters that print as nothing (Unicode gives them category Lo or So, not a format category).
_BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
_BRACKETED = re.compile(r"[(\[{<«‹「『【〔〈《]([^)\]}>»›」』】〕〉》]*)[)\]}>»›」』】〕〉》]?")
_SEPARATORS = re.compile(r"[-‐‑‒–—―|:/\\,;•·~_+*=]+")
_WORD = re.compile(r"[^\W_]+")
# Letters of Cyrillic and Greek that look like Latin ones, for finding role words only: capitals
# first (Greek "Η" is an "H", though its small letter "η" looks like an "n"), then small letters.
_CAPITAL_LOOKALIKES = str.maketrans(
    {
        **dict.fromkeys("АΑ", "A"),
        **dict.fromkeys("ВΒ", "B"),
        **dict.fromkeys("СϹ", "C"),
        **dict.fromkeys("ЕΕЁ", "E"),
        **dict.fromkeys("НΗ", "H"),
        **dict.fromkeys("ІΙЇ", "I"),
        **dict.fromkeys("Ј", "J"),
        **dict.fromkeys("КΚ", "K"),
        **dict.fromkeys("МΜ", "M"),
        **dict.fromkeys("Ν", "N"),
        **dict.fromkeys("ОΟ", "O"),
        **dict.fromkeys("РΡ", "P"),
        **dict.fromkeys("Ѕ", "S"),
        **dict.fromkeys("ТΤ", "T"),
        **dict.fromkeys("ХΧ", "X"),
        **dict.fromkeys("УΥ", "Y"),
        **dict.fromkeys("Ζ", "Z"),
    }
)
_LOOKALIKES = str.maketrans(
    {
        **dict.fromkeys("аαа", "a"),
        **dict.fromkeys("вβ", "b"),
        **dict.fromkeys("сϲ", "c"),
        **dict.fromkeys("ԁ", "d"),
        **dict.fromkeys("еεё", "e"),
        **dict.fromkeys("һн", "h"),
        **dict.fromkeys("іιї", "i"),
        **dict.fromkeys("ј", "j"),
        **dict.fromkeys("кκ", "k"),
        **dict.fromkeys("мμ", "m"),
        **dict.fromkeys("ηп", "n"),
        **dict.fromkeys("оο", "o"),
        **dict.fromkeys("рρ", "p"),
        **dict.fromkeys("ѕ", "s"),
        **dict.fromkeys("тτ", "t"),
        **dict.fromkeys("υ", "u"),
        **dict.fromkeys("νѵ", "v"),
        **dict.fromkeys("хχ", "x"),
        **dict.fromkeys("уγ", "y"),
    }
)


def encodable(text: str) -> bool:
    """Whether `text` is valid Unicode (holds no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def normalise_name(name: str) -> str:
    """`name` in NFKC, trimmed, each run of white space one space."""
    return " ".join(unicodedata.normalize("NFKC", name).split())


def name_problem(name: str) -> str | None:
    """Why a normalised display name is refused (a phrase completing "The name …"), or None."""
    for i, ch in enumerate(name):
        if ch in _BLANKS:
            return "holds a character that shows as nothing"
        if unicodedata.category(ch) == "Cf" and not _joins(name, i):
            return "holds an invisible or direction-changing character"
    if not any(unicodedata.category(ch)[0] in "LNS" for ch in name):
        return "needs at least one letter, digit or symbol"
    if _poses_as_role(name):
        return "may not name a role: the page shows who facilitates"
    return None


def _joins(name: str, i: int) -> bool:
    """Whether the character at `i` is a joiner between two characters of scripts that use one."""
    if name[i] not in _ZERO_WIDTH_JOINERS or i == 0 or i == len(name) - 1:
        return False
    return all(_takes_joiner(ch) for ch in (name[i - 1], name[i + 1]))


def _takes_joiner(ch: str) -> bool:
    if ch.isspace() or unicodedata.category(ch) == "Cf" or ch.isascii():
        return False
    return not unicodedata.name(ch, "").startswith(("LATIN", "GREEK", "CYRILLIC"))


def _is_role(text: str) -> bool:
    words = _WORD.findall(text)
    return bool(words) and "".join(words) in ROLE_WORDS


def _poses_as_role(name: str) -> bool:
    plain = name.translate(_CAPITAL_LOOKALIKES).casefold().translate(_LOOKALIKES)
    if any(
        _is_role(inside) or any(w in ROLE_WORDS for w in _WORD.findall(inside))
        for inside in _BRACKETED.findall(plain)
    ):
        return True
    outside = _BRACKETED.sub(" ", plain)
    return any(_is_role(part) for part in _SEPARATORS.split(outside))
