"""Room broadcasts written once: the socket.io frame of an emit is encoded once and the same bytes are
written to each recipient's websocket, instead of python-socketio's way of a task per recipient, each
packet put on the socket's queue and a writer task woken to frame and send it. Acknowledgements are
written the same way.

A recipient gets the ready frame only when nothing else of its own can be on the way: its socket is
upgraded to a websocket and not closing, its packet queue is empty, and its connection is not backed
up. The websocket's writer (`_write_queued`) takes a packet off the queue only to write it, and
waits only with nothing in hand (for the queue) or for a backed-up connection to drain; aiohttp
writes a frame at once otherwise. So an empty queue and a connection that is not paused mean that
everything queued before has been written. Otherwise the packet takes python-engineio's usual path,
behind whatever waits there. Either way each socket's packets leave in the order they were sent.

What is written to a websocket within one turn of the event loop leaves in one system call at the
turn's end (`Corked`): a broadcast's frame and the next one to the same member, an acknowledgement
and the broadcast beside it. On loopback a write also does the receiving side's TCP work, so under
load, when the loop handles many events per turn, this is most of what a delivery costs; a lone
frame leaves a moment later than it would have, the same turn still.

Websockets are opened without permessage-deflate (as Node's socket.io does by default): a
compressed connection's frames depend on what it was sent before, so they could not be shared, and
each deflate context costs a few hundred KiB per connection.

Every connection's backlog is bounded (`BroadcastOnce.bound_send_queues`): the bytes in its engineio
packet queue (where a polling client's packets wait, and a websocket's behind a slow reader) plus those
in its websocket's transport buffer. A packet that would take it past the bound is not queued, nor one
for a connection that has stayed backed up past a deadline: the connection is cut off instead, its
queue emptied and its transport aborted, so a client that stops reading costs at most that much memory.

In front of python-engineio stands a gate (`CircleEngineServer`), so that it only ever decodes frames
it can:

- A websocket frame that is no Engine.IO packet (binary ones included: Circle's protocol is text)
  closes that websocket. python-engineio would raise inside its receive loop, and aiohttp would then
  write an error response into the upgraded connection.
- A long-polling POST is read here first. Over `max_frame_bytes` it is answered 413 `too_large`, and a
  payload holding a frame that is no Engine.IO packet 400 `bad_request` (through the `refuse` the
  server is given, so that the HTTP error is the server's own); either way that session is closed, as
  an oversized websocket frame closes its connection. (python-engineio would close the session itself
  and wait for the session's queue to drain before answering: with no poll waiting, never.)

Each refusal is one log line, as often as the `LogRate` given allows.

A websocket is read by Circle's own loop (`_serve_websocket`) rather than python-engineio's, which
started a task and an `asyncio.wait_for` timer for every frame it read. Ours awaits the frames
directly, hands each message straight to python-socketio (`async_handlers=False`: in order, one at a
time), and keeps a single timer per connection that closes the websocket once its client has been
silent for ping_interval + ping_timeout. Everything else is python-engineio's behaviour, kept: the
upgrade of a session that began on long-polling, pongs scheduling the next ping, a client's close
packet closing the session, a writer task sending what is queued for the session, and the session
closed when its websocket ends. One thing is mended: a websocket that fails during the upgrade (closed,
refused, or silent) leaves its session on long-polling, where python-engineio could leave it marked
as upgrading, its polls answered with nothing ever again.

Everything here leans on python-socketio and python-engineio internals, and only this module reaches
into python-engineio; `check()` runs at import and in the tests, and fails loudly when a release has
moved them (the python-socketio hooks `signaling.socket` overrides included). The versions it was
checked with are pinned in pyproject.toml.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import struct
import time
import types
from collections.abc import Awaitable, Callable
from typing import Any

import engineio
import orjson
import socketio
from aiohttp import WSCloseCode, web
from aiohttp._websocket.writer import WebSocketWriter
from aiohttp.web import WebSocketResponse
from engineio import async_server as eio_async_server
from engineio import async_socket as eio_socket
from engineio import base_socket as eio_base_socket
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as eio_aiohttp
from socketio import async_server as sio_async_server
from socketio import base_manager as sio_base_manager
from socketio import base_server as sio_base_server
from socketio import packet as sio_packet

from signaling.lograte import LogRate, unbounded
from signaling.packets import frame_problem
from signaling.protocol import ProtocolError

log = logging.getLogger("circle.signaling")
transport_log = logging.getLogger("circle.transport")

# A connection with this much waiting for it is backed up: its reader is not keeping up (aiohttp's own
# mark for a websocket writer to wait).
BACKED_UP_BYTES = 64 * 1024
# Kept on the engineio socket, so that it goes with it.
BACKED_UP_SINCE = "_circle_backed_up_since"

CHECKED_VERSIONS = {"python-socketio": "5.18.1", "python-engineio": "4.15.1"}


class InternalsChanged(RuntimeError):
    """The python-socketio or python-engineio installed is not shaped as this module expects."""


class Json:
    """The JSON codec socket.io packets are written and read with: orjson, in the shape of the
    standard `json` module that python-socketio expects (`dumps` returns text). It refuses integers
    beyond 64 bits, as engineio's own codec refuses very long ones."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(text: str | bytes, **_: Any) -> Any:
        return orjson.loads(text)


def ws_frame(payload: bytes) -> bytes:
    """A final, unmasked websocket text frame (a server's) carrying `payload`."""
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", 0x81, size) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


def packet_bytes(pkt: Any) -> int:
    """About how many bytes an engine.io packet takes on the wire (engineio's closing None: none)."""
    if pkt is None:
        return 0
    data = pkt.data
    if isinstance(data, str):
        return len(data.encode()) + 1
    if isinstance(data, bytes):
        return len(data) + 1
    return 64


class ByteQueue(asyncio.Queue[Any]):
    """An engineio socket's packet queue that keeps count of the bytes it holds."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bytes = 0

    def _put(self, item: Any) -> None:
        self.bytes += packet_bytes(item)
        super()._put(item)

    def _get(self) -> Any:
        item = super()._get()
        self.bytes -= packet_bytes(item)
        return item


class TurnEnd:
    """Flushes the `Corked` transports written to during the event loop's current turn, at its end."""

    def __init__(self) -> None:
        self.held: list[Corked] = []

    def hold(self, corked: Corked) -> None:
        if not self.held:
            asyncio.get_running_loop().call_soon(self.flush)
        self.held.append(corked)

    def flush(self) -> None:
        held, self.held = self.held, []
        # `Corked.flush`, inline: this runs once per connection written to.
        for corked in held:
            frames = corked.held
            if not frames:
                continue
            transport = corked.transport
            try:
                if not transport.is_closing():
                    transport.write(frames[0] if len(frames) == 1 else b"".join(frames))
            except Exception:  # one broken connection must not keep the others' frames
                log.exception("writing to a websocket failed")
            frames.clear()


class Corked:
    """A transport that holds what is written to it until the event loop's current turn ends (see
    `TurnEnd`), then writes it in one call. Everything aiohttp writes to a websocket goes through it,
    so frames leave in the order they were written; a close frame leaves at once, with everything
    before it, as aiohttp may close the connection itself right after."""

    def __init__(self, transport: asyncio.Transport, turn_end: TurnEnd) -> None:
        self.transport = transport
        self.turn_end = turn_end
        self.held: list[bytes] = []

    def write(self, data: bytes) -> None:
        held = self.held
        if not held:
            self.turn_end.hold(self)
        held.append(data)
        # The first byte of a close frame (FIN and opcode 8; a server's, so unmasked).
        if data[0] == 0x88:
            self.flush()

    def flush(self) -> None:
        held = self.held
        if not held:
            return
        data = held[0] if len(held) == 1 else b"".join(held)
        held.clear()
        if not self.transport.is_closing():
            self.transport.write(data)

    def get_write_buffer_size(self) -> int:
        return int(self.transport.get_write_buffer_size()) + sum(map(len, self.held))

    def is_closing(self) -> bool:
        return bool(self.transport.is_closing())

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def abort(self) -> None:
        self.held.clear()
        self.transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class _WebSocket(eio_aiohttp.WebSocket):  # type: ignore[misc]
    """engineio's aiohttp websocket, without compression, and known to the broadcaster while open."""

    registry: dict[str, WebSocketResponse]
    turn_end: TurnEnd

    async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
        self._sock = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(environ["aiohttp.request"])
        writer = self._sock._writer
        assert writer is not None  # prepared
        # Duck-typed: aiohttp calls write, is_closing and get_write_buffer_size on it.
        writer.transport = Corked(writer.transport, self.turn_end)  # type: ignore[assignment]
        self.environ = environ
        sid = self.handler.__self__.sid
        self.registry[sid] = self._sock
        try:
            await self.handler(self)
        finally:
            if self.registry.get(sid) is self._sock:
                del self.registry[sid]
        return self._sock


class BroadcastOnce(socketio.AsyncManager):  # type: ignore[misc]
    """python-socketio's client manager, with emits written once for all their recipients (see the
    module docstring). A pub/sub manager gets the same by listing it after its own base:
    `class Bus(AsyncPubSubManager, BroadcastOnce)`."""

    # Packets since start: written as a ready frame, and sent the usual way (counts only).
    frames_written = 0
    packets_queued = 0
    # Connections cut off for a full send queue, since start.
    cut_off = 0

    def set_server(self, server: socketio.AsyncServer) -> None:
        super().set_server(server)
        eio = server.eio
        self._sockets: dict[str, Any] = eio.sockets
        self._websockets: dict[str, WebSocketResponse] = {}
        # Connections being cut off for a full send queue: nothing more is sent to them.
        self._cutting: set[str] = set()
        self._cut_tasks: set[asyncio.Task[None]] = set()
        # Over the websocket class the server has already (Circle's engine server gates what it reads).
        base = eio._async["websocket"]
        self.turn_end = TurnEnd()
        socket_class = type(
            "WebSocket", (_WebSocket, base), {"registry": self._websockets, "turn_end": self.turn_end}
        )
        # A copy: the driver table is engineio's module-level dict, shared by every server.
        eio._async = {**eio._async, "websocket": socket_class}
        send_packet = server._send_packet

        # Acknowledgements, and what else python-socketio sends to one socket, likewise; one that finds
        # nothing held for its connection leaves at once, ahead of the broadcasts of the same turn.
        async def send_directly(eio_sid: str, pkt: Any) -> None:
            encoded = pkt.encode()
            if isinstance(encoded, str) and self._write(
                eio_sid, ws_frame(f"{eio_packet.MESSAGE}{encoded}".encode()), at_once=True
            ):
                return
            await send_packet(eio_sid, pkt)

        server._send_packet = send_directly

    def bound_send_queues(self, max_bytes: int, deadline_s: float) -> None:
        """From now on, cut off a connection instead of letting more than `max_bytes` wait to be sent
        to it, or when it has stayed backed up (`BACKED_UP_BYTES` or more waiting) for `deadline_s`
        when something more is sent to it (see the module docstring)."""
        eio = self.server.eio
        eio.create_queue = ByteQueue
        send_packet = eio.send_packet

        async def bounded(eio_sid: str, pkt: Any) -> None:
            sock = self._sockets.get(eio_sid)
            if sock is not None and isinstance(sock.queue, ByteQueue):
                if eio_sid in self._cutting:
                    return
                backlog = self.backlog(eio_sid)
                if backlog + packet_bytes(pkt) > max_bytes:
                    self._cut_off(eio_sid, sock, backlog, "full")
                    return
                if backlog >= BACKED_UP_BYTES:
                    now = time.monotonic()
                    since = sock.__dict__.setdefault(BACKED_UP_SINCE, now)
                    if now - since > deadline_s:
                        self._cut_off(eio_sid, sock, backlog, "stalled")
                        return
                else:
                    sock.__dict__.pop(BACKED_UP_SINCE, None)
            await send_packet(eio_sid, pkt)

        eio.send_packet = bounded

    def backlog(self, eio_sid: str) -> int:
        """Bytes waiting to be sent to a connection: in its packet queue and its transport's buffer."""
        sock = self._sockets.get(eio_sid)
        queued = sock.queue.bytes if sock is not None and isinstance(sock.queue, ByteQueue) else 0
        ws = self._websockets.get(eio_sid)
        writer = ws._writer if ws is not None else None
        transport = writer.transport if writer is not None else None
        return queued + (transport.get_write_buffer_size() if transport is not None else 0)

    def _cut_off(self, eio_sid: str, sock: Any, backlog: int, why: str) -> None:
        self._cutting.add(eio_sid)
        self.cut_off += 1
        log.warning(
            "disconnecting %s: %d bytes waiting to be sent to it (%s)",
            eio_sid,
            backlog,
            why,
            extra={"connection": eio_sid, "bytes": backlog},
        )
        queue = sock.queue
        while not queue.empty():
            queue.get_nowait()
            queue.task_done()
        ws = self._websockets.get(eio_sid)
        writer = ws._writer if ws is not None else None
        if writer is not None and writer.transport is not None:
            writer.transport.abort()

        async def close() -> None:
            try:
                await sock.close(wait=False, abort=True)
            finally:
                self._cutting.discard(eio_sid)

        task = asyncio.ensure_future(close())
        self._cut_tasks.add(task)
        task.add_done_callback(self._cut_tasks.discard)

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        if callback is not None or namespace not in self.rooms:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback)
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        if not isinstance(encoded, str):  # binary attachments: several packets, the usual way
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid)
            return
        skip = skip_sid if isinstance(skip_sid, list) else (skip_sid,)
        frame = b""
        queued: list[str] = []
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            if not frame:
                frame = ws_frame(f"{eio_packet.MESSAGE}{encoded}".encode())
            if not self._write(eio_sid, frame):
                queued.append(eio_sid)
        if queued:
            self.packets_queued += len(queued)
            pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
            for eio_sid in queued:
                await self.server._send_eio_packet(eio_sid, pkt)

    def _write(self, eio_sid: str, frame: bytes, at_once: bool = False) -> bool:
        """Write the frame to the socket's connection, if nothing of its own can be ahead of it: at the
        end of the turn, or `at_once` if nothing is held for it yet."""
        ws = self._websockets.get(eio_sid)
        sock = self._sockets.get(eio_sid)
        if ws is None or sock is None or ws.closed or eio_sid in self._cutting:
            return False
        if sock.queue.qsize() or not sock.upgraded or sock.upgrading or sock.closing or sock.closed:
            return False
        writer = ws._writer
        corked = writer.transport if writer is not None else None
        if not isinstance(corked, Corked):
            return False
        # The connection itself: what this turn holds leaves at its end (`Corked.write`, inline).
        transport = corked.transport
        if transport.is_closing():
            return False
        # A backed-up connection (a slow reader) goes the usual way, where the writer waits for it to
        # drain; the mark is aiohttp's own, the writer's limit.
        if writer.protocol.writing_paused or transport.get_write_buffer_size() > writer._limit:
            return False
        held = corked.held
        self.frames_written += 1
        if held:
            held.append(frame)
        elif at_once:
            transport.write(frame)
        else:
            self.turn_end.hold(corked)
            held.append(frame)
        return True


# -- the Engine.IO gate ---------------------------------------------------------------------------

# Engine.IO's separator between the packets of one polling payload.
_RECORD_SEPARATOR = "\x1e"


Refuse = Callable[[ProtocolError, web.Request], web.StreamResponse]
"""The HTTP answer to a refused request (the server's error envelope)."""


class CircleEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """python-engineio's server (aiohttp only), gated as the module docstring says; `refuse` answers
    a refused polling POST."""

    _async: dict[str, Any]

    def __init__(self, *args: Any, refuse: Refuse, log_rate: LogRate | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refuse = refuse
        self.log_rate = log_rate if log_rate is not None else unbounded()
        # Polling POST bodies read and checked here, by request, for python-engineio to read in turn.
        self._bodies: dict[int, bytes] = {}
        translate = self._async["translate_request"]

        def translate_request(request: web.Request) -> dict[str, Any]:
            environ: dict[str, Any] = translate(request)
            body = self._bodies.pop(id(request), None)
            if body is not None:
                environ["wsgi.input"] = _ReadBody(body)
                environ["CONTENT_LENGTH"] = str(len(body))
            return environ

        # The driver's table is shared by every server in the process: this one gets its own.
        self._async = {**self._async, "websocket": _GatedWebSocket, "translate_request": translate_request}

    async def handle_request(self, request: web.Request) -> web.StreamResponse:
        if request.method == "POST" and "sid" in request.query:
            refused = await self._read_post(request)
            if refused is not None:
                return refused
        try:
            response: web.StreamResponse = await super().handle_request(request)
        finally:
            self._bodies.pop(id(request), None)
        return response

    async def _read_post(self, request: web.Request) -> web.StreamResponse | None:
        limit = self.max_http_buffer_size
        too_large = ProtocolError("too_large", f"A request body may hold at most {limit} bytes.")
        refusal: ProtocolError | None = None
        if request.content_length is not None and request.content_length > limit:
            refusal = too_large
        else:
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                body = b""
                refusal = too_large
            if refusal is None and len(body) > limit:
                refusal = too_large
            if refusal is None and not _is_payload(body):
                refusal = ProtocolError("bad_request", "The body is not an Engine.IO payload.")
        if refusal is not None:
            await cut(self, request.query["sid"])
            return self.refuse(refusal, request)
        self._bodies[id(request)] = body
        return None


def _is_payload(body: bytes) -> bool:
    """Whether every frame of a polling payload is one python-engineio can decode."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(frame_problem(frame) is None for frame in text.split(_RECORD_SEPARATOR))


class _ReadBody:
    """A body already read, as python-engineio reads one (`await read(n)`)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def read(self, n: int = -1) -> bytes:
        body, self._body = self._body, b""
        return body if n < 0 else body[:n]


class _GatedWebSocket(eio_aiohttp.WebSocket):  # type: ignore[misc]
    """python-engineio's aiohttp websocket, read by Circle's loop (`_serve_websocket`) in place of the
    session's own, and handing on only frames that can be decoded. A frame that breaks the transport
    closes the websocket; so does any frame once its session is closed."""

    def __init__(self, handler: Any, server: Any) -> None:
        super().__init__(handler, server)
        # The handler given is the session's own loop (engineio's `_websocket_handler`): ours runs
        # instead, bound to the same session, so that `handler.__self__` is still the session.
        self.session = handler.__self__
        self.handler = types.MethodType(_serve_websocket, self.session)

    def problem(self, frame: Any) -> str | None:
        """Why `frame` must close this websocket (logged, as often as allowed), or None if it may be
        decoded."""
        if self.session.closed:
            # Closed by the server (`cut`), already logged: what follows is not read.
            return "session closed"
        problem = frame_problem(frame)
        if problem is not None:
            self.server.log_rate.log(
                transport_log, logging.INFO, "bad frame", "bad websocket frame: %s", problem
            )
        return problem

    async def refuse(self) -> None:
        await self._sock.close(code=WSCloseCode.PROTOCOL_ERROR)

    async def wait(self) -> Any:
        frame = await super().wait()
        problem = self.problem(frame)
        if problem is None:
            return frame
        await self.refuse()
        # What python-engineio takes for a websocket that closed.
        raise OSError(problem)


# A timer may fire this much early (uvloop counts in milliseconds); `_Silence` takes it as on time
# rather than setting itself again for the moment left.
_TIMER_SLACK_S = 0.002

# Closes of silent websockets under way (a task keeps only a weak reference to itself).
_closing: set[asyncio.Task[None]] = set()


class _Silence:
    """Closes a websocket once its client has sent nothing for `limit_s` while a frame was awaited
    (python-engineio put a `wait_for` around each read for this). One timer per connection: when it
    fires, it looks at when the current wait began (`since`, None while a frame is being handled)
    and, if the client has been heard since it was set, sets itself again for the time left."""

    def __init__(self, ws: _GatedWebSocket, limit_s: float) -> None:
        self.ws = ws
        self.limit_s = limit_s
        self.loop = asyncio.get_running_loop()
        self.since: float | None = None
        self.timer = self.loop.call_at(self.loop.time() + limit_s, self._check)

    def _check(self) -> None:
        now = self.loop.time()
        since = self.since
        if since is None:
            self.timer = self.loop.call_at(now + self.limit_s, self._check)
        elif since + self.limit_s > now + _TIMER_SLACK_S:
            self.timer = self.loop.call_at(since + self.limit_s, self._check)
        else:
            # aiohttp's close wakes the read waiting for the frame, which then finds the websocket closing.
            task = asyncio.ensure_future(self.ws.close())
            _closing.add(task)
            task.add_done_callback(_closing.discard)

    async def read(self) -> Any:
        """The next frame that may be decoded (`_GatedWebSocket.wait`), timed."""
        self.since = self.loop.time()
        try:
            return await self.ws.wait()
        finally:
            self.since = None

    def stop(self) -> None:
        self.timer.cancel()


async def _serve_websocket(session: Any, ws: _GatedWebSocket) -> None:
    """An Engine.IO session's websocket, read and written until it closes, then the session closed:
    python-engineio's `AsyncSocket._websocket_handler`, whose place it takes (see the module
    docstring)."""
    server = session.server
    silence = _Silence(ws, server.ping_interval + server.ping_timeout)
    try:
        if session.connected:
            if not await _upgrade(session, ws, silence):
                return
        else:
            session.connected = True
            session.upgraded = True
        writer = asyncio.ensure_future(_write_queued(session, ws._sock))
        try:
            await _read_frames(session, ws, silence)
        finally:
            await session.queue.put(None)  # the writer's signal to stop
            await writer
            await session.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)
    finally:
        silence.stop()


async def _upgrade(session: Any, ws: _GatedWebSocket, silence: _Silence) -> bool:
    """Whether a session that began on long-polling moves to this websocket: the client probes it
    ("2probe", answered "3probe"), the poll it has waiting is ended with a noop, and its upgrade
    packet ("5") completes the move. Meanwhile what is sent to the session waits in its queue."""
    session.upgrading = True
    try:
        if await silence.read() != "2probe":
            session.server.logger.info("%s: Failed websocket upgrade, no PING packet", session.sid)
            return False
        await ws.send(_PROBE_ANSWER)
        await session.queue.put(eio_packet.Packet(eio_packet.NOOP))
        if await silence.read() != "5":
            session.server.logger.info("%s: Failed websocket upgrade, no UPGRADE packet", session.sid)
            return False
    except OSError:  # closed, or closed by a frame refused
        return False
    finally:
        session.upgrading = False
    session.upgraded = True
    return True


_PROBE_ANSWER = eio_packet.Packet(eio_packet.PONG, data="probe").encode()


async def _read_frames(session: Any, ws: _GatedWebSocket, silence: _Silence) -> None:
    """Hand what the client sends to its session, one frame at a time, until the websocket closes or
    a frame closes it."""
    server = session.server
    sid = session.sid
    receive = ws._sock.receive
    clock = silence.loop.time
    max_bytes = server.max_http_buffer_size
    handler = server.handlers.get("message")
    on_message: Callable[[str, str], Awaitable[Any]]
    if handler is not None and not server.async_handlers and inspect.iscoroutinefunction(handler):
        # What python-engineio's `_trigger_event` comes to here, without its wrappers.
        on_message = handler
    else:

        async def on_message(sid: str, data: str) -> Any:
            return await server._trigger_event("message", sid, data, run_async=server.async_handlers)

    while True:
        silence.since = clock()
        msg = await receive()
        silence.since = None
        frame = msg.data
        if not isinstance(frame, str | bytes):
            return  # closed by either side, or broken
        # (A binary frame is among those refused.)
        if ws.problem(frame) is not None or not isinstance(frame, str):
            await ws.refuse()
            return
        if len(frame) > max_bytes:
            return
        # The gate let through only messages ("4" and a socket.io packet type: its content is the
        # rest) and the control frames a client sends.
        kind = frame[0]
        try:
            if kind == "4":
                await on_message(sid, frame[1:])
            elif kind == "3":  # a pong, the probe's included
                session.schedule_ping()
            elif kind == "5":
                await session.send(eio_packet.Packet(eio_packet.NOOP))
            elif kind == "1":
                await session.close(wait=False, abort=True, reason=server.reason.CLIENT_DISCONNECT)
            # A ping or a noop from the client asks for nothing.
        except eio_exceptions.SocketIsClosedError:
            return
        except Exception:
            # One packet gone wrong is no reason to drop the connection.
            log.exception("handling a packet from %s failed", sid, extra={"connection": sid})


async def _write_queued(session: Any, sock: WebSocketResponse) -> None:
    """Send what is queued for the session, in order, each packet as it is taken off the queue,
    until told to stop (None) or the connection fails; then close the websocket."""
    queue = session.queue
    try:
        while True:
            pkt = await queue.get()
            queue.task_done()
            if pkt is None:
                break
            encoded = pkt.encode()
            if isinstance(encoded, str):
                await sock.send_str(encoded)
            else:
                await sock.send_bytes(encoded)
    except Exception:  # a connection that cannot be written to ends the writing, as in python-engineio
        pass
    await sock.close()


async def cut(eio: Any, eio_sid: str) -> None:
    """Close an Engine.IO connection of the server `eio` at once: its client is told (a close
    packet) if it still listens, and nothing waits for that to be sent."""
    socket = eio.sockets.pop(eio_sid, None)
    if socket is not None and not socket.closed:
        await socket.close(wait=False, abort=False, reason=eio.reason.TRANSPORT_ERROR)


def check() -> None:
    """Raise `InternalsChanged` unless python-socketio and python-engineio still have every internal
    this module relies on."""
    problems = []

    def need(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    poll = inspect.getsource(eio_socket.AsyncSocket.poll)
    need("self.queue.get()" in poll, "a long-polling request takes packets from the socket's queue")
    # The websocket loop (`_serve_websocket`) takes the place of engineio's: what it does, ours does.
    loop = inspect.getsource(eio_socket.AsyncSocket._websocket_handler)
    need(
        "self.server.ping_interval + self.server.ping_timeout" in loop
        and "packet.Packet(packet.PONG, data='probe')" in loop
        and "await self.queue.put(packet.Packet(packet.NOOP))" in loop
        and "decoded_pkt.packet_type != packet.UPGRADE" in loop
        and "self.connected = True" in loop
        and "await self.queue.put(None)" in loop
        and "reason=self.server.reason.TRANSPORT_CLOSE" in loop,
        "engineio's websocket loop upgrades, times out, stops its writer and closes its session as ours",
    )
    receive = inspect.getsource(eio_socket.AsyncSocket.receive)
    need(
        "'message', self.sid, pkt.data" in receive
        and "run_async=self.server.async_handlers" in receive
        and "self.schedule_ping()" in receive
        and "await self.send(packet.Packet(packet.NOOP))" in receive
        and "reason=self.server.reason.CLIENT_DISCONNECT" in receive,
        "engineio's sockets handle a message, pong, upgrade and close packet as our loop does",
    )
    need(
        "ret = await run_async_handler()" in inspect.getsource(eio_async_server.AsyncServer._trigger_event)
        and inspect.iscoroutinefunction(socketio.AsyncServer._handle_eio_message),
        "engineio awaits a coroutine message handler in place when handlers do not run async",
    )
    need(
        "if encoded_packet[1].isnumeric():" in inspect.getsource(eio_packet.Packet.decode),
        "engineio takes what follows a message's type as text when it starts with a digit",
    )
    need(
        callable(getattr(eio_socket.AsyncSocket, "schedule_ping", None))
        and "SocketIsClosedError" in inspect.getsource(eio_socket.AsyncSocket.check_ping_timeout),
        "engineio sockets schedule pings, and refuse to send once closed",
    )
    need(
        "reader.feed_data(WS_CLOSING_MESSAGE" in inspect.getsource(WebSocketResponse.close),
        "aiohttp's close() wakes a receive() waiting in another task",
    )
    frame = inspect.getsource(WebSocketWriter.send_frame)
    need(
        "self._write_websocket_frame(message, opcode, 0)" in frame and "_drain_helper()" in frame,
        "aiohttp writes an uncompressed frame at once and waits only to drain",
    )
    need(
        "await server._send_packet(eio_sid, self.packet_class(\n                packet.ACK"
        in inspect.getsource(socketio.AsyncServer._handle_event_internal),
        "socket.io sends acknowledgements through _send_packet",
    )
    need(
        "self.server._async['websocket']" in inspect.getsource(eio_socket.AsyncSocket._upgrade_websocket),
        "engineio opens websockets through its driver table",
    )
    need(
        "await self.handler(self)" in inspect.getsource(eio_aiohttp.WebSocket.__call__),
        "engineio's aiohttp websocket calls the socket's handler with itself",
    )
    for name in ("send", "wait", "close"):
        need(
            callable(getattr(eio_aiohttp.WebSocket, name, None)), f"engineio's aiohttp websocket has {name}()"
        )
    need(
        "_fwdm" in inspect.getsource(sio_base_manager.BaseManager.get_participants),
        "socket.io managers yield (sid, eio_sid) participants",
    )
    need(
        hasattr(socketio.AsyncServer, "_send_eio_packet"),
        "socket.io's server sends ready engine.io packets with _send_eio_packet",
    )
    need(
        "await self.queue.put(pkt)" in inspect.getsource(eio_socket.AsyncSocket.send),
        "engineio sockets queue what they send",
    )
    for attr in ("connected", "upgraded", "upgrading", "closing", "closed"):
        need(
            f"self.{attr} = " in inspect.getsource(eio_base_socket.BaseSocket.__init__),
            f"engineio sockets have {attr}",
        )
    need(
        all(
            f"self.{a} = " in inspect.getsource(WebSocketWriter) for a in ("transport", "_limit", "protocol")
        ),
        "aiohttp's websocket writer keeps its transport, its protocol and its limit",
    )
    need(
        "self.queue = self.server.create_queue()" in inspect.getsource(eio_base_socket.BaseSocket.__init__),
        "engineio sockets make their queue with the server's create_queue()",
    )
    need(
        "await self.send_packet(sid, " in inspect.getsource(eio_async_server.AsyncServer.send)
        and "await socket.send(pkt)" in inspect.getsource(eio_async_server.AsyncServer.send_packet)
        and "await self.eio.send_packet(eio_sid, eio_pkt)"
        in inspect.getsource(socketio.AsyncServer._send_eio_packet),
        "everything socket.io sends goes through engineio's send_packet",
    )
    need(
        "abort" in inspect.signature(eio_socket.AsyncSocket.close).parameters,
        "engineio sockets can be closed without a goodbye (abort)",
    )
    need(eio_packet.MESSAGE == 4 and sio_packet.EVENT == 2, "engine.io MESSAGE is 4, socket.io EVENT is 2")
    # signaling/socket.py's server overrides these python-socketio hooks (and calls the rest).
    server_source = inspect.getsource(sio_base_server) + inspect.getsource(sio_async_server)
    need(
        all(
            f"self.eio.on('{event}', self._handle_eio_{event})" in server_source
            for event in ("connect", "message", "disconnect")
        ),
        "engineio's connect, message and disconnect go to socket.io's _handle_eio_* methods",
    )
    need(
        all(
            callable(getattr(socketio.AsyncServer, name, None))
            for name in (
                "_handle_connect",
                "_handle_disconnect",
                "_handle_event",
                "_handle_ack",
                "_handle_event_internal",
                "_send_packet",
            )
        ),
        "socket.io's server has the _handle_* and _send_packet methods signaling/socket.py calls",
    )
    # The Engine.IO gate.
    need(
        {"websocket", "translate_request"} <= set(eio_aiohttp._async)
        and "translate_request = self._async['translate_request']"
        in inspect.getsource(eio_async_server.AsyncServer.handle_request),
        "engineio's aiohttp driver table has the websocket class and translate_request it uses",
    )
    need(
        "environ['wsgi.input'].read(length)" in inspect.getsource(eio_socket.AsyncSocket.handle_post_request)
        and "CONTENT_LENGTH" in inspect.getsource(eio_socket.AsyncSocket.handle_post_request),
        "engineio reads a polling POST's body from environ['wsgi.input'], CONTENT_LENGTH bytes of it",
    )
    need(
        "await self._sock.receive()" in inspect.getsource(eio_aiohttp.WebSocket.wait),
        "engineio's aiohttp websocket reads frames from its aiohttp response, `_sock`, in wait()",
    )
    need(
        "self._websocket_handler" in inspect.getsource(eio_socket.AsyncSocket._upgrade_websocket)
        and "self.closed = " in inspect.getsource(eio_base_socket.BaseSocket.__init__),
        "engineio's websocket handler is a method of the socket, which knows whether it is closed",
    )
    if problems:
        raise InternalsChanged(
            "signaling/fastpath.py was written against python-socketio "
            f"{CHECKED_VERSIONS['python-socketio']} and python-engineio "
            f"{CHECKED_VERSIONS['python-engineio']}; the installed ones differ: " + "; ".join(problems)
        )


check()
