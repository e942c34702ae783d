"""Room broadcasts written once: the socket.io frame of an emit is encoded once and the same bytes are
written to each recipient's websocket, instead of python-socketio's way of a task per recipient, each
packet put on the socket's queue and a writer task woken to frame and send it. Acknowledgements are
written the same way.

A recipient gets the ready frame only when nothing else of its own can be on the way: its socket is
upgraded to a websocket and not closing, its packet queue is empty, and its connection is not backed
up. engineio's writer only ever waits with nothing in hand (for the queue) or for a backed-up
connection to drain, and aiohttp writes a frame at once otherwise, so an empty queue and a connection
that is not paused mean that everything queued before has been written. Otherwise the packet takes
python-engineio's usual path, behind whatever waits there. Either way each socket's packets leave in
the order they were sent.

Websockets are opened without permessage-deflate (as Node's socket.io does by default): a
compressed connection's frames depend on what it was sent before, so they could not be shared, and
each deflate context costs a few hundred KiB per connection.

Everything here leans on python-socketio and python-engineio internals, and only this module does;
`check()` runs at import and in the tests, and fails loudly when a release has moved them. The
versions it was checked with are pinned in pyproject.toml.
"""

from __future__ import annotations

import inspect
import struct
from typing import Any

import orjson
import socketio
from aiohttp._websocket.writer import WebSocketWriter
from aiohttp.web import WebSocketResponse
from engineio import async_socket as eio_socket
from engineio import base_socket as eio_base_socket
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as eio_aiohttp
from socketio import base_manager as sio_base_manager
from socketio import packet as sio_packet

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


class _WebSocket(eio_aiohttp.WebSocket):  # type: ignore[misc]
    """engineio's aiohttp websocket, without compression, and known to the broadcaster while open."""

    registry: dict[str, WebSocketResponse]

    async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
        self._sock = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(environ["aiohttp.request"])
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

    def set_server(self, server: socketio.AsyncServer) -> None:
        super().set_server(server)
        eio = server.eio
        self._sockets: dict[str, Any] = eio.sockets
        self._websockets: dict[str, WebSocketResponse] = {}
        socket_class = type("WebSocket", (_WebSocket,), {"registry": self._websockets})
        # A copy: the driver table is engineio's module-level dict, shared by every server.
        eio._async = {**eio._async, "websocket": socket_class}
        send_packet = server._send_packet

        # Acknowledgements, and what else python-socketio sends to one socket, likewise.
        async def send_directly(eio_sid: str, pkt: Any) -> None:
            encoded = pkt.encode()
            if isinstance(encoded, str) and self._write(
                eio_sid, ws_frame(f"{eio_packet.MESSAGE}{encoded}".encode())
            ):
                return
            await send_packet(eio_sid, pkt)

        server._send_packet = send_directly

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

    def _write(self, eio_sid: str, frame: bytes) -> bool:
        """Write the frame to the socket's connection now, if nothing of its own can be ahead of it."""
        ws = self._websockets.get(eio_sid)
        sock = self._sockets.get(eio_sid)
        if ws is None or sock is None or ws.closed:
            return False
        if sock.queue.qsize() or not sock.upgraded or sock.upgrading or sock.closing or sock.closed:
            return False
        writer = ws._writer
        transport = writer.transport if writer is not None else None
        if writer is None or transport is None or transport.is_closing():
            return False
        # A backed-up connection (a slow reader) goes the usual way, where the writer waits for it to
        # drain; the mark is aiohttp's own, the writer's limit.
        if writer.protocol.writing_paused or transport.get_write_buffer_size() > writer._limit:
            return False
        transport.write(frame)
        self.frames_written += 1
        return True


def check() -> None:
    """Raise `InternalsChanged` unless python-socketio and python-engineio still have every internal
    this module relies on."""
    problems = []

    def need(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    poll = inspect.getsource(eio_socket.AsyncSocket.poll)
    need("self.queue.get()" in poll, "engineio's writer takes packets from the socket's queue")
    writer = inspect.getsource(eio_socket.AsyncSocket._websocket_handler)
    need(
        "packets = await self.poll()" in writer and "await ws.send(pkt.encode())" in writer,
        "engineio's websocket writer sends what it polled from the queue, one packet at a time",
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
    for attr in ("upgraded", "upgrading", "closing", "closed"):
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
    need(eio_packet.MESSAGE == 4 and sio_packet.EVENT == 2, "engine.io MESSAGE is 4, socket.io EVENT is 2")
    if problems:
        raise InternalsChanged(
            "signaling/fastpath.py was written against python-socketio "
            f"{CHECKED_VERSIONS['python-socketio']} and python-engineio "
            f"{CHECKED_VERSIONS['python-engineio']}; the installed ones differ: " + "; ".join(problems)
        )


check()
