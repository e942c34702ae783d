"""Telling people apart: two members called Ana are "Ana" and "Ana (2)" on every page."""

from __future__ import annotations

from collections.abc import Iterable

from rooms.model import Participant
from rooms.roster import join_order


def display_names(people: Iterable[Participant]) -> dict[str, str]:
    """The name to show for each participant id: the name itself for the first to join under it (names
    compared as a reader would, ignoring case and surrounding space), then "Name (2)", "Name (3)"…
    skipping any label someone already has as their own name. Pass everyone one page shows (the waiting
    list too, for facilitators), so that every label on it is distinct."""
    ordered = join_order(people)
    taken = {_key(p.name) for p in ordered}
    seen: set[str] = set()
    out: dict[str, str] = {}
    for p in ordered:
        name = p.name.strip()
        label, n = name, 1
        while _key(label) in seen or (n > 1 and _key(label) in taken):
            n += 1
            label = f"{name} ({n})"
        seen.add(_key(label))
        out[p.id] = label
    return out


def _key(name: str) -> str:
    return name.strip().casefold()
