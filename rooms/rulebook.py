"""Which rule handles each kind of command.

Each rule module fills its own rulebook and `rooms.rules` gathers them into the one that `apply` reads,
so a rule module never imports the module that dispatches to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from rooms.events import Outcome
from rooms.model import RoomState

C = TypeVar("C")
RuleFor = Callable[[RoomState, C, int], tuple[RoomState, Outcome]]
Rule = RuleFor[Any]


class Rulebook:
    """The rule for each command type, each registered with `@book.rule(CommandType)`.

    A rulebook built from others starts with all of their rules.
    """

    def __init__(self, *included: Rulebook) -> None:
        self._rules: dict[type, Rule] = {}
        for book in included:
            for kind, fn in book._rules.items():
                self._add(kind, fn)

    def rule(self, kind: type[C]) -> Callable[[RuleFor[C]], RuleFor[C]]:
        """Register the decorated function as the rule for commands of type `kind`."""

        def register(fn: RuleFor[C]) -> RuleFor[C]:
            self._add(kind, fn)
            return fn

        return register

    def rule_for(self, kind: type) -> Rule:
        """The rule for commands of type `kind`; `KeyError` if there is none."""
        return self._rules[kind]

    def _add(self, kind: type, fn: Rule) -> None:
        # With rules spread over modules, a second rule for one command would otherwise replace the first
        # depending only on import order.
        if kind in self._rules:
            raise ValueError(f"{kind.__name__} already has a rule")
        self._rules[kind] = fn
