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
  connection that silently died (a half-open socket) is noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import msgpack
from socketio.async_pubsub_manager import AsyncPubSubManager

from server.redis_backend import Backoff, RedisLink
from server.store import StoreUnavailable

log = logging.getLogger("circle.redis")

CHANNEL = "circle:bus"
OUTBOX_MAX_MESSAGES = 10_000
OUTBOX_MAX_AGE_S = 60.0


def encode(message: dict[str, Any]) -> bytes:
    return bytes(msgpack.packb(message, use_bin_type=True))


def decode(payload: bytes) -> dict[str, Any] | None:
    try:
        message = msgpack.unpackb(payload, raw=False)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
        return None
    return message if isinstance(message, dict) else None


class RedisBus(AsyncPubSubManager):  # type: ignore[misc]
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
        link.on_recovery(self.flush)

    # -- publishing -----------------------------------------------------------------------------------

    async def _publish(self, data: dict[str, Any]) -> None:
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
        while True:
            pubsub = self._link.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await asyncio.wait_for(pubsub.subscribe(self.channel), self._link.timeout_s)
                backoff.reset()
                self.subscribed.set()
                self._link.succeeded()
                async for message in self._messages(pubsub):
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Not a verdict on Redis for the whole instance: the store's own calls decide that.
                self.subscribed.clear()
                delay = backoff.next()
                log.warning("bus subscription lost (%s); retrying in %.1fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

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

    async def close(self) -> None:
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
            with contextlib.suppress(BaseException):
                await thread
