"""What the Redis bus holds back while it cannot publish: in order, at most `bus_outbox_max_messages`
(the oldest go first), none older than `bus_outbox_max_age_s`, and sent as soon as Redis answers. And
a notice to one instance goes to that instance alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgpack
import pytest
from redis import asyncio as aioredis

from server.redis_backend import RedisLink
from server.redis_bus import CHANNEL, RedisBus
from signaling.ports import Unavailable
from tests.support.servers import RedisServer

USER = "circle-bus"


@pytest.fixture
async def bus_user(redis_server: RedisServer) -> AsyncIterator[tuple[str, Any]]:
    """A Redis user for the bus, and an admin client that takes its right to publish away and back."""
    admin = aioredis.Redis.from_url(redis_server.url)
    await admin.execute_command("ACL", "SETUSER", USER, "reset", "on", ">pw", "~*", "&*", "+@all")
    try:
        yield f"redis://{USER}:pw@127.0.0.1:{redis_server.port}/0", admin
    finally:
        await admin.execute_command("ACL", "DELUSER", USER)
        await admin.aclose()


def a_bus(url: str, **limits: Any) -> tuple[RedisBus, RedisLink]:
    values = {"outbox_max_messages": 100, "outbox_max_age_s": 60.0, **limits}
    link = RedisLink(url, 0.5)
    return RedisBus(link, **values), link


async def emit_while_refused(bus: RedisBus, texts: list[str]) -> None:
    for text in texts:
        with pytest.raises(Unavailable):
            await bus.emit("chat:message", {"text": text}, namespace="/", room="room:r1")


async def read(pubsub: Any, texts: list[str]) -> None:
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
    if message is not None:
        texts.append(msgpack.unpackb(message["data"])["data"][0]["text"])


async def published_once_allowed(admin: Any, bus: RedisBus, link: RedisLink) -> list[str]:
    """Give publishing back, and collect what the bus then sends late, in order."""
    pubsub = admin.pubsub()
    await pubsub.subscribe(CHANNEL)
    texts: list[str] = []
    try:
        await admin.execute_command("ACL", "SETUSER", USER, "+publish")
        async with asyncio.timeout(10):
            while not link.up:
                await asyncio.sleep(0.05)
        # The marker goes after everything held back: once it arrives, nothing else is on its way.
        await bus.emit("chat:message", {"text": "marker"}, namespace="/", room="room:r1")
        async with asyncio.timeout(10):
            while "marker" not in texts:
                await read(pubsub, texts)
    finally:
        await pubsub.aclose()
        await bus.close()
    return texts[: texts.index("marker")]


async def test_what_could_not_be_published_is_sent_in_order_when_redis_takes_it(
    bus_user: tuple[str, Any],
) -> None:
    url, admin = bus_user
    bus, link = a_bus(url)
    await admin.execute_command("ACL", "SETUSER", USER, "-publish")
    await emit_while_refused(bus, ["one", "two", "three"])
    assert await published_once_allowed(admin, bus, link) == ["one", "two", "three"]


async def test_past_bus_outbox_max_messages_the_oldest_held_back_are_dropped(
    bus_user: tuple[str, Any],
) -> None:
    url, admin = bus_user
    bus, link = a_bus(url, outbox_max_messages=2)
    await admin.execute_command("ACL", "SETUSER", USER, "-publish")
    await emit_while_refused(bus, ["one", "two", "three", "four"])
    assert await published_once_allowed(admin, bus, link) == ["three", "four"]


async def test_held_back_longer_than_bus_outbox_max_age_s_is_not_sent(bus_user: tuple[str, Any]) -> None:
    url, admin = bus_user
    bus, link = a_bus(url, outbox_max_age_s=0.5)
    await admin.execute_command("ACL", "SETUSER", USER, "-publish")
    await emit_while_refused(bus, ["stale"])
    await asyncio.sleep(0.8)
    assert await published_once_allowed(admin, bus, link) == []


async def test_a_notice_to_one_instance_goes_on_its_own_channel_and_reaches_it_alone(
    redis_server: RedisServer,
) -> None:
    buses = {
        name: RedisBus(
            RedisLink(redis_server.url, 0.5), outbox_max_messages=10, outbox_max_age_s=60.0, instance_id=name
        )
        for name in ("i-one", "i-two", "i-three")
    }
    heard: dict[str, list[dict[str, Any]]] = {name: [] for name in buses}
    for name, bus in buses.items():
        bus.on_notice(heard[name].append)

    async def listen(bus: RedisBus) -> None:
        async for _ in bus._listen():
            pass

    listening = [asyncio.ensure_future(listen(bus)) for bus in buses.values()]
    spy = aioredis.Redis.from_url(redis_server.url)
    pubsub = spy.pubsub(ignore_subscribe_messages=True)
    await pubsub.psubscribe(f"{CHANNEL}*")
    try:
        async with asyncio.timeout(5):
            for bus in buses.values():
                await bus.subscribed.wait()
        one = buses["i-one"]
        await one.notify({"kind": "to two"}, to="i-two")
        await one.notify({"kind": "to all"})
        async with asyncio.timeout(5):
            while len(heard["i-two"]) < 2 or len(heard["i-three"]) < 1:
                await asyncio.sleep(0.02)
        assert heard["i-two"] == [{"kind": "to two"}, {"kind": "to all"}]
        assert heard["i-three"] == [{"kind": "to all"}] and heard["i-one"] == []
        channels = []
        async with asyncio.timeout(5):
            while len(channels) < 2:
                got = await pubsub.get_message(timeout=0.1)
                if got is not None and got["type"] == "pmessage":
                    channels.append(got["channel"].decode())
        assert channels == [f"{CHANNEL}:i-two", CHANNEL]
    finally:
        for task in listening:
            task.cancel()
        await asyncio.gather(*listening, return_exceptions=True)
        await pubsub.aclose()
        await spy.aclose()
        for bus in buses.values():
            await bus._link.close()
