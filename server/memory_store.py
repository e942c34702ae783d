"""The single-instance store: live state and chat in this process; room definitions, bans and the
server's secret in SQLite (`server.roomdb`), so that links work and bans hold after a restart."""

from __future__ import annotations

import hashlib
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
from signaling.ports import ChatDraft, DeletedMessage, Publication, RoomGone

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
        # Per room, the last message's number: ids tell nothing of other rooms. Kept when the chat
        # is cleared, so that ids after it still sort after those a client may hold.
        self._seq: dict[str, int] = {}
        # Per room, deleted message id -> (when, digest of what it said), oldest first: what a resend
        # under its key must not bring back. Kept no longer than a key is.
        self._deleted: dict[str, OrderedDict[str, tuple[float, str]]] = {}

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

    async def list_rooms(self) -> list[RoomDefinition]:
        return self.db.all()

    async def update_room(self, room: RoomDefinition) -> bool:
        if self.db.get(room.id) is None:
            return False
        self.db.put(room)
        return True

    async def delete_room(self, room_id: str, *, only_if_empty: bool = False) -> bool:
        state = self._states.get(room_id)
        if only_if_empty and state is not None and not state.is_empty:
            return False
        self._states.pop(room_id, None)
        await self.clear_chat(room_id)
        return self.db.delete(room_id)

    async def load(self, room_id: str) -> RoomState | None:
        return self._states.get(room_id)

    async def transact(
        self, room: RoomDefinition, fn: Callable[[RoomState], tuple[RoomState, T]], now: int
    ) -> tuple[RoomState, T]:
        # No await between read and write: the event loop makes this atomic.
        current = self._states.get(room.id)
        old = current or RoomState.fresh(room, now)
        new, result = fn(old)
        if new is not old:
            # A meeting starts only in a room that exists: a deletion may have overtaken the command.
            if current is None and self.db.get(room.id) is None:
                raise RoomGone()
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
        deleted = self._deleted.setdefault(room_id, OrderedDict())
        now = time.monotonic()
        for remembered in (sent, deleted):
            while remembered and next(iter(remembered.values()))[0] < now - self._resend_window_s:
                remembered.popitem(last=False)
        message = make("")
        if key is not None:
            key = f"{message.sender_id} {key}"
            if key in sent:
                earlier_id = sent[key][1]
                earlier = next((m for m in reversed(log) if m.id == earlier_id), None)
                if earlier is not None and (earlier.text, earlier.to) == (message.text, message.to):
                    return earlier
                gone = deleted.get(earlier_id)
                if earlier is None and gone is not None and gone[1] == _digest(message):
                    raise DeletedMessage(earlier_id)
        seq = self._seq[room_id] = self._seq.get(room_id, 0) + 1
        message = replace(message, id=chat_id(seq))
        log.append(message)
        if key is not None:
            sent[key] = (now, message.id)
            # A key can only find a message that is still retained.
            while len(sent) > max_messages:
                sent.popitem(last=False)
        return message

    async def append_and_publish_chat(
        self,
        room_id: str,
        make: Callable[[str], ChatMessage],
        max_messages: int,
        key: str | None,
        publication: Publication,
    ) -> tuple[ChatMessage, bool]:
        # Nothing to publish to: every socket is on this instance, and the emit reaches them.
        return await self.append_chat(room_id, make, max_messages, key), False

    async def append_checked_chat(
        self, room_id: str, draft: Callable[[RoomState | None], ChatDraft], key: str | None
    ) -> tuple[ChatMessage, bool]:
        # No await between the read and the append: the event loop makes this one step.
        made = draft(self._states.get(room_id))
        return await self.append_chat(room_id, made.make, made.max_messages, key), False

    async def chat_after(self, room_id: str, after: str | None) -> list[ChatMessage]:
        log = self._chat.get(room_id, ())
        return [m for m in log if after is None or m.id > after]

    async def recent_chat(self, room_id: str, limit: int) -> list[ChatMessage]:
        log = self._chat.get(room_id, ())
        return list(log)[-limit:] if limit else []

    async def delete_chat(self, room_id: str, message_id: str, viewer: str) -> ChatMessage | None:
        log = self._chat.get(room_id)
        message = next((m for m in log if m.id == message_id), None) if log is not None else None
        if log is None or message is None or not message.visible_to(viewer):
            return None
        log.remove(message)
        deleted = self._deleted.setdefault(room_id, OrderedDict())
        deleted[message.id] = (time.monotonic(), _digest(message))
        return message

    async def clear_chat(self, room_id: str) -> None:
        self._chat.pop(room_id, None)
        self._sent.pop(room_id, None)
        self._deleted.pop(room_id, None)

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


def _digest(message: ChatMessage) -> str:
    """What a message said, to recognise it sent again, without keeping the words of one deleted."""
    return hashlib.sha1(f"{message.text}\0{message.to or ''}".encode()).hexdigest()
