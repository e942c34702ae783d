"""What the Redis bus holds back while it cannot publish: in order, at most `bus_outbox_max_messages`
(the oldest go first), none older than `bus_outbox_max_age_s`, and sent as soon as Redis answers."""

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
