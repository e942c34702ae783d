"""Every limit is a setting, and going past each one gets its documented answer."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from rooms import ChatMessage
from server.backends import Backends
from server.memory_store import MemoryStore
from tests.support.client import Member
from tests.support.faults import GapBus
from tests.support.servers import RunningServer, wait_until

Factory = Callable[..., Awaitable[RunningServer]]


async def create(server: RunningServer, **body: Any) -> tuple[int, dict[str, Any]]:
    auth = {"Authorization": f"Bearer {server.admin_token}"}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/api/rooms", json={"title": "t", **body}, headers=auth) as r:
            return r.status, dict(await r.json())


async def test_room_capacity_and_retention_stay_within_the_configured_bounds(
    circle_server_factory: Factory,
) -> None:
    server = await circle_server_factory(
        min_room_participants=3, max_participants=5, max_room_participants=8, max_retention_s=60
    )
    for body, ok in [
        ({"max_participants": 3}, True),
        ({"max_participants": 8}, True),
        ({"max_participants": 2}, False),
        ({"max_participants": 9}, False),
        ({"retention_s": 60}, True),
        ({"retention_s": 61}, False),
    ]:
        status, answer = await create(server, **body)
        assert (status == 201) is ok, (body, answer)
        if not ok:
            assert status == 400 and answer["error"]["code"] == "bad_request"
    status, answer = await create(server, max_participants=9)
    assert answer["error"]["message"] == "max_participants must be between 3 and 8."


async def test_a_name_or_chat_over_the_configured_length_is_a_bad_request(
    circle_server_factory: Factory,
) -> None:
    server = await circle_server_factory(max_name_chars=10, max_chat_chars=50)
    room = await server.create_room()
    m = await Member(server.url).connect()
    try:
        ack = await m.call("join", {"room": room["id"], "name": "x" * 11})
        assert ack["error"]["code"] == "bad_request" and "at most 10" in ack["error"]["message"]
        await m.join(room["id"], "x" * 10)
        ack = await m.call("chat:send", {"text": "y" * 51})
        assert ack["error"]["code"] == "bad_request" and "at most 50" in ack["error"]["message"]
        assert (await m.call("chat:send", {"text": "y" * 50}))["ok"]
        history = await m.call("chat:history")
        assert [x["text"] for x in history["messages"]] == ["y" * 50]
    finally:
        await m.close()


async def test_the_signal_bucket_limits_signals_only(circle_server_factory: Factory) -> None:
    server = await circle_server_factory(signal_burst=3, signal_rate_per_s=0.01)
    room = await server.create_room()
    a, b = await Member(server.url).connect(), await Member(server.url).connect()
    try:
        await a.join(room["id"], "Ann")
        await b.join(room["id"], "Bob")
        signal = {"to": b.id, "candidate": {"candidate": ""}}
        codes = [(await a.call("signal", signal))["ok"] or "limited" for _ in range(4)]
        assert codes == [True, True, True, "limited"]
        # Hands, media state and the rest have their own bucket.
        for event, data in [("hand:raise", {}), ("media:state", {"audio": True}), ("hand:lower", {})]:
            assert (await a.call(event, data))["ok"], event
    finally:
        await a.close()
        await b.close()


async def test_the_action_bucket_limits_every_other_event_unknown_ones_included(
    circle_server_factory: Factory,
) -> None:
    server = await circle_server_factory(action_burst=4, action_rate_per_s=0.01)
    room = await server.create_room()
    a, b = await Member(server.url).connect(), await Member(server.url).connect()
    try:
        await a.join(room["id"], "Ann")
        await b.join(room["id"], "Bob")
        assert (await a.call("hand:raise"))["ok"]
        assert (await a.call("no:such-event"))["error"]["code"] == "bad_request"
        assert (await a.call("media:state", {"audio": "loud"}))["error"]["code"] == "bad_request"
        assert (await a.call("hand:lower"))["ok"]
        limited = await a.call("hand:raise")
        assert limited["error"]["code"] == "rate_limited" and limited["error"]["retry_after_ms"] > 0
        # Signals and chat still go through.
        assert (await a.call("signal", {"to": b.id, "candidate": {"candidate": ""}}))["ok"]
        assert (await a.call("chat:send", {"text": "still here"}))["ok"]
    finally:
        await a.close()
        await b.close()


def said(text: str, at_ms: int) -> Callable[[str], ChatMessage]:
    return lambda message_id: ChatMessage(message_id, "p-elsewhere", "Sam", text, at_ms)


async def gap_server(factory: Factory, tmp_path: Path, **settings: Any) -> tuple[RunningServer, GapBus]:
    bus = GapBus()
    store = MemoryStore(tmp_path / "store", resend_window_s=600)
    return await factory(backends=Backends(store, bus, bus), **settings), bus


async def test_after_a_gap_chat_is_read_back_from_the_margin_before_it_and_not_earlier(
    circle_server_factory: Factory, tmp_path: Path
) -> None:
    server, bus = await gap_server(circle_server_factory, tmp_path, gap_margin_s=5.0)
    room = await server.create_room()
    ann = await Member(server.url).connect()
    try:
        await ann.join(room["id"], "Ann")
        # Said on another instance while this one could not hear it (straight into the shared log).
        since = time.time()
        store = server.circle.store
        older = await store.append_chat(room["id"], said("too early", int((since - 6) * 1000)), 500)
        within = await store.append_chat(room["id"], said("in the margin", int((since - 4) * 1000)), 500)
        await bus.gap(since)
        # The room as it is now comes after the chat read back: the positive marker.
        await ann.wait_for("room:sync")
        assert [m["id"] for m in ann.of("chat:message")] == [within.id]
        assert older.id < within.id
    finally:
        await ann.close()


async def test_chat_is_delivered_once_only_within_the_instances_memory_of_deliveries(
    circle_server_factory: Factory, tmp_path: Path
) -> None:
    server, bus = await gap_server(circle_server_factory, tmp_path, chat_dedup_messages=3)
    room = await server.create_room()
    ann = await Member(server.url).connect()
    try:
        await ann.join(room["id"], "Ann")
        since = time.time()
        sent = [(await ann.call("chat:send", {"text": f"m{n}"}))["message"]["id"] for n in range(3)]
        await bus.gap(since)
        await wait_until(lambda: len(ann.of("room:sync")) == 1)
        assert [m["id"] for m in ann.of("chat:message")] == sent

        # One more than it remembers: what is read back after the next gap arrives again.
        sent.append((await ann.call("chat:send", {"text": "m3"}))["message"]["id"])
        await bus.gap(since)
        await wait_until(lambda: len(ann.of("room:sync")) == 2)
        assert [m["id"] for m in ann.of("chat:message")] == [*sent, *sent]
    finally:
        await ann.close()
