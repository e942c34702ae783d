"""On a cluster, a chat message is appended and published in one Redis script: members on every
instance get each message once, in order; a private message reaches only its two people, wherever
they are; a message sent again under its key is not posted or delivered as a new one. The script
publishes the message with the id it assigned, once, and a publish Redis refuses keeps the message
and says so (signalling then emits it the usual way). It goes only to the other instances where the
room's people are."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest
from redis import asyncio as aioredis

from rooms import ChatMessage
from rooms.model import chat_id
from server.redis_backend import RedisLink
from server.redis_bus import CHANNEL, RedisBus
from server.redis_store import RedisStore
from signaling.events import ChatMessageSent, chat_message
from signaling.ports import ID_PLACEHOLDER, Publication
from signaling.views import encode
from tests.support.client import Member
from tests.support.processes import FAST_SETTINGS, running_cluster
from tests.support.servers import RedisServer

Connect = Callable[[str], Awaitable[Member]]


async def test_chat_published_with_its_append_reaches_each_member_once_and_private_only_two(
    redis_server: RedisServer, tmp_path: Path, connect: Connect
) -> None:
    redis_server.flush()
    with running_cluster(2, tmp_path, redis_server.url, **FAST_SETTINGS) as (one, two):
        room = one.create_room()
        ann, cat = await connect(one.url), await connect(one.url)
        bob, dan = await connect(two.url), await connect(two.url)
        for person, name in ((ann, "Ann"), (bob, "Bob"), (cat, "Cat"), (dan, "Dan")):
            await person.join(room["id"], name, media="text")
        everyone = (ann, bob, cat, dan)

        said = [
            (await ann.call("chat:send", {"text": f"note {n}", "key": f"k{n}"}))["message"] for n in range(5)
        ]
        private = (await ann.call("chat:send", {"text": "just to you, Bob", "to": bob.id}))["message"]
        again = await ann.call("chat:send", {"text": "note 4", "key": "k4"})
        assert again["ok"] and again["message"]["id"] == said[4]["id"]
        last = (await bob.call("chat:send", {"text": "thanks, all"}))["message"]

        for person in everyone:
            await person.wait_for("chat:message", lambda m: m["id"] == last["id"])
        public = [m["id"] for m in said]
        # Each message once per member (the repeat under its key may come again: clients drop a known id).
        for person in (cat, dan):
            got = list(dict.fromkeys(m["id"] for m in person.of("chat:message")))
            assert got == [*public, last["id"]], person
        for person in (ann, bob):
            got = list(dict.fromkeys(m["id"] for m in person.of("chat:message")))
            assert got == [*public, private["id"], last["id"]], person
        assert all(m["id"] != private["id"] for p in (cat, dan) for m in p.of("chat:message"))


async def test_chat_goes_only_to_the_instances_where_the_rooms_people_are(
    redis_server: RedisServer, tmp_path: Path, connect: Connect
) -> None:
    redis_server.flush()
    spy = aioredis.Redis.from_url(redis_server.url)
    pubsub = spy.pubsub(ignore_subscribe_messages=True)
    await pubsub.psubscribe(f"{CHANNEL}*")
    try:
        with running_cluster(2, tmp_path, redis_server.url, **FAST_SETTINGS) as (one, two):
            here, both = one.create_room(), one.create_room()
            ann, cat = await connect(one.url), await connect(one.url)
            bob = await connect(two.url)
            await ann.join(here["id"], "Ann", media="text")
            await cat.join(here["id"], "Cat", media="text")
            said_here = (await ann.call("chat:send", {"text": "only us two"}))["message"]
            await cat.wait_for("chat:message", lambda m: m["id"] == said_here["id"])
            ann2 = await connect(one.url)
            await ann2.join(both["id"], "Ann", media="text")
            await bob.join(both["id"], "Bob", media="text")
            said_both = (await ann2.call("chat:send", {"text": "hello, Bob"}))["message"]
            await bob.wait_for("chat:message", lambda m: m["id"] == said_both["id"])

            chats: list[tuple[str, str]] = []
            async with asyncio.timeout(5):
                while not any(text == "hello, Bob" for _, text in chats):
                    got = await pubsub.get_message(timeout=0.1)
                    if got is None or got["type"] != "pmessage":
                        continue
                    decoded = msgpack.unpackb(got["data"], raw=False)
                    if decoded.get("event") == "chat:message":
                        chats.append((got["channel"].decode(), decoded["data"][0]["text"]))
            # The room all on one instance published nothing; the other went to instance two alone.
            assert chats == [(f"{CHANNEL}:{two.instance_id}", "hello, Bob")]
    finally:
        await pubsub.aclose()
        await spy.aclose()


# -- the store and the bus, as one instance holds them -------------------------------------------------

USER = "circle-publisher"


@pytest.fixture
async def publisher(redis_server: RedisServer) -> AsyncIterator[tuple[RedisStore, RedisBus, Any]]:
    """A Redis store and bus (of instance i-one) that share a Redis user, and an admin client
    subscribed to the bus's channels, as instance i-two (which can take the user's right to publish
    away)."""
    redis_server.flush()
    admin = aioredis.Redis.from_url(redis_server.url)
    await admin.execute_command("ACL", "SETUSER", USER, "reset", "on", ">pw", "~*", "&*", "+@all")
    link = RedisLink(f"redis://{USER}:pw@127.0.0.1:{redis_server.port}/0", 2.0)
    bus = RedisBus(link, outbox_max_messages=100, outbox_max_age_s=60.0, instance_id="i-one")
    store = RedisStore(link, "i-one", 1.0, resend_window_s=600.0, bus=bus)
    pubsub = admin.pubsub()
    await pubsub.subscribe(CHANNEL, bus.direct_channel("i-two"))
    try:
        yield store, bus, pubsub
    finally:
        await pubsub.aclose()
        await store.close()
        await admin.execute_command("ACL", "DELUSER", USER)
        await admin.aclose()


def said(text: str) -> Callable[[str], ChatMessage]:
    return lambda message_id: ChatMessage(message_id, "p001", "Ann", text, 1_700_000_000_000)


def publication(
    bus: RedisBus, message: ChatMessage, instances: frozenset[str] = frozenset({"i-one", "i-two"})
) -> Publication:
    """As signalling asks the bus for it: the wire message, its id (the placeholder) last, for a room
    with people on `instances`."""
    payload = encode(chat_message(message))
    payload["id"] = payload.pop("id")
    made = bus.publication(ChatMessageSent.event, payload, "room:r1", instances)
    assert made is not None
    return made


async def next_published(pubsub: Any) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            got = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if got is not None:
                return dict(msgpack.unpackb(got["data"]))


async def test_a_message_appended_with_its_publication_goes_out_once_with_its_id(
    publisher: tuple[RedisStore, RedisBus, Any],
) -> None:
    store, bus, pubsub = publisher
    draft = said("hello")(ID_PLACEHOLDER)
    message, published = await store.append_and_publish_chat(
        "r1", said("hello"), 10, "k1", publication(bus, draft)
    )
    assert published and message.id == chat_id(1)
    out = await next_published(pubsub)
    assert out["event"] == "chat:message" and out["room"] == "room:r1" and out["host_id"] == bus.host_id
    assert out["data"] == [encode(chat_message(message))]
    # Sent again under its key: the same message, and nothing published (the marker comes next).
    again, published = await store.append_and_publish_chat(
        "r1", said("hello"), 10, "k1", publication(bus, draft)
    )
    assert again == message and not published
    await bus.emit("chat:message", {"text": "marker"}, namespace="/", room="room:r1")
    assert (await next_published(pubsub))["data"] == [{"text": "marker"}]
    assert await store.chat_after("r1", None) == [message]


async def test_a_publish_redis_refuses_keeps_the_message_and_says_it_went_nowhere(
    publisher: tuple[RedisStore, RedisBus, Any], redis_server: RedisServer
) -> None:
    store, bus, pubsub = publisher
    admin = aioredis.Redis.from_url(redis_server.url)
    try:
        await admin.execute_command("ACL", "SETUSER", USER, "-publish")
        draft = said("kept")(ID_PLACEHOLDER)
        message, published = await store.append_and_publish_chat(
            "r1", said("kept"), 10, None, publication(bus, draft)
        )
    finally:
        await admin.aclose()
    assert not published
    assert await store.chat_after("r1", None) == [message]


async def test_a_publication_without_the_id_placeholder_at_its_end_is_not_published(
    publisher: tuple[RedisStore, RedisBus, Any],
) -> None:
    store, bus, pubsub = publisher
    garbled = Publication(
        (bus.direct_channel("i-two"),), publication(bus, said("x")(ID_PLACEHOLDER)).packed + b"!"
    )
    message, published = await store.append_and_publish_chat("r1", said("x"), 10, None, garbled)
    assert not published and await store.chat_after("r1", None) == [message]
    await bus.emit("chat:message", {"text": "marker"}, namespace="/", room="room:r1")
    assert (await next_published(pubsub))["data"] == [{"text": "marker"}]


async def test_a_message_for_people_on_this_instance_alone_is_published_to_nobody(
    publisher: tuple[RedisStore, RedisBus, Any],
) -> None:
    store, bus, pubsub = publisher
    only_here = publication(bus, said("between us")(ID_PLACEHOLDER), frozenset({"i-one"}))
    assert only_here.channels == ()
    message, published = await store.append_and_publish_chat("r1", said("between us"), 10, None, only_here)
    # Nobody elsewhere needs it: as good as published, and nothing went out before the marker.
    assert published and await store.chat_after("r1", None) == [message]
    await bus.emit("chat:message", {"text": "marker"}, namespace="/", room="room:r1")
    assert (await next_published(pubsub))["data"] == [{"text": "marker"}]
    # Several other instances: to each, on its own channel.
    several = publication(bus, said("x")(ID_PLACEHOLDER), frozenset({"i-one", "i-two", "i-three"}))
    assert several.channels == (bus.direct_channel("i-three"), bus.direct_channel("i-two"))
