"""Moderation holds across instances: two Circle servers on one real Redis, the facilitator on one and
members on both. A deleted message leaves every page and every history wherever it is read, and the
safety pause reaches and holds everyone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.support.client import Member
from tests.support.servers import RedisServer, RunningServer

Factory = Callable[..., Awaitable[RunningServer]]
Connect = Callable[[str], Awaitable[Member]]


@pytest.fixture
async def two(
    circle_server_factory: Factory, redis_server: RedisServer
) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    redis_server.flush()
    one = await circle_server_factory(redis_url=redis_server.url, instance_id="i-one")
    other = await circle_server_factory(redis_url=redis_server.url, instance_id="i-two")
    yield one, other


async def test_a_message_deleted_on_one_instance_leaves_the_pages_and_history_of_the_other(
    two: tuple[RunningServer, RunningServer], connect: Connect
) -> None:
    one, other = two
    room = await one.create_room()
    fa, ann, bob = await connect(one.url), await connect(other.url), await connect(other.url)
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    await ann.join(room["id"], "Ann")
    await bob.join(room["id"], "Bob")
    hurtful = (await ann.call("chat:send", {"text": "Something hurtful.", "key": "k-1"}))["message"]
    kind = (await bob.call("chat:send", {"text": "Thank you."}))["message"]
    await fa.wait_for("chat:message", lambda m: m["id"] == kind["id"])

    assert (await fa.call("mod:delete-chat", {"id": hurtful["id"]}))["ok"]
    for m in (ann, bob):
        assert await m.wait_for("chat:deleted") == {"id": hurtful["id"]}
        assert [x["text"] for x in (await m.call("chat:history"))["messages"]] == ["Thank you."]
    late = await connect(other.url)
    snapshot = (await late.join(room["id"], "Dan"))["room"]
    assert [x["text"] for x in snapshot["chat"]] == ["Thank you."]
    again = await ann.call("chat:send", {"text": "Something hurtful.", "key": "k-1"})
    assert again["error"]["code"] == "forbidden"


async def test_the_safety_pause_set_on_one_instance_holds_members_on_the_other(
    two: tuple[RunningServer, RunningServer], connect: Connect
) -> None:
    one, other = two
    room = await one.create_room()
    fa, ann, bob = await connect(one.url), await connect(other.url), await connect(one.url)
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    await ann.join(room["id"], "Ann", media="audio")
    await bob.join(room["id"], "Bob", media="text")

    assert (await fa.call("mod:safety", {"on": True}))["ok"]
    for m in (ann, bob):
        paused = await m.wait_for("room:updated", lambda r: r["safety"])
        assert paused["locked"]
    assert (await ann.wait_for("you:muted"))["audio"] is True
    refused = await ann.call("media:state", {"audio": True, "video": False})
    assert refused["error"]["code"] == "forbidden"
    assert (await ann.call("media:request-unmute"))["ok"]
    asked = await fa.wait_for("media:unmute-requested")
    assert (asked["id"], asked["requested"]) == (ann.id, True)
    late = await connect(other.url)
    assert (await late.call("join", {"room": room["id"], "name": "Late"}))["error"]["code"] == "room_locked"

    assert (await fa.call("mod:safety", {"on": False}))["ok"]
    await ann.wait_for("room:updated", lambda r: not r["safety"])
    assert (await ann.call("media:state", {"audio": True, "video": False}))["ok"]
