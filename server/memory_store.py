"""The single-instance store: live state and chat in this process; room definitions, bans and the
server's secret in SQLite (`server.roomdb`), so that links work and bans hold after a restart."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from rooms import ChatMessage, RoomDefinition, RoomState
from rooms.model import chat_id
from server.roomdb import RoomDB
from signaling.credentials import new_secret

T = TypeVar("T")


class MemoryStore:
    """The `Store` of one instance. A chat `key` is remembered for `resend_window_s`."""

    def __init__(self, data_dir: Path, resend_window_s: float) -> None:
        self._data_dir = data_dir
        self._resend_window_s = resend_window_s
        self._db: RoomDB | None = None
        self._states: dict[str, RoomState] = {}
        self._chat: dict[str, deque[ChatMessage]] = {}
        # Per room, "sender key" -> (when, message id), oldest first.
        self._sent: dict[str, OrderedDict[str, tuple[float, str]]] = {}
        self._seq = 0

    async def start(self) -> None:
        self._db = RoomDB(self._data_dir)

    async def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    async def ping(self) -> bool:
        return True

    @property
    def db(self) -> RoomDB:
        if self._db is None:
            raise RuntimeError("store not started")
        return self._db

    async def signing_key(self, configured: str | None) -> str:
        # Kept on disk when not configured: address hashes (and so bans by address) must match after a
        # restart, as they do across the instances of a cluster.
        return configured or self.db.secret("signing-key", new_secret(32))

    async def create_room(self, room: RoomDefinition) -> None:
        self.db.put(room)

    async def get_room(self, room_id: str) -> RoomDefinition | None:
        return self.db.get(room_id)

    async def load(self, room_id: str) -> RoomState | None:
        return self._states.get(room_id)

    async def transact(
        self, room: RoomDefinition, fn: Callable[[RoomState], tuple[RoomState, T]], now: int
    ) -> tuple[RoomState, T]:
        # No await between read and write: the event loop makes this atomic.
        old = self._states.get(room.id) or RoomState.fresh(room, now)
        new, result = fn(old)
        if new is not old:
            self._states[room.id] = new
        return new, result

    async def live_rooms(self) -> list[str]:
        return list(self._states)

    async def append_chat(
        self,
        room_id: str,
        make: Callable[[str], ChatMessage],
        max_messages: int,
        key: str | None = None,
    ) -> ChatMessage:
        log = self._chat.get(room_id)
        if log is None or log.maxlen != max_messages:
            log = self._chat[room_id] = deque(log or (), maxlen=max_messages)
        sent = self._sent.setdefault(room_id, OrderedDict())
        now = time.monotonic()
        while sent and next(iter(sent.values()))[0] < now - self._resend_window_s:
            sent.popitem(last=False)
        message = make("")
        if key is not None:
            key = f"{message.sender_id} {key}"
            if key in sent:
                earlier = next((m for m in reversed(log) if m.id == sent[key][1]), None)
                if earlier is not None and (earlier.text, earlier.to) == (message.text, message.to):
                    return earlier
        self._seq += 1
        message = replace(message, id=chat_id(self._seq))
        log.append(message)
        if key is not None:
            sent[key] = (now, message.id)
            # A key can only find a message that is still retained.
            while len(sent) > max_messages:
                sent.popitem(last=False)
        return message

    async def chat_after(self, room_id: str, after: str | None) -> list[ChatMessage]:
        log = self._chat.get(room_id, ())
        return [m for m in log if after is None or m.id > after]

    async def recent_chat(self, room_id: str, limit: int) -> list[ChatMessage]:
        log = self._chat.get(room_id, ())
        return list(log)[-limit:] if limit else []

    async def clear_chat(self, room_id: str) -> None:
        self._chat.pop(room_id, None)
        self._sent.pop(room_id, None)

    async def heartbeat(self, instance_id: str, ttl_s: float) -> None:
        return None

    async def dead_instances(self, instances: Iterable[str]) -> frozenset[str]:
        return frozenset()

    async def add_bans(self, room_id: str, marks: Iterable[str], ttl_s: float) -> None:
        now_ms = _wall_ms()
        self.db.add_bans(room_id, marks, now_ms + int(ttl_s * 1000), now_ms)

    async def banned(self, room_id: str, marks: Iterable[str]) -> frozenset[str]:
        return self.db.banned(room_id, marks, _wall_ms())


def _wall_ms() -> int:
    # Bans outlast the process, so they are timed by the wall clock, not a monotonic one.
    return int(time.time() * 1000)
