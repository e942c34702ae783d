"""Facilitators keep order: waiting room, mute, lock media, remove and ban, speaking queue, end."""

from __future__ import annotations

from tests.support.client import Member
from tests.support.servers import RunningServer


async def connect(server: RunningServer) -> Member:
    return await Member(server.url).connect()


async def test_waiting_room_admit_and_deny(circle_server: RunningServer) -> None:
    room = await circle_server.create_room(waiting_room=True)
    fa, ann, bob = await connect(circle_server), await connect(circle_server), await connect(circle_server)
    try:
        await fa.join(room["id"], "Fran", host_key=room["host_key"])
        ack = await ann.call("join", {"room": room["id"], "name": "Ann", "media": "audio"})
        assert ack["ok"] and ack["waiting"] is True and ack["resume_token"]
        waiting = await fa.wait_for("lobby:waiting")
        assert waiting["name"] == "Ann"
        assert (await ann.call("chat:send", {"text": "hello?"}))["error"]["code"] == "forbidden"
        assert (await fa.call("mod:admit", {"id": waiting["id"]}))["ok"]
        admitted = await ann.wait_for("lobby:admitted")
        assert [p["name"] for p in admitted["room"]["participants"]] == ["Fran", "Ann"]
        assert admitted["resume_token"] and admitted["room"]["waiting"] == []
        await fa.call("chat:send", {"text": "Welcome, Ann"})
        assert (await ann.wait_for("chat:message"))["text"] == "Welcome, Ann"

        bob_ack = await bob.call("join", {"room": room["id"], "name": "Bob"})
        assert bob_ack["waiting"]
        await fa.call("mod:deny", {"id": bob_ack["self"]["id"]})
        assert await bob.wait_for("lobby:denied") == {"reason": "denied"}
        await bob.wait_disconnected()
        # Said after Bob came to the waiting room and was turned away: members don't see either.
        said = (await fa.call("chat:send", {"text": "Let's begin"}))["message"]
        await ann.never_got("lobby:waiting", marker="chat:message", is_marker=lambda m: m == said)
    finally:
        for m in (fa, ann, bob):
            await m.close()


async def test_mute_and_media_lock(circle_server: RunningServer) -> None:
    room = await circle_server.create_room()
    fa, ann = await connect(circle_server), await connect(circle_server)
    try:
        await fa.join(room["id"], "Fran", host_key=room["host_key"])
        await ann.join(room["id"], "Ann")
        await fa.call("mod:mute", {"id": ann.id, "audio": True})
        assert await ann.wait_for("you:muted") == {"by": fa.id, "audio": True, "video": False}
        assert (await ann.call("media:state", {"audio": True, "video": True}))["ok"]
        await fa.call("mod:lock-media", {"id": ann.id, "locked": True})
        await fa.call("mod:mute", {"id": ann.id, "audio": True, "video": True})
        refused = await ann.call("media:state", {"audio": True, "video": False})
        assert refused["error"]["code"] == "forbidden"
    finally:
        await fa.close()
        await ann.close()


async def test_removed_member_cannot_rejoin_with_old_resume_token_or_browser_key(
    circle_server: RunningServer,
) -> None:
    room = await circle_server.create_room()
    fa, ann, troll = await connect(circle_server), await connect(circle_server), await connect(circle_server)
    try:
        await fa.join(room["id"], "Fran", host_key=room["host_key"])
        await ann.join(room["id"], "Ann")
        key = "k" * 24
        first = await troll.join(room["id"], "Troll", browser_key=key)
        await fa.call("mod:remove", {"id": troll.id, "ban": True})
        assert await troll.wait_for("you:removed") == {"ban": True}
        await troll.wait_disconnected()
        left = await ann.wait_for("participant:left")
        assert (left["id"], left["reason"]) == (first["self"]["id"], "removed")
        again = await connect(circle_server)
        for extra in ({"resume_token": first["resume_token"]}, {"browser_key": key}):
            ack = await again.call("join", {"room": room["id"], "name": "T", **extra})
            assert ack["error"]["code"] == "banned"
        await again.close()
    finally:
        await fa.close()
        await ann.close()


async def test_speaking_queue_with_next_speaker(circle_server: RunningServer) -> None:
    room = await circle_server.create_room()
    fa, ann, bob = await connect(circle_server), await connect(circle_server), await connect(circle_server)
    try:
        await fa.join(room["id"], "Fran", host_key=room["host_key"])
        await ann.join(room["id"], "Ann")
        await bob.join(room["id"], "Bob", media="text")
        await bob.call("hand:raise")
        await ann.call("hand:raise")
        ack = await fa.call("mod:next-speaker", {"limit_s": 120})
        assert ack["speaker"] == bob.id
        update = await ann.wait_for("room:updated", lambda r: r["speaker"] is not None)
        assert update["speaker"]["id"] == bob.id and update["speaker"]["limit_s"] == 120
        assert update["hands"] == [ann.id]
        await fa.call("mod:lower-hand", {"id": ann.id})
        await bob.wait_for("room:updated", lambda r: r["hands"] == [] and r["speaker"] is not None)
    finally:
        for m in (fa, ann, bob):
            await m.close()


async def test_end_meeting_tells_and_disconnects_everyone(circle_server: RunningServer) -> None:
    room = await circle_server.create_room()
    fa, ann = await connect(circle_server), await connect(circle_server)
    try:
        await fa.join(room["id"], "Fran", host_key=room["host_key"])
        await ann.join(room["id"], "Ann")
        await ann.call("chat:send", {"text": "see you next week"})
        assert (await fa.call("mod:end"))["ok"]
        assert await ann.wait_for("room:ended") == {"by": fa.id, "reason": "ended"}
        await ann.wait_disconnected()
        await fa.wait_disconnected()
        # The room stays for next week; this meeting's chat does not.
        again = await connect(circle_server)
        ack = await again.join(room["id"], "Ann")
        assert ack["room"]["chat"] == [] and [p["name"] for p in ack["room"]["participants"]] == ["Ann"]
        await again.close()
    finally:
        await fa.close()
        await ann.close()


async def test_roles_can_be_handed_over(circle_server: RunningServer) -> None:
    room = await circle_server.create_room()
    fa, ann = await connect(circle_server), await connect(circle_server)
    try:
        await fa.join(room["id"], "Fran", host_key=room["host_key"])
        await ann.join(room["id"], "Ann")
        await fa.call("mod:role", {"id": ann.id, "role": "facilitator"})
        promoted = await ann.wait_for("participant:updated", lambda p: p["role"] == "facilitator")
        assert promoted["id"] == ann.id
        assert (await ann.call("mod:lock", {"locked": True}))["ok"]
    finally:
        await fa.close()
        await ann.close()


async def test_chat_is_wiped_when_the_room_empties(circle_server: RunningServer) -> None:
    room = await circle_server.create_room()
    ann = await connect(circle_server)
    await ann.join(room["id"], "Ann")
    await ann.call("chat:send", {"text": "private thoughts"})
    await ann.call("leave")
    assert await circle_server.circle.store.chat_after(room["id"], None) == []
    await ann.close()
