"""Every bad input and refusal gets its documented code, and nobody else in the room notices."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
import socketio

from server.backends import Backends
from server.memory_bus import MemoryBus
from server.memory_store import MemoryStore
from tests.support.client import Member, seated
from tests.support.faults import FaultyStore
from tests.support.servers import RunningServer

Connect = Callable[[], Awaitable[Member]]
Factory = Callable[..., Awaitable[RunningServer]]


async def code_of(member: Member, event: str, data: object = None) -> str:
    ack = await member.call(event, data)
    assert ack["ok"] is False, ack
    assert ack["error"]["message"], "every error carries a human sentence"
    return str(ack["error"]["code"])


async def test_events_before_join_are_not_joined(circle_server: RunningServer, members: Connect) -> None:
    m = await members()
    for event, data in [
        ("chat:send", {"text": "hi"}),
        ("chat:history", {}),
        ("hand:raise", {}),
        ("media:state", {"audio": True, "video": False}),
        ("signal", {"to": "x", "candidate": {"candidate": ""}}),
        ("rtc:config", {}),
        ("leave", {}),
        ("mod:lock", {"locked": True}),
    ]:
        assert await code_of(m, event, data) == "not_joined", event


async def test_malformed_events_are_bad_requests(circle_server: RunningServer, members: Connect) -> None:
    room = await circle_server.create_room()
    m = await members()
    assert await code_of(m, "join", {"room": room["id"], "name": "x" * 41}) == "bad_request"
    assert await code_of(m, "join", {"room": room["id"], "name": "Sam", "admin": True}) == "bad_request"
    assert await code_of(m, "join", "not an object") == "bad_request"
    await m.join(room["id"], "Sam")
    assert await code_of(m, "chat:send", {"text": "x" * 2001}) == "bad_request"
    assert await code_of(m, "chat:send", {"text": ["list"]}) == "bad_request"
    assert await code_of(m, "no:such:event", {}) == "bad_request"
    assert await code_of(m, "join", {"room": room["id"], "name": "Again"}) == "bad_request"


async def test_unknown_room_is_not_found(circle_server: RunningServer, members: Connect) -> None:
    m = await members()
    assert await code_of(m, "join", {"room": "nope", "name": "Sam"}) == "not_found"


async def test_guidelines_must_be_accepted(circle_server: RunningServer, members: Connect) -> None:
    room = await circle_server.create_room(guidelines="Confidentiality: what is said here stays here.")
    m = await members()
    assert await code_of(m, "join", {"room": room["id"], "name": "Sam"}) == "bad_request"
    ack = await m.join(room["id"], "Sam", accept_guidelines=True)
    assert ack["room"]["guidelines"].startswith("Confidentiality")


async def test_wrong_passcode(circle_server: RunningServer, members: Connect) -> None:
    room = await circle_server.create_room(passcode="serenity")
    m = await members()
    assert await code_of(m, "join", {"room": room["id"], "name": "Sam"}) == "wrong_passcode"
    assert await code_of(m, "join", {"room": room["id"], "name": "Sam", "passcode": "x"}) == "wrong_passcode"
    await m.join(room["id"], "Sam", passcode="serenity")


async def test_locked_room_and_full_room(circle_server: RunningServer, members: Connect) -> None:
    room = await circle_server.create_room(max_participants=2)
    fa, ann, bob = await members(), await members(), await members()
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    await ann.join(room["id"], "Ann")
    assert await code_of(bob, "join", {"room": room["id"], "name": "Bob"}) == "room_full"
    await ann.call("leave")
    assert (await fa.call("mod:lock", {"locked": True}))["ok"]
    assert await code_of(bob, "join", {"room": room["id"], "name": "Bob"}) == "room_locked"


async def test_wrong_host_key_is_forbidden(circle_server: RunningServer, members: Connect) -> None:
    room = await circle_server.create_room()
    m = await members()
    assert await code_of(m, "join", {"room": room["id"], "name": "Sam", "host_key": "guess"}) == "forbidden"


async def test_members_cannot_moderate(circle_server: RunningServer, members: Connect) -> None:
    room = await circle_server.create_room()
    ann, bob = await seated(members, room["id"], "Ann", "Bob")
    assert await code_of(ann, "mod:remove", {"id": bob.id}) == "forbidden"
    assert await code_of(ann, "mod:end", {}) == "forbidden"
    said = (await ann.call("chat:send", {"text": "sorry, wrong button"}))["message"]
    for unwanted in ("you:removed", "room:ended"):
        await bob.never_got(unwanted, marker="chat:message", is_marker=lambda m: m == said)
    assert not bob.disconnected


async def test_chat_flood_is_rate_limited_with_a_retry_time(
    circle_server_factory: Factory,
) -> None:
    server = await circle_server_factory(chat_burst=3, chat_rate_per_s=1.0)
    room = await server.create_room()
    m = await Member(server.url).connect()
    try:
        await m.join(room["id"], "Sam")
        for i in range(3):
            assert (await m.call("chat:send", {"text": f"{i}"}))["ok"]
        ack = await m.call("chat:send", {"text": "too fast"})
        assert ack["error"]["code"] == "rate_limited" and ack["error"]["retry_after_ms"] > 0
        history = await m.call("chat:history")
        assert [x["text"] for x in history["messages"]] == ["0", "1", "2"]
    finally:
        await m.close()


async def test_signal_flood_is_rate_limited(circle_server_factory: Factory) -> None:
    server = await circle_server_factory(signal_burst=5, signal_rate_per_s=1.0)
    room = await server.create_room()
    a, b = await Member(server.url).connect(), await Member(server.url).connect()
    try:
        await a.join(room["id"], "Ann")
        await b.join(room["id"], "Bob")
        codes = []
        for _ in range(8):
            ack = await a.call("signal", {"to": b.id, "candidate": {"candidate": ""}})
            codes.append(ack["ok"] or ack["error"]["code"])
        assert codes[:5] == [True] * 5 and set(codes[5:]) == {"rate_limited"}
    finally:
        await a.close()
        await b.close()


async def test_join_attempts_are_rate_limited(circle_server_factory: Factory) -> None:
    # No wait between wrong passcodes here: this is the connection's own bucket at work.
    server = await circle_server_factory(join_burst=3, join_rate_per_s=0.01, passcode_delay_s=0)
    room = await server.create_room(passcode="serenity")
    m = await Member(server.url).connect()
    try:
        codes = [
            await code_of(m, "join", {"room": room["id"], "name": "G", "passcode": f"g{i}"}) for i in range(4)
        ]
        assert codes == ["wrong_passcode"] * 3 + ["rate_limited"]
    finally:
        await m.close()


async def test_oversized_frame_cuts_that_connection_only(
    circle_server_factory: Factory,
) -> None:
    server = await circle_server_factory(max_frame_bytes=4096)
    room = await server.create_room()
    big, calm = await Member(server.url).connect(), await Member(server.url).connect()
    try:
        await big.join(room["id"], "Big")
        await calm.join(room["id"], "Calm")
        await big.sio.emit("chat:send", {"text": "x" * 10_000})
        await big.wait_disconnected()
        # The oversized message reached nobody, and the room carries on.
        ack = await calm.call("chat:send", {"text": "still here"})
        assert ack["ok"]
        history = await calm.call("chat:history")
        assert [x["text"] for x in history["messages"]] == ["still here"]
    finally:
        await calm.close()


async def test_error_without_ack_arrives_as_an_error_event(
    circle_server: RunningServer, members: Connect
) -> None:
    m = await members()
    await m.sio.emit("chat:send", {"text": "hi"})
    error = await m.wait_for("error")
    assert error["event"] == "chat:send" and error["error"]["code"] == "not_joined"


async def test_bad_input_leaves_the_room_unchanged_for_everyone_else(
    circle_server: RunningServer, members: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    room = await circle_server.create_room()
    ann, mallory = await members(), await members()
    await ann.join(room["id"], "Ann")
    await mallory.join(room["id"], "Mallory")
    await ann.wait_for("participant:joined")
    before = list(ann.events)
    junk: list[tuple[str, object]] = [
        ("chat:send", {"text": "SECRET-CONTENT " * 200}),
        ("chat:send", {"text": 7}),
        ("media:state", {"audio": "loud"}),
        ("signal", {"to": ann.id}),
        ("signal", {"to": ann.id, "description": {"type": "offer", "sdp": 1}}),
        ("hand:raise", {"now": True}),
        ("mod:remove", {"id": ann.id}),
        ("SECRET-EVENT", {"x": 1}),
    ]
    for event, data in junk:
        assert (await mallory.call(event, data))["ok"] is False
    # Mallory's first good message reaches Ann after anything her bad ones could have sent.
    said = (await mallory.call("chat:send", {"text": "sorry"}))["message"]
    await ann.wait_for("chat:message", lambda m: m == said)
    assert ann.events == [*before, ("chat:message", said)], "bad input from one member reached another"
    state = await circle_server.circle.store.load(room["id"])
    assert state is not None and [p.name for p in state.participants.values()] == ["Ann", "Mallory"]
    assert state.hands == () and not ann.disconnected
    assert "SECRET" not in caplog.text and "Mallory" not in caplog.text


async def test_browser_from_another_origin_is_refused(circle_server: RunningServer) -> None:
    m = Member(circle_server.url)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await m.connect(headers={"Origin": "https://evil.example"})
    same = await Member(circle_server.url).connect(headers={"Origin": circle_server.url})
    await same.close()


async def test_http_api_errors_carry_code_and_message(circle_server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{circle_server.url}/api/rooms", json={"title": "x"}) as r:
            assert r.status == 401 and (await r.json())["error"]["code"] == "unauthorized"
        auth = {"Authorization": f"Bearer {circle_server.admin_token}"}
        async with http.post(f"{circle_server.url}/api/rooms", json={"title": ""}, headers=auth) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "bad_request"
        async with http.post(f"{circle_server.url}/api/rooms", data="{nope", headers=auth) as r:
            assert r.status == 400
        async with http.post(
            f"{circle_server.url}/api/rooms", json={"title": "t", "colour": "red"}, headers=auth
        ) as r:
            assert r.status == 400 and "colour" in (await r.json())["error"]["message"]
        async with http.post(
            f"{circle_server.url}/api/rooms", json={"title": "x" * 100_000}, headers=auth
        ) as r:
            assert r.status == 413 and (await r.json())["error"]["code"] == "too_large"

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(100):
                yield b" " * 1000

        # Without a Content-Length, the body is cut off as it arrives, with the same answer.
        async with http.post(f"{circle_server.url}/api/rooms", data=chunks(), headers=auth) as r:
            assert r.status == 413 and (await r.json())["error"]["code"] == "too_large"
        async with http.get(f"{circle_server.url}/api/rooms/missing") as r:
            assert r.status == 404 and (await r.json())["error"]["code"] == "not_found"


async def test_an_unexpected_fault_is_internal_in_one_envelope_on_both_transports(
    circle_server_factory: Factory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    store = FaultyStore(MemoryStore(tmp_path / "store", resend_window_s=600))
    bus = MemoryBus()
    server = await circle_server_factory(backends=Backends(store, bus, bus))
    room = await server.create_room()
    store.fail("get_room", RuntimeError("SECRET-DETAIL of a bug"))
    internal = {"code": "internal", "message": "Something went wrong on the server. Please try again."}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/api/rooms/{room['id']}") as r:
            assert r.status == 500 and await r.json() == {"error": internal}
    member = await Member(server.url).connect()
    try:
        ack = await member.call("join", {"room": room["id"], "name": "Ann"})
        assert ack == {"ok": False, "error": internal}
    finally:
        await member.close()
    traced = [r for r in caplog.records if r.exc_info is not None and "internal error" in r.getMessage()]
    assert len(traced) == 2 and store.failed["get_room"] == 2


async def test_away_member_is_shown_and_then_removed_after_the_grace(
    circle_server_factory: Factory,
) -> None:
    server = await circle_server_factory(resume_grace_s=0.6)
    room = await server.create_room()
    ann, bob = await Member(server.url).connect(), await Member(server.url).connect()
    try:
        await ann.join(room["id"], "Ann")
        await bob.join(room["id"], "Bob")
        await bob.sio.disconnect()
        away = await ann.wait_for("participant:updated", lambda p: p["id"] == bob.id and p["away"])
        assert away["name"] == "Bob"
        left = await ann.wait_for("participant:left", timeout=5)
        assert left["id"] == bob.id and left["reason"] == "disconnected"
    finally:
        await ann.close()
