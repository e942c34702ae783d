"""The bus of a cluster: the socket.io client manager whose emits reach sockets on every instance
through Redis pub/sub.

python-socketio's pub/sub manager does the socket.io side; this class only moves its messages, as
msgpack (never pickle), and decides what happens when Redis is away:

- a publish that fails raises `Unavailable`, so the event's sender is answered `unavailable`
  (the members on this instance have the event already: the manager delivers locally first);
- the failed message is kept, in order, and published when Redis answers again, so members on other
  instances get it late rather than never. Events named in `stale_events` are not kept (a relayed
  WebRTC offer is worthless later). At most `outbox_max_messages` are kept (the oldest go first), and
  those older than `outbox_max_age_s` are dropped: by then a member has reconnected and fetched the
  chat history;
- an emit that announces a write can go out with it instead (`publication`: the store's chat append
  publishes it in the same script), unless earlier messages wait in the outbox. It goes only to the
  instances where its audience may be (each instance also listens on a channel of its own), so that
  a room whose people are all on one instance costs Redis and the other instances nothing;
- the subscription (`server.resp.Subscription`: every message of the cluster passes through it) is
  re-established with a capped backoff, and watched with pings, so that a connection that silently
  died (a half-open socket) is noticed;
- besides socket.io's messages it carries notices from one instance to another (on that instance's
  own channel) or to all (`notify`), heard in order by whoever listens (`on_notice`) and never kept
  for later;
- pub/sub keeps nothing for a subscriber that is away, so after a gap in the subscription the bus
  reports it (`on_gap`), with the time since when this instance may have missed something, and
  signalling makes good what its members missed. What signalling screens out (`screen`) is not
  delivered here: a message that arrives both live and read back is delivered once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Collection
from typing import Any

import msgpack
from socketio.async_pubsub_manager import AsyncPubSubManager

from server.redis_backend import Backoff, RedisLink
from server.resp import Subscription
from signaling.fastpath import BroadcastOnce
from signaling.ports import GapHandler, NoticeHandler, Publication, Screen, Unavailable

log = logging.getLogger("circle.redis")

CHANNEL = "circle:bus"
NOTICE = "circle:notice"
"""The `method` of a notice between instances (socket.io's own messages have theirs)."""


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
        outbox_max_messages: int,
        outbox_max_age_s: float,
        channel: str = CHANNEL,
        stale_events: frozenset[str] = frozenset(),
        heartbeat_s: float = 2.0,
        instance_id: str = "",
    ) -> None:
        super().__init__(channel=channel)
        self._instance_id = instance_id
        self._notice_handlers: list[NoticeHandler] = []
        self._link = link
        self._stale_events = stale_events
        self._ping_every_s = max(0.2, heartbeat_s)
        self._outbox_max_messages = outbox_max_messages
        self._outbox_max_age_s = outbox_max_age_s
        self._outbox: deque[tuple[float, bytes]] = deque()
        self._outbox_lock = asyncio.Lock()
        self.subscribed = asyncio.Event()
        self._wake = asyncio.Event()
        self._gap_handlers: list[GapHandler] = []
        self._screens: list[Screen] = []
        self._catching_up: set[asyncio.Task[None]] = set()
        link.on_recovery(self._redis_is_back)

    def on_gap(self, handler: GapHandler) -> None:
        self._gap_handlers.append(handler)

    def screen(self, deliver: Screen) -> None:
        self._screens.append(deliver)

    def on_notice(self, handler: NoticeHandler) -> None:
        self._notice_handlers.append(handler)

    async def notify(self, notice: dict[str, Any], to: str | None = None) -> None:
        message = {"method": NOTICE, "from": self._instance_id, "to": to, "notice": notice}
        payload = encode(message)
        # Both channels reach an instance over one subscription, in the order they were published.
        channel = self.direct_channel(to) if to is not None else self.channel
        await self._link.publish(channel, payload)

    def _heard_notice(self, message: dict[str, Any]) -> None:
        to = message.get("to")
        if message.get("from") == self._instance_id or (to is not None and to != self._instance_id):
            return
        notice = message.get("notice")
        if not isinstance(notice, dict):
            return
        for handler in self._notice_handlers:
            try:
                handler(notice)
            except Exception:
                log.exception("a notice from another instance could not be taken in")

    # -- publishing -----------------------------------------------------------------------------------

    def direct_channel(self, instance_id: str) -> str:
        """The channel only `instance_id` listens on (besides the one all listen on)."""
        return f"{self.channel}:{instance_id}"

    def _channels(self) -> list[str]:
        """What this instance listens on."""
        return [self.channel, self.direct_channel(self._instance_id)] if self._instance_id else [self.channel]

    def publication(
        self, event: str, payload: dict[str, Any], channel: str | list[str], instances: Collection[str]
    ) -> Publication | None:
        """The message `emit` would publish, packed with `payload` last, so that what ends the payload
        ends the packed bytes, for the other `instances`. None while earlier messages wait in the
        outbox: they go first."""
        if self._outbox:
            return None
        if self._instance_id:
            others = sorted(i for i in set(instances) if i != self._instance_id)
            channels = tuple(self.direct_channel(i) for i in others)
        else:  # an instance without a name has no channel of its own: to everyone
            channels = (self.channel,)
        message = {
            "method": "emit",
            "event": event,
            "binary": False,
            "namespace": "/",
            "room": channel,
            "skip_sid": None,
            "callback": None,
            "host_id": self.host_id,
            "data": [payload],
        }
        return Publication(channels, encode(message))

    async def _publish(self, data: dict[str, Any]) -> None:
        payload = encode(data)
        if self._outbox:
            # Keep the order: what waited goes first, and this waits behind it while Redis is away.
            async with self._outbox_lock:
                try:
                    await self._drain()
                except Unavailable:
                    self._keep(data, payload)
                    raise
        try:
            await self._link.publish(self.channel, payload)
        except Unavailable:
            self._keep(data, payload)
            raise

    def _keep(self, data: dict[str, Any], payload: bytes) -> None:
        if data.get("method") == "emit" and data.get("event") in self._stale_events:
            return
        if len(self._outbox) >= self._outbox_max_messages:
            self._outbox.popleft()
            log.warning("bus outbox full: dropped the oldest event")
        self._outbox.append((time.monotonic(), payload))

    @property
    def spans_instances(self) -> bool:
        return True

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
            except Unavailable:
                return

    async def _drain(self) -> None:
        sent = 0
        while self._outbox:
            kept_at, payload = self._outbox[0]
            if time.monotonic() - kept_at <= self._outbox_max_age_s:
                await self._link.publish(self.channel, payload)
                sent += 1
            self._outbox.popleft()
        if sent:
            log.info("bus replayed %d events held while redis was away", sent, extra={"count": sent})

    # -- listening ------------------------------------------------------------------------------------

    async def _listen(self) -> AsyncIterator[dict[str, Any]]:
        backoff = Backoff()
        gap_since: float | None = None
        while True:
            subscription: Subscription | None = None
            try:
                # Confirmed by Redis before it counts: a refusal only shows in its answer.
                subscription = await Subscription.open(
                    self._link.url,
                    self._channels(),
                    timeout_s=self._link.timeout_s,
                    ping_every_s=self._ping_every_s,
                    silence_s=self._link.timeout_s,
                )
                backoff.reset()
                self.subscribed.set()
                self._link.succeeded()
                if gap_since is not None:
                    self._report_gap(gap_since)
                    gap_since = None
                while True:
                    decoded = decode(await subscription.next())
                    if decoded is None:
                        log.warning("bus: ignored a message that is not msgpack")
                    elif decoded.get("method") == NOTICE:
                        self._heard_notice(decoded)
                    else:
                        yield decoded
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Not a verdict on Redis for the whole instance: the store's own calls decide that.
                if gap_since is None and self.subscribed.is_set():
                    # Heard for sure until a ping interval and a timeout before the loss was noticed.
                    noticed_after = self._ping_every_s + self._link.timeout_s
                    gap_since = time.time() - noticed_after
                self.subscribed.clear()
                delay = backoff.next()
                log.warning(
                    "bus subscription lost (%s); retrying in %.1fs",
                    type(exc).__name__,
                    delay,
                    extra={"error": type(exc).__name__, "retry_s": round(delay, 3)},
                )
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
            finally:
                if subscription is not None:
                    with contextlib.suppress(Exception):
                        await subscription.close()

    # -- gaps ---------------------------------------------------------------------------------------

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if self._screens:
            data = message.get("data")
            payload = data[0] if isinstance(data, list) and len(data) == 1 else data
            event = str(message.get("event"))
            if not all(deliver(event, payload) for deliver in self._screens):
                return
        await super()._handle_emit(message)

    def _report_gap(self, since: float) -> None:
        for handler in self._gap_handlers:
            task = asyncio.ensure_future(self._logged(handler(since)))
            self._catching_up.add(task)
            task.add_done_callback(self._catching_up.discard)

    @staticmethod
    async def _logged(work: Awaitable[None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not make good what was missed during a gap")

    async def close(self) -> None:
        for task in list(self._catching_up):
            task.cancel()
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
            with contextlib.suppress(BaseException):
                await thread
