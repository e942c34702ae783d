"""A socket.io client that writes raw Engine.IO frames over a real websocket (aiohttp), so that tests
can send what no well-behaved client library would: truncated JSON, unknown packet types, binary."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp


class RawSocket:
    """One Engine.IO websocket session, connected to the default namespace by `open`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._next_id = 1000
        # Frames read but not yet asked for.
        self._unread: list[str] = []
        self.closed = False

    async def open(self, headers: dict[str, str] | None = None) -> RawSocket:
        self._http = aiohttp.ClientSession()
        ws_url = self.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        self.ws = await self._http.ws_connect(ws_url, headers=headers or {})
        opened = await self._frame(5.0)
        assert opened is not None and opened.startswith("0"), opened
        await self.send("40")
        connected = await self.next_packet(lambda p: p.startswith(("0", "4")))
        assert connected.startswith("0{"), connected
        return self

    async def send(self, frame: str | bytes) -> None:
        assert self.ws is not None
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    async def _frame(self, timeout: float) -> str | None:
        """The next text frame from the server, answering its pings; None once the socket closed."""
        assert self.ws is not None
        while True:
            if self.closed:
                return None
            msg = await asyncio.wait_for(self.ws.receive(), timeout)
            if msg.type != aiohttp.WSMsgType.TEXT:
                self.closed = True
                return None
            if msg.data == "2":
                await self.ws.send_str("3")
                continue
            if msg.data == "1":
                # Engine.IO close: the server ended the session.
                self.closed = True
                return None
            return str(msg.data)

    async def next_packet(self, predicate: Any = lambda _: True, timeout: float = 5.0) -> str:
        """The first Engine.IO message (without its leading `4`) that `predicate` accepts."""
        for i, frame in enumerate(self._unread):
            if predicate(frame[1:]):
                del self._unread[i]
                return frame[1:]
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            frame = await self._frame(max(left, 0.001))
            if frame is None:
                raise ConnectionError("the server closed the connection")
            if frame.startswith("4") and predicate(frame[1:]):
                return frame[1:]
            self._unread.append(frame)

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def ack_of(self, ack_id: int, timeout: float = 5.0, namespace: str = "") -> Any:
        """The acknowledgement with `ack_id` (in `namespace`, "" for the default one)."""
        prefix = f"3{namespace + ',' if namespace else ''}{ack_id}["
        packet = await self.next_packet(lambda p: p.startswith(prefix), timeout)
        return json.loads(packet[len(prefix) - 1 :])[0]

    async def call(self, event: str, data: Any = None, timeout: float = 5.0) -> Any:
        """Send one well-formed event with an acknowledgement id, and return the acknowledgement."""
        ack_id = self.new_id()
        await self.send(f"42{ack_id}" + json.dumps([event, data if data is not None else {}]))
        return await self.ack_of(ack_id, timeout)

    async def closed_by_server(self, timeout: float = 5.0) -> bool:
        """Whether the server closes this connection within `timeout` (frames before that are kept)."""
        try:
            while True:
                frame = await self._frame(timeout)
                if frame is None:
                    return True
                self._unread.append(frame)
        except TimeoutError:
            return False

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._http is not None:
            await self._http.close()
