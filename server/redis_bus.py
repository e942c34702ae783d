"""The socket.io client manager of a cluster: emits reach sockets on every instance through Redis pub/sub.

python-socketio's pub/sub manager does the socket.io side; this class only moves its messages, as
msgpack (never pickle), and decides what happens when Redis is away:

- a publish that fails raises `StoreUnavailable`, so the event's sender is answered `unavailable`
  (the members on this instance have the event already: the manager delivers locally first);
- the failed message is kept, in order, and published when Redis answers again, so members on other
  instances get it late rather than never. Events named in `stale_events` are not kept (a relayed
  WebRTC offer is worthless later). Kept messages older than `OUTBOX_MAX_AGE_S` are dropped: by then
  a member has reconnected and fetched the chat history;
- the subscription is re-established with a capped backoff, and watched with pings, so that a
  connection that silently died (a half-open socket) is noticed;
- pub/sub keeps nothing for a subscriber that is away, so after a gap in the subscription the chat
  said meanwhile is read back from the rooms' chat logs and delivered to this instance's members, and
  each of their rooms is sent as it is now (`room:sync`), for the joins, leaves and hands missed.
  A chat message is delivered to an instance's sockets once, however it arrives (live, replayed,
  or read back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgpack
from socketio.async_pubsub_manager import AsyncPubSubManager

from rooms import ChatMessage
from rooms.model import chat_id
from server.redis_backend import Backoff, RedisLink
from server.store import StoreUnavailable
from signaling.fastpath import BroadcastOnce

log = logging.getLogger("circle.redis")

CHANNEL = "circle:bus"
OUTBOX_MAX_MESSAGES = 10_000
OUTBOX_MAX_AGE_S = 60.0
CHAT_EVENT = "chat:message"
# How many delivered chat messages are remembered to drop a second copy; far more than a gap holds.
REMEMBERED_CHAT = 5_000
# Read back chat this much older than the moment the subscription was found lost: the time it took
# to notice, and clocks of different machines that disagree a little.
GAP_MARGIN_S = 2.0

History = Callable[[str], Awaitable[list[ChatMessage]]]
RoomNow = Callable[[str], Awaitable[dict[str, Any] | None]]
ChatKey = tuple[str, str, int]


def encode(message: dict[str, Any]) -> bytes:
    return bytes(msgpack.packb(message, use_bin_type=True))


def decode(payload: bytes) -> dict[str, Any] | None:
    try:
        message = msgpack.unpackb(payload, raw=False)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
        return None
    return message if isinstance(message, dict) else None


class RedisBus(AsyncPubSubManager, BroadcastOnce):  # type: ignore[misc]
    name = "circle-redis"

    def __init__(
        self,
        link: RedisLink,
        *,
        channel: str = CHANNEL,
        stale_events: frozenset[str] = frozenset(),
        heartbeat_s: float = 2.0,
    ) -> None:
        super().__init__(channel=channel)
        self._link = link
        self._stale_events = stale_events
        self._ping_every_s = max(0.2, heartbeat_s)
        self._outbox: deque[tuple[float, bytes]] = deque()
        self._outbox_lock = asyncio.Lock()
        self.subscribed = asyncio.Event()
        self._wake = asyncio.Event()
        self._delivered: OrderedDict[ChatKey, None] = OrderedDict()
        # Chat the store published with its append, not to be published again by its delivery.
        self._published: OrderedDict[ChatKey, None] = OrderedDict()
        self._history: History | None = None
        self._room_now: RoomNow | None = None
        self._catching_up: set[asyncio.Task[None]] = set()
        link.on_recovery(self._redis_is_back)

    def read_chat_from(self, history: History) -> None:
        """Where to read back a room's chat after a gap: `history(room_id)`, oldest first."""
        self._history = history

    def read_rooms_from(self, room_now: RoomNow) -> None:
        """Where to read a room's present state after a gap: the `room:sync` payload, or None."""
        self._room_now = room_now

    # -- publishing -----------------------------------------------------------------------------------

    def chat_publication(self, room_id: str, message: ChatMessage) -> tuple[str, bytes] | None:
        """What the store's append publishes for `message` (see `RedisStore.append_chat`): the same bus
        message `emit` would send, packed with the message's id last, for the script to fill in. None
        while older messages wait to be published: they go first."""
        if self._outbox:
            return None
        payload = message.public()
        del payload["id"]
        payload["id"] = chat_id(0)
        audience: str | list[str] = f"room:{room_id}"
        if message.to is not None:
            audience = [f"p:{message.sender_id}", f"p:{message.to}"]
        envelope = {
            "method": "emit",
            "event": CHAT_EVENT,
            "binary": False,
            "namespace": "/",
            "room": audience,
            "skip_sid": None,
            "callback": None,
            "host_id": self.host_id,
            "data": [payload],
        }
        return self.channel, encode(envelope)

    def published(self, message: ChatMessage) -> None:
        self._published[(message.sender_id, message.id, message.at)] = None
        if len(self._published) > REMEMBERED_CHAT:
            self._published.popitem(last=False)

    def _was_published(self, data: Any) -> bool:
        try:
            chat = data[0]
            key: ChatKey = (str(chat["from"]["id"]), str(chat["id"]), int(chat["at"]))
        except (IndexError, KeyError, TypeError, ValueError):
            return False
        if key not in self._published:
            return False
        del self._published[key]
        return True

    async def _publish(self, data: dict[str, Any]) -> None:
        if self._published and data.get("event") == CHAT_EVENT and self._was_published(data.get("data")):
            return
        payload = encode(data)
        if self._outbox:
            # Keep the order: what waited goes first, and this waits behind it while Redis is away.
            async with self._outbox_lock:
                try:
                    await self._drain()
                except StoreUnavailable:
                    self._keep(data, payload)
                    raise
        try:
            await self._link.call(lambda r: r.publish(self.channel, payload))
        except StoreUnavailable:
            self._keep(data, payload)
            raise

    def _keep(self, data: dict[str, Any], payload: bytes) -> None:
        if data.get("method") == "emit" and data.get("event") in self._stale_events:
            return
        if len(self._outbox) >= OUTBOX_MAX_MESSAGES:
            self._outbox.popleft()
            log.warning("bus outbox full: dropped the oldest event")
        self._outbox.append((time.monotonic(), payload))

    @property
    def hears_cluster(self) -> bool:
        """False while this instance's sockets would miss what other instances send them."""
        return getattr(self, "thread", None) is None or self.subscribed.is_set()

    async def _redis_is_back(self) -> None:
        self._wake.set()  # resubscribe now rather than at the end of the backoff
        await self.flush()

    async def flush(self) -> None:
        """Publish what failed earlier, oldest first; stop at the first failure."""
        if not self._outbox:
            return
        async with self._outbox_lock:
            try:
                await self._drain()
            except StoreUnavailable:
                return

    async def _drain(self) -> None:
        sent = 0
        while self._outbox:
            kept_at, payload = self._outbox[0]
            if time.monotonic() - kept_at <= OUTBOX_MAX_AGE_S:
                await self._link.call(lambda r, p=payload: r.publish(self.channel, p))  # type: ignore[misc]
                sent += 1
            self._outbox.popleft()
        if sent:
            log.info("bus replayed %d events held while redis was away", sent)

    # -- listening ------------------------------------------------------------------------------------

    async def _listen(self) -> AsyncIterator[dict[str, Any]]:
        backoff = Backoff()
        gap_since: float | None = None
        while True:
            pubsub = self._link.redis.pubsub()
            try:
                await asyncio.wait_for(self._subscribe(pubsub), self._link.timeout_s)
                backoff.reset()
                self.subscribed.set()
                self._link.succeeded()
                if gap_since is not None:
                    self._catch_up(gap_since)
                    gap_since = None
                async for message in self._messages(pubsub):
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Not a verdict on Redis for the whole instance: the store's own calls decide that.
                if gap_since is None and self.subscribed.is_set():
                    noticed_after = self._ping_every_s + self._link.timeout_s
                    gap_since = time.time() - noticed_after - GAP_MARGIN_S
                self.subscribed.clear()
                delay = backoff.next()
                log.warning("bus subscription lost (%s); retrying in %.1fs", type(exc).__name__, delay)
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _subscribe(self, pubsub: Any) -> None:
        """Subscribe, and wait until Redis confirms it (a refusal only shows in its answer)."""
        await pubsub.subscribe(self.channel)
        while True:
            message = await pubsub.get_message(timeout=self._link.timeout_s)
            if message is not None and message["type"] == "subscribe":
                return

    async def _messages(self, pubsub: Any) -> AsyncIterator[dict[str, Any]]:
        """Messages from one subscription, until it stops answering pings."""
        loop = asyncio.get_running_loop()
        heard = next_ping = loop.time()
        while True:
            message = await pubsub.get_message(timeout=min(self._ping_every_s, 1.0))
            now = loop.time()
            if message is not None:
                heard = now
                if message["type"] == "message":
                    decoded = decode(message["data"])
                    if decoded is None:
                        log.warning("bus: ignored a message that is not msgpack")
                    else:
                        yield decoded
            if now >= next_ping:
                await asyncio.wait_for(pubsub.ping(), self._link.timeout_s)
                next_ping = now + self._ping_every_s
            if now - heard > self._ping_every_s + self._link.timeout_s:
                raise ConnectionError("bus subscription stopped answering")

    # -- chat across gaps -----------------------------------------------------------------------------

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("event") == CHAT_EVENT:
            data = message.get("data")
            if isinstance(data, list) and data and not self._first_delivery(data[0]):
                return
        await super()._handle_emit(message)

    def _first_delivery(self, chat: Any) -> bool:
        try:
            key: ChatKey = (str(chat["from"]["id"]), str(chat["id"]), int(chat["at"]))
        except (KeyError, TypeError, ValueError):
            return True
        if key in self._delivered:
            return False
        self._delivered[key] = None
        if len(self._delivered) > REMEMBERED_CHAT:
            self._delivered.popitem(last=False)
        return True

    def _catch_up(self, since: float) -> None:
        task = asyncio.ensure_future(self._logged(self._read_back(since)))
        self._catching_up.add(task)
        task.add_done_callback(self._catching_up.discard)

    @staticmethod
    async def _logged(work: Awaitable[None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not deliver the chat missed during a gap")

    async def _read_back(self, since: float) -> None:
        """Deliver to local sockets the chat said since `since` (Unix seconds) that they missed."""
        if self._history is None:
            return
        since_ms = int(since * 1000)
        channels = list(self.rooms.get("/", {}))
        backoff = Backoff()
        for channel in channels:
            if not isinstance(channel, str) or not channel.startswith("room:"):
                continue
            room_id = channel.removeprefix("room:")
            while True:
                try:
                    messages = await self._history(room_id)
                    break
                except StoreUnavailable:
                    await asyncio.sleep(backoff.next())
            missed = [m for m in messages if m.at >= since_ms and self._first_delivery(m.public())]
            for m in missed:
                audience: str | list[str] = channel
                if m.to is not None:
                    audience = [f"p:{m.sender_id}", f"p:{m.to}"]
                await self.emit(CHAT_EVENT, m.public(), namespace="/", room=audience, ignore_queue=True)
            if missed:
                log.info("bus delivered %d chat messages missed during a gap", len(missed))
            if self._room_now is not None:
                room = await self._room_now(room_id)
                if room is not None:
                    await self.emit("room:sync", room, namespace="/", room=channel, ignore_queue=True)

    async def close(self) -> None:
        for task in list(self._catching_up):
            task.cancel()
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
            with contextlib.suppress(BaseException):
                await thread
