"""Keeping a meeting safe, through a real server and real socket.io clients: the safety pause, admitting
and muting everyone, asking to unmute, reordering the queue, deleting chat, the private-message policy,
a removed member kept out and flagged, and a new co-facilitator told who is waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from server.cli import main as circle
from tests.support.client import Member
from tests.support.servers import RunningServer

Connect = Callable[[], Awaitable[Member]]
Factory = Callable[..., Awaitable[RunningServer]]


async def refused(member: Member, event: str, data: object = None) -> dict[str, Any]:
    ack = await member.call(event, data)
    assert ack["ok"] is False, ack
    assert ack["error"]["message"], "every refusal carries a human sentence"
    return dict(ack["error"])


async def ok(member: Member, event: str, data: object = None) -> dict[str, Any]:
    ack = await member.call(event, data)
    assert ack["ok"] is True, (event, ack)
    return ack


async def said(member: Member, text: str, **extra: Any) -> dict[str, Any]:
    return dict((await ok(member, "chat:send", {"text": text, **extra}))["message"])


def is_text(text: str) -> Callable[[Any], bool]:
    return lambda m: m["text"] == text


async def history(member: Member) -> list[str]:
    return [m["text"] for m in (await ok(member, "chat:history"))["messages"]]


# -- members cannot moderate --------------------------------------------------------------------------

MOD_EVENTS = [
    "mod:safety",
    "mod:admit-all",
    "mod:mute-all",
    "mod:reorder-hands",
    "mod:delete-chat",
    "mod:private-chat",
]


@pytest.mark.parametrize("event", MOD_EVENTS)
async def test_a_member_is_forbidden_every_moderation_event_and_it_changes_nothing(
    event: str, circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room(waiting_room=True)
    fa, ann, bob, cat = [await members() for _ in range(4)]
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    for m, name in ((ann, "Ann"), (bob, "Bob")):
        await m.join(room["id"], name)
        await ok(fa, "mod:admit", {"id": m.id})
    await cat.join(room["id"], "Cat")
    await fa.wait_for("lobby:waiting", lambda p: p["id"] == cat.id)
    await ok(ann, "hand:raise")
    await ok(bob, "hand:raise")
    message = await said(fa, "Welcome, everyone.")
    data = {
        "mod:safety": {"on": True},
        "mod:admit-all": {},
        "mod:mute-all": {"lock": True},
        "mod:reorder-hands": {"order": [bob.id, ann.id]},
        "mod:delete-chat": {"id": message["id"]},
        "mod:private-chat": {"policy": "nobody"},
    }[event]
    store = circle_server.circle.store
    before = await store.load(room["id"])

    assert (await refused(ann, event, data))["code"] == "forbidden"
    assert await store.load(room["id"]) == before
    assert await history(bob) == ["Welcome, everyone."]
    marker = await said(fa, "Let's begin.")
    for m in (ann, bob):
        await m.never_got("chat:deleted", marker="chat:message", is_marker=is_text(marker["text"]))
        await m.never_got("you:muted", marker="chat:message", is_marker=is_text(marker["text"]))
    assert not cat.of("lobby:admitted")


# -- the safety pause ---------------------------------------------------------------------------------


async def test_the_safety_pause_reaches_everyone_holds_members_muted_and_lifts(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    fa, ann, bob = [await members() for _ in range(3)]
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    await ann.join(room["id"], "Ann", media="av")
    await bob.join(room["id"], "Bob", media="text")
    await ok(ann, "hand:raise")

    await ok(fa, "mod:safety", {"on": True})
    for m in (fa, ann, bob):
        paused = await m.wait_for("room:updated", lambda r: r["safety"])
        assert paused["locked"] and paused["waiting_room"] and paused["hands"] == []
    assert await ann.wait_for("you:muted") == {"by": fa.id, "audio": True, "video": True}
    held = await bob.wait_for("participant:updated", lambda p: p["id"] == ann.id and p["media_locked"])
    assert not held["audio"] and not held["video"]
    # The intruder cannot take their microphone back, and nobody new comes in.
    assert (await refused(ann, "media:state", {"audio": True, "video": False}))["code"] == "forbidden"
    late = await members()
    ack = await late.call("join", {"room": room["id"], "name": "Late"})
    assert ack["error"]["code"] == "room_locked"
    # A facilitator arriving (or coming back) sees the pause in the room they get.
    fb = await members()
    snapshot = (await fb.join(room["id"], "Fay", host_key=room["host_key"]))["room"]
    assert snapshot["safety"] is True and snapshot["locked"] is True

    await ok(fa, "mod:safety", {"on": False})
    lifted = await ann.wait_for("room:updated", lambda r: not r["safety"])
    assert not lifted["locked"] and not lifted["waiting_room"]
    await ok(ann, "media:state", {"audio": True, "video": False})


# -- admitting and muting everyone, asking to unmute -------------------------------------------------


async def test_admit_all_lets_everyone_waiting_in(circle_server: RunningServer, members: Connect) -> None:
    room = await circle_server.create_room(waiting_room=True)
    fa, ann, bob = [await members() for _ in range(3)]
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    await ann.join(room["id"], "Ann")
    await bob.join(room["id"], "Bob")
    assert (await ok(fa, "mod:admit-all"))["admitted"] == 2
    for m in (ann, bob):
        admitted = await m.wait_for("lobby:admitted")
        assert {p["name"] for p in admitted["room"]["participants"]} == {"Fran", "Ann", "Bob"}
    assert (await ok(fa, "mod:admit-all"))["admitted"] == 0


async def test_mute_all_holds_members_muted_and_a_request_to_unmute_reaches_facilitators_only(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    fa, fb, ann, bob = [await members() for _ in range(4)]
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    await fb.join(room["id"], "Fay", host_key=room["host_key"])
    await ann.join(room["id"], "Ann", media="audio")
    await bob.join(room["id"], "Bob", media="av")
    assert (await refused(ann, "media:request-unmute"))["code"] == "bad_request"  # nothing holds her

    assert (await ok(fa, "mod:mute-all", {"lock": True}))["muted"] == 2
    assert (await ann.wait_for("you:muted"))["audio"] is True
    assert (await bob.wait_for("you:muted")) == {"by": fa.id, "audio": True, "video": True}
    await fa.wait_for("participant:updated", lambda p: p["id"] == ann.id and p["media_locked"])
    assert not fb.of("you:muted"), "facilitators are not muted"
    assert (await refused(ann, "media:state", {"audio": True, "video": False}))["code"] == "forbidden"

    assert (await ok(ann, "media:request-unmute"))["requested"] is True
    for f in (fa, fb):
        asked = await f.wait_for("media:unmute-requested")
        assert asked["id"] == ann.id and asked["requested"] is True and isinstance(asked["at"], int)
    marker = await said(fa, "One moment, Ann.")
    await bob.never_got("media:unmute-requested", marker="chat:message", is_marker=is_text(marker["text"]))

    await ok(fa, "mod:lock-media", {"id": ann.id, "locked": False})
    answered = await fb.wait_for("media:unmute-requested", lambda r: r["requested"] is False)
    assert answered["id"] == ann.id
    await ok(ann, "media:state", {"audio": True, "video": False})
    assert (await refused(bob, "media:state", {"audio": True, "video": True}))["code"] == "forbidden"


# -- the speaking queue -------------------------------------------------------------------------------


async def test_a_facilitator_reorders_the_queue_for_everyone(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    fa, ann, bob, cat = [await members() for _ in range(4)]
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    for m, name in ((ann, "Ann"), (bob, "Bob"), (cat, "Cat")):
        await m.join(room["id"], name, media="text")
        await ok(m, "hand:raise")
    order = [cat.id, ann.id, bob.id]
    assert (await ok(fa, "mod:reorder-hands", {"order": order}))["hands"] == order
    for m in (ann, bob, cat):
        await m.wait_for("room:updated", lambda r: r["hands"] == order)
    # The order asked for must be the queue as it is: not fewer, more, or other people.
    for wrong in ([cat.id, ann.id], [cat.id, ann.id, bob.id, fa.id], [cat.id, ann.id, ann.id]):
        assert (await refused(fa, "mod:reorder-hands", {"order": wrong}))["code"] == "bad_request"
    assert (await ok(fa, "mod:next-speaker"))["speaker"] == cat.id


# -- deleting chat ------------------------------------------------------------------------------------


async def test_a_deleted_message_leaves_every_page_every_history_and_every_snapshot(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    fa, ann, bob = [await members() for _ in range(3)]
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    ann_ack = await ann.join(room["id"], "Ann")
    await bob.join(room["id"], "Bob")
    hurtful = await said(ann, "Something hurtful.", key="ann-1")
    await said(bob, "Thank you for sharing.")

    assert (await ok(fa, "mod:delete-chat", {"id": hurtful["id"]}))["id"] == hurtful["id"]
    for m in (fa, ann, bob):
        assert await m.wait_for("chat:deleted") == {"id": hurtful["id"]}
        assert await history(m) == ["Thank you for sharing."]
    late = await members()
    assert [x["text"] for x in (await late.join(room["id"], "Dan"))["room"]["chat"]] == [
        "Thank you for sharing."
    ]
    # Ann's page reloads: she comes back as herself, and the message does not.
    await ann.close()
    again = await members()
    resumed = await again.join(room["id"], "Ann", resume_token=ann_ack["resume_token"])
    assert resumed["self"]["id"] == ann_ack["self"]["id"]
    assert [x["text"] for x in resumed["room"]["chat"]] == ["Thank you for sharing."]
    # Sent again under its key (an answer lost on the way), it stays deleted.
    error = await refused(again, "chat:send", {"text": "Something hurtful.", "key": "ann-1"})
    assert error["code"] == "forbidden"
    assert await history(bob) == ["Thank you for sharing."]
    # Deleting it again, or what never was, finds nothing; what is no message id is a bad request.
    assert (await refused(fa, "mod:delete-chat", {"id": hurtful["id"]}))["code"] == "not_found"
    assert (await refused(fa, "mod:delete-chat", {"id": "9" * 16}))["code"] == "not_found"
    assert (await refused(fa, "mod:delete-chat", {"id": "not-an-id"}))["code"] == "bad_request"


async def test_a_facilitator_deletes_only_private_messages_they_could_see(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    fa, ann, bob = [await members() for _ in range(3)]
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    await ann.join(room["id"], "Ann")
    await bob.join(room["id"], "Bob")
    between_members = await said(ann, "Just for you, Bob.", to=bob.id)
    to_facilitator = await said(bob, "Can we talk after?", to=fa.id)

    assert (await refused(fa, "mod:delete-chat", {"id": between_members["id"]}))["code"] == "not_found"
    assert await history(bob) == ["Just for you, Bob.", "Can we talk after?"]

    await ok(fa, "mod:delete-chat", {"id": to_facilitator["id"]})
    assert await bob.wait_for("chat:deleted") == {"id": to_facilitator["id"]}
    assert await history(bob) == ["Just for you, Bob."]
    # Ann never saw it, so she is not told of its going either.
    marker = await said(fa, "Back to the circle.")
    await ann.never_got("chat:deleted", marker="chat:message", is_marker=is_text(marker["text"]))


# -- the private-message policy ----------------------------------------------------------------------


async def test_private_messages_follow_the_rooms_policy_and_the_facilitators_changes(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room(private_chat="facilitators")
    fa, ann, bob = [await members() for _ in range(3)]
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    assert (await ann.join(room["id"], "Ann"))["room"]["private_chat"] == "facilitators"
    await bob.join(room["id"], "Bob")

    assert (await refused(ann, "chat:send", {"text": "psst", "to": bob.id}))["code"] == "forbidden"
    await said(ann, "Can I share next?", to=fa.id)
    await said(fa, "Of course, Bob.", to=bob.id)
    await said(ann, "Hello, everyone.")
    assert await history(bob) == ["Of course, Bob.", "Hello, everyone."]

    await ok(fa, "mod:private-chat", {"policy": "nobody"})
    for m in (ann, bob):
        await m.wait_for("room:updated", lambda r: r["private_chat"] == "nobody")
    assert (await refused(ann, "chat:send", {"text": "psst", "to": fa.id}))["code"] == "forbidden"
    assert (await refused(fa, "chat:send", {"text": "psst", "to": ann.id}))["code"] == "forbidden"

    await ok(fa, "mod:private-chat", {"policy": "everyone"})
    await said(ann, "Thanks, Bob.", to=bob.id)


async def test_a_room_refuses_an_unknown_private_message_policy(circle_server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{circle_server.url}/api/rooms",
            json={"title": "Circle", "private_chat": "friends"},
            headers={"Authorization": f"Bearer {circle_server.admin_token}"},
        ) as response:
            assert response.status == 400
            assert (await response.json())["error"]["code"] == "bad_request"


async def test_rooms_create_from_the_terminal_sets_the_private_message_policy(
    circle_server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["rooms", "create", "Sponsors' circle", "--private-chat", "nobody", "--json"]
    args += ["--server", circle_server.url, "--admin-token", circle_server.admin_token]
    assert await asyncio.to_thread(circle, args) == 0
    room_id = capsys.readouterr().out.split('"id": "', 1)[1].split('"', 1)[0]
    room = await circle_server.circle.store.get_room(room_id)
    assert room is not None and room.private_chat.value == "nobody"


# -- removal and roles ---------------------------------------------------------------------------------


async def test_a_removed_member_who_comes_back_waits_flagged_and_is_not_let_in_with_everyone(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room(waiting_room=True)
    fa, troll, ann = [await members() for _ in range(3)]
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    key = "b" * 24
    await troll.join(room["id"], "Troll", browser_key=key)
    await ok(fa, "mod:admit", {"id": troll.id})
    await ok(fa, "mod:remove", {"id": troll.id})
    await troll.wait_disconnected()

    back = await members()
    assert (await back.join(room["id"], "Someone else", browser_key=key))["waiting"] is True
    flagged = await fa.wait_for("lobby:waiting", lambda p: p["id"] == back.id)
    assert flagged["returning_removed"] is True
    await ann.join(room["id"], "Ann", browser_key="a" * 24)
    fresh = await fa.wait_for("lobby:waiting", lambda p: p["id"] == ann.id)
    assert fresh["returning_removed"] is False
    # A facilitator who reloads sees the flag in the waiting list of the room they get back.
    fb = await members()
    waiting = (await fb.join(room["id"], "Fay", host_key=room["host_key"]))["room"]["waiting"]
    assert {p["id"]: p["returning_removed"] for p in waiting} == {back.id: True, ann.id: False}

    assert (await ok(fa, "mod:admit-all"))["admitted"] == 1
    await ann.wait_for("lobby:admitted")
    marker = await said(fa, "Welcome, Ann.")
    await ann.wait_for("chat:message", is_text(marker["text"]))
    assert not back.of("lobby:admitted")


async def test_a_removed_member_is_refused_at_the_door_of_a_room_without_a_waiting_room(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    fa, troll = await members(), await members()
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    first = await troll.join(room["id"], "Troll", browser_key="t" * 24)
    await ok(fa, "mod:remove", {"id": troll.id})
    await troll.wait_disconnected()
    for extra in ({"browser_key": "t" * 24}, {"resume_token": first["resume_token"]}):
        again = await members()
        error = (await again.call("join", {"room": room["id"], "name": "Tee", **extra}))["error"]
        assert (error["code"], error["scope"]) == ("banned", "meeting")


async def test_a_new_co_facilitator_is_told_who_is_already_waiting(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room(waiting_room=True)
    fa, ann, bob, cat = [await members() for _ in range(4)]
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    await ann.join(room["id"], "Ann")
    await ok(fa, "mod:admit", {"id": ann.id})
    await bob.join(room["id"], "Bob")
    await cat.join(room["id"], "Cat")
    await fa.wait_for("lobby:waiting", lambda p: p["id"] == cat.id)
    assert not ann.of("lobby:waiting")

    await ok(fa, "mod:role", {"id": ann.id, "role": "facilitator"})
    told = [await ann.wait_for("lobby:waiting", lambda p, who=who: p["id"] == who.id) for who in (bob, cat)]
    assert [p["name"] for p in told] == ["Bob", "Cat"]
    await ok(ann, "mod:admit", {"id": bob.id})
    await bob.wait_for("lobby:admitted")


# -- checking a facilitator link before joining ------------------------------------------------------


async def host_check(server: RunningServer, room_id: str, body: Any) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/api/rooms/{room_id}/host-check", json=body) as response:
            return response.status, dict(await response.json())


async def test_host_check_says_whether_a_facilitator_key_is_the_rooms(circle_server_factory: Factory) -> None:
    # Enough checks for every case below (the limit itself is the next test's).
    circle_server = await circle_server_factory(host_check_burst=20)
    room = await circle_server.create_room()
    other = await circle_server.create_room()
    assert await host_check(circle_server, room["id"], {"host_key": room["host_key"]}) == (200, {"ok": True})
    status, body = await host_check(circle_server, room["id"], {"host_key": other["host_key"]})
    assert status == 403 and body["error"]["code"] == "forbidden" and body["error"]["message"]
    status, body = await host_check(circle_server, "no-such-room", {"host_key": room["host_key"]})
    assert status == 404 and body["error"]["code"] == "not_found"
    for bad in ({}, {"host_key": ""}, {"host_key": room["host_key"], "admin": True}, ["k"]):
        status, body = await host_check(circle_server, room["id"], bad)
        assert status == 400 and body["error"]["code"] == "bad_request", bad
    # The key is taken from the body only: never from a URL, which logs and Referer headers keep.
    async with aiohttp.ClientSession() as http:
        url = f"{circle_server.url}/api/rooms/{room['id']}/host-check?host_key={room['host_key']}"
        async with http.get(url) as response:
            assert response.status == 405


async def test_host_checks_are_rate_limited_per_address(circle_server_factory: Factory) -> None:
    server = await circle_server_factory(host_check_burst=3, host_check_rate_per_s=0.01)
    room = await server.create_room()
    statuses = []
    for key in ("wrong-1", "wrong-2", room["host_key"], room["host_key"]):
        status, body = await host_check(server, room["id"], {"host_key": key})
        statuses.append(status)
    assert statuses == [403, 403, 200, 429]
    assert body["error"]["code"] == "rate_limited" and body["error"]["retry_after_ms"] > 0


async def test_behind_a_trusted_proxy_host_checks_are_limited_per_client_address(
    circle_server_factory: Factory,
) -> None:
    server = await circle_server_factory(
        host_check_burst=1, host_check_rate_per_s=0.01, trusted_proxies=("127.0.0.1",)
    )
    room = await server.create_room()
    body = {"host_key": room["host_key"]}
    url = f"{server.url}/api/rooms/{room['id']}/host-check"
    statuses = []
    async with aiohttp.ClientSession() as http:
        for address in ("198.51.100.1", "198.51.100.2", "198.51.100.1"):
            async with http.post(url, json=body, headers={"X-Forwarded-For": address}) as response:
                statuses.append(response.status)
    assert statuses == [200, 200, 429]
