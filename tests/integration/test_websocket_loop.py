"""Circle reads each websocket with its own loop (signaling/fastpath.py, `_serve_websocket`) instead of
python-engineio's, and keeps what that loop promised: a session that began on long-polling moves to
a websocket and carries on; a client silent past ping_interval + ping_timeout is dropped, and one
that answers its pings is not; a frame that breaks the transport ends only that websocket; and what
one client sends is handled in the order it was sent. Real servers, real clients on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
import socketio

from signaling import fastpath
from tests.support.client import Member
from tests.support.rawsocket import RawSocket
from tests.support.servers import RunningServer, wait_until

Connect = Callable[[], Awaitable[Member]]
Factory = Callable[..., Awaitable[RunningServer]]


def quick_pings(server: RunningServer) -> float:
    """Ping every second, a second to answer (set before anyone connects, so that engineio's own
    timeout check runs at this pace too); returns the silence after which a client is dropped."""
    eio = server.circle.sio.eio
    eio.ping_interval, eio.ping_timeout = 1, 1
    return float(eio.ping_interval + eio.ping_timeout)


def websocket_url(server: RunningServer, sid: str | None = None) -> str:
    url = server.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    return url if sid is None else f"{url}&sid={sid}"


async def polling_session(http: aiohttp.ClientSession, server: RunningServer) -> str:
    """A long-polling Engine.IO session connected to the default namespace; its sid."""
    async with http.get(f"{server.url}/socket.io/?EIO=4&transport=polling") as r:
        sid = str(json.loads((await r.text())[1:])["sid"])
    await post(http, server, sid, "40")
    assert (await poll(http, server, sid)).startswith("40{")
    return sid


async def post(http: aiohttp.ClientSession, server: RunningServer, sid: str, body: str) -> None:
    async with http.post(f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}", data=body) as r:
        assert r.status == 200, await r.text()


async def poll(http: aiohttp.ClientSession, server: RunningServer, sid: str) -> str:
    async with http.get(
        f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}", timeout=aiohttp.ClientTimeout(total=5)
    ) as r:
        assert r.status == 200
        return await r.text()


async def test_a_client_that_starts_on_long_polling_upgrades_to_a_websocket_and_carries_on(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    ann = await members()
    await ann.join(room["id"], "Ann")
    bob = socketio.AsyncClient(reconnection=False)
    heard: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    bob.on("chat:message", heard.put_nowait)
    # Long-polling first, then the upgrade (python-socketio's client makes it before connect returns).
    await bob.connect(circle_server.url, transports=["polling", "websocket"])
    try:
        assert bob.transport() == "websocket"
        session = circle_server.circle.sio.eio.sockets[bob.eio.sid]
        assert session.upgraded and not session.upgrading
        assert (await bob.call("join", {"room": room["id"], "name": "Bob", "media": "text"}))["ok"]
        sent = await bob.call("chat:send", {"text": "Over the websocket now."})
        assert sent["ok"], sent
        assert await asyncio.wait_for(heard.get(), 5) == sent["message"]
        await ann.wait_for("chat:message", lambda m: m["id"] == sent["message"]["id"])
        manager = circle_server.circle.sio.manager
        assert isinstance(manager, fastpath.BroadcastOnce)
        written = manager.frames_written
        reply = (await ann.call("chat:send", {"text": "And the broadcast reaches you there."}))["message"]
        assert await asyncio.wait_for(heard.get(), 5) == reply
        # Ann's acknowledgement and the message to each of them, written straight to both websockets.
        assert manager.frames_written - written == 3
    finally:
        await bob.disconnect()


async def test_a_websocket_refused_during_the_upgrade_leaves_its_session_on_long_polling(
    circle_server: RunningServer,
) -> None:
    async with aiohttp.ClientSession() as http:
        sid = await polling_session(http, circle_server)
        async with http.ws_connect(websocket_url(circle_server, sid)) as ws:
            await ws.send_bytes(b"\x00\x01")
            msg = await asyncio.wait_for(ws.receive(), 5)
            assert msg.type is aiohttp.WSMsgType.CLOSE
        session = circle_server.circle.sio.eio.sockets[sid]
        await wait_until(lambda: not session.upgrading)
        assert not session.upgraded
        # The session is still heard, and answers, over long-polling.
        await post(http, circle_server, sid, '421["chat:history",{}]')
        answer = await poll(http, circle_server, sid)
        assert answer.startswith("431["), answer
        assert json.loads(answer[3:])[0]["error"]["code"] == "not_joined"


async def test_a_client_that_stops_answering_pings_is_dropped_within_ping_interval_and_timeout(
    circle_server: RunningServer,
) -> None:
    limit_s = quick_pings(circle_server)
    eio = circle_server.circle.sio.eio
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(websocket_url(circle_server)) as ws:
            assert (await ws.receive_str()).startswith("0")
            await ws.send_str("40")
            quiet_since = loop.time()
            assert (await ws.receive_str()).startswith("40{")
            assert len(eio.sockets) == 1
            # From here it listens and says nothing, its pings unanswered, until the server closes.
            while True:
                msg = await asyncio.wait_for(ws.receive(), limit_s + 2)
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
            dropped_after = loop.time() - quiet_since
    assert dropped_after < limit_s + 0.5, dropped_after
    await wait_until(lambda: not eio.sockets)


async def test_a_client_that_answers_its_pings_is_kept_past_ping_interval_and_timeout(
    circle_server: RunningServer, members: Connect
) -> None:
    limit_s = quick_pings(circle_server)
    room = await circle_server.create_room()
    ann = await members()
    await ann.join(room["id"], "Ann")
    # Only pongs from Ann for more than twice as long as the silence that drops a client.
    await asyncio.sleep(2 * limit_s + 0.5)
    assert not ann.disconnected
    assert (await ann.call("chat:send", {"text": "Still here."}))["ok"]


@pytest.mark.parametrize(
    "frame", [b"\x04\x00", "x", "4"], ids=["binary", "no engine.io packet", "empty message"]
)
async def test_a_bad_frame_closes_only_the_websocket_it_came_on(
    circle_server: RunningServer, members: Connect, frame: str | bytes
) -> None:
    room = await circle_server.create_room()
    ann = await members()
    await ann.join(room["id"], "Ann")
    raw = await RawSocket(circle_server.url).open()
    try:
        assert (await raw.call("join", {"room": room["id"], "name": "Mallory"}))["ok"]
        sessions = circle_server.circle.sio.eio.sockets
        assert len(sessions) == 2
        await raw.send(frame)
        assert await raw.closed_by_server()
        await wait_until(lambda: len(sessions) == 1)
        assert not ann.disconnected
        sent = await ann.call("chat:send", {"text": "Carrying on."})
        assert sent["ok"], sent
        await ann.wait_for("chat:message", lambda m: m["id"] == sent["message"]["id"])
    finally:
        await raw.close()


async def test_what_one_client_sends_at_once_is_handled_in_the_order_sent(
    circle_server_factory: Factory, connect: Callable[[str], Awaitable[Member]]
) -> None:
    server = await circle_server_factory(
        chat_burst=1000, chat_rate_per_s=1000.0, chat_address_burst=1000, chat_address_rate_per_s=1000.0
    )
    room = await server.create_room()
    ann = await connect(server.url)
    await ann.join(room["id"], "Ann")
    raw = await RawSocket(server.url).open()
    try:
        assert (await raw.call("join", {"room": room["id"], "name": "Bob"}))["ok"]
        count = 200
        ids = [raw.new_id() for _ in range(count)]
        # Written back to back, without waiting for any answer: the server reads them many at a time.
        assert raw.ws is not None
        for n, ack_id in enumerate(ids):
            await raw.ws.send_str(f"42{ack_id}" + json.dumps(["chat:send", {"text": str(n)}]))
        acks = [await raw.next_packet(lambda p: p.startswith("3"), 10) for _ in ids]
        assert [int(a[1 : a.index("[")]) for a in acks] == ids
        assert all(json.loads(a[a.index("[") :])[0]["ok"] for a in acks)
        await ann.wait_for("chat:message", lambda m: m["text"] == str(count - 1), 10)
        assert [m["text"] for m in ann.of("chat:message")] == [str(n) for n in range(count)]
    finally:
        await raw.close()
