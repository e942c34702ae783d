"""A server's log holds ids and counts, never a client's address, a name or what was said: not in
Circle's own lines, nor in aiohttp's, python-engineio's or python-socketio's, whatever a client sends.

The server listens on 127.0.0.2; its clients connect from 127.0.0.1, so that address anywhere in the
log is a client's."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
import socketio

from tests.support.client import Member
from tests.support.processes import ServerProcess
from tests.support.rawsocket import RawSocket

Connect = Callable[[str], Awaitable[Member]]

SERVER_HOST = "127.0.0.2"
CLIENT_ADDRESS = "127.0.0.1"
SECRETS = [
    "Zebulon",
    "Philippa",
    "SECRET-CHAT",
    "SECRET-PRIVATE",
    "SECRET-SDP",
    "SECRET-TITLE",
    "SECRET-PASS",
]


async def raw_http(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(SERVER_HOST, port)
    writer.write(request)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(4096), 5)
    finally:
        writer.close()


async def misbehave(server: ServerProcess, room_id: str) -> None:
    """Requests and frames a hostile or broken client might send."""
    async with aiohttp.ClientSession() as http:
        for path in ["/static/a%00.css", "/static/../../etc/passwd", "/static/css/%2e%2e/x.css", "/nowhere"]:
            async with http.get(f"{server.url}{path}") as r:
                assert r.status == 404, path
        async with http.post(
            f"{server.url}/api/rooms", json={"title": "x"}, headers={"Authorization": "Bearer wrong"}
        ) as r:
            assert r.status == 401
        async with http.post(f"{server.url}/socket.io/?EIO=4&transport=polling&sid=nope", data="40") as r:
            assert r.status == 400
    for request in [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n",
        b"GET /static/\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /api/rooms HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    ]:
        await raw_http(server.port, request)
    for frame in ["x", '421["chat:send",{"text":"SECRET-CHAT', "42" + "1" * 101 + "[]"]:
        raw = await RawSocket(server.url).open()
        await raw.send(frame)
        await raw.send('429["chat:history",{}]')
        try:
            await raw.ack_of(9, timeout=2)
        except (ConnectionError, TimeoutError):
            pass
        await raw.close()
    stranger = Member(server.url)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await stranger.connect(headers={"Origin": "http://evil.example"})
    raw = await RawSocket(server.url).open()
    ack = await raw.call("join", {"room": room_id, "name": "Zebulon", "passcode": "wrong"})
    assert ack["error"]["code"] == "wrong_passcode"
    ack = await raw.call("join", {"room": room_id, "name": "Zebulon (host)", "passcode": "SECRET-PASS"})
    assert ack["error"]["code"] == "bad_request"
    await raw.close()


async def test_the_log_holds_no_client_address_name_or_chat(tmp_path: Path, connect: Connect) -> None:
    server = ServerProcess(
        tmp_path / "server", host=SERVER_HOST, log_level="DEBUG", shutdown_grace_s=1.0
    ).start()
    try:
        room = server.create_room("SECRET-TITLE", passcode="SECRET-PASS")
        ann, bob = await connect(server.url), await connect(server.url)
        await ann.join(room["id"], "Zebulon", passcode="SECRET-PASS")
        await bob.join(room["id"], "Philippa", passcode="SECRET-PASS")
        assert (await ann.call("chat:send", {"text": "SECRET-CHAT for everyone"}))["ok"]
        assert (await ann.call("chat:send", {"text": "SECRET-PRIVATE", "to": bob.id}))["ok"]
        offer = {"type": "offer", "sdp": "v=0\r\ns=SECRET-SDP\r\n"}
        assert (await ann.call("signal", {"to": bob.id, "description": offer}))["ok"]
        await bob.wait_for("signal")
        await misbehave(server, room["id"])
        # The room still works after all of it.
        sent = await bob.call("chat:send", {"text": "SECRET-CHAT still here"})
        await ann.wait_for("chat:message", lambda m: m["id"] == sent["message"]["id"])
        await ann.close()
        await bob.close()
    finally:
        assert server.stop() == 0
    log = server.output()
    assert "instance" in log and room["id"] in log, "the log was written"
    assert CLIENT_ADDRESS not in log, [line for line in log.splitlines() if CLIENT_ADDRESS in line][:5]
    for secret in SECRETS:
        assert secret not in log, [line for line in log.splitlines() if secret in line][:5]
    addresses = set(re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", log)) - {SERVER_HOST}
    assert addresses == set(), addresses
    assert "Traceback" not in log, log[log.find("Traceback") - 300 :][:3000]
    assert json.dumps(room["host_key"])[1:-1] not in log
