"""socket.io's server, adapted: each event knows whether it came with an acknowledgement id, and
work can wait until that acknowledgement has gone out; each Engine.IO session can be refused or
followed from its handshake on. Also the Origin check for browsers.

These rely on private hooks of python-socketio (`_handle_event_internal`, `_handle_eio_connect`,
`_handle_eio_disconnect`); they are used here only.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import socketio

from signaling.config import SignalingConfig
from signaling.fastpath import Json

_ack_requested: contextvars.ContextVar[bool] = contextvars.ContextVar("ack_requested", default=True)
_current_sid: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_sid", default=None)
# Work to do once the current event's acknowledgement has been sent (closing the sender's own connection).
_after_ack: contextvars.ContextVar[list[Callable[[], Awaitable[None]]] | None] = contextvars.ContextVar(
    "after_ack", default=None
)


TransportOpened = Callable[[str, dict[str, Any]], "dict[str, Any] | None"]
"""Asked with a new Engine.IO session's id and environ: None to accept it, else the error object to
refuse it with (Engine.IO answers the handshake with a 401 carrying it)."""


class CircleSocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """socket.io's server, told whether each event came with an acknowledgement id, so that an
    error for an event sent without one still reaches the client (as an `error` event); and telling
    whoever `follow_transports` when Engine.IO sessions open and close."""

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

    def __init__(self, **kwargs: Any) -> None:
        # orjson rather than the standard library for every packet in and out (signaling/fastpath.py).
        super().__init__(json=Json, **kwargs)

    async def _handle_event_internal(  # type: ignore[no-untyped-def]
        self, server, sid, eio_sid, data, namespace, id
    ):
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


def origin_checker(config: SignalingConfig) -> Callable[[str | None, dict[str, Any]], bool]:
    """Browsers must come from this server's own origin (or one configured); clients that send no
    Origin header at all (a terminal client) are allowed and bound by the same rules as everyone."""
    extra = {o.rstrip("/") for o in config.cors_allowed_origins}
    if config.public_url:
        parts = urlsplit(config.public_url)
        extra.add(f"{parts.scheme}://{parts.netloc}")

    def allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        if not origin:
            return True
        if origin.rstrip("/") in extra:
            return True
        host = environ.get("HTTP_HOST", "")
        return bool(host) and urlsplit(origin).netloc == host

    return allowed
