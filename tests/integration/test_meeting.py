"""A real server on a free port and real socket.io clients: joining, presence, chat, hands, signalling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.support.client import Member, seated
from tests.support.servers import RunningServer

Connect = Callable[[], Awaitable[Member]]


async def test_two_members_see_each_other_and_the_joiner_gets_the_room(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    ann, bob = await members(), await members()
    a = await ann.join(room["id"], "Ann")
    assert a["self"]["name"] == "Ann" and a["self"]["role"] == "member"
    assert a["room"]["title"] == "Tuesday evening circle" and a["resume_token"]
    b = await bob.join(room["id"], "Bob", media="text")
    assert [p["name"] for p in b["room"]["participants"]] == ["Ann", "Bob"]
    joined = await ann.wait_for("participant:joined", lambda p: p["id"] == bob.id)
    assert joined["name"] == "Bob" and joined["media"] == "text"
    # Said after Bob's join was announced, so it reaches Bob after any announcement sent to him.
    said = (await ann.call("chat:send", {"text": "Welcome, Bob."}))["message"]
    await bob.never_got("participant:joined", marker="chat:message", is_marker=lambda m: m == said)


async def test_host_key_makes_a_facilitator(circle_server: RunningServer, members: Connect) -> None:
    room = await circle_server.create_room()
    fa = await members()
    ack = await fa.join(room["id"], "Fran", host_key=room["host_key"])
    assert ack["self"]["role"] == "facilitator"


async def test_leave_tells_the_others(circle_server: RunningServer, members: Connect) -> None:
    room = await circle_server.create_room()
    ann, bob = await seated(members, room["id"], "Ann", "Bob")
    assert (await bob.call("leave"))["ok"]
    left = await ann.wait_for("participant:left")
    assert (left["id"], left["reason"]) == (bob.id, "left")


async def test_chat_reaches_everyone_including_text_only_members(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    ann, bob, cat = await members(), await members(), await members()
    await ann.join(room["id"], "Ann")
    await bob.join(room["id"], "Bob", media="text")
    await cat.join(room["id"], "Cat", media="audio")
    ack = await bob.call("chat:send", {"text": "Thank you all for being here.\nIt matters."})
    message = ack["message"]
    assert message["from"] == {"id": bob.id, "name": "Bob"} and "to" not in message
    for m in (ann, bob, cat):
        got = await m.wait_for("chat:message")
        assert got == message


async def test_private_chat_reaches_only_sender_and_recipient(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    fa, ann, bob = await members(), await members(), await members()
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    await ann.join(room["id"], "Ann")
    await bob.join(room["id"], "Bob")
    ack = await ann.call("chat:send", {"text": "Can we talk after?", "to": bob.id})
    assert ack["message"]["to"] == bob.id
    assert (await bob.wait_for("chat:message"))["text"] == "Can we talk after?"
    assert (await ann.wait_for("chat:message"))["to"] == bob.id
    await ann.call("chat:send", {"text": "public"})
    await fa.wait_for("chat:message", lambda m: m["text"] == "public")
    assert [m["text"] for m in fa.of("chat:message")] == ["public"], "facilitators can't read private chat"
    history = await fa.call("chat:history", {})
    assert [m["text"] for m in history["messages"]] == ["public"]
    history = await bob.call("chat:history", {})
    assert [m["text"] for m in history["messages"]] == ["Can we talk after?", "public"]


async def test_a_chat_message_sent_again_with_its_key_is_posted_once(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    ann, bob = await seated(members, room["id"], "Ann", "Bob")
    payload = {"text": "Did this go through?", "key": "3f9c2a"}
    first = (await ann.call("chat:send", payload))["message"]
    again = (await ann.call("chat:send", payload))["message"]
    assert again == first
    other = (await bob.call("chat:send", payload))["message"]
    assert other["id"] > first["id"], "another sender's key is not Ann's"
    history = await bob.call("chat:history")
    assert [(m["from"]["name"], m["id"]) for m in history["messages"]] == [
        ("Ann", first["id"]),
        ("Bob", other["id"]),
    ]


async def test_chat_ids_are_ordered_and_history_replays_exactly_what_was_missed(
    circle_server_factory: Callable[..., Awaitable[RunningServer]],
) -> None:
    server = await circle_server_factory(chat_burst=20)
    room = await server.create_room()
    ann, bob = await Member(server.url).connect(), await Member(server.url).connect()
    await ann.join(room["id"], "Ann")
    await bob.join(room["id"], "Bob")
    sent = [(await ann.call("chat:send", {"text": f"m{i}"}))["message"] for i in range(12)]
    ids = [m["id"] for m in sent]
    assert ids == sorted(ids) and len(set(ids)) == 12
    missed = await bob.call("chat:history", {"after": ids[8]})
    assert [m["text"] for m in missed["messages"]] == ["m9", "m10", "m11"]
    everything = await bob.call("chat:history")
    assert [m["id"] for m in everything["messages"]] == ids
    await ann.close()
    await bob.close()


async def test_media_state_and_speaking_reach_the_room(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    ann, bob = await members(), await members()
    await ann.join(room["id"], "Ann")
    await bob.join(room["id"], "Bob", media="text")
    assert (await ann.call("media:state", {"audio": False, "video": True}))["ok"]
    updated = await bob.wait_for("participant:updated", lambda p: p["id"] == ann.id)
    assert (updated["audio"], updated["video"]) == (False, True)
    await ann.call("media:state", {"audio": True, "video": True})
    assert (await ann.call("media:speaking", {"speaking": True}))["ok"]
    await bob.wait_for("participant:updated", lambda p: p["speaking"] is True)
    refused = await bob.call("media:state", {"audio": True, "video": False})
    assert refused["error"]["code"] == "bad_request"


async def test_hands_queue_in_order_for_everyone(circle_server: RunningServer, members: Connect) -> None:
    room = await circle_server.create_room()
    ann, bob = await seated(members, room["id"], "Ann", "Bob")
    assert (await bob.call("hand:raise"))["position"] == 1
    assert (await ann.call("hand:raise"))["position"] == 2
    update = await ann.wait_for("room:updated", lambda r: len(r["hands"]) == 2)
    assert update["hands"] == [bob.id, ann.id]
    await bob.call("hand:lower")
    await ann.wait_for("room:updated", lambda r: r["hands"] == [ann.id])


async def test_signals_are_relayed_between_members_of_one_room(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    ann, bob = await seated(members, room["id"], "Ann", "Bob")
    offer = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"}
    assert (await ann.call("signal", {"to": bob.id, "description": offer}))["ok"]
    candidate = {
        "candidate": "candidate:1 1 udp 2 127.0.0.1 5000 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
    }
    assert (await ann.call("signal", {"to": bob.id, "candidate": candidate}))["ok"]
    first = await bob.wait_for("signal")
    assert first == {"from": ann.id, "description": offer}
    second = await bob.wait_for("signal", lambda s: "candidate" in s)
    assert second["candidate"]["candidate"] == candidate["candidate"]
    # Bob answers after both of Ann's signals went out: Ann gets his answer, and none of her own.
    answer = {"type": "answer", "sdp": "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\n"}
    assert (await bob.call("signal", {"to": ann.id, "description": answer}))["ok"]
    await ann.never_got(
        "signal", lambda s: s["from"] != bob.id, marker="signal", is_marker=lambda s: s["from"] == bob.id
    )


async def test_a_signal_to_someone_in_another_room_is_refused(
    circle_server: RunningServer, members: Connect
) -> None:
    one, two = await circle_server.create_room("One"), await circle_server.create_room("Two")
    ann, zed, yan = await members(), await members(), await members()
    await ann.join(one["id"], "Ann")
    await zed.join(two["id"], "Zed")
    await yan.join(two["id"], "Yan")
    ack = await ann.call("signal", {"to": zed.id, "description": {"type": "offer", "sdp": "x"}})
    assert ack["error"]["code"] == "not_found"
    # A signal from Zed's own room, sent after Ann's was answered, reaches Zed after hers would have.
    assert (await yan.call("signal", {"to": zed.id, "description": {"type": "offer", "sdp": "y"}}))["ok"]
    await zed.never_got(
        "signal", lambda s: s["from"] != yan.id, marker="signal", is_marker=lambda s: s["from"] == yan.id
    )


async def test_rtc_config_gives_mesh_and_short_lived_turn_credentials(
    circle_server_factory: Callable[..., Awaitable[RunningServer]],
) -> None:
    server = await circle_server_factory(
        stun_urls=("stun:stun.example.org:3478",),
        turn_urls=("turn:turn.example.org:3478",),
        turn_secret="s3cret",
        turn_ttl_s=600,
    )
    room = await server.create_room(relay_only=True)
    ann = await Member(server.url).connect()
    try:
        await ann.join(room["id"], "Ann", media="text")
        ack = await ann.call("rtc:config")
        assert ack["mode"] == "sfu" and ack["ice_transport_policy"] == "relay"
        stun, turn = ack["ice_servers"]
        assert stun == {"urls": ["stun:stun.example.org:3478"]}
        expiry, user = turn["username"].split(":")
        assert user == ann.id and int(expiry) > 0 and turn["credential"] != "s3cret"
    finally:
        await ann.close()


async def test_rtc_config_without_servers_is_an_empty_list(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    ann = await members()
    await ann.join(room["id"], "Ann")
    ack = await ann.call("rtc:config")
    assert ack == {
        "ok": True,
        "ice_servers": [],
        "mode": "mesh",
        "ice_transport_policy": "all",
        "media_epoch": 0,
    }


async def test_room_state_events_carry_a_growing_version(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    ann, bob = await members(), await members()
    first = await ann.join(room["id"], "Ann")
    await bob.join(room["id"], "Bob")
    await bob.call("hand:raise")
    await bob.call("hand:lower")
    await ann.wait_for("room:updated", lambda r: r["hands"] == [])
    versions = [
        data["version"] for name, data in ann.events if name in ("participant:joined", "room:updated")
    ]
    assert versions == sorted(versions) and versions[0] > first["room"]["version"]
