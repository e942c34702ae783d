"""Managing a room of a cluster: two `circle serve` processes on one Redis. An edit made through one
instance reaches the meeting's members on both; deleting the room through one ends its meeting for
everyone on both, and both answer 404 for it afterwards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from redis import asyncio as aioredis

from tests.support.admin import call, public_info
from tests.support.client import Member
from tests.support.processes import FAST_SETTINGS, running_cluster
from tests.support.servers import RedisServer

Connect = Callable[[str], Awaitable[Member]]


async def test_an_edit_and_a_deletion_through_one_instance_reach_the_meeting_on_both(
    redis_server: RedisServer, tmp_path: Path, connect: Connect
) -> None:
    redis_server.flush()
    with running_cluster(2, tmp_path, redis_server.url, **FAST_SETTINGS) as (one, two):
        room = one.create_room("Tuesday circle", guidelines="Listen without fixing.")
        room_id = room["id"]
        fay = await connect(one.url)
        await fay.join(room_id, "Fay", host_key=room["host_key"], accept_guidelines=True)
        ann = await connect(two.url)
        await ann.join(room_id, "Ann", accept_guidelines=True, guidelines_version=1)
        assert (await ann.call("chat:send", {"text": "Hello from the second instance."}))["ok"]

        edited = await call(
            two.url, "PATCH", f"/api/rooms/{room_id}", {"title": "Thursday circle", "guidelines": "Be kind."}
        )
        assert edited.status == 200 and edited.body["participants"] == 2
        for person in (fay, ann):
            await person.wait_for("room:updated", lambda d: d["title"] == "Thursday circle")
        for server in (one, two):
            facts = await public_info(server.url, room_id)
            assert (facts.body["title"], facts.body["guidelines_version"]) == ("Thursday circle", 2)
        # A newcomer on the first instance is held to the version edited through the second.
        lee = await connect(one.url)
        stale = {"room": room_id, "name": "Lee", "accept_guidelines": True, "guidelines_version": 1}
        assert (await lee.call("join", stale))["error"]["guidelines_version"] == 2

        deleted = await call(one.url, "DELETE", f"/api/rooms/{room_id}")
        assert deleted.status == 204
        for person in (fay, ann):
            assert await person.wait_for("room:ended") == {"by": None, "reason": "deleted"}
            await person.wait_disconnected()
        for server in (one, two):
            assert (await public_info(server.url, room_id)).status == 404
            listed = (await call(server.url, "GET", "/api/rooms")).body["rooms"]
            assert room_id not in {r["id"] for r in listed}
        again = await connect(two.url)
        refused = await again.call("join", {"room": room_id, "name": "Ann", "accept_guidelines": True})
        assert refused["error"]["code"] == "not_found"
        assert not [k for k in await redis_keys(redis_server) if room_id in k], "the room left keys behind"


async def redis_keys(redis_server: RedisServer) -> list[str]:
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        return [k.decode() for k in await client.keys("circle:*")]
    finally:
        await client.aclose()
