"""Running as one of several instances: the store and the socket.io bus on one Redis.

`make_redis_backends` is what `server.backends` calls when `redis_url` is set. Both halves share one
`RedisLink`, the single place that decides what a Redis call may cost:

- scripts and publishes (what every chat message runs) go through `server.resp`'s lean connection,
  everything else through redis-py;
- every call is bounded by `redis_timeout_s`, so a frozen Redis yields `Unavailable`, never a hang;
- after a failure, calls fail at once while a probe pings Redis with a backoff (doubling, capped at a
  few seconds), so a dead Redis is not hammered and members get `unavailable` without waiting for a
  timeout each;
- when Redis answers again, the link tells whoever asked (the store re-announces this instance, the
  bus replays what it could not publish).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoPermissionError, OutOfMemoryError, ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.resp import RespClient
from server.settings import Settings
from signaling.delivery import PERISHABLE_EVENTS
from signaling.ports import Unavailable

if TYPE_CHECKING:
    from server.redis_bus import RedisBus
    from server.redis_scripts import Lua
    from server.redis_store import RedisStore

T = TypeVar("T")

log = logging.getLogger("circle.redis")

# Failures that mean "Redis will not serve us right now" (down, restarting, loading, failing over,
# frozen, out of memory, or refusing this user a command): the client may retry later. Anything
# else Redis answers (a script error, say) is a bug and surfaces as one.
UNREACHABLE: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ReadOnlyError,
    OutOfMemoryError,
    NoPermissionError,
    OSError,
    asyncio.TimeoutError,
)

BACKOFF_MIN_S = 0.05
BACKOFF_MAX_S = 2.0


class Backoff:
    """Doubling delays with jitter, from `BACKOFF_MIN_S` up to `BACKOFF_MAX_S`."""

    def __init__(self, low: float = BACKOFF_MIN_S, high: float = BACKOFF_MAX_S) -> None:
        self.low, self.high = low, high
        self._next = low

    def reset(self) -> None:
        self._next = self.low

    def next(self) -> float:
        delay = self._next
        self._next = min(self.high, self._next * 2)
        return delay * random.uniform(0.75, 1.0)


class RedisLink:
    """One Redis connection pool and the rules every call through it obeys (see the module docstring)."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self.url = url
        self.timeout_s = timeout_s
        # One immediate retry lets a pooled connection that Redis closed (a restart) be replaced
        # without failing the call; the overall bound still holds through `call`'s timeout.
        # No socket timeout: every command is bounded as a whole, by `call` or by its caller's own
        # timeout (the probe's and the bus's), and a socket timeout as well would cost a task per
        # command sent and a timer per reply read (a quarter of a call's CPU). Connecting keeps one.
        # Typed loosely: redis-py's annotations make every reply a union of bytes, str and awaitables.
        self.redis: Any = aioredis.Redis.from_url(
            url,
            socket_timeout=None,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 1),
        )
        self.lean = RespClient(url, timeout_s)
        self._backoff = Backoff()
        self._down = False
        self.recovered_at: float | None = None
        # Times Redis answered again after it had stopped answering.
        self.reconnects = 0
        self._on_recovery: list[Callable[[], Awaitable[None]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def up(self) -> bool:
        return not self._down

    def on_recovery(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` (in its own task) each time Redis answers again after a failure."""
        self._on_recovery.append(callback)

    async def call(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """`fn(redis)` within `timeout_s`, or `Unavailable`.

        While Redis is down nothing is sent to it but the probe's PING: a write sent to a frozen Redis
        may still be carried out when it wakes, long after its caller was told `unavailable`, so
        writes are only sent once Redis has answered again."""
        return await self._bounded(lambda: fn(self.redis))

    async def script(self, script: Lua, keys: list[Any], args: list[Any]) -> Any:
        """`script` run on `keys` and `args`, as `call` runs a command."""
        return await self._bounded(lambda: script(self.lean, keys, args), lean=True)

    async def publish(self, channel: str, payload: bytes) -> None:
        await self._bounded(lambda: self.lean.publish(channel, payload), lean=True)

    async def _bounded(self, start: Callable[[], Awaitable[T]], lean: bool = False) -> T:
        if self._down:
            raise Unavailable("redis is down")
        try:
            # A timeout scope, not `wait_for`: the same bound without a task per call.
            async with asyncio.timeout(self.timeout_s):
                result = await start()
        except UNREACHABLE as exc:
            if lean and isinstance(exc, TimeoutError):
                # Perhaps a connection whose far end is gone without a word (a failover to another
                # host): the next call opens a new one, as redis-py replaces a connection it gave up on.
                self.lean.reset()
            self.failed(exc)
            raise Unavailable("redis did not answer") from exc
        return result

    def failed(self, exc: BaseException) -> None:
        if self._down:
            return
        log.warning(
            "redis unreachable (%s); answering unavailable until it returns",
            type(exc).__name__,
            extra={"error": type(exc).__name__},
        )
        self._down = True
        # A link that failed again soon after it recovered keeps its longer backoff (Redis refusing
        # some commands, say, would otherwise be probed and retried in a tight loop).
        if self.recovered_at is None or time.monotonic() - self.recovered_at > BACKOFF_MAX_S:
            self._backoff.reset()
        self._spawn(self._probe())

    async def _probe(self) -> None:
        while self._down:
            await asyncio.sleep(self._backoff.next())
            try:
                await asyncio.wait_for(self.redis.ping(), self.timeout_s)
            except UNREACHABLE:
                continue
            self.succeeded()

    def succeeded(self) -> None:
        """Redis answered again (the probe, or the bus's subscription)."""
        if not self._down:
            return
        self._down = False
        self.recovered_at = time.monotonic()
        self.reconnects += 1
        log.warning("redis reachable again")
        for callback in self._on_recovery:
            self._spawn(self._run(callback))

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _run(callback: Callable[[], Awaitable[None]]) -> None:
        try:
            await callback()
        except Unavailable:
            pass  # down again; the next recovery runs it again
        except Exception:
            log.exception("recovery step failed")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.lean.aclose()
        await self.redis.aclose()


def make_redis_backends(settings: Settings, instance_id: str) -> tuple[RedisStore, RedisBus, RedisLink]:
    """The Redis store and the Redis bus (socket.io client manager) of one instance, and the link
    they share (whose state the metrics show)."""
    from server.redis_bus import RedisBus
    from server.redis_store import RedisStore

    assert settings.redis_url
    link = RedisLink(settings.redis_url, settings.redis_timeout_s)
    # A relayed offer or ICE candidate is only useful now: a failed one is answered `unavailable`
    # and not kept for later.
    bus = RedisBus(
        link,
        outbox_max_messages=settings.bus_outbox_max_messages,
        outbox_max_age_s=settings.bus_outbox_max_age_s,
        stale_events=PERISHABLE_EVENTS,
        heartbeat_s=settings.heartbeat_s,
        instance_id=instance_id,
    )
    store = RedisStore(
        link,
        instance_id,
        settings.instance_ttl_s,
        resend_window_s=settings.chat_resend_window_s,
        bus=bus,
    )
    return store, bus, link
