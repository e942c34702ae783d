"""A dropped connection keeps its seat: resume restores id, role and hand; missed chat is replayed."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from server.backends import Backends
from server.memory_bus import MemoryBus
from server.memory_store import MemoryStore
from signaling.ports import Unavailable
from tests.support.client import Member
from tests.support.faults import FaultyStore
from tests.support.servers import RunningServer, wait_until

Factory = Callable[..., Awaitable[RunningServer]]


async def test_resume_restores_id_role_and_hand(circle_server: RunningServer) -> None:
    room = await circle_server.create_room()
    fa, ann = await Member(circle_server.url).connect(), await Member(circle_server.url).connect()
    try:
        first = await fa.join(room["id"], "Fran", host_key=room["host_key"])
        await ann.join(room["id"], "Ann")
        await fa.call("hand:raise")
        await fa.sio.disconnect()
        await ann.wait_for("participant:updated", lambda p: p["id"] == fa.id and p["away"])

        again = await Member(circle_server.url).connect()
        ack = await again.join(room["id"], "Fran", resume_token=first["resume_token"])
        me = ack["self"]
        assert me["id"] == first["self"]["id"] and me["role"] == "facilitator" and me["hand"] is not None
        assert ack["room"]["hands"] == [me["id"]]
        assert ack["resume_token"] != first["resume_token"]
        back = await ann.wait_for("participant:updated", lambda p: p["id"] == me["id"] and not p["away"])
        assert back["hand"] == me["hand"]
        ids = [p["id"] for p in ack["room"]["participants"]]
        assert ids.count(me["id"]) == 1 and len(ids) == 2
        await again.close()
    finally:
        await ann.close()


async def test_missed_chat_is_replayed_after_a_resume(circle_server: RunningServer) -> None:
    room = await circle_server.create_room()
    ann, bob = await Member(circle_server.url).connect(), await Member(circle_server.url).connect()
    try:
        await ann.join(room["id"], "Ann")
        first = await bob.join(room["id"], "Bob", media="text")
        seen = (await ann.call("chat:send", {"text": "before"}))["message"]["id"]
        await bob.wait_for("chat:message")
        await bob.sio.disconnect()
        for text in ("while away 1", "while away 2"):
            await ann.call("chat:send", {"text": text})
        back = await Member(circle_server.url).connect()
        await back.join(room["id"], "Bob", media="text", resume_token=first["resume_token"])
        missed = await back.call("chat:history", {"after": seen})
        assert [m["text"] for m in missed["messages"]] == ["while away 1", "while away 2"]
        await back.close()
    finally:
        await ann.close()


async def test_resume_takes_over_a_connection_still_attached(circle_server: RunningServer) -> None:
    room = await circle_server.create_room()
    old, ann = await Member(circle_server.url).connect(), await Member(circle_server.url).connect()
    try:
        first = await old.join(room["id"], "Sam")
        await ann.join(room["id"], "Ann")
        new = await Member(circle_server.url).connect()
        ack = await new.join(room["id"], "Sam", resume_token=first["resume_token"])
        assert ack["self"]["id"] == first["self"]["id"]
        await old.wait_disconnected()
        # The replaced connection's drop must not mark the resumed participant away.
        assert (await new.call("chat:send", {"text": "still me"}))["ok"]
        state = await circle_server.circle.store.load(room["id"])
        assert state is not None and not state.participants[first["self"]["id"]].away
        await new.close()
    finally:
        await ann.close()


async def test_an_expired_grace_means_a_new_participant(circle_server_factory: Factory) -> None:
    server = await circle_server_factory(resume_grace_s=0.3)
    room = await server.create_room()
    ann, watcher = await Member(server.url).connect(), await Member(server.url).connect()
    try:
        await watcher.join(room["id"], "Watcher")
        first = await ann.join(room["id"], "Ann")
        await ann.sio.disconnect()
        await watcher.wait_for("participant:left", lambda e: e["reason"] == "disconnected")
        again = await Member(server.url).connect()
        ack = await again.join(room["id"], "Ann", resume_token=first["resume_token"])
        assert ack["self"]["id"] != first["self"]["id"]
        await again.close()
    finally:
        await watcher.close()


async def test_a_token_for_another_room_does_not_resume(circle_server: RunningServer) -> None:
    one, two = await circle_server.create_room("One"), await circle_server.create_room("Two")
    a = await Member(circle_server.url).connect()
    b = await Member(circle_server.url).connect()
    try:
        first = await a.join(one["id"], "Ann")
        ack = await b.join(two["id"], "Ann", resume_token=first["resume_token"])
        assert ack["self"]["id"] != first["self"]["id"]
    finally:
        await a.close()
        await b.close()


async def test_a_drop_the_store_could_not_record_is_still_noticed(
    circle_server_factory: Factory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="circle.signaling")
    store = FaultyStore(MemoryStore(tmp_path / "store", resend_window_s=600))
    bus = MemoryBus()
    server = await circle_server_factory(resume_grace_s=30, backends=Backends(store, bus, bus))
    room = await server.create_room()
    ann, bob = await Member(server.url).connect(), await Member(server.url).connect()
    try:
        await ann.join(room["id"], "Ann")
        await bob.join(room["id"], "Bob")
        # Bob's connection drops while the store refuses writes: his drop cannot be recorded.
        store.fail("transact", Unavailable("writes are failing"))
        await bob.close()
        await wait_until(lambda: server.circle.signaling.counts().participants == 1)
        # The disconnect's own write is refused (the sweep's may be too, before or after it).
        await wait_until(lambda: any("could not mark" in r.getMessage() for r in caplog.records))
        store.heal()
        away = await ann.wait_for("participant:updated", lambda p: p["id"] == bob.id and p["away"])
        assert away["name"] == "Bob"
    finally:
        await ann.close()
        await bob.close()
