"""Faults injected into real components: a real store whose calls fail on demand, as Redis's do when
it goes away or as a bug would, without taking the rest of the server down with it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from signaling.ports import Store


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
