"""Faults injected into real components: a store whose writes fail on demand, as Redis's do when it
goes away, without taking the rest of the server down with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from rooms import RoomDefinition, RoomState
from signaling.ports import Store, Unavailable

T = TypeVar("T")


class FailingWrites:
    """Wraps a real store; while `failing` is set, every state change raises `Unavailable`."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.failing = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def transact(
        self, room: RoomDefinition, fn: Callable[[RoomState], tuple[RoomState, T]], now: int
    ) -> tuple[RoomState, T]:
        if self.failing:
            raise Unavailable("writes are failing")
        return await self._store.transact(room, fn, now)
