"""socket.io's server, adapted: each event knows whether it came with an acknowledgement id, and
work can wait until that acknowledgement has gone out; each Engine.IO session can be refused or
followed from its handshake on. Also the Origin check for browsers.

These override private hooks of python-socketio (`_handle_eio_message`, `_handle_event_internal`,
`_handle_eio_connect`, `_handle_eio_disconnect`) and call the handlers behind them; they are overridden
here only, and `signaling.fastpath.check()` (at import and in the tests) checks they are still there.
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import socketio

from signaling import packets
from signaling.config import SignalingConfig
from signaling.events import ErrorEvent
from signaling.fastpath import Json, cut
from signaling.lograte import LogRate, unbounded

log = logging.getLogger("circle.signaling")

# The event name under which a malformed packet reaches the `*` handler, with its PacketError (which
# no client can send: an event a client names so is an unknown event).
BAD_PACKET = ""

_ack_requested: contextvars.ContextVar[bool] = contextvars.ContextVar("ack_requested", default=True)
_current_sid: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_sid", default=None)
# Work to do once the current event's acknowledgement has been sent (closing the sender's own connection).
_after_ack: contextvars.ContextVar[list[Callable[[], Awaitable[None]]] | None] = contextvars.ContextVar(
    "after_ack", default=None
)


class TextPacket(socketio.packet.Packet):  # type: ignore[misc]
    """A socket.io packet of Circle's protocol, which is text only. python-socketio looks through all
    of every packet it sends for binary values to send as attachments (all of a room snapshot, on each
    join); this one does not. A binary value is refused by the JSON codec when the packet is encoded."""

    uses_binary_events = False


TransportOpened = Callable[[str, dict[str, Any]], "dict[str, Any] | None"]
"""Asked with a new Engine.IO session's id and environ: None to accept it, else the error object to
refuse it with (Engine.IO answers the handshake with a 401 carrying it)."""


class CircleSocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """socket.io's server, told whether each event came with an acknowledgement id, so that an
    error for an event sent without one still reaches the client (as an `error` event); and telling
    whoever `follow_transports` when Engine.IO sessions open and close.

    Every packet is read by `signaling.packets` before python-socketio sees it: a malformed one is
    answered `bad_request` (through the `*` handler, as the event `BAD_PACKET`, so that it counts
    against the sender's rate limit like any bad event) or closes the connection, with one log line
    as often as `log_rate` allows. The Engine.IO server is of `engine_class` (python-engineio's own
    by default); other keyword arguments go to python-socketio, and through it to that class."""

    def __init__(
        self, *, engine_class: type | None = None, log_rate: LogRate | None = None, **kwargs: Any
    ) -> None:
        self._engine_class = engine_class
        self.log_rate = log_rate if log_rate is not None else unbounded()
        # orjson rather than the standard library for every packet in and out (signaling/fastpath.py).
        super().__init__(serializer=TextPacket, json=Json, log_rate=self.log_rate, **kwargs)

    def _engineio_server_class(self) -> type:
        return self._engine_class or super()._engineio_server_class()

    _transport_opened: TransportOpened | None = None
    _transport_closed: Callable[[str], None] | None = None

    def follow_transports(self, opened: TransportOpened, closed: Callable[[str], None]) -> None:
        self._transport_opened, self._transport_closed = opened, closed

    async def _handle_eio_connect(self, eio_sid, environ):  # type: ignore[no-untyped-def]
        if self._transport_opened is not None:
            refusal = self._transport_opened(eio_sid, environ)
            if refusal is not None:
                return refusal
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_eio_disconnect(self, eio_sid, reason):  # type: ignore[no-untyped-def]
        try:
            await super()._handle_eio_disconnect(eio_sid, reason)
        finally:
            if self._transport_closed is not None:
                self._transport_closed(eio_sid)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            pkt = packets.read(self.packet_class, data)
        except packets.PacketError as bad:
            await self._refuse(eio_sid, bad)
            return
        namespace = pkt.namespace or "/"
        if pkt.packet_type == packets.CONNECT:
            await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
        elif pkt.packet_type == packets.DISCONNECT:
            await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)
        elif self.manager.sid_from_eio_sid(eio_sid, namespace) is None:
            await self._refuse(
                eio_sid,
                packets.PacketError(
                    "namespace not joined", "Not connected to this namespace.", namespace, pkt.id
                ),
            )
        elif pkt.packet_type == packets.EVENT:
            await self._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)
        else:
            await self._handle_ack(eio_sid, pkt.namespace, pkt.id, pkt.data)

    async def _refuse(self, eio_sid: str, bad: packets.PacketError) -> None:
        namespace = bad.namespace
        if namespace is None:
            self.log_rate.log(log, logging.INFO, "bad packet", "bad packet from %s: %s", eio_sid, bad.reason)
            await cut(self.eio, eio_sid)
            return
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is not None and self.manager.is_connected(sid, namespace):
            # Answered, and logged, where every bad event is.
            await self._handle_event_internal(self, sid, eio_sid, [BAD_PACKET, bad], namespace, bad.ack_id)
            return
        self.log_rate.log(log, logging.INFO, "bad packet", "bad packet from %s: %s", eio_sid, bad.reason)
        error = {"code": "bad_request", "message": bad.message}
        if bad.ack_id is not None:
            answer = self.packet_class(
                packets.ACK, namespace=namespace, id=bad.ack_id, data=[{"ok": False, "error": error}]
            )
        else:
            answer = self.packet_class(
                packets.EVENT, namespace=namespace, data=[ErrorEvent.event, {"error": error, "event": ""}]
            )
        await self._send_packet(eio_sid, answer)

    async def _handle_event_internal(
        self, server: Any, sid: str, eio_sid: str, data: Any, namespace: str, id: int | None
    ) -> None:
        _ack_requested.set(id is not None)
        after: list[Callable[[], Awaitable[None]]] = []
        _after_ack.set(after)
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)
        for job in after:
            await job()


def wants_ack() -> bool:
    """Whether the event being handled asked for an acknowledgement."""
    return _ack_requested.get()


def mark_current(sid: str) -> None:
    _current_sid.set(sid)


def current_sid() -> str | None:
    """The connection whose event is being handled."""
    return _current_sid.get()


def after_ack() -> list[Callable[[], Awaitable[None]]] | None:
    """Jobs to run once the current event's acknowledgement is sent (None outside an event)."""
    return _after_ack.get()


Origin = tuple[str, str, int]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> Origin | None:
    """A URL's origin as scheme, host and port (the port filled in), or None if it has none."""
    try:
        parts = urlsplit(url.strip())
        scheme, host = parts.scheme.lower(), parts.hostname
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if not host or port is None:
        return None
    return scheme, host, port


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def origin_checker(config: SignalingConfig, own_url: str) -> Callable[[str | None, dict[str, Any]], bool]:
    """Browsers must come from `public_url` or from an origin in `cors_allowed_origins`, compared by
    scheme, host and port. Without `public_url`, they must come to this server's own port (of
    `own_url`, where it listens) by an IP address or as localhost: never under another name. The
    Host header is never looked at: with DNS rebinding, a hostile page's own name resolves to this
    server, and its requests carry that name as both Origin and Host; an address or localhost is no
    name an attacker can point here. Clients that send no Origin header at all (a terminal client)
    are allowed and bound by the same rules as everyone."""
    allowed = {origin_of(url) for url in config.cors_allowed_origins}
    if config.public_url is not None:
        allowed.add(origin_of(config.public_url))
    own = origin_of(own_url)

    def allowed_origin(origin: str | None, environ: dict[str, Any]) -> bool:
        if not origin:
            return True
        found = origin_of(origin)
        if found is None:
            return False
        if found in allowed:
            return True
        if config.public_url is not None or own is None:
            return False
        scheme, host, port = found
        return (scheme, port) == (own[0], own[2]) and (host == "localhost" or _is_address(host))

    return allowed_origin
