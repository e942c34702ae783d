"""Members on video through the SFU: everyone decodes everyone, late joiners get a picture at once,
loss on either side is repaired, and a held-back track reaches nobody."""

from __future__ import annotations

import asyncio
import time

import pytest

from signaling.sfu.sdp import parse
from tests.media.conftest import Meeting
from tests.media.peers import Peer, SyntheticVideo, wait_for


def snapshot(peer: Peer) -> dict[str, int]:
    return dict(peer.frames)


async def test_every_subscriber_decodes_every_publishers_video_and_receives_its_audio(
    meeting: Meeting,
) -> None:
    publishers = [await meeting.join(name) for name in ("ada", "bo", "cy")]
    listener = await meeting.join("dee", audio=False, video=False)
    everyone = [*publishers, listener]

    def all_decoding(floor: dict[str, dict[str, int]]) -> bool:
        return all(
            peer.frames[p.participant] > floor.get(peer.participant, {}).get(p.participant, 0) + 5
            for peer in everyone
            for p in publishers
            if p is not peer
        )

    await wait_for(lambda: all_decoding({}), timeout_s=15)
    before = {peer.participant: snapshot(peer) for peer in everyone}
    await wait_for(lambda: all_decoding(before), timeout_s=10)
    for peer in everyone:
        others = {p.participant for p in publishers if p is not peer}
        assert set(peer.frames) == others
        assert all(peer.audio_frames[name] > 10 for name in others)
        assert not peer.errors
    # Each forwarded section's stream id is its publisher's participant id.
    last_offer = [m for m in meeting.sent if m.participant == "dee" and m.pc == "subscribe"][-1]
    assert {s.msid for s in parse(last_offer.sdp).sections} == {"ada", "bo", "cy"}
    assert meeting.room.stats().forwarded == 3 * 2 * 3


async def test_late_joiner_decodes_each_publishers_first_frame_within_a_second_of_connecting(
    meeting: Meeting,
) -> None:
    ada = await meeting.join("ada")
    bo = await meeting.join("bo")
    await wait_for(lambda: ada.frames["bo"] > 10 and bo.frames["ada"] > 10, timeout_s=10)

    start = time.monotonic()
    cy = await meeting.join("cy")
    await wait_for(lambda: cy.frames["ada"] > 0 and cy.frames["bo"] > 0, timeout_s=5)
    # Measured from the moment cy's connection to the server is up: what comes before (ICE and DTLS
    # between two aiortc peers) is the same with or without an SFU, and slows with the machine's load.
    assert cy.connected_at is not None
    firsts = {name: cy.first_frame_at[f"{name}:video"] - cy.connected_at for name in ("ada", "bo")}
    assert max(firsts.values()) < 1.0, (
        f"first frames {firsts} s after connecting, {cy.connected_at - start} s after joining"
    )


@pytest.mark.parametrize("side", ["subscriber", "publisher"])
async def test_ten_percent_loss_is_repaired_without_keyframes(meeting: Meeting, side: str) -> None:
    ada = await meeting.join("ada", audio=False)
    bo = await meeting.join("bo", audio=False, video=False)
    await wait_for(lambda: bo.frames["ada"] > 5, timeout_s=10)
    if side == "subscriber":
        bo.lose_incoming(0.10)
    else:
        ada.lose_outgoing(0.10)
    before_frames, before_sent = bo.frames["ada"], ada.video_track.sent  # type: ignore[union-attr]
    before = meeting.room.stats()

    await wait_for(lambda: ada.video_track.sent >= before_sent + 45, timeout_s=10)  # type: ignore[union-attr]
    await wait_for(lambda: bo.frames["ada"] >= before_frames + 40, timeout_s=3)
    after = meeting.room.stats()
    if side == "subscriber":
        assert after.retransmitted > before.retransmitted
    else:
        assert after.repaired_upstream > before.repaired_upstream
    assert after.keyframe_requests - before.keyframe_requests <= 1


@pytest.mark.parametrize("kind", ["video", "audio"])
async def test_a_held_back_track_stops_reaching_others_within_a_second_and_resumes(
    meeting: Meeting, kind: str
) -> None:
    ada = await meeting.join("ada")
    bo = await meeting.join("bo")
    cy = await meeting.join("cy", audio=False, video=False)
    counts = cy.frames if kind == "video" else cy.audio_frames
    await wait_for(lambda: counts["ada"] > 10 and counts["bo"] > 10, timeout_s=10)

    meeting.room.set_forwarding("ada", kind, False)  # type: ignore[arg-type]
    held_at = time.monotonic()
    assert not meeting.room.is_forwarding("ada", kind)  # type: ignore[arg-type]
    await wait_for(lambda: time.monotonic() - held_at >= 1.0, timeout_s=2)
    stopped_at, marker = counts["ada"], counts["bo"]
    # bo's track keeps arriving: proof that cy is still receiving while ada's is not.
    await wait_for(lambda: counts["bo"] >= marker + (10 if kind == "video" else 40), timeout_s=5)
    assert counts["ada"] == stopped_at

    meeting.room.set_forwarding("ada", kind, True)  # type: ignore[arg-type]
    await wait_for(lambda: counts["ada"] > stopped_at + 5, timeout_s=3)
    assert not bo.errors and not ada.errors


async def test_members_joining_together_cost_the_publisher_few_keyframe_requests(meeting: Meeting) -> None:
    ada = await meeting.join("ada", audio=False)
    first = await meeting.join("bo", audio=False, video=False)
    await wait_for(lambda: first.frames["ada"] > 10, timeout_s=10)
    before = meeting.room.stats().keyframe_requests

    joiners = [meeting.peer(f"guest-{i}", audio=False, video=False) for i in range(6)]
    await asyncio.gather(*(peer.join() for peer in joiners))
    await wait_for(lambda: all(peer.frames["ada"] > 0 for peer in joiners), timeout_s=10)
    # One request, and perhaps its retry: everyone else gets the same keyframe, or its replay.
    assert meeting.room.stats().keyframe_requests - before <= 2
    assert not ada.errors


async def test_a_track_added_later_reaches_everyone_and_one_removed_stops(meeting: Meeting) -> None:
    ada = await meeting.join("ada", video=False)
    bo = await meeting.join("bo", audio=False, video=False)
    await wait_for(lambda: bo.audio_frames["ada"] > 10, timeout_s=10)
    assert bo.frames["ada"] == 0

    camera = SyntheticVideo()
    await ada.renegotiate(add=camera)
    await wait_for(lambda: bo.frames["ada"] > 5, timeout_s=10)

    await ada.renegotiate(stop="video")
    stopped_at = bo.frames["ada"]
    marker = bo.audio_frames["ada"]
    await wait_for(lambda: bo.audio_frames["ada"] > marker + 75, timeout_s=5)
    assert bo.frames["ada"] <= stopped_at + 1
    server_side = meeting.room._members["bo"].subscriber
    await wait_for(
        lambda: [s.state.value for s in server_side.slots if s.kind == "video"] == ["free"], timeout_s=5
    )


async def test_the_room_is_told_when_a_members_connection_closes_and_can_start_it_over(
    meeting: Meeting,
) -> None:
    states = meeting.connection_states
    ada = await meeting.join("ada")
    bo = await meeting.join("bo", audio=False, video=False)
    await wait_for(lambda: bo.frames["ada"] > 0, timeout_s=10)
    assert ("bo", "subscribe", "connected") in states and ("ada", "publish", "connected") in states

    assert bo.subscribe_pc is not None
    await bo.subscribe_pc.close()
    await wait_for(lambda: ("bo", "subscribe", "closed") in states, timeout_s=10)
    assert meeting.room.stats().forwarded == 0

    # Started over, bo's subscribe connection carries ada's picture again.
    before = bo.frames["ada"]
    await meeting.room.reset("bo", "subscribe")
    await wait_for(lambda: bo.frames["ada"] > before + 5, timeout_s=10)
    assert [m.fresh for m in meeting.sent if m.participant == "bo"] == [True, True]
    assert not ada.errors and not bo.errors
