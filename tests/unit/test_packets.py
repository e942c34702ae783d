"""Engine.IO frames and Socket.IO packets read without trusting them: what closes the connection,
what is answered in its namespace, and what goes through."""

from __future__ import annotations

import engineio.json
import pytest
import socketio

from signaling import packets
from signaling.fastpath import Json
from signaling.socket import CircleSocketServer, TextPacket


@pytest.mark.parametrize(
    "frame", ["40", '42["chat:send",{}]', "41", "2", "3", "2probe", "3probe", "5", "6", "1"]
)
def test_engineio_frames_a_client_sends_are_let_through(frame: str) -> None:
    assert packets.frame_problem(frame) is None


@pytest.mark.parametrize(
    "frame", ["", "x", "0", "4", "49", "4x", "7", "3pong", "b4AAA", b"40", "4" + "[" * 10]
)
def test_anything_else_breaks_the_transport(frame: str | bytes) -> None:
    assert packets.frame_problem(frame) is not None


class StdlibPacket(socketio.packet.Packet):  # type: ignore[misc]
    """python-socketio's packet with the standard library's JSON (and engineio's bound on integers)."""

    json = engineio.json


class OrjsonPacket(socketio.packet.Packet):  # type: ignore[misc]
    """The packet as Circle's server reads it (signaling/fastpath.py)."""

    json = Json


def read(data: object, packet_class: type = StdlibPacket) -> socketio.packet.Packet:
    return packets.read(packet_class, data)


def refused(data: object, packet_class: type = StdlibPacket) -> packets.PacketError:
    with pytest.raises(packets.PacketError) as info:
        read(data, packet_class)
    return info.value


def test_a_well_formed_event_is_read_with_its_namespace_and_id() -> None:
    packet = read('2/other,12["chat:send",{"text":"hi"}]')
    assert (packet.packet_type, packet.namespace, packet.id) == (2, "/other", 12)
    assert packet.data == ["chat:send", {"text": "hi"}]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("27[", "invalid JSON"),
        ("27" + "[" * 30_000 + "]" * 30_000, "nesting too deep"),
        ("27[" + "1" * 101 + "]", "invalid JSON"),
        ('27"chat:send"', "event not a list led by its name"),
        ("27[]", "event not a list led by its name"),
        ("27[1]", "event not a list led by its name"),
        ('27["disconnect"]', "reserved event name"),
        ('27["connect",{}]', "reserved event name"),
        ("37{}", "acknowledgement not a list"),
    ],
)
def test_a_packet_with_a_readable_header_is_answered_where_its_client_expects(data: str, reason: str) -> None:
    bad = refused(data)
    assert (bad.reason, bad.namespace, bad.ack_id, bad.fatal) == (reason, "/", 7, False)


@pytest.mark.parametrize(
    "data",
    [
        "27[",
        "27" + "[" * 30_000 + "]" * 30_000,
        '27["chat:send",{"text":"\\ud800"}]',
        '27"chat:send"',
        "27[]",
    ],
)
def test_with_orjson_too_a_packet_with_a_readable_header_is_answered(data: str) -> None:
    bad = refused(data, OrjsonPacket)
    assert (bad.namespace, bad.ack_id, bad.fatal) == ("/", 7, False)


def test_the_answer_goes_to_the_namespace_the_packet_named() -> None:
    bad = refused("2/elsewhere,9[")
    assert (bad.namespace, bad.ack_id) == ("/elsewhere", 9)


@pytest.mark.parametrize(
    "data",
    ["", "9", "x", "4{}", '51-["x",{"_placeholder":true,"num":0}]', "61-[]", b"\x00", "2" + "1" * 101 + "[]"],
)
def test_a_packet_without_a_readable_header_or_of_a_kind_clients_never_send_is_fatal(data: object) -> None:
    assert refused(data).fatal


def test_packets_sent_are_never_split_into_binary_attachments() -> None:
    # Circle's protocol is text: nothing sent is looked through for binary values, and one that
    # slipped in would fail loudly rather than go out as an attachment the clients never expect.
    server = CircleSocketServer(async_mode="aiohttp")
    assert server.packet_class is TextPacket
    packet = TextPacket(packets.EVENT, data=["room:sync", {"blob": b"\x00\x01"}], namespace="/")
    assert packet.packet_type == packets.EVENT
    with pytest.raises(TypeError):
        packet.encode()
