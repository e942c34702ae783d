"""Engine.IO over aiohttp, with a gate in front: python-engineio only ever decodes frames it can.

- A websocket frame that is no Engine.IO packet (binary ones included: Circle's protocol is text)
  closes that websocket. python-engineio would raise inside its receive loop, and aiohttp would then
  write an error response into the upgraded connection.
- A long-polling POST is read here first. Over `max_frame_bytes` it is answered 413 `too_large`, and a
  payload holding a frame that is no Engine.IO packet 400 `bad_request`; either way that session is
  closed, as an oversized websocket frame closes its connection. (python-engineio would close the
  session itself and wait for the session's queue to drain before answering: with no poll waiting,
  never.)

Each refusal is one log line, as often as the `LogRate` given allows. This relies on two hooks of
python-engineio's aiohttp driver (its `websocket` class and `translate_request`); they are used here
only.
"""

from __future__ import annotations

import logging
from typing import Any

import engineio
from aiohttp import WSCloseCode, web
from engineio.async_drivers.aiohttp import WebSocket

from server.api import error_response
from signaling.lograte import LogRate, unbounded
from signaling.packets import frame_problem
from signaling.protocol import ProtocolError
from signaling.socket import cut

log = logging.getLogger("circle.transport")

# Engine.IO's separator between the packets of one polling payload.
_RECORD_SEPARATOR = "\x1e"


class CircleEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """python-engineio's server (aiohttp only), gated as this module says."""

    _async: dict[str, Any]

    def __init__(self, *args: Any, log_rate: LogRate | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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
            return error_response(refusal, request)
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


class _GatedWebSocket(WebSocket):  # type: ignore[misc]
    """python-engineio's aiohttp websocket, handing on only frames it can decode. A frame that
    breaks the transport closes the websocket; so does any frame once its session is closed."""

    async def wait(self) -> Any:
        frame = await super().wait()
        session = getattr(self.handler, "__self__", None)
        if getattr(session, "closed", False):
            # Closed by the server (`signaling.socket.cut`), already logged: what follows is not read.
            problem: str | None = "session closed"
        else:
            problem = frame_problem(frame)
            if problem is not None:
                self.server.log_rate.log(log, logging.INFO, "bad frame", "bad websocket frame: %s", problem)
        if problem is None:
            return frame
        await self._sock.close(code=WSCloseCode.PROTOCOL_ERROR)
        # What python-engineio's loop takes for a websocket that closed.
        raise OSError(problem)
