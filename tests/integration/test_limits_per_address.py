"""Limits per address and per room, not only per connection: fresh sockets from one script get no more
than one socket would. Each test goes past one setting. Members come through a trusted proxy that
names their address, as behind nginx."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import socketio

from tests.support.client import Member
from tests.support.servers import RunningServer

Factory = Callable[..., Awaitable[RunningServer]]
Person = Callable[..., Awaitable[Member]]

BEHIND_PROXY: dict[str, Any] = {"trusted_proxies": ("127.0.0.1",)}
GUESSER = "203.0.113.7"
PASSCODE = "serenity-now"


@pytest.fixture
async def person() -> AsyncIterator[Person]:
    """A new socket to `server`, coming from `address` (through the proxy) when given."""
    made: list[Member] = []

    async def connect(server: RunningServer, address: str | None = None) -> Member:
        m = Member(server.url)
        made.append(m)
        return await m.connect(headers={"X-Forwarded-For": address} if address else {})

    yield connect
    for m in made:
        await m.close()
        # A refused handshake leaves the client's HTTP session open: close it too.
        http = getattr(m.sio.eio, "http", None)
        if http is not None and not http.closed:
            await http.close()


async def guess(
    person: Person, server: RunningServer, room: dict[str, Any], passcode: str, address: str
) -> Any:
    """A join with `passcode` from a fresh socket, as a guessing script makes them; its error, or None."""
    m = await person(server, address)
    ack = await m.call("join", {"room": room["id"], "name": "G", "media": "text", "passcode": passcode})
    await m.close()
    return None if ack["ok"] else ack["error"]


async def facilitator(person: Person, server: RunningServer, room: dict[str, Any]) -> Member:
    fa = await person(server, "198.51.100.1")
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    return fa


async def test_wrong_passcodes_from_one_address_wait_longer_each_time_then_lock_it_out(
    circle_server_factory: Factory, person: Person
) -> None:
    server = await circle_server_factory(
        passcode_delay_s=0.2,
        passcode_max_delay_s=0.4,
        passcode_lockout_failures=5,
        passcode_lockout_s=60,
        # This test's own socket is not what slows it down.
        join_burst=100,
        join_rate_per_s=100,
        **BEHIND_PROXY,
    )
    room = await server.create_room(passcode=PASSCODE)
    fa = await facilitator(person, server, room)
    guesser = await person(server, GUESSER)

    async def attempt(passcode: str) -> Any:
        ack = await guesser.call(
            "join", {"room": room["id"], "name": "G", "media": "text", "passcode": passcode}
        )
        return None if ack["ok"] else ack["error"]

    # A first and a second mistake cost nothing yet.
    for n in range(2):
        assert (await attempt(f"guess-{n}"))["code"] == "wrong_passcode"
    waits = []
    for n in range(2, 5):
        early = await attempt(f"guess-{n}")
        assert early["code"] == "rate_limited" and early["scope"] == "address"
        waits.append(early["retry_after_ms"])
        await asyncio.sleep(early["retry_after_ms"] / 1000)
        assert (await attempt(f"guess-{n}"))["code"] == "wrong_passcode"
    # 0.2 s, doubled to 0.4 s, then no longer than passcode_max_delay_s (less the moment the probe took).
    assert 100 < waits[0] <= 200 < waits[1] <= 400 and 200 < waits[2] <= 400

    # The fifth wrong passcode in a row locks the address out, fresh sockets from it too: even the
    # right passcode is not checked.
    locked = await guess(person, server, room, PASSCODE, GUESSER)
    assert locked["code"] == "rate_limited" and 55_000 <= locked["retry_after_ms"] <= 60_000
    told = await fa.wait_for("lobby:passcode-failures")
    assert told["scope"] == "address" and told["until"] > time.time() * 1000 + 55_000
    # Nobody else is held up by it.
    assert await guess(person, server, room, PASSCODE, "198.51.100.20") is None


async def test_a_right_passcode_forgives_the_mistakes_before_it(
    circle_server_factory: Factory, person: Person
) -> None:
    server = await circle_server_factory(passcode_delay_s=30, **BEHIND_PROXY)
    room = await server.create_room(passcode=PASSCODE)
    household = "198.51.100.30"
    assert (await guess(person, server, room, "serenity-later", household))["code"] == "wrong_passcode"
    assert await guess(person, server, room, PASSCODE, household) is None
    assert (await guess(person, server, room, "serenity-soon", household))["code"] == "wrong_passcode"
    # Forgiven: this is again a first mistake, so the next try need not wait.
    assert await guess(person, server, room, PASSCODE, household) is None


async def test_wrong_passcodes_from_many_addresses_shut_the_room_to_passcodes_for_a_while(
    circle_server_factory: Factory, person: Person
) -> None:
    server = await circle_server_factory(passcode_room_burst=4, passcode_room_rate_per_s=0.01, **BEHIND_PROXY)
    room = await server.create_room(passcode=PASSCODE)
    other = await server.create_room(passcode=PASSCODE)
    fa = await facilitator(person, server, room)
    for n in range(4):
        assert (await guess(person, server, room, "wrong-one", f"203.0.113.{n + 10}"))[
            "code"
        ] == "wrong_passcode"
    shut = await guess(person, server, room, PASSCODE, "198.51.100.40")
    assert shut["code"] == "rate_limited" and shut["scope"] == "room" and shut["retry_after_ms"] > 60_000
    told = await fa.wait_for("lobby:passcode-failures")
    assert told["scope"] == "room"
    # The facilitator's link still opens the room, and other rooms are not shut.
    cofa = await person(server, "198.51.100.41")
    assert (await cofa.join(room["id"], "Co", host_key=room["host_key"]))["ok"]
    assert await guess(person, server, other, PASSCODE, "198.51.100.40") is None


async def create(server: RunningServer, passcode: str) -> tuple[int, dict[str, Any]]:
    auth = {"Authorization": f"Bearer {server.admin_token}"}
    body = {"title": "t", "passcode": passcode}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/api/rooms", json=body, headers=auth) as r:
            return r.status, dict(await r.json())


async def edit(server: RunningServer, room_id: str, passcode: str) -> tuple[int, dict[str, Any]]:
    auth = {"Authorization": f"Bearer {server.admin_token}"}
    async with aiohttp.ClientSession() as http:
        url = f"{server.url}/api/rooms/{room_id}"
        async with http.patch(url, json={"passcode": passcode}, headers=auth) as r:
            return r.status, dict(await r.json())


async def test_a_passcode_shorter_than_min_passcode_chars_is_refused_at_creation_and_edit(
    circle_server_factory: Factory,
) -> None:
    default = await circle_server_factory()
    status, answer = await create(default, "12345")
    assert status == 400 and answer["error"]["code"] == "bad_request"
    assert answer["error"]["message"] == "A passcode needs at least 6 characters."
    status, room = await create(default, "123456")
    assert status == 201
    status, answer = await edit(default, room["id"], "abcde")
    assert status == 400 and answer["error"]["message"] == "A passcode needs at least 6 characters."
    assert (await edit(default, room["id"], "abcdef"))[0] == 200
    longer = await circle_server_factory(min_passcode_chars=10)
    assert (await create(longer, "123456789"))[0] == 400
    assert (await create(longer, "1234567890"))[0] == 201


async def engine_io_handshake(server: RunningServer, address: str) -> tuple[int, Any]:
    """An Engine.IO polling handshake, and no more: what a script opening sessions sends."""
    url = f"{server.url}/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers={"X-Forwarded-For": address}) as r:
            return r.status, await r.text()


async def test_connections_per_address_are_capped_and_a_closed_one_frees_its_place(
    circle_server_factory: Factory, person: Person
) -> None:
    server = await circle_server_factory(max_connections_per_address=3, **BEHIND_PROXY)
    first = [await person(server, GUESSER) for _ in range(2)]
    # An Engine.IO session that never connects to socket.io counts too.
    status, _ = await engine_io_handshake(server, GUESSER)
    assert status == 200
    with pytest.raises(socketio.exceptions.ConnectionError):
        await person(server, GUESSER)
    status, body = await engine_io_handshake(server, GUESSER)
    assert status == 401 and '"rate_limited"' in body
    # Another address is not held up.
    assert (await person(server, "198.51.100.50")).sio.connected
    await first[0].close()
    await asyncio.wait_for(_until_connects(person, server, GUESSER), 5)


async def _until_connects(person: Person, server: RunningServer, address: str) -> None:
    # The server notices the close a moment after the client has made it.
    while True:
        with contextlib.suppress(socketio.exceptions.ConnectionError):
            await person(server, address)
            return
        await asyncio.sleep(0.05)


async def test_x_forwarded_for_names_the_client_only_when_a_trusted_proxy_sends_it(
    circle_server_factory: Factory, person: Person
) -> None:
    untrusting = await circle_server_factory(max_connections_per_address=2)
    await person(untrusting, "198.51.100.61")
    await person(untrusting, "198.51.100.62")
    # Without trusted_proxies the header is the client's own claim: all three are one address.
    with pytest.raises(socketio.exceptions.ConnectionError):
        await person(untrusting, "198.51.100.63")
    trusting = await circle_server_factory(max_connections_per_address=2, **BEHIND_PROXY)
    for n in range(3):
        await person(trusting, f"198.51.100.{61 + n}")
    # Behind a trusted proxy, the nearest address it did not add itself counts: a client cannot hide
    # behind one it wrote further left.
    await person(trusting, "10.9.9.9, 198.51.100.70")
    await person(trusting, "10.9.9.8, 198.51.100.70")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await person(trusting, "10.9.9.7, 198.51.100.70")


async def test_a_socket_that_never_joins_is_closed_at_the_join_deadline(
    circle_server_factory: Factory, person: Person
) -> None:
    server = await circle_server_factory(join_deadline_s=0.6)
    room = await server.create_room()
    member, idle, leaver = await person(server), await person(server), await person(server)
    await member.join(room["id"], "Ann")
    await leaver.join(room["id"], "Lee")
    status, body = await engine_io_handshake(server, "")
    assert status == 200
    session = body[body.index("{") :].split('"sid":"')[1].split('"')[0]
    await leaver.call("leave")

    await idle.wait_disconnected(timeout=5)
    await leaver.wait_disconnected(timeout=5)
    # The bare Engine.IO session is gone too: polling it is answered as an unknown session.
    async with aiohttp.ClientSession() as http:
        url = f"{server.url}/socket.io/?EIO=4&transport=polling&sid={session}"
        async with http.get(url) as r:
            assert r.status == 400
    # Whoever joined stays.
    assert (await member.call("chat:send", {"text": "still here"}))["ok"] and not member.disconnected


async def test_a_slow_http_client_is_closed_at_http_idle_timeout_s(circle_server_factory: Factory) -> None:
    server = await circle_server_factory(http_idle_timeout_s=0.5)
    port = int(server.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    closed = asyncio.ensure_future(reader.read())
    try:
        # A header line every 0.1 s: never a whole request head, never silent.
        while not closed.done() and time.monotonic() - started < 5:
            writer.write(b"X-Slow: 1\r\n")
            await writer.drain()
            await asyncio.wait({closed}, timeout=0.1)
        assert closed.done() and await closed == b""
        assert time.monotonic() - started < 2
    finally:
        writer.close()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/healthz") as r:
            assert r.status == 200


async def test_the_waiting_room_holds_at_most_max_waiting_per_address_from_one_address(
    circle_server_factory: Factory, person: Person
) -> None:
    server = await circle_server_factory(max_waiting_per_address=2, **BEHIND_PROXY)
    room = await server.create_room(waiting_room=True)
    fa = await facilitator(person, server, room)
    waiting = []
    for n in range(2):
        ack = await (await person(server, GUESSER)).join(room["id"], f"Bot {n}")
        assert ack["waiting"]
        waiting.append(ack["self"]["id"])
    third = await (await person(server, GUESSER)).call("join", {"room": room["id"], "name": "Bot 2"})
    assert third["error"]["code"] == "room_full" and third["error"]["scope"] == "address"
    assert (await (await person(server, "198.51.100.80")).join(room["id"], "Sam"))["waiting"]
    await fa.call("mod:admit", {"id": waiting[0]})
    assert (await (await person(server, GUESSER)).join(room["id"], "Bot 3"))["waiting"]


async def test_chat_from_one_address_in_one_room_shares_one_bucket(
    circle_server_factory: Factory, person: Person
) -> None:
    server = await circle_server_factory(chat_address_burst=3, chat_address_rate_per_s=0.01, **BEHIND_PROXY)
    room, elsewhere = await server.create_room(), await server.create_room()
    bots = [await person(server, GUESSER) for _ in range(2)]
    for n, bot in enumerate(bots):
        await bot.join(room["id"], f"Bot {n}")
    sam = await person(server, "198.51.100.90")
    await sam.join(room["id"], "Sam")
    answers = [await bots[n % 2].call("chat:send", {"text": f"spam {n}"}) for n in range(4)]
    assert [a["ok"] for a in answers] == [True, True, True, False]
    assert answers[3]["error"]["code"] == "rate_limited" and answers[3]["error"]["retry_after_ms"] > 0
    assert (await sam.call("chat:send", {"text": "hello"}))["ok"]
    there = await person(server, GUESSER)
    await there.join(elsewhere["id"], "Bot elsewhere")
    assert (await there.call("chat:send", {"text": "hello there"}))["ok"]


async def test_join_attempts_from_one_address_share_one_bucket_across_fresh_sockets(
    circle_server_factory: Factory, person: Person
) -> None:
    server = await circle_server_factory(join_address_burst=3, join_address_rate_per_s=0.01, **BEHIND_PROXY)
    room = await server.create_room()
    answers = []
    for n in range(4):
        m = await person(server, GUESSER)
        answers.append(await m.call("join", {"room": room["id"], "name": f"Bot {n}"}))
    assert [a["ok"] for a in answers] == [True, True, True, False]
    assert answers[3]["error"]["code"] == "rate_limited"
    assert (await (await person(server, "198.51.100.91")).join(room["id"], "Sam"))["ok"]


async def test_hand_flips_are_capped_per_connection_and_per_room(
    circle_server_factory: Factory, person: Person
) -> None:
    server = await circle_server_factory(
        hand_burst=4, hand_rate_per_s=0.01, hand_room_burst=7, hand_room_rate_per_s=0.01
    )
    room, elsewhere = await server.create_room(), await server.create_room()
    a, b, c = await person(server), await person(server), await person(server)
    for m, name in ((a, "Ann"), (b, "Bob"), (c, "Cy")):
        await m.join(room["id"], name)
    flips = [await a.call("hand:raise" if n % 2 == 0 else "hand:lower") for n in range(5)]
    assert [f["ok"] for f in flips] == [True] * 4 + [False]
    assert flips[4]["error"]["code"] == "rate_limited"
    # Its other events still go through.
    assert (await a.call("chat:send", {"text": "my hand is tired"}))["ok"]
    # Three more flips fill the room's bucket (seven in all); the next is refused, whoever sends it.
    assert [(await b.call(e))["ok"] for e in ("hand:raise", "hand:lower", "hand:raise")] == [True] * 3
    assert (await c.call("hand:raise"))["error"]["code"] == "rate_limited"
    d = await person(server)
    await d.join(elsewhere["id"], "Dee")
    assert (await d.call("hand:raise"))["ok"]
