"""A real socket.io client over a real socket, recording every event it receives."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import socketio


class Member:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()
        self.sio.on("*", self._record)
        self.sio.on("disconnect", self._on_disconnect)
        self.disconnected = False
        self.joined: dict[str, Any] = {}

    async def _record(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))
        self._changed.set()

    async def _on_disconnect(self, *args: Any) -> None:
        self.disconnected = True
        self._changed.set()

    async def connect(self, headers: dict[str, str] | None = None) -> Member:
        await self.sio.connect(self.url, transports=["websocket"], headers=headers or {})
        return self

    async def call(self, event: str, data: Any = None, timeout: float = 5.0) -> dict[str, Any]:
        result = await self.sio.call(event, data if data is not None else {}, timeout=timeout)
        assert isinstance(result, dict)
        return result

    async def join(self, room: str, name: str, media: str = "av", **extra: Any) -> dict[str, Any]:
        ack = await self.call("join", {"room": room, "name": name, "media": media, **extra})
        assert ack["ok"], ack
        self.joined = ack
        return ack

    @property
    def id(self) -> str:
        return str(self.joined["self"]["id"])

    def of(self, event: str) -> list[Any]:
        return [data for name, data in self.events if name == event]

    async def wait_for(
        self, event: str, predicate: Callable[[Any], bool] = lambda _: True, timeout: float = 5.0
    ) -> Any:
        async def found() -> Any:
            while True:
                for name, data in self.events:
                    if name == event and predicate(data):
                        return data
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(found(), timeout)

    async def never_got(
        self,
        event: str,
        predicate: Callable[[Any], bool] = lambda _: True,
        *,
        marker: str,
        is_marker: Callable[[Any], bool] = lambda _: True,
        timeout: float = 5.0,
    ) -> None:
        """Assert that no `event` matching `predicate` came, once `marker` (an event matching
        `is_marker`) has. The marker must be something sent to this member after whatever would
        have sent the unwanted event, on the same path, so that it cannot overtake it: then its
        arrival proves the unwanted one would be here by now, without guessing a time to wait."""
        await self.wait_for(marker, is_marker, timeout)
        unwanted = [data for data in self.of(event) if predicate(data)]
        assert not unwanted, f"{event} arrived: {unwanted}"

    async def wait_disconnected(self, timeout: float = 5.0) -> None:
        async def gone() -> None:
            while not self.disconnected:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(gone(), timeout)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


async def seated(connect: Callable[[], Awaitable[Member]], room_id: str, *names: str) -> list[Member]:
    """A newly connected member for each name, joined to the room in that order (on camera)."""
    people = [await connect() for _ in names]
    for person, name in zip(people, names, strict=True):
        await person.join(room_id, name)
    return people
