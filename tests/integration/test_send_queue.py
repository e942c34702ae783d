"""A client that stops reading is cut off once `max_send_queue_bytes` wait for it, however fast it asks
for more, or once it has stayed backed up past `send_deadline_s` however slowly: the server's memory
comes back down, and the others in its room keep their round trip.

The server is a real `circle serve` process, so that its memory (RSS) is its own; the stalled reader
is a raw websocket speaking engine.io/socket.io frames on a socket with a small receive buffer, that
joins and then never reads again."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import os
import socket
import struct
import time
from pathlib import Path

from tests.support.client import Member
from tests.support.processes import ServerProcess

QUEUE_BYTES = 4 * 1024 * 1024
PAGE = 100
SAMPLES = 50
# What the server may keep above where it was once the reader is gone: the bound itself, and as much
# again for what the allocator holds on to after freeing the pages it encoded (it does not hand every
# freed block back to the system at once).
RSS_SLACK_BYTES = 2 * QUEUE_BYTES
LATENCY_P99_S = 0.100


class StalledReader:
    """A websocket client of our own making: it answers the handshake and the join, then reads no more."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.acks = 0

    @classmethod
    async def connect(cls, port: int) -> StalledReader:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Small, so that what the server sends backs up in its own buffers rather than the kernel's.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    def send(self, text: str) -> None:
        payload = text.encode()
        size = len(payload)
        mask = os.urandom(4)
        if size < 126:
            head = struct.pack("!BB", 0x81, 0x80 | size)
        elif size < 65536:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, size)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
        self.writer.write(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    async def receive(self) -> str:
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return (await self.reader.readexactly(size)).decode()

    async def receive_until(self, prefix: str) -> str:
        while not (text := await self.receive()).startswith(prefix):
            pass
        return text

    async def join(self, room_id: str) -> None:
        await self.receive_until("0")  # engine.io open
        self.send("40")
        await self.receive_until("40")
        self.send("420" + json.dumps(["join", {"room": room_id, "name": "Quiet", "media": "text"}]))
        ack = json.loads((await self.receive_until("430"))[3:])
        assert ack[0]["ok"], ack

    async def closed_by_server(self) -> bool:
        """Reads (and drops) whatever is left until the server's end is gone."""
        try:
            while await self.reader.read(65536):
                pass
        except (ConnectionError, OSError):
            pass
        return True


async def round_trips(member: Member, count: int, stop: asyncio.Event) -> list[float]:
    """Seconds from each chat:send to the sender's own chat:message (at most `count`)."""
    took: list[float] = []
    for i in range(count):
        if stop.is_set() and len(took) >= count // 2:
            break
        text = f"still there? {i}"
        started = time.perf_counter()
        await member.call("chat:send", {"text": text})
        await member.wait_for("chat:message", lambda m, t=text: m["text"] == t)
        took.append(time.perf_counter() - started)
        await asyncio.sleep(0.02)
    return took


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


async def test_a_client_that_stops_reading_is_cut_off_and_memory_and_latency_hold(tmp_path: Path) -> None:
    # The history rate limit is opened wide: the send queue's bound must hold on its own.
    server = ServerProcess(
        tmp_path / "data",
        max_send_queue_bytes=QUEUE_BYTES,
        chat_history_page_messages=PAGE,
        history_burst=1000,
        history_rate_per_s=1000,
        chat_burst=1000,
        chat_rate_per_s=1000,
        chat_address_burst=1000,
        chat_address_rate_per_s=1000,
    )
    await asyncio.to_thread(server.start)
    ann = bob = None
    stalled: StalledReader | None = None
    try:
        room = await asyncio.to_thread(server.create_room)
        ann, bob = await Member(server.url).connect(), await Member(server.url).connect()
        await ann.join(room["id"], "Ann", media="text")
        await bob.join(room["id"], "Bob", media="text")
        long_text = "I hear you. " * 166  # 1,992 characters
        for i in range(PAGE):
            assert (await ann.call("chat:send", {"text": f"{i} {long_text}"}))["ok"]
        page = await bob.call("chat:history")
        assert len(page["messages"]) == PAGE
        baseline = server.rss_bytes()

        stalled = await StalledReader.connect(server.port)
        await stalled.join(room["id"])
        cut_off = asyncio.Event()
        peak = baseline

        async def flood() -> int:
            assert stalled is not None
            sent = 0
            try:
                for n in range(400):
                    stalled.send(f"42{n}" + json.dumps(["chat:history", {}]))
                    sent += 1
                    await stalled.writer.drain()
                    if n % 20 == 19:
                        await asyncio.sleep(0.01)
            except (ConnectionError, OSError):
                pass
            return sent

        async def watch() -> None:
            nonlocal peak
            deadline = time.monotonic() + 30
            while "bytes waiting to be sent to it (full)" not in server.output():
                assert time.monotonic() < deadline, server.log_tail(20)
                peak = max(peak, server.rss_bytes())
                await asyncio.sleep(0.05)
            cut_off.set()

        sent, _, took = await asyncio.gather(flood(), watch(), round_trips(bob, SAMPLES, cut_off))
        assert cut_off.is_set()
        # Far more asked for than the bound lets wait: 400 pages of ~210 KB each is over 80 MB.
        assert sent * 200_000 > 4 * QUEUE_BYTES or stalled.writer.is_closing()
        assert await asyncio.wait_for(stalled.closed_by_server(), 10)

        deadline = time.monotonic() + 15
        while (after := server.rss_bytes()) > baseline + RSS_SLACK_BYTES:
            assert time.monotonic() < deadline, f"RSS {baseline} before, {after} after the cut-off"
            await asyncio.sleep(0.2)
        print(f"RSS {baseline} before, {peak} peak, {after} after; {len(took)} round trips, p99 {p99(took)}")
        assert len(took) >= SAMPLES // 2
        assert p99(took) < LATENCY_P99_S, sorted(took)[-5:]
        # The room carries on: the one cut off is gone from it, the others still talk.
        assert (await bob.call("chat:send", {"text": "after"}))["ok"]
        await ann.wait_for("chat:message", lambda m: m["text"] == "after")
    finally:
        if stalled is not None:
            stalled.writer.close()
        for m in (ann, bob):
            if m is not None:
                await m.close()
        await asyncio.to_thread(server.stop)


async def test_a_client_backed_up_past_the_send_deadline_is_cut_off_before_its_queue_is_full(
    tmp_path: Path,
) -> None:
    server = ServerProcess(
        tmp_path / "data",
        max_send_queue_bytes=256 * 1024 * 1024,
        send_deadline_s=1.0,
        history_burst=1000,
        history_rate_per_s=1000,
        chat_burst=1000,
        chat_rate_per_s=1000,
        chat_address_burst=1000,
        chat_address_rate_per_s=1000,
    )
    await asyncio.to_thread(server.start)
    ann = None
    stalled: StalledReader | None = None
    try:
        room = await asyncio.to_thread(server.create_room)
        ann = await Member(server.url).connect()
        await ann.join(room["id"], "Ann", media="text")
        long_text = "I hear you. " * 166
        for i in range(PAGE):
            assert (await ann.call("chat:send", {"text": f"{i} {long_text}"}))["ok"]
        stalled = await StalledReader.connect(server.port)
        await stalled.join(room["id"])
        started = time.monotonic()
        asked = 0
        # Slowly: a page every 0.2 s is a few MB in all, far under the queue's bound.
        while "bytes waiting to be sent to it (stalled)" not in server.output():
            assert time.monotonic() - started < 20, server.log_tail(20)
            with contextlib.suppress(ConnectionError, OSError):
                stalled.send(f"42{asked}" + json.dumps(["chat:history", {}]))
                asked += 1
            await asyncio.sleep(0.2)
        assert time.monotonic() - started >= 1.0, "not before the deadline"
        assert "(full)" not in server.output()
        assert await asyncio.wait_for(stalled.closed_by_server(), 10)
    finally:
        if stalled is not None:
            stalled.writer.close()
        if ann is not None:
            await ann.close()
        await asyncio.to_thread(server.stop)
