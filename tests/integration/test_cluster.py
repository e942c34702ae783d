"""Several `circle serve` processes on one Redis behave as one server: members of a meeting spread over
instances see the same roster, the same chat in the same order, and each other's changes at once."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgpack
from redis import asyncio as aioredis

from server.redis_bus import CHANNEL
from tests.support.client import Member
from tests.support.processes import FAST_SETTINGS, running_cluster
from tests.support.servers import RedisServer

Connect = Callable[[str], Awaitable[Member]]


def roster(member: Member) -> set[str]:
    """Who `member` believes is in the room: the join snapshot, then every presence event since."""
    people = {p["id"] for p in member.joined["room"]["participants"]}
    for name, data in member.events:
        if name == "participant:joined":
            people.add(data["id"])
        elif name == "participant:left":
            people.discard(data["id"])
    return people


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("not reached in time")
        await asyncio.sleep(0.02)


async def test_three_instances_with_twelve_members_share_one_meeting(
    redis_server: RedisServer, tmp_path: Path, connect: Connect
) -> None:
    redis_server.flush()
    with running_cluster(3, tmp_path, redis_server.url, **FAST_SETTINGS) as cluster:
        room = cluster[0].create_room()
        members: list[Member] = []
        for n in range(12):
            m = await connect(cluster[n % 3].url)
            extra = {"host_key": room["host_key"]} if n == 0 else {}
            await m.join(room["id"], f"Member {n}", **extra)
            members.append(m)
        everyone = {m.id for m in members}

        # The same roster everywhere, whichever instance each joined through.
        await until(lambda: all(roster(m) == everyone for m in members))

        # The same chat in the same order: messages sent one after another from different instances
        # arrive in that order on every instance.
        sent = []
        for n, m in enumerate(members):
            ack = await m.call("chat:send", {"text": f"hello from {n}"})
            assert ack["ok"], ack
            sent.append(ack["message"]["id"])
        assert sent == sorted(sent)
        await until(lambda: all(len(m.of("chat:message")) == 12 for m in members))
        for m in members:
            assert [c["id"] for c in m.of("chat:message")] == sent
            history = await m.call("chat:history", {})
            assert [c["id"] for c in history["messages"]] == sent

        # A change made through one instance reaches the members on the others at once.
        raiser, muter, leaver = members[1], members[2], members[3]
        await raiser.call("hand:raise")
        await muter.call("media:state", {"audio": False, "video": False})
        await leaver.call("leave")
        for m in members:
            if m is leaver:
                continue
            await m.wait_for("room:updated", lambda r: r["hands"] == [raiser.id], timeout=2)
            if m is not muter:
                await m.wait_for(
                    "participant:updated",
                    lambda p: p["id"] == muter.id and not p["audio"] and not p["video"],
                    timeout=2,
                )
            await m.wait_for("participant:left", lambda p: p["id"] == leaver.id, timeout=2)
        assert all(roster(m) == everyone - {leaver.id} for m in members if m is not leaver)


async def test_fifty_hands_raised_at_once_on_two_instances_are_all_queued_once(
    redis_server: RedisServer, tmp_path: Path, connect: Connect
) -> None:
    redis_server.flush()
    with running_cluster(2, tmp_path, redis_server.url, **FAST_SETTINGS) as cluster:
        room = cluster[0].create_room(max_participants=60)
        members = []
        for n in range(50):
            m = await connect(cluster[n % 2].url)
            extra = {"host_key": room["host_key"]} if n == 0 else {}
            await m.join(room["id"], f"Member {n}", media="text", **extra)
            members.append(m)

        acks = await asyncio.gather(*(m.call("hand:raise", timeout=10) for m in members))
        assert all(a["ok"] for a in acks), [a for a in acks if not a["ok"]]

        # What is committed: one queue, every hand in it exactly once, the same seen from each instance.
        queues = []
        for server in cluster:
            observer = await connect(server.url)
            ack = await observer.join(room["id"], "Observer", media="text")
            queues.append(ack["room"]["hands"])
            hands = {p["id"]: p["hand"] for p in ack["room"]["participants"]}
            assert all(hands[m.id] is not None for m in members)
        assert queues[0] == queues[1]
        assert sorted(queues[0]) == sorted(m.id for m in members)
        # Every member was told about every raised hand.
        for m in members:
            await until(
                lambda m=m: (
                    {p["id"] for p in m.of("participant:updated") if p["hand"]}
                    >= {x.id for x in members if x is not m}
                )
            )


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool | bytes)


def _mentions(value: Any, text: str) -> bool:
    if isinstance(value, dict):
        return any(_mentions(v, text) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, text) for v in value)
    return value == text


def _not_pickle(blob: bytes) -> bool:
    # Every pickle since protocol 2 starts with PROTO (0x80); protocol 0/1 ones are refused by loads
    # on anything msgpack produces for our dicts, which is what the second check shows.
    if blob.startswith(pickle.PROTO):
        return False
    try:
        pickle.loads(blob)  # noqa: S301 - our own bytes, only to prove they are no pickle
    except Exception:
        return True
    return False


async def test_nothing_pickled_crosses_redis(
    redis_server: RedisServer, tmp_path: Path, connect: Connect
) -> None:
    redis_server.flush()
    spy = aioredis.Redis.from_url(redis_server.url)
    pubsub = spy.pubsub(ignore_subscribe_messages=True)
    await pubsub.psubscribe(f"{CHANNEL}*")  # the channel all hear, and each instance's own
    try:
        with running_cluster(2, tmp_path, redis_server.url, **FAST_SETTINGS) as cluster:
            room = cluster[0].create_room()
            fran, ann, bob = (
                await connect(cluster[0].url),
                await connect(cluster[1].url),
                await connect(cluster[1].url),
            )
            await fran.join(room["id"], "Fran", host_key=room["host_key"])
            await ann.join(room["id"], "Ann")
            await bob.join(room["id"], "Bob")
            await fran.call("chat:send", {"text": "welcome"})
            await ann.call("chat:send", {"text": "just to you", "to": fran.id})
            await ann.call("hand:raise")
            await fran.call("signal", {"to": ann.id, "description": {"type": "offer", "sdp": "v=0"}})
            await fran.call("mod:mute", {"id": ann.id, "audio": True})
            await fran.call("mod:remove", {"id": bob.id})
            await bob.wait_disconnected()
            await ann.wait_for("participant:left", lambda p: p["id"] == bob.id)
            # Published after everything above: once it has crossed, so has everything before it.
            last = "That's all for tonight."
            await fran.call("chat:send", {"text": last})

            payloads: list[dict[str, Any]] = []
            deadline = asyncio.get_running_loop().time() + 5
            while not (payloads and _mentions(payloads[-1], last)):
                assert asyncio.get_running_loop().time() < deadline, "the last message never crossed"
                message = await pubsub.get_message(timeout=0.1)
                if message is None or message["type"] != "pmessage":
                    continue
                assert _not_pickle(message["data"])
                decoded = msgpack.unpackb(message["data"], raw=False)
                assert isinstance(decoded, dict) and _plain(decoded)
                payloads.append(decoded)
            assert len(payloads) >= 9
            methods = {decoded["method"] for decoded in payloads}
            assert {"emit", "disconnect"} <= methods

            # And what the store keeps is msgpack too (or plain numbers and ids).
            async for key in spy.scan_iter("circle:*"):
                kind = (await spy.type(key)).decode()
                if kind == "string":
                    blobs = [await spy.get(key)]
                elif kind == "hash":
                    blobs = list((await spy.hgetall(key)).values())
                elif kind == "stream":
                    blobs = [fields[b"m"] for _, fields in await spy.xrange(key)]
                else:
                    blobs = list(await spy.smembers(key))
                for blob in blobs:
                    assert _not_pickle(blob), key
    finally:
        await pubsub.aclose()
        await spy.aclose()


async def test_a_cluster_without_turn_takes_a_relay_only_room_through_its_sfu(
    redis_server: RedisServer, tmp_path: Path, connect: Connect
) -> None:
    """A relay-only room keeps members' addresses from each other through the SFU, which serves
    members on every instance: a cluster needs no TURN server for it."""
    redis_server.flush()
    with running_cluster(2, tmp_path, redis_server.url, **FAST_SETTINGS) as cluster:
        room = cluster[0].create_room(relay_only=True)
        ann, bo = await connect(cluster[0].url), await connect(cluster[1].url)
        await ann.join(room["id"], "Ann", host_key=room["host_key"])
        await bo.join(room["id"], "Bo")
        for member in (ann, bo):
            config = await member.call("rtc:config")
            assert config["mode"] == "sfu" and config["media_epoch"] == 0
