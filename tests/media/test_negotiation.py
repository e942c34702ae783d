"""What members may send the SFU, and what the SFU tells them: only Opus and VP8, offers on `publish`
and answers on `subscribe`, and only the server's own media address."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiortc import RTCPeerConnection, RTCRtpSender

from signaling.sfu import SfuError
from signaling.sfu.sdp import parse
from tests.media.conftest import Meeting
from tests.media.peers import SyntheticAudio, SyntheticVideo, wait_for


async def offer_with(**codecs: str) -> str:
    """An aiortc offer whose sections (kind → codec name) offer only that codec."""
    pc = RTCPeerConnection()
    try:
        for kind, name in codecs.items():
            transceiver = pc.addTransceiver(kind, direction="sendonly")
            chosen = [c for c in RTCRtpSender.getCapabilities(kind).codecs if c.name == name]
            transceiver.setCodecPreferences(chosen)
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)
    finally:
        await pc.close()


async def refusal(meeting: Meeting, participant: str, pc: str, kind: str, sdp: str) -> SfuError:
    with pytest.raises(SfuError) as caught:
        await meeting.room.description(participant, pc, kind, sdp)  # type: ignore[arg-type]
    assert caught.value.message
    return caught.value


async def test_an_offer_with_neither_vp8_nor_opus_is_refused_naming_the_codecs_accepted(
    meeting: Meeting,
) -> None:
    error = await refusal(meeting, "ada", "publish", "offer", await offer_with(video="H264"))
    assert error.code == "bad_request"
    assert "VP8" in error.message and "Opus" in error.message and "H264" in error.message

    error = await refusal(meeting, "ada", "publish", "offer", await offer_with(audio="PCMU"))
    assert error.code == "bad_request" and "Opus" in error.message
    assert meeting.room.stats().connections == 0


async def test_an_offer_of_many_codecs_is_answered_with_only_opus_and_vp8(meeting: Meeting) -> None:
    pc = RTCPeerConnection()
    pc.addTransceiver(SyntheticAudio(), direction="sendonly")
    pc.addTransceiver(SyntheticVideo(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    offered = {c.name for s in parse(pc.localDescription.sdp).sections for c in s.codecs}
    assert {"H264", "PCMU", "G722"} <= offered
    await meeting.room.description("ada", "publish", "offer", pc.localDescription.sdp)
    await pc.close()

    answer = next(m for m in meeting.sent if m.participant == "ada" and m.pc == "publish")
    assert answer.type == "answer"
    assert {c.name for s in parse(answer.sdp).sections for c in s.codecs} == {"OPUS", "VP8", "RTX"}


async def test_descriptions_on_the_wrong_connection_or_of_the_wrong_kind_are_refused(
    meeting: Meeting,
) -> None:
    offer = await offer_with(video="VP8")
    for pc, kind, sdp in [
        ("publish", "answer", offer),
        ("subscribe", "offer", offer),
        ("subscribe", "answer", offer),
        ("screen", "offer", offer),
        ("publish", "offer", "hello"),
        ("publish", "offer", "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"),
    ]:
        error = await refusal(meeting, "ada", pc, kind, sdp)
        assert error.code == "bad_request", (pc, kind)


async def test_members_only_ever_see_the_servers_media_address(meeting: Meeting) -> None:
    ada = await meeting.join("ada")
    await meeting.join("bo")
    await wait_for(lambda: ada.frames["bo"] > 0, timeout_s=10)
    for message in meeting.sent:
        lines = [line for line in message.sdp.splitlines() if line.startswith("a=candidate:")]
        assert lines, message
        assert {line.split()[4] for line in lines} == {"127.0.0.1"}
        assert {line.split()[7] for line in lines} == {"host"}


async def test_media_ports_come_from_the_configured_range_and_running_out_is_refused(
    meeting_factory: Callable[..., Awaitable[Meeting]],
) -> None:
    meeting = await meeting_factory(media_udp_port_min=42000, media_udp_port_max=42001)
    await meeting.join("ada", audio=False)
    await meeting.join("bo", audio=False, video=False)
    await wait_for(lambda: any(m.participant == "bo" for m in meeting.sent), timeout_s=5)
    ports = {
        int(line.split()[5])
        for message in meeting.sent
        for line in message.sdp.splitlines()
        if line.startswith("a=candidate:")
    }
    assert ports == {42000, 42001}

    cy = meeting.peer("cy", audio=False)
    await meeting.room.join("cy")
    with pytest.raises(SfuError) as caught:
        await cy.publish()
    assert caught.value.code == "unavailable"


async def test_trickled_candidates_are_applied_and_bad_ones_refused(meeting: Meeting) -> None:
    ada = await meeting.join("ada", audio=False)
    await meeting.room.candidate("ada", "publish", "candidate:1 1 udp 2122260223 6b1c.local 50000 typ host")
    await meeting.room.candidate("ada", "publish", "candidate:2 1 udp 2122260223 127.0.0.1 50001 typ host")
    await meeting.room.candidate("ada", "publish", "")
    with pytest.raises(SfuError) as caught:
        await meeting.room.candidate("ada", "publish", "candidate:nonsense")
    assert caught.value.code == "bad_request"
    with pytest.raises(SfuError):
        await meeting.room.candidate("nobody", "publish", "")
    assert not ada.errors


async def test_the_speaking_member_is_told_from_the_audio_level_of_their_packets(meeting: Meeting) -> None:
    ada = await meeting.join("ada", video=False)
    await meeting.join("bo", video=False)
    assert ada.audio_track is not None
    ada.audio_track.loud = True
    await wait_for(lambda: ("ada", True) in meeting.speaking, timeout_s=5)
    assert meeting.room.is_speaking("ada")

    meeting.room.set_forwarding("ada", "audio", False)
    await wait_for(lambda: ("ada", False) in meeting.speaking, timeout_s=3)
    meeting.room.set_forwarding("ada", "audio", True)
    await wait_for(lambda: meeting.speaking.count(("ada", True)) == 2, timeout_s=3)

    ada.audio_track.loud = False
    await wait_for(lambda: meeting.speaking.count(("ada", False)) == 2, timeout_s=3)
    assert all(who == "ada" for who, _ in meeting.speaking)


async def test_candidates_beyond_the_limit_of_a_connection_are_refused(
    meeting_factory: Callable[..., Awaitable[Meeting]],
) -> None:
    meeting = await meeting_factory(max_candidates=3)
    await meeting.room.join("ada")
    for port in (50000, 50001, 50002):
        await meeting.room.candidate(
            "ada", "publish", f"candidate:{port} 1 udp 2122260223 127.0.0.1 {port} typ host"
        )
    with pytest.raises(SfuError) as caught:
        await meeting.room.candidate(
            "ada", "publish", "candidate:9 1 udp 2122260223 127.0.0.1 50003 typ host"
        )
    assert caught.value.code == "bad_request" and "3" in caught.value.message
    # The early ones wait for the offer, which still works.
    ada = meeting.peer("ada", audio=False)
    await ada.publish()
    bo = await meeting.join("bo", audio=False, video=False)
    await wait_for(lambda: bo.frames["ada"] > 0, timeout_s=10)
