"""How the terminal names people: by the name they gave, told apart when two share it.

The first person called Ana is "Ana", the next "Ana (2)", then "Ana (3)"; while two are present the
first shows as "Ana (1)". A number stays with its person for as long as the terminal runs and is
never given to anyone else, so a command typed for "Ana (2)" cannot reach another Ana because the
first one left or a third arrived meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Lookup:
    """What a name typed at the start of a line found.

    `id` is the person and `rest` the text after their name; with no `id`, `choices` holds the
    labels of everyone the name could mean (empty when it matched nobody).
    """

    id: str | None
    rest: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Numbered:
    name: str
    number: int


class Names:
    """Labels for the people a terminal has seen, and finding people by them."""

    def __init__(self) -> None:
        self._people: dict[str, _Numbered] = {}
        self._last_number: dict[str, int] = {}
        self._taken: set[str] = set()

    def _numbered(self, pid: str, name: str) -> _Numbered:
        known = self._people.get(pid)
        if known is not None:
            return known
        base = name.casefold()
        number = self._last_number.get(base, 0)
        while True:
            number += 1
            forms = {_form(name, number)} | ({f"{name} (1)".casefold()} if number == 1 else set())
            if not forms & self._taken:
                break
        self._last_number[base] = number
        self._taken |= forms
        self._people[pid] = _Numbered(name, number)
        return self._people[pid]

    def label(self, pid: str, name: str, present: Mapping[str, str] | None = None) -> str:
        """How to show `pid` called `name`, given who is `present` (id → name, in the order they came).

        Names are taken as given: make them safe to print first.
        """
        present = present or {}
        for other, other_name in present.items():
            self._numbered(other, other_name)
        me = self._numbered(pid, name)
        if me.number == 1:
            shared = any(
                other != pid and other_name.casefold() == name.casefold()
                for other, other_name in present.items()
            )
            return f"{name} (1)" if shared else name
        return f"{name} ({me.number})"

    def find(self, text: str, people: Mapping[str, str], present: Mapping[str, str]) -> Lookup:
        """The person among `people` (id → name) whose name or label starts `text`.

        Names may hold spaces, so the longest match wins, and a label over a plain name as long.
        A plain name that two people share finds nobody, with both their labels as the choices.
        """
        matches: list[tuple[int, bool, str]] = []
        for pid, name in people.items():
            me = self._numbered(pid, name)
            labels = {self.label(pid, name, present)}
            if me.number == 1:
                labels.add(f"{name} (1)")
            for form, is_label in [*((label, True) for label in labels), (name, False)]:
                if _starts(text, form):
                    matches.append((len(form), is_label, pid))
        if not matches:
            return Lookup(None)
        length, is_label, _ = max(matches)
        best = {pid for n, kind, pid in matches if (n, kind) == (length, is_label)}
        if len(best) > 1:
            order = sorted(best, key=lambda pid: self._people[pid].number)
            return Lookup(None, choices=tuple(self.label(pid, people[pid], present) for pid in order))
        (pid,) = best
        return Lookup(pid, text[length:].strip())


def _form(name: str, number: int) -> str:
    return (name if number == 1 else f"{name} ({number})").casefold()


def _starts(text: str, form: str) -> bool:
    return text[: len(form)].casefold() == form.casefold() and text[len(form) : len(form) + 1] in ("", " ")


def lookup_problem(lookup: Lookup, usage: str) -> str:
    """What to say when a typed name found nobody (`usage`), or several people."""
    if lookup.choices:
        return f"More than one person here has that name; type {' or '.join(lookup.choices)}."
    return usage
