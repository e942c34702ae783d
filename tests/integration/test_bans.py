"""A ban keeps the person out: without a browser key, with a new one, on a new socket, with the old
resume token, from a second tab, on another instance, and after every instance restarts.

A system without accounts knows a person by what their client brings: its browser key, its resume
token, and its network address (kept only as a keyed hash). A banned person who comes back under a new
name from the same address is held in the waiting room and flagged to the facilitators; after a ban,
everyone new waits to be let in for the rest of the meeting, so that a return from a new address needs a
facilitator too. Members here come through a trusted proxy that names their address, as behind nginx.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from redis import asyncio as aioredis

from tests.support.client import Member
from tests.support.processes import FAST_SETTINGS
from tests.support.servers import RedisServer, RunningServer, start_server

BEHIND_PROXY: dict[str, Any] = {"trusted_proxies": ("127.0.0.1",)}
TROLL_ADDRESS = "203.0.113.9"
TROLL_KEY = "troll-browser-key-0001"

Person = Callable[..., Awaitable[Member]]


@pytest.fixture
async def person() -> AsyncIterator[Person]:
    """A new socket to `server`, coming from `address` (through the proxy) when given."""
    made: list[Member] = []

    async def connect(server: RunningServer, address: str | None = None) -> Member:
        headers = {"X-Forwarded-For": address} if address else {}
        m = await Member(server.url).connect(headers=headers)
        made.append(m)
        return m

    yield connect
    for m in made:
        await m.close()


async def ask_to_join(m: Member, room: dict[str, Any], name: str, **extra: Any) -> dict[str, Any]:
    return await m.call("join", {"room": room["id"], "name": name, "media": "text", **extra})


async def banned_troll(person: Person, server: RunningServer, room: dict[str, Any]) -> tuple[Member, Member]:
    """A facilitator (from their own address) who has banned a troll; returns the facilitator and the
    troll's first, now closed, socket."""
    fa = await person(server, "198.51.100.1")
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    troll = await person(server, TROLL_ADDRESS)
    await troll.join(room["id"], "Troll", browser_key=TROLL_KEY)
    assert (await fa.call("mod:remove", {"id": troll.id, "ban": True}))["ok"]
    await troll.wait_disconnected()
    return fa, troll


async def held_and_flagged(fa: Member, ack: dict[str, Any]) -> None:
    """`ack` put its person in the waiting room, and the facilitator sees them flagged as returning."""
    assert ack["ok"] and ack.get("waiting") is True, ack
    waiting = await fa.wait_for("lobby:waiting", lambda p: p["id"] == ack["self"]["id"])
    assert waiting["returning_removed"] is True


async def test_a_banned_person_is_held_out_without_a_key_with_a_new_key_and_on_a_new_socket(
    circle_server: RunningServer, members: Callable[[], Awaitable[Member]]
) -> None:
    room = await circle_server.create_room()
    fa, ann, troll = await members(), await members(), await members()
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    await ann.join(room["id"], "Ann", browser_key="ann-browser-key-00001")
    await troll.join(room["id"], "Troll", browser_key=TROLL_KEY)
    await fa.call("mod:remove", {"id": troll.id, "ban": True})
    await troll.wait_disconnected()

    for extra in ({}, {"browser_key": "a-brand-new-key-00001"}):
        again = await members()
        ack = await ask_to_join(again, room, "Someone new", **extra)
        await held_and_flagged(fa, ack)
        refused = await again.call("chat:send", {"text": "let me in"})
        assert refused["error"]["code"] == "forbidden"
    # Neither came into the room: the members were never told of them.
    said = (await fa.call("chat:send", {"text": "carry on"}))["message"]
    await ann.never_got(
        "participant:joined",
        lambda p: p["name"] == "Someone new",
        marker="chat:message",
        is_marker=lambda m: m == said,
    )


async def test_after_a_ban_everyone_new_waits_to_be_let_in_until_the_meeting_ends(
    circle_server_factory: Callable[..., Awaitable[RunningServer]], person: Person
) -> None:
    server = await circle_server_factory(**BEHIND_PROXY)
    room = await server.create_room()
    fa, _ = await banned_troll(person, server, room)
    await fa.wait_for("room:updated", lambda r: r["waiting_room"] is True)

    # From an address nobody was banned from: waiting, not flagged.
    stranger = await person(server, "198.51.100.77")
    ack = await ask_to_join(stranger, room, "Sam", browser_key="sams-browser-key-0001")
    assert ack["waiting"] is True
    waiting = await fa.wait_for("lobby:waiting", lambda p: p["id"] == ack["self"]["id"])
    assert waiting["returning_removed"] is False
    # The troll's own address, under a new name and key: waiting, and flagged.
    back = await person(server, TROLL_ADDRESS)
    await held_and_flagged(fa, await ask_to_join(back, room, "Newname", browser_key="new-key-for-troll-01"))

    # The next meeting is as the room is defined: no waiting room for someone from a clean address.
    await fa.call("mod:end")
    await fa.wait_disconnected()
    later = await person(server, "198.51.100.78")
    assert "waiting" not in await later.join(room["id"], "Lee")


async def test_a_second_tab_with_the_banned_browser_key_is_removed_too_and_cannot_resume(
    circle_server_factory: Callable[..., Awaitable[RunningServer]], person: Person
) -> None:
    server = await circle_server_factory(**BEHIND_PROXY)
    room = await server.create_room()
    fa = await person(server, "198.51.100.1")
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    tab1, tab2 = await person(server, TROLL_ADDRESS), await person(server, TROLL_ADDRESS)
    await tab1.join(room["id"], "Troll", browser_key=TROLL_KEY)
    second = await tab2.join(room["id"], "Troll again", browser_key=TROLL_KEY)

    await fa.call("mod:remove", {"id": tab1.id, "ban": True})
    assert await tab2.wait_for("you:removed") == {"ban": True}
    await tab1.wait_disconnected()
    await tab2.wait_disconnected()
    gone = {p["id"] for p in fa.of("participant:left") if p["reason"] == "removed"}
    assert gone == {tab1.id, tab2.id}

    again = await person(server, "198.51.100.50")
    for extra in (
        {"resume_token": second["resume_token"]},
        {"resume_token": second["resume_token"], "browser_key": TROLL_KEY},
    ):
        ack = await ask_to_join(again, room, "Troll", **extra)
        assert ack["error"]["code"] == "banned", extra


async def test_a_resume_token_is_accepted_only_with_the_browser_key_it_was_issued_with(
    circle_server: RunningServer, members: Callable[[], Awaitable[Member]]
) -> None:
    room = await circle_server.create_room()
    ann_key = "ann-browser-key-00001"
    ann, bob = await members(), await members()
    first = await ann.join(room["id"], "Ann", browser_key=ann_key)
    await bob.join(room["id"], "Bob")
    await ann.sio.disconnect()
    await bob.wait_for("participant:updated", lambda p: p["id"] == first["self"]["id"] and p["away"])

    thief = await members()
    for extra in ({}, {"browser_key": "someone-elses-key-001"}):
        ack = await ask_to_join(thief, room, "Ann", resume_token=first["resume_token"], **extra)
        assert ack["error"]["code"] == "forbidden", extra
    back = await members()
    ack = await back.join(room["id"], "Ann", resume_token=first["resume_token"], browser_key=ann_key)
    assert ack["self"]["id"] == first["self"]["id"]


async def attempts_after_a_ban(
    person: Person, server: RunningServer, room: dict[str, Any], first: dict[str, Any], fa: Member | None
) -> None:
    """The banned troll tries every way back in; a stranger still gets in."""
    for extra in ({"browser_key": TROLL_KEY}, {"resume_token": first["resume_token"]}):
        m = await person(server, "198.51.100.60")
        assert (await ask_to_join(m, room, "Troll", **extra))["error"]["code"] == "banned", extra
    back = await person(server, TROLL_ADDRESS)
    ack = await ask_to_join(back, room, "Nobody", browser_key="fresh-key-of-troll-01")
    assert ack["ok"] and ack["waiting"] is True, ack
    if fa is not None:
        await held_and_flagged(fa, ack)
    stranger = await person(server, "198.51.100.61")
    assert (await ask_to_join(stranger, room, "Sam"))["ok"]


async def test_a_ban_survives_a_restart_of_a_single_instance_and_no_address_is_kept_in_clear(
    tmp_path: Path, person: Person
) -> None:
    data = tmp_path / "data"
    server = await start_server(data, **BEHIND_PROXY)
    try:
        room = await server.create_room()
        fa = await person(server, "198.51.100.1")
        await fa.join(room["id"], "Fran", host_key=room["host_key"])
        troll = await person(server, TROLL_ADDRESS)
        first = await troll.join(room["id"], "Troll", browser_key=TROLL_KEY)
        await fa.call("mod:remove", {"id": troll.id, "ban": True})
        await troll.wait_disconnected()
        await fa.close()
    finally:
        await server.stop()

    server = await start_server(data, **BEHIND_PROXY)
    try:
        fa = await person(server, "198.51.100.1")
        await fa.join(room["id"], "Fran", host_key=room["host_key"])
        await attempts_after_a_ban(person, server, room, first, fa)
    finally:
        await server.stop()
    for path in data.iterdir():
        assert TROLL_ADDRESS.encode() not in path.read_bytes(), path.name
    with sqlite3.connect(data / "rooms.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM bans").fetchone()[0] >= 3


async def test_a_ban_holds_on_another_instance_and_after_every_instance_restarts(
    tmp_path: Path, redis_server: RedisServer, person: Person
) -> None:
    redis_server.flush()
    settings = {**FAST_SETTINGS, **BEHIND_PROXY, "redis_url": redis_server.url}
    one = await start_server(tmp_path / "one", instance_id="i-one", **settings)
    two = await start_server(tmp_path / "two", instance_id="i-two", **settings)
    try:
        room = await one.create_room()
        fa = await person(one, "198.51.100.1")
        await fa.join(room["id"], "Fran", host_key=room["host_key"])
        troll = await person(two, TROLL_ADDRESS)
        first = await troll.join(room["id"], "Troll", browser_key=TROLL_KEY)
        await fa.call("mod:remove", {"id": troll.id, "ban": True})
        await troll.wait_disconnected()
        await attempts_after_a_ban(person, two, room, first, fa)
        await fa.call("mod:end")
        await fa.wait_disconnected()
    finally:
        await two.stop()
        await one.stop()

    three = await start_server(tmp_path / "three", instance_id="i-three", **settings)
    try:
        await attempts_after_a_ban(person, three, room, first, None)
    finally:
        await three.stop()
    r = aioredis.Redis.from_url(redis_server.url)
    try:
        async for key in r.scan_iter():
            assert TROLL_ADDRESS.encode() not in key
            kind = (await r.type(key)).decode()
            dump = await r.dump(key)
            assert dump is None or TROLL_ADDRESS.encode() not in dump, (key, kind)
    finally:
        await r.aclose()
