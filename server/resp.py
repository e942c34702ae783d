"""Redis spoken directly (RESP2) on the two paths every chat message takes in a cluster: the scripts
and publishes a message's sender runs, and the bus's subscription, which hears every message.

redis-py is the client for everything else. Through it, a command costs about 60 µs of Python beyond
the socket's own work (a pool checkout, a retry wrapper, an event dispatch, a timeout scope per reply
read), and a pub/sub message about 100 µs (`get_message` opens a timeout scope and a retry wrapper for
each one). Here a command is one write and a future resolved in order as its reply is parsed, and a
subscription hands each message over as soon as its bytes are read, with one timer per ping interval
rather than one per message.

- `RespClient`: commands pipelined over one connection, opened when first needed and again after it
  was lost. A call whose caller gives up leaves the connection as it is (its answer is dropped when it
  comes), since other calls share it; whoever decides that Redis stopped answering (`RedisLink`'s
  timeout) calls `reset()`, so that the next call does not wait on a connection that may be dead
  without knowing it. Nothing is sent again by itself: a command may have been carried out when its
  connection broke.
- `Subscription`: one subscribed connection. It pings Redis every `ping_every_s` and ends with
  `ConnectionError` when Redis has said nothing for `ping_every_s + silence_s`, so that a half-open
  connection is noticed.

Both take the same URLs as redis-py (`redis://`, `rediss://`, `unix://`; a user, password and database
in the URL), read with redis-py's own `parse_url`, and raise redis-py's exceptions, so that callers see
one client's errors whichever carried the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection, parse_url
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    NoPermissionError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError

CRLF = b"\r\n"

# Error replies redis-py raises as their own classes (the first word of the reply); any other is a
# `ResponseError`.
_ERRORS: dict[str, type[Exception]] = {
    "NOSCRIPT": NoScriptError,
    "READONLY": ReadOnlyError,
    "OOM": OutOfMemoryError,
    "NOPERM": NoPermissionError,
    "LOADING": BusyLoadingError,
    "WRONGPASS": AuthenticationError,
    "NOAUTH": AuthenticationError,
}


class ReplyError:
    """An error reply inside an array (a script can return one): kept as a value, as redis-py does."""

    def __init__(self, text: str) -> None:
        self.text = text

    def exception(self) -> Exception:
        code = self.text.split(" ", 1)[0]
        return _ERRORS.get(code, ResponseError)(self.text)


class Incomplete(Exception):
    """The buffer ends inside a reply."""


def parse(buf: bytes, pos: int) -> tuple[Any, int]:
    """The reply starting at `pos` and where the next one starts; `Incomplete` if it is not all there.
    Bulk strings are bytes, integers int, nil None, arrays lists, simple strings bytes and errors
    `ReplyError`."""
    end = buf.find(CRLF, pos)
    if end < 0:
        raise Incomplete
    kind = buf[pos]
    if kind == 36:  # $ bulk string
        size = int(buf[pos + 1 : end])
        if size < 0:
            return None, end + 2
        start, stop = end + 2, end + 2 + size
        if len(buf) < stop + 2:
            raise Incomplete
        return buf[start:stop], stop + 2
    if kind == 42:  # * array
        count = int(buf[pos + 1 : end])
        if count < 0:
            return None, end + 2
        items: list[Any] = []
        pos = end + 2
        for _ in range(count):
            item, pos = parse(buf, pos)
            items.append(item)
        return items, pos
    if kind == 58:  # : integer
        return int(buf[pos + 1 : end]), end + 2
    if kind == 43:  # + simple string
        return buf[pos + 1 : end], end + 2
    if kind == 45:  # - error
        return ReplyError(buf[pos + 1 : end].decode("utf-8", "replace")), end + 2
    raise RedisConnectionError(f"Redis sent what is not RESP2 (first byte {kind!r})")


def command(*args: Any) -> bytes:
    """One command, as RESP2: an array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, int | float):
            data = repr(arg).encode()
        else:
            raise TypeError(f"a Redis argument must be bytes, str, int or float, not {type(arg).__name__}")
        parts.append(b"$%d\r\n" % len(data))
        parts.append(data)
        parts.append(CRLF)
    return b"".join(parts)


@dataclass(frozen=True)
class Endpoint:
    """Where Redis is and who we are to it, from a redis-py URL."""

    host: str | None
    port: int
    path: str | None
    tls: ssl.SSLContext | None
    username: str | None
    password: str | None
    db: int

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        options: dict[str, Any] = dict(parse_url(url))
        kind = options.get("connection_class")
        tls = _tls_context(options) if kind is SSLConnection else None
        return cls(
            host=None if kind is UnixDomainSocketConnection else options.get("host", "localhost"),
            port=int(options.get("port", 6379)),
            path=options.get("path") if kind is UnixDomainSocketConnection else None,
            tls=tls,
            username=options.get("username"),
            password=options.get("password"),
            db=int(options.get("db", 0) or 0),
        )

    def greeting(self, database: bool = True) -> list[bytes]:
        """What a new connection says first: who it is, and (unless it only subscribes: pub/sub knows
        no databases) which database."""
        out = []
        if self.password is not None:
            auth = ("AUTH", self.username, self.password) if self.username else ("AUTH", self.password)
            out.append(command(*auth))
        if database and self.db:
            out.append(command("SELECT", self.db))
        return out


def _tls_context(options: dict[str, Any]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=options.get("ssl_ca_certs"))
    reqs = str(options.get("ssl_cert_reqs", "required")).lower()
    check = options.get("ssl_check_hostname")
    if reqs == "none":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif reqs == "optional":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_OPTIONAL
    if check is not None and context.verify_mode != ssl.CERT_NONE:
        context.check_hostname = str(check).lower() in ("1", "true", "yes")
    if options.get("ssl_certfile"):
        context.load_cert_chain(options["ssl_certfile"], options.get("ssl_keyfile"))
    return context


class _Reader(asyncio.Protocol):
    """Parses what Redis sends into replies, each handed to `reply`; `lost` when the connection ends."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._rest = b""
        self.error: BaseException | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        # Most reads hold whole replies: they are parsed where they lie, and only a reply cut short
        # by the end of a read is kept, to be joined to the next.
        if self._rest:
            data = self._rest + data
        pos, size = 0, len(data)
        try:
            while pos < size:
                try:
                    reply, pos = parse(data, pos)
                except Incomplete:
                    break
                self.reply(reply)
        except Exception as exc:  # not RESP, or a reply that cannot be read: this connection is done
            self._rest = b""
            self.abort(exc)
            return
        self._rest = data[pos:] if pos < size else b""

    def reply(self, reply: Any) -> None:
        raise NotImplementedError

    def abort(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.error is None:
            self.error = RedisConnectionError(f"connection to Redis lost ({exc or 'closed by Redis'})")
        self.lost(self.error)
        if not self.closed.done():
            self.closed.set_result(None)

    def lost(self, error: BaseException) -> None:
        raise NotImplementedError

    @property
    def is_open(self) -> bool:
        return self.transport is not None and self.error is None and not self.transport.is_closing()

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self.closed), 1.0)


async def _open(endpoint: Endpoint, protocol: _Reader, timeout_s: float) -> None:
    """`protocol` connected to Redis within `timeout_s`, or redis-py's `ConnectionError`."""
    loop = asyncio.get_running_loop()

    def made() -> _Reader:
        return protocol

    try:
        async with asyncio.timeout(timeout_s):
            if endpoint.path is not None:
                await loop.create_unix_connection(made, endpoint.path)
            else:
                await loop.create_connection(
                    made,
                    endpoint.host or "localhost",
                    endpoint.port,
                    ssl=endpoint.tls,
                    server_hostname=endpoint.host if endpoint.tls is not None else None,
                )
    except (OSError, TimeoutError) as exc:
        raise RedisConnectionError(f"cannot connect to Redis: {exc}") from exc


class _Commands(_Reader):
    def __init__(self) -> None:
        super().__init__()
        self.waiting: deque[asyncio.Future[Any]] = deque()

    def send(self, data: bytes) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.error is not None or self.transport is None:
            future.set_exception(self.error or RedisConnectionError("not connected to Redis"))
            return future
        self.waiting.append(future)
        self.transport.write(data)
        return future

    def reply(self, reply: Any) -> None:
        if not self.waiting:
            self.abort(RedisConnectionError("Redis answered a command that was not sent"))
            return
        future = self.waiting.popleft()
        if future.done():  # its caller gave up: the answer goes nowhere
            return
        if isinstance(reply, ReplyError):
            future.set_exception(reply.exception())
        else:
            future.set_result(reply)

    def lost(self, error: BaseException) -> None:
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(error)


class RespClient:
    """Commands to one Redis over one pipelined connection (see the module docstring)."""

    def __init__(self, url: str, connect_timeout_s: float) -> None:
        self._endpoint = Endpoint.from_url(url)
        self._connect_timeout_s = connect_timeout_s
        self._conn: _Commands | None = None
        self._connecting: asyncio.Future[_Commands] | None = None

    async def _connection(self) -> _Commands:
        conn = self._conn
        if conn is not None and conn.is_open:
            return conn
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
            # Retrieved here too, for when every caller gave up before it ended.
            self._connecting.add_done_callback(lambda f: f.cancelled() or f.exception())
        connecting = self._connecting
        try:
            return await asyncio.shield(connecting)
        finally:
            if connecting.done() and self._connecting is connecting:
                self._connecting = None

    async def _connect(self) -> _Commands:
        conn = _Commands()
        await _open(self._endpoint, conn, self._connect_timeout_s)
        greeting = [conn.send(data) for data in self._endpoint.greeting()]
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                for answer in greeting:
                    await answer
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        return conn

    async def execute(self, *args: Any) -> Any:
        conn = await self._connection()
        # A caller that gives up leaves its future cancelled: its answer is dropped when it comes.
        return await conn.send(command(*args))

    def reset(self) -> None:
        """Drop the connection (the calls still on it fail): the next call opens another."""
        if self._conn is not None:
            self._conn.abort(RedisConnectionError("Redis stopped answering on this connection"))
            self._conn = None

    async def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:
        return await self.execute("EVALSHA", sha, numkeys, *keys_and_args)

    async def script_load(self, source: str) -> bytes:
        reply: bytes = await self.execute("SCRIPT", "LOAD", source)
        return reply

    async def publish(self, channel: str, payload: bytes) -> int:
        reply: int = await self.execute("PUBLISH", channel, payload)
        return reply

    async def aclose(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            self._connecting = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


class _Subscribed(_Reader):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.unconfirmed = channels
        self.messages: deque[bytes] = deque()
        self.confirmed = asyncio.get_running_loop().create_future()
        self._waiter: asyncio.Future[None] | None = None
        self.heard = asyncio.get_running_loop().time()
        self.greeting_left = 0

    def data_received(self, data: bytes) -> None:
        self.heard = asyncio.get_running_loop().time()
        super().data_received(data)
        if self.messages and self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def reply(self, reply: Any) -> None:
        if self.greeting_left:
            # AUTH's answer (pub/sub needs no database)
            self.greeting_left -= 1
            if isinstance(reply, ReplyError):
                self._refused(reply.exception())
            return
        if isinstance(reply, ReplyError):
            self._refused(reply.exception())
            return
        if not isinstance(reply, list) or not reply:
            return
        kind = reply[0]
        if kind == b"message" and len(reply) == 3:
            self.messages.append(reply[2])
        elif kind == b"subscribe" and not self.confirmed.done():
            self.unconfirmed -= 1
            if not self.unconfirmed:
                self.confirmed.set_result(None)
        # b"pong" and anything else only show that Redis is there: `heard` has it already.

    def _refused(self, error: Exception) -> None:
        if not self.confirmed.done():
            self.confirmed.set_exception(error)
        self.abort(error)

    def lost(self, error: BaseException) -> None:
        if not self.confirmed.done():
            self.confirmed.set_exception(error)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def next(self) -> bytes:
        while not self.messages:
            if self.error is not None:
                raise self.error
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self.messages.popleft()


class Subscription:
    """The messages of some channels, in the order Redis sent them, as their payloads (see the module
    docstring)."""

    def __init__(self, conn: _Subscribed, ping_every_s: float, silence_s: float) -> None:
        self._conn = conn
        self._ping_every_s = ping_every_s
        self._silence_s = silence_s
        self._timer = asyncio.get_running_loop().call_later(ping_every_s, self._tick)

    @classmethod
    async def open(
        cls, url: str, channels: list[str], *, timeout_s: float, ping_every_s: float, silence_s: float
    ) -> Subscription:
        """Subscribed once Redis has confirmed every channel (a refusal, say of a password, raises
        here)."""
        endpoint = Endpoint.from_url(url)
        conn = _Subscribed(len(channels))
        await _open(endpoint, conn, timeout_s)
        assert conn.transport is not None
        greeting = endpoint.greeting(database=False)
        conn.greeting_left = len(greeting)
        conn.transport.write(b"".join([*greeting, command("SUBSCRIBE", *channels)]))
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.shield(conn.confirmed)
        except BaseException:
            await conn.close()
            raise
        return cls(conn, ping_every_s, silence_s)

    def _tick(self) -> None:
        conn = self._conn
        loop = asyncio.get_running_loop()
        if conn.error is not None:
            return
        if loop.time() - conn.heard > self._ping_every_s + self._silence_s:
            conn.abort(RedisConnectionError("the subscription stopped answering"))
            return
        if conn.transport is not None:
            conn.transport.write(command("PING"))
        self._timer = loop.call_later(self._ping_every_s, self._tick)

    async def next(self) -> bytes:
        """The next message's payload; `ConnectionError` once the subscription has ended."""
        return await self._conn.next()

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        await self._conn.close()
