"""What people may type into a room: text that every page can show as it was written."""

from __future__ import annotations

import unicodedata


def has_control_characters(text: str, *, newlines: bool) -> bool:
    """Whether `text` holds control characters (line breaks and tabs allowed with `newlines`)."""
    allowed = "\n\t" if newlines else ""
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)
