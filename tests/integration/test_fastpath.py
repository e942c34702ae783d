"""Room broadcasts written once to every websocket (signaling/fastpath.py): the internals it relies on
still hold, and what members receive is unchanged: everyone gets each message once, in each sender's
order, the sender included, and private messages reach only their two people."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import socketio

from signaling import fastpath
from tests.support.client import Member, seated
from tests.support.servers import RunningServer

Connect = Callable[[], Awaitable[Member]]


def test_the_socketio_internals_the_fast_path_relies_on_still_hold() -> None:
    fastpath.check()


def test_the_json_codec_round_trips_what_socketio_sends() -> None:
    value = {"text": 'Grüße — 🙂 "quoted"\n', "n": [1, 2.5, None, True], "at": 1_700_000_000_000}
    assert fastpath.Json.loads(fastpath.Json.dumps(value, separators=(",", ":"))) == value


def test_a_frame_carries_its_payload_with_the_right_length_header() -> None:
    for size, header in ((5, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)):
        frame = fastpath.ws_frame(b"x" * size)
        assert frame[0] == 0x81 and len(frame) == size + header


async def test_frames_written_in_one_turn_leave_together_in_order_and_a_close_frame_at_once() -> None:
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
    reader, writer = await asyncio.open_connection(sock=theirs)
    try:
        corked = fastpath.Corked(transport, fastpath.TurnEnd())
        one, two = fastpath.ws_frame(b"one"), fastpath.ws_frame(b"two")
        corked.write(one)
        corked.write(two)
        # Held for the end of the turn, and counted as waiting to be sent.
        assert corked.held == [one, two]
        assert corked.get_write_buffer_size() == len(one) + len(two)
        assert await reader.readexactly(len(one) + len(two)) == one + two
        assert corked.held == []
        close = b"\x88\x02\x03\xe8"  # a close frame, code 1000
        corked.write(one)
        corked.write(close)
        assert corked.held == []  # written at once, with what was held before it
        assert await reader.readexactly(len(one) + len(close)) == one + close
    finally:
        transport.close()
        writer.close()


async def test_a_room_broadcast_is_written_once_as_a_frame_to_each_member(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    people = await seated(members, room["id"], "Ann", "Bob", "Cat")
    manager = circle_server.circle.sio.manager
    assert isinstance(manager, fastpath.BroadcastOnce)
    before = manager.frames_written
    ack = await people[1].call("chat:send", {"text": "Good to see you all."})
    for person in people:
        assert await person.wait_for("chat:message") == ack["message"]
    # Three copies of the message, and the sender's acknowledgement.
    assert manager.frames_written - before == 4


async def test_each_senders_messages_arrive_in_order_for_everyone_under_a_burst(
    circle_server_factory: Callable[..., Awaitable[RunningServer]],
    connect: Callable[[str], Awaitable[Member]],
) -> None:
    # Everyone here shares one address: its chat bucket is opened as wide as each connection's.
    server = await circle_server_factory(
        chat_burst=1000, chat_rate_per_s=1000.0, chat_address_burst=1000, chat_address_rate_per_s=1000.0
    )
    room = await server.create_room(max_participants=8)
    people = await seated(lambda: connect(server.url), room["id"], *(f"Member {i}" for i in range(6)))
    count = 40
    # Everyone sends at once without waiting for acknowledgements, so broadcasts to a member meet
    # acknowledgements and other broadcasts on its way, and some take the queued path.
    await asyncio.gather(
        *(
            person.sio.emit("chat:send", {"text": f"{i}:{n}"}, callback=lambda *_: None)
            for n in range(count)
            for i, person in enumerate(people)
        )
    )
    last = {f"{i}:{count - 1}" for i in range(len(people))}
    for person in people:
        for text in last:
            await person.wait_for("chat:message", lambda m, t=text: m["text"] == t, 15)
        texts = [m["text"] for m in person.of("chat:message")]
        assert len(texts) == count * len(people)
        for i in range(len(people)):
            mine = [int(t.split(":")[1]) for t in texts if t.split(":")[0] == str(i)]
            assert mine == list(range(count)), (i, mine)


async def test_private_messages_reach_only_their_two_people(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    ann, bob, cat = await seated(members, room["id"], "Ann", "Bob", "Cat")
    private = (await ann.call("chat:send", {"text": "Just for you, Bob.", "to": bob.id}))["message"]
    public = (await ann.call("chat:send", {"text": "For everyone."}))["message"]
    for person in (ann, bob, cat):
        await person.wait_for("chat:message", lambda m: m["id"] == public["id"])
    assert [m["id"] for m in ann.of("chat:message")] == [private["id"], public["id"]]
    assert [m["id"] for m in bob.of("chat:message")] == [private["id"], public["id"]]
    assert [m["id"] for m in cat.of("chat:message")] == [public["id"]]


async def test_a_long_polling_client_still_gets_every_broadcast(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    ann = await members()
    await ann.join(room["id"], "Ann")
    polling = socketio.AsyncClient(reconnection=False)
    got: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    polling.on("chat:message", got.put_nowait)
    await polling.connect(circle_server.url, transports=["polling"])
    try:
        assert (await polling.call("join", {"room": room["id"], "name": "Bob", "media": "text"}))["ok"]
        sent = (await ann.call("chat:send", {"text": "Can everyone hear me?"}))["message"]
        assert await asyncio.wait_for(got.get(), 5) == sent
    finally:
        await polling.disconnect()
