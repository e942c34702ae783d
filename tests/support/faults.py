"""Faults injected into real components: a real store whose calls fail on demand, as Redis's do when
it goes away or as a bug would, without taking the rest of the server down with it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from server.memory_bus import MemoryBus
from signaling.ports import GapHandler, Screen, Store


class FaultyStore:
    """Wraps a real store; after `fail(method, exc)`, every call of that method raises `exc`, until
    `heal()`. Each failed call is counted in `failed`."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._faults: dict[str, BaseException] = {}
        self.failed: dict[str, int] = {}

    def fail(self, method: str, exc: BaseException) -> None:
        self._faults[method] = exc

    def heal(self) -> None:
        self._faults.clear()

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._store, name)
        if not callable(real):
            return real

        async def call(*args: Any, **kwargs: Any) -> Any:
            fault = self._faults.get(name)
            if fault is not None:
                self.failed[name] = self.failed.get(name, 0) + 1
                raise fault
            result: Callable[..., Awaitable[Any]] = real
            return await result(*args, **kwargs)

        return call


class GapBus(MemoryBus):
    """The single-instance bus, on which a test can declare that the instance could not hear the
    others since some time (`gap`), as the Redis bus reports after its subscription broke. Like the
    Redis bus, it asks signalling's screen before delivering an emit, except one meant for this
    instance only (`ignore_queue`)."""

    def __init__(self) -> None:
        super().__init__()
        self._gap_handlers: list[GapHandler] = []
        self._screens: list[Screen] = []

    def on_gap(self, handler: GapHandler) -> None:
        self._gap_handlers.append(handler)

    def screen(self, deliver: Screen) -> None:
        self._screens.append(deliver)

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None, **kwargs: Any) -> Any:
        if not kwargs.pop("ignore_queue", False) and not all(s(event, data) for s in self._screens):
            return None
        return await super().emit(event, data, namespace, room=room, **kwargs)

    async def gap(self, since: float) -> None:
        """Report a gap since `since` (Unix seconds) and wait until signalling has made good."""
        for handler in self._gap_handlers:
            await handler(since)
