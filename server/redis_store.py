"""The store of a cluster: room definitions, live room state, chat and presence in one Redis.

Everything written is msgpack of the plain dicts from `rooms.codec` (never pickle). Keys:

- `circle:room:{id}`: the room definition (kept; it needs Redis persistence to survive a Redis restart;
  deleting a room removes it with the room's state and chat);
- `circle:state:{id}`: a hash of the live state `s`, its revision `r`, and `n`, how many people are in
  the room. Every write sets a new revision: a random token, never a counter, since a counter would
  repeat after Redis restarted empty or failed over to a replica that lagged, and a state cached
  under the repeated revision would pass for current;
- `circle:live`: ids of rooms the sweeper must look at (people in them, or chat waiting to expire);
- `circle:chat:{id}`: a Stream of chat messages, entry id `{seq}-0`, trimmed to the room's
  `max_messages`, with an expiry of the room's `retention_s` while the room is empty. A message's id
  is `chat_id(seq)`, read from the entry id (the packed message holds it too, written by the script);
  `circle:chat-seq:{id}`: the last seq, kept so that ids keep growing after the chat is wiped;
  `circle:chat-key:{id}:{sender}:{key}`: the seq a sender's keyed message got, for
  `chat_resend_window_s`, so that sending it again returns it instead of appending a copy;
  `circle:chat-deleted:{id}`: a hash of seq -> digest of each message a facilitator deleted (never
  its words), kept for `chat_resend_window_s` after the latest deletion, so that a resend under the
  deleted message's key does not bring it back;
- `circle:instance:{id}`: an instance's heartbeat, expiring after `instance_ttl_s`;
  `circle:epoch`: when this Redis (as far as Circle knows) started holding heartbeats;
- `circle:signing-key`: the resume-token key shared by instances that were given none (address hashes
  are keyed with a key derived from it);
- `circle:bans:{id}`: a sorted set of the room's banned marks (participant ids, browser key hashes,
  address hashes: never an address), each scored by when its ban ends; the key expires with its last.

State writes are optimistic: read, compute in Python, then a Lua script writes only if the revision is
still the one read, else the whole step runs again; the pure function given to `transact` may therefore
run more than once, and each run gets the state its result is written with. Appending chat cannot
conflict: one script takes the next seq and adds the entry, so `make` runs once, before the id is known
(with an empty id, which the store then replaces).

Each instance keeps the states it decoded last, by revision (`StateCache`): a read sends the revision
it holds and gets the blob back only when Redis holds another, so the many reads that find the room
unchanged (every signal reads it) cost a short reply and no decoding. Every read still asks Redis: a
cached state is never served without Redis confirming its revision is current. A chat message is checked
against the cached state and the append script confirms that revision itself (`append_checked_chat`):
one round trip per message, and a stale state comes back with the script's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

import msgpack

from rooms import ChatMessage, RoomDefinition, RoomState
from rooms.codec import (
    chat_from_dict,
    chat_to_dict,
    room_from_dict,
    room_to_dict,
    state_from_dict,
    state_to_dict,
)
from rooms.model import chat_id
from server import redis_scripts as lua
from server.redis_backend import RedisLink
from signaling.credentials import new_secret
from signaling.ports import ChatDraft, DeletedMessage, Publication, RoomGone, Unavailable

T = TypeVar("T")

PREFIX = "circle:"
LIVE = f"{PREFIX}live"
EPOCH = f"{PREFIX}epoch"
SIGNING_KEY = f"{PREFIX}signing-key"

# Optimistic writes give up after this many conflicts in a row; with the jittered pause between
# attempts, fifty members acting on one room at the same instant all get through well before it.
MAX_ATTEMPTS = 100

# Room definitions read per round trip when listing every room.
LIST_BATCH = 500

# How many rooms' decoded states an instance keeps; the least recently read go first.
STATE_CACHE_ROOMS = 256


class _Bus(Protocol):
    @property
    def hears_cluster(self) -> bool: ...

    async def close(self) -> None: ...


def _pack(value: dict[str, Any]) -> bytes:
    return bytes(msgpack.packb(value, use_bin_type=True))


def unpack(blob: bytes) -> dict[str, Any]:
    value = msgpack.unpackb(blob, raw=False)
    assert isinstance(value, dict)
    return value


# `chat_id` pads to the width the append script writes (`%016d`).
_ID_PLACEHOLDER = chat_id(0)


# -- keys (the layout in the module docstring) -------------------------------------------------------


def room_key(room_id: str) -> str:
    return f"{PREFIX}room:{room_id}"


def state_key(room_id: str) -> str:
    return f"{PREFIX}state:{room_id}"


def chat_key(room_id: str) -> str:
    return f"{PREFIX}chat:{room_id}"


def chat_deleted_key(room_id: str) -> str:
    return f"{PREFIX}chat-deleted:{room_id}"


def chat_seq_key(room_id: str) -> str:
    return f"{PREFIX}chat-seq:{room_id}"


def sent_key(room_id: str, message: ChatMessage, key: str | None) -> str:
    return f"{PREFIX}chat-key:{room_id}:{message.sender_id}:{key or ''}"


def bans_key(room_id: str) -> str:
    return f"{PREFIX}bans:{room_id}"


def instance_key(instance_id: str) -> str:
    return f"{PREFIX}instance:{instance_id}"


def _decode_message(seq: int, blob: bytes) -> ChatMessage:
    """A Stream entry's message; its id comes from the entry id (`{seq}-0`)."""
    fields = unpack(blob)
    fields["id"] = chat_id(seq)
    return chat_from_dict(fields)


def _new_revision() -> bytes:
    return os.urandom(9).hex().encode()


class StateCache:
    """Decoded room states with the revision each was read or written at, for at most `size` rooms
    (the least recently used are dropped first)."""

    def __init__(self, size: int = STATE_CACHE_ROOMS) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[bytes, RoomState]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> tuple[bytes, RoomState] | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: str, revision: bytes, state: RoomState) -> None:
        self._entries[key] = (revision, state)
        self._entries.move_to_end(key)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)


def _is_chat_id(text: str) -> bool:
    return len(text) == len(chat_id(0)) and text.isascii() and text.isdigit()


class RedisStore:
    """The `Store` of a cluster (see the module docstring for the layout)."""

    def __init__(
        self,
        link: RedisLink,
        instance_id: str,
        instance_ttl_s: float,
        *,
        resend_window_s: float,
        bus: _Bus | None = None,
        cache: StateCache | None = None,
    ) -> None:
        self._link = link
        self._instance_id = instance_id
        self._ttl_s = instance_ttl_s
        self._resend_window_s = resend_window_s
        self._bus = bus
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = {}
        self._states = cache if cache is not None else StateCache()
        link.on_recovery(self._announce)

    # -- life -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        # Announce at once (the clock beats only after start-up), but do not refuse to start while
        # Redis is away: the instance serves what it can and catches up when Redis returns.
        try:
            await self._announce()
        except Unavailable:
            pass

    async def close(self) -> None:
        if self._bus is not None:
            await self._bus.close()
        try:
            # Stopping cleanly: the survivors need not wait a TTL to know.
            await self._link.call(lambda r: r.delete(instance_key(self._instance_id)))
        except Unavailable:
            pass
        await self._link.close()

    async def ping(self) -> bool:
        """Redis answers, and this instance's subscription to the others is in place (without it,
        its members would miss what is said on other instances)."""
        try:
            answered = bool(await self._link.call(lambda r: r.ping()))
        except Unavailable:
            return False
        return answered and (self._bus is None or self._bus.hears_cluster)

    async def signing_key(self, configured: str | None) -> str:
        if configured:
            return configured
        candidate = new_secret(32)

        async def shared(r: Any) -> bytes:
            await r.set(SIGNING_KEY, candidate, nx=True)
            return bytes(await r.get(SIGNING_KEY))

        return (await self._link.call(shared)).decode()

    # -- rooms ----------------------------------------------------------------------------------------

    async def create_room(self, room: RoomDefinition) -> None:
        await self._link.call(lambda r: r.set(room_key(room.id), _pack(room_to_dict(room))))

    async def get_room(self, room_id: str) -> RoomDefinition | None:
        # Not cached: after a Redis restart without persistence every instance must agree that the
        # room is gone, rather than some serving it from memory.
        blob = await self._link.call(lambda r: r.get(room_key(room_id)))
        return room_from_dict(unpack(blob)) if blob is not None else None

    async def list_rooms(self) -> list[RoomDefinition]:
        async def every(r: Any) -> list[bytes]:
            keys = [k async for k in r.scan_iter(match=room_key("*"), count=LIST_BATCH)]
            blobs: list[bytes] = []
            for start in range(0, len(keys), LIST_BATCH):
                blobs += await r.mget(keys[start : start + LIST_BATCH])
            return blobs

        # A room deleted between the scan and the read is simply not listed.
        return [room_from_dict(unpack(blob)) for blob in await self._link.call(every) if blob is not None]

    async def update_room(self, room: RoomDefinition) -> bool:
        # Only over a room that is still there: an edit racing a deletion must not bring the room back.
        done = await self._link.call(lambda r: r.set(room_key(room.id), _pack(room_to_dict(room)), xx=True))
        return bool(done)

    async def delete_room(self, room_id: str, *, only_if_empty: bool = False) -> bool:
        keys = [
            room_key(room_id),
            state_key(room_id),
            chat_key(room_id),
            chat_seq_key(room_id),
            LIVE,
            chat_deleted_key(room_id),
            bans_key(room_id),
        ]
        gone = await self._link.script(lua.DELETE_ROOM, keys, [room_id, "1" if only_if_empty else "0"])
        if gone or not only_if_empty:
            self._states.drop(state_key(room_id))
        return bool(gone)

    async def load(self, room_id: str) -> RoomState | None:
        current = await self._read(state_key(room_id))
        return current[1] if current is not None else None

    async def _read(self, key: str) -> tuple[bytes, RoomState] | None:
        """The state's revision and the state, decoded only if it is not the one cached (None: no state)."""
        cached = self._states.get(key)
        # A revision is never empty, so without a cached state Redis always sends the blob.
        reply = await self._link.script(lua.READ_STATE, [key], [cached[0] if cached else b""])
        if reply is None:
            self._states.drop(key)
            return None
        if len(reply) == 1:
            # Redis confirmed the revision sent, which is the one of the state read from the cache
            # before the call (the cache may have changed meanwhile).
            assert cached is not None and reply[0] == cached[0]
            return cached
        current = (reply[0], state_from_dict(unpack(reply[1])))
        self._states.put(key, *current)
        return current

    async def transact(
        self, room: RoomDefinition, fn: Callable[[RoomState], tuple[RoomState, T]], now: int
    ) -> tuple[RoomState, T]:
        key = state_key(room.id)
        async with self._serial(key):
            return await self._transact(room, key, fn, now)

    async def _transact(
        self, room: RoomDefinition, key: str, fn: Callable[[RoomState], tuple[RoomState, T]], now: int
    ) -> tuple[RoomState, T]:
        for attempt in range(MAX_ATTEMPTS):
            current = await self._read(key)
            rev, old = current if current is not None else (b"", RoomState.fresh(room, now))
            new, result = fn(old)
            if new is old:
                return new, result
            people = len(new.participants) + len(new.waiting)
            new_rev = _new_revision()
            args = [rev, _pack(state_to_dict(new)), people, room.id, new.room.retention_s, new_rev]
            keys = [key, LIVE, chat_key(room.id), room_key(room.id)]
            written = await self._link.script(lua.WRITE_STATE, keys, args)
            if written == -1:
                raise RoomGone()
            if written:
                self._states.put(key, new_rev, new)
                return new, result
            await _pause(attempt)
        raise Unavailable("too many conflicting writes")

    async def live_rooms(self) -> list[str]:
        ids = await self._link.call(lambda r: r.smembers(LIVE))
        return sorted(i.decode() for i in ids)

    # -- chat -----------------------------------------------------------------------------------------

    async def append_chat(
        self,
        room_id: str,
        make: Callable[[str], ChatMessage],
        max_messages: int,
        key: str | None = None,
    ) -> ChatMessage:
        appended = await self._append_chat(room_id, make, max_messages, key, None)
        assert not isinstance(appended, _Stale)  # nothing was checked
        return appended[0]

    async def append_and_publish_chat(
        self,
        room_id: str,
        make: Callable[[str], ChatMessage],
        max_messages: int,
        key: str | None,
        publication: Publication,
    ) -> tuple[ChatMessage, bool]:
        appended = await self._append_chat(room_id, make, max_messages, key, publication)
        assert not isinstance(appended, _Stale)  # nothing was checked
        return appended

    async def append_checked_chat(
        self, room_id: str, draft: Callable[[RoomState | None], ChatDraft], key: str | None
    ) -> tuple[ChatMessage, bool]:
        # The state cached here is checked in the append script itself: one round trip, where reading
        # the room first would take two. Redis answers a stale one with the current state.
        skey = state_key(room_id)
        current = self._states.get(skey)
        confirmed = current is None
        if current is None:
            current = await self._read(skey)
        for _ in range(MAX_ATTEMPTS):
            try:
                made = draft(current[1] if current is not None else None)
            except Exception:
                if confirmed:
                    raise
                # Refused on the state cached here: only a refusal on the current state stands.
                current, confirmed = await self._read(skey), True
                continue
            expected = current[0] if current is not None else b""
            appended = await self._append_chat(
                room_id, made.make, made.max_messages, key, made.publication, (skey, expected)
            )
            if not isinstance(appended, _Stale):
                return appended
            current, confirmed = appended.current, True
            if current is None:
                self._states.drop(skey)
            else:
                self._states.put(skey, *current)
        raise Unavailable("too many conflicting writes")

    async def _append_chat(
        self,
        room_id: str,
        make: Callable[[str], ChatMessage],
        max_messages: int,
        key: str | None,
        publication: Publication | None,
        checked: tuple[str, bytes] | None = None,
    ) -> tuple[ChatMessage, bool] | _Stale:
        # One script call that cannot conflict, so no retries and no queueing behind this
        # instance's other appends to the room; unless `checked` (the state's key and the revision
        # the message was checked against) no longer holds, when the current state is returned.
        message = make("")
        fields = chat_to_dict(message)
        # Last, so that it is the packed message's last bytes, for the script to overwrite.
        del fields["id"]
        fields["id"] = _ID_PLACEHOLDER
        keys = [
            chat_seq_key(room_id),
            chat_key(room_id),
            sent_key(room_id, message, key),
            chat_deleted_key(room_id),
            checked[0] if checked is not None else state_key(room_id),
        ]
        lifetime_ms = max(1, int(self._resend_window_s * 1000)) if key is not None else 0
        # The bus's message goes out in the same script: one round trip for the append and the publish.
        channels: tuple[str, ...] = ()
        packed = b""
        publishing = publication is not None and publication.packed.endswith(_ID_PLACEHOLDER.encode())
        if publication is not None and publishing:
            channels, packed = publication.channels, publication.packed
        expected = checked[1] if checked is not None else b"-"
        args = [max_messages, _pack(fields), lifetime_ms, len(channels), packed, expected, *channels]
        reply = await self._link.script(lua.APPEND_CHAT, keys, args)
        seq = int(reply[0])
        if seq < 0:
            return _Stale((reply[1], state_from_dict(unpack(reply[2]))) if len(reply) > 1 else None)
        if len(reply) > 1 and isinstance(reply[1], bytes):
            return _decode_message(seq, reply[1]), False  # a repeat: nothing was published
        if len(reply) > 1 and reply[1] is None:
            raise DeletedMessage(chat_id(seq))
        return replace(message, id=chat_id(seq)), publishing and len(reply) == 1

    async def chat_after(self, room_id: str, after: str | None) -> list[ChatMessage]:
        key = chat_key(room_id)
        if after is not None and _is_chat_id(after):
            # Entries are `{seq}-0`, so `{seq}-1` is the first id after message `seq`.
            start = f"{int(after)}-1"
            entries = await self._link.call(lambda r: r.xrange(key, min=start))
            return [self._message(e) for e in entries]
        entries = await self._link.call(lambda r: r.xrange(key))
        messages = [self._message(e) for e in entries]
        return [m for m in messages if after is None or m.id > after]

    async def recent_chat(self, room_id: str, limit: int) -> list[ChatMessage]:
        if limit <= 0:
            return []
        entries = await self._link.call(lambda r: r.xrevrange(chat_key(room_id), count=limit))
        return [self._message(e) for e in reversed(entries)]

    async def delete_chat(self, room_id: str, message_id: str, viewer: str) -> ChatMessage | None:
        if not _is_chat_id(message_id):
            return None
        entry = f"{int(message_id)}-0"
        key = chat_key(room_id)
        found = await self._link.call(lambda r: r.xrange(key, min=entry, max=entry))
        # Read first, to ask who may see it here, by the rules' own `visible_to`: a message never
        # changes once written, so nothing can come between the reading and the deleting.
        if not found or not (message := self._message(found[0])).visible_to(viewer):
            return None
        window_ms = max(1, int(self._resend_window_s * 1000))
        keys = [key, chat_deleted_key(room_id)]
        deleted = await self._link.script(lua.DELETE_CHAT, keys, [int(message_id), window_ms])
        return message if deleted else None

    async def clear_chat(self, room_id: str) -> None:
        keys = [state_key(room_id), chat_key(room_id), LIVE, chat_deleted_key(room_id)]
        await self._link.script(lua.CLEAR_CHAT, keys, [room_id])

    # -- presence -------------------------------------------------------------------------------------

    async def heartbeat(self, instance_id: str, ttl_s: float) -> None:
        keys = [instance_key(instance_id), EPOCH]
        await self._link.script(lua.HEARTBEAT, keys, [max(1, int(ttl_s * 1000))])

    async def dead_instances(self, instances: Iterable[str]) -> frozenset[str]:
        names = sorted(set(instances))
        if not names:
            return frozenset()
        # This instance could not see Redis a moment ago, so neither, perhaps, could the others:
        # give each a full TTL to beat again before taking its silence for death.
        recovered = self._link.recovered_at
        if recovered is not None and time.monotonic() - recovered < self._ttl_s:
            return frozenset()
        keys = [EPOCH, *(instance_key(n) for n in names)]
        ttl_ms = int(self._ttl_s * 1000)
        dead = await self._link.script(lua.DEAD_INSTANCES, keys, [ttl_ms])
        return frozenset(names[int(i) - 1] for i in dead)

    # -- bans ---------------------------------------------------------------------------------------

    async def add_bans(self, room_id: str, marks: Iterable[str], ttl_s: float) -> None:
        marks = sorted(set(marks))
        if marks:
            ttl_ms = max(1, int(ttl_s * 1000))
            await self._link.script(lua.ADD_BANS, [bans_key(room_id)], [ttl_ms, *marks])

    async def banned(self, room_id: str, marks: Iterable[str]) -> frozenset[str]:
        marks = sorted(set(marks))
        if not marks:
            return frozenset()
        held = await self._link.script(lua.BANNED, [bans_key(room_id)], marks)
        return frozenset(m.decode() if isinstance(m, bytes) else str(m) for m in held)

    @contextlib.asynccontextmanager
    async def _serial(self, key: str) -> AsyncIterator[None]:
        """One write per key at a time from this instance. Optimistic writes stay correct without it,
        but fifty members acting at once on one instance would otherwise mostly collide with each
        other, and the retries would cost more than the waiting does."""
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        self._lock_users[key] = self._lock_users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users[key] -= 1
            if not self._lock_users[key]:
                del self._lock_users[key], self._locks[key]

    async def _announce(self) -> None:
        await self.heartbeat(self._instance_id, self._ttl_s)

    @staticmethod
    def _message(entry: tuple[bytes, dict[bytes, bytes]]) -> ChatMessage:
        return _decode_message(int(entry[0].partition(b"-")[0]), entry[1][b"m"])


@dataclass(frozen=True, slots=True)
class _Stale:
    """What a checked append found instead: the room's current revision and state (None: no state)."""

    current: tuple[bytes, RoomState] | None


async def _pause(attempt: int) -> None:
    """A short random pause between conflicting attempts, so that writers spread out."""
    await asyncio.sleep(random.uniform(0, min(0.02, 0.0005 * 2**attempt)))
