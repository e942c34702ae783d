"""The SFU through the real server: aiortc peers signal over socket.io (`signal` to and from "sfu"),
the room's media mode is the server's answer, and a mute is enforced on the packets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aioice.ice
import pytest

from signaling.sfu.sdp import parse
from tests.media.peers import Peer, held_back, wait_for
from tests.media.through_server import on_video
from tests.support.client import Member
from tests.support.servers import RunningServer


@pytest.fixture
async def peers() -> AsyncIterator[list[Peer]]:
    made: list[Peer] = []
    yield made
    for peer in made:
        await peer.close()


Connect = Callable[[], Awaitable[Member]]


async def facilitator_and_two_members_on_the_sfu(
    server: RunningServer, members: Connect
) -> tuple[Member, Member, Member]:
    """Fran (facilitator), Ann and Bo, joined to a room whose media goes through the SFU."""
    room = await server.create_room(media_mode="sfu")
    fran, ann, bo = await members(), await members(), await members()
    await fran.join(room["id"], "Fran", host_key=room["host_key"])
    await ann.join(room["id"], "Ann")
    await bo.join(room["id"], "Bo")
    return fran, ann, bo


async def test_rtc_config_says_sfu_for_an_sfu_room_and_mesh_for_a_small_room(
    circle_server: RunningServer, members: Connect
) -> None:
    small = await circle_server.create_room()
    sfu = await circle_server.create_room(media_mode="sfu")
    ann, bo = await members(), await members()
    await ann.join(small["id"], "Ann")
    await bo.join(sfu["id"], "Bo")
    assert (await ann.call("rtc:config"))["mode"] == "mesh"
    assert (await bo.call("rtc:config"))["mode"] == "sfu"


async def test_a_room_past_mesh_max_participants_moves_to_the_sfu_and_says_so(
    circle_server_factory: Callable[..., Awaitable[RunningServer]],
    connect: Callable[[str], Awaitable[Member]],
) -> None:
    server = await circle_server_factory(mesh_max_participants=2)
    room = await server.create_room()
    ann, bo, cy = [await connect(server.url) for _ in range(3)]
    await ann.join(room["id"], "Ann")
    await bo.join(room["id"], "Bo", media="text")
    await cy.join(room["id"], "Cy")
    # A text-only member has no media: two members with media are still within the mesh limit.
    assert (await ann.call("rtc:config"))["mode"] == "mesh"
    dee = await connect(server.url)
    await dee.join(room["id"], "Dee")
    assert (await dee.call("rtc:config"))["mode"] == "sfu"
    for member in (ann, bo, cy):
        await member.wait_for("room:updated", lambda data: data.get("media_mode") == "sfu")
    # Once switched it stays there, though the room is back within the limit.
    await dee.call("leave")
    assert (await ann.call("rtc:config"))["mode"] == "sfu"


async def test_a_signal_to_the_sfu_in_a_mesh_room_or_without_its_connection_is_refused(
    circle_server: RunningServer, members: Connect
) -> None:
    mesh = await circle_server.create_room()
    ann = await members()
    await ann.join(mesh["id"], "Ann")
    offer = {"type": "offer", "sdp": "v=0\r\n"}
    ack = await ann.call("signal", {"to": "sfu", "pc": "publish", "description": offer})
    assert ack["error"]["code"] == "bad_request"
    sfu = await circle_server.create_room(media_mode="sfu")
    bo = await members()
    await bo.join(sfu["id"], "Bo")
    ack = await bo.call("signal", {"to": "sfu", "description": offer})
    assert ack["error"]["code"] == "bad_request" and "publish" in ack["error"]["message"]
    ack = await bo.call("signal", {"to": "sfu", "pc": "publish", "description": offer})
    assert ack["error"]["code"] == "bad_request"


async def test_members_of_an_sfu_room_decode_each_other_through_the_server(
    circle_server: RunningServer, members: Connect, peers: list[Peer]
) -> None:
    room = await circle_server.create_room(media_mode="sfu")
    people = [await members() for _ in range(3)]
    for person, name in zip(people, ("Ann", "Bo", "Cy"), strict=True):
        await person.join(room["id"], name)
    for person in people:
        peers.append(await on_video(person))
    ids = [person.id for person in people]
    await wait_for(
        lambda: all(peer.frames[other] > 5 for peer in peers for other in ids if other != peer.participant),
        timeout_s=20,
    )
    for peer, person in zip(peers, people, strict=True):
        assert not peer.errors
        # Nothing came from another member: only from the server.
        assert {data["from"] for data in person.of("signal")} == {"sfu"}


async def test_a_facilitators_mute_stops_the_members_packets_within_a_second_and_their_unmute_resumes(
    circle_server: RunningServer, members: Connect, peers: list[Peer]
) -> None:
    fran, ann, bo = await facilitator_and_two_members_on_the_sfu(circle_server, members)
    ann_peer, bo_peer = await on_video(ann), await on_video(bo)
    peers += [ann_peer, bo_peer]
    await wait_for(lambda: bo_peer.frames[ann.id] > 5 and ann_peer.frames[bo.id] > 5, timeout_s=20)

    ack = await fran.call("mod:mute", {"id": ann.id, "audio": True, "video": True})
    assert ack["ok"], ack
    # Ann's client goes on sending: only the server can hold her back. Bo's own picture reaching
    # Ann is the clock: 15 frames of it is a second.
    held = await held_back(bo_peer, ann.id, clock=lambda: ann_peer.frames[bo.id])

    ack = await ann.call("media:state", {"audio": True, "video": True})
    assert ack["ok"], ack
    await wait_for(
        lambda: bo_peer.frames[ann.id] > held[0] + 5 and bo_peer.audio_frames[ann.id] > held[1] + 5,
        timeout_s=10,
    )


async def test_a_failed_subscribe_connection_is_offered_afresh_by_the_server_and_the_picture_returns(
    circle_server: RunningServer, members: Connect, peers: list[Peer], monkeypatch: pytest.MonkeyPatch
) -> None:
    # ICE gives up on a silent connection after six missed consent checks: 30 s by default, a
    # second or so here.
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.2)
    _, ann, bo = await facilitator_and_two_members_on_the_sfu(circle_server, members)
    ann_peer, bo_peer = await on_video(ann), await on_video(bo)
    peers += [ann_peer, bo_peer]
    await wait_for(lambda: bo_peer.frames[ann.id] > 5, timeout_s=20)
    lost = bo_peer.subscribe_pc
    bo_peer.cut_subscribe()
    # The server finds the connection failed and offers Bo everyone's tracks on a new one.
    await wait_for(lambda: bo_peer.subscribe_pc is not lost, timeout_s=15)
    assert [data for data in bo.of("signal") if data.get("pc") == "subscribe" and data.get("restart")]
    marker = bo_peer.frames[ann.id]
    await wait_for(lambda: bo_peer.frames[ann.id] > marker + 10, timeout_s=15)
    assert not bo_peer.errors


async def test_a_relay_only_room_shows_its_members_only_the_servers_address(
    circle_server: RunningServer, members: Connect, peers: list[Peer]
) -> None:
    room = await circle_server.create_room(relay_only=True)
    ann, bo = await members(), await members()
    await ann.join(room["id"], "Ann")
    await bo.join(room["id"], "Bo")
    assert (await ann.call("rtc:config"))["mode"] == "sfu"
    ann_peer, bo_peer = await on_video(ann), await on_video(bo)
    peers += [ann_peer, bo_peer]
    await wait_for(lambda: bo_peer.frames[ann.id] > 5 and ann_peer.frames[bo.id] > 5, timeout_s=20)
    server_ip = circle_server.settings.media_public_ip
    for member in (ann, bo):
        signals = member.of("signal")
        assert signals and all(data["from"] == "sfu" for data in signals)
        addresses = {
            line.split()[4]
            for data in signals
            for line in data["description"]["sdp"].splitlines()
            if line.startswith("a=candidate:")
        }
        assert addresses == {server_ip}
        assert all(parse(data["description"]["sdp"]).sections for data in signals)


async def test_on_the_sfu_who_is_speaking_is_the_servers_word_not_the_clients(
    circle_server: RunningServer, members: Connect, peers: list[Peer]
) -> None:
    room = await circle_server.create_room(media_mode="sfu")
    ann, bo = await members(), await members()
    await ann.join(room["id"], "Ann")
    await bo.join(room["id"], "Bo")
    # Bo's client claims to speak; the server, hearing only silence from him, does not pass it on.
    ack = await bo.call("media:speaking", {"speaking": True})
    assert ack["ok"], ack
    loud = await on_video(ann)
    peers.append(loud)
    assert loud.audio_track is not None
    loud.audio_track.loud = True  # type: ignore[attr-defined]
    spoke = await bo.wait_for(
        "participant:updated", lambda data: data["id"] == ann.id and data["speaking"], timeout=10
    )
    assert spoke["speaking"]
    assert not [data for data in ann.of("participant:updated") if data["id"] == bo.id and data["speaking"]]


async def test_leaving_and_the_room_emptying_free_the_members_media_on_the_server(
    circle_server: RunningServer, members: Connect, peers: list[Peer]
) -> None:
    room = await circle_server.create_room(media_mode="sfu")
    ann, bo = await members(), await members()
    await ann.join(room["id"], "Ann")
    await bo.join(room["id"], "Bo")
    ann_peer, bo_peer = await on_video(ann), await on_video(bo)
    peers += [ann_peer, bo_peer]
    await wait_for(lambda: bo_peer.frames[ann.id] > 5, timeout_s=20)
    media = circle_server.circle.signaling.media
    sfu = media.sfu(room["id"])
    assert sfu is not None and sfu.stats().connections == 4
    await ann.call("leave")
    assert sfu.participants == {bo.id} and sfu.stats().connections == 2
    await bo.call("leave")
    assert media.sfu(room["id"]) is None and sfu.closed and sfu.stats().connections == 0


H264_ONLY = "\r\n".join(
    [
        "v=0",
        "o=- 1 1 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "m=video 9 UDP/TLS/RTP/SAVPF 102",
        "c=IN IP4 0.0.0.0",
        "a=mid:0",
        "a=sendonly",
        "a=rtpmap:102 H264/90000",
        "a=ice-ufrag:abcd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        "a=setup:actpass",
        "",
    ]
)


async def test_an_offer_without_opus_or_vp8_is_refused_saying_which_codecs_are_accepted(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room(media_mode="sfu")
    ann = await members()
    await ann.join(room["id"], "Ann")
    ack = await ann.call(
        "signal", {"to": "sfu", "pc": "publish", "description": {"type": "offer", "sdp": H264_ONLY}}
    )
    assert ack["error"]["code"] == "bad_request", ack
    assert "VP8" in ack["error"]["message"], ack
    # The connection is kept: the member can go on.
    assert (await ann.call("rtc:config"))["mode"] == "sfu"


async def test_a_member_trickling_more_than_sfu_max_candidates_has_the_extra_one_refused(
    circle_server_factory: Callable[..., Awaitable[RunningServer]],
    connect: Callable[[str], Awaitable[Member]],
) -> None:
    server = await circle_server_factory(sfu_max_candidates=2)
    room = await server.create_room(media_mode="sfu")
    ann = await connect(server.url)
    await ann.join(room["id"], "Ann")
    candidate = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", "sdpMid": "0"}
    # Her offer comes first, as a browser's does (one the server cannot take still opens her
    # connection); candidates from someone who never offered are left over from an ended one.
    offer = {"type": "offer", "sdp": H264_ONLY}
    refused = await ann.call("signal", {"to": "sfu", "pc": "publish", "description": offer})
    assert refused["error"]["code"] == "bad_request" and "VP8" in refused["error"]["message"]
    acks = [
        await ann.call("signal", {"to": "sfu", "pc": "publish", "candidate": candidate}) for _ in range(3)
    ]
    assert [ack["ok"] for ack in acks] == [True, True, False], acks
    assert acks[2]["error"]["code"] == "bad_request" and "at most 2" in acks[2]["error"]["message"]


async def test_the_safety_pause_holds_everyones_media_back_on_the_server_until_it_is_lifted(
    circle_server: RunningServer, members: Connect, peers: list[Peer]
) -> None:
    fran, ann, bo = await facilitator_and_two_members_on_the_sfu(circle_server, members)
    fran_peer, ann_peer = await on_video(fran), await on_video(ann)
    peers += [fran_peer, ann_peer]
    await wait_for(lambda: fran_peer.frames[ann.id] > 5 and ann_peer.frames[fran.id] > 5, timeout_s=20)

    assert (await fran.call("mod:safety", {"on": True}))["ok"]
    # Ann's own unmute is refused while the pause holds her, and her client sending anyway reaches
    # nobody. The facilitator's picture reaching Ann is the clock: 15 frames of it is a second.
    assert (await ann.call("media:state", {"audio": True, "video": True}))["error"]["code"] == "forbidden"
    marker = ann_peer.frames[fran.id]
    await wait_for(lambda: ann_peer.frames[fran.id] >= marker + 15, timeout_s=10)
    held = fran_peer.frames[ann.id]
    marker = ann_peer.frames[fran.id]
    await wait_for(lambda: ann_peer.frames[fran.id] >= marker + 30, timeout_s=10)
    assert fran_peer.frames[ann.id] == held

    assert (await fran.call("mod:safety", {"on": False}))["ok"]
    assert (await ann.call("media:state", {"audio": True, "video": True}))["ok"]
    await wait_for(lambda: fran_peer.frames[ann.id] > held + 5, timeout_s=10)
