"""Members' browsers played by aiortc peers, talking to an `SfuRoom` in the same process.

A `Peer` publishes a synthetic camera and microphone on its `publish` connection, answers the SFU's
offers on its `subscribe` connection, and counts what it decodes per publisher (the stream id of each
received section is the publisher's participant id).

aiortc as the answering side loses the last video section of an offer of audio, video, audio, video
when it bundles "balanced" (the fourth section stays on a transport aiortc has just closed, and is
answered with port 9): the peers here bundle everything on one transport, as browsers do.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable

from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from harness.media import SyntheticAudio, SyntheticVideo
from signaling.sfu import SdpMessage, SfuRoom
from signaling.sfu.sdp import parse


def _peer_connection() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


class Peer:
    """One member's browser."""

    def __init__(
        self,
        participant: str,
        room: SfuRoom,
        *,
        audio: bool = True,
        video: bool = True,
        size: tuple[int, int] = (160, 120),
        fps: int = 15,
        decode: bool = True,
    ) -> None:
        self.participant = participant
        self.room = room
        self.audio_track = SyntheticAudio() if audio else None
        self.video_track = SyntheticVideo(*size, fps) if video else None
        self._decode = decode
        self.publish_pc: RTCPeerConnection | None = None
        self.subscribe_pc: RTCPeerConnection | None = None
        self.frames: Counter[str] = Counter()
        """Video frames decoded, by publisher."""
        self.audio_frames: Counter[str] = Counter()
        """Audio frames decoded, by publisher."""
        self.first_frame_at: dict[str, float] = {}
        self._owners: dict[str, str] = {}
        self._inbox: asyncio.Queue[SdpMessage] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = [asyncio.create_task(self._work())]
        self.connected = asyncio.Event()
        self.connected_at: float | None = None
        self.errors: list[BaseException] = []

    # -- publishing ------------------------------------------------------------------------------

    async def publish(self) -> None:
        pc = self.publish_pc = _peer_connection()
        for track in (self.audio_track, self.video_track):
            if track is not None:
                pc.addTransceiver(track, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        await self.room.description(self.participant, "publish", "offer", pc.localDescription.sdp)

    async def renegotiate(self, *, add: MediaStreamTrack | None = None, stop: str | None = None) -> None:
        """Offer again on `publish`: with a track added, or with the sending of one kind stopped."""
        pc = self.publish_pc
        assert pc is not None
        if add is not None:
            pc.addTransceiver(add, direction="sendonly")
        if stop is not None:
            for transceiver in pc.getTransceivers():
                if transceiver.kind == stop:
                    transceiver.direction = "inactive"
        await pc.setLocalDescription(await pc.createOffer())
        await self.room.description(self.participant, "publish", "offer", pc.localDescription.sdp)

    async def join(self) -> None:
        """Take part: receive everyone, and publish when there is anything to publish."""
        await self.room.join(self.participant)
        if self.audio_track is not None or self.video_track is not None:
            await self.publish()

    # -- what the SFU says -----------------------------------------------------------------------

    async def deliver(self, message: SdpMessage) -> None:
        self._inbox.put_nowait(message)

    async def _work(self) -> None:
        while True:
            message = await self._inbox.get()
            try:
                if message.pc == "publish":
                    assert self.publish_pc is not None
                    answer = RTCSessionDescription(message.sdp, message.type)
                    await self.publish_pc.setRemoteDescription(answer)
                else:
                    await self._subscribe_offer(message.sdp, message.fresh)
            except Exception as exc:
                self.errors.append(exc)

    async def _subscribe_offer(self, sdp: str, fresh: bool) -> None:
        if fresh and self.subscribe_pc is not None:
            await self.subscribe_pc.close()
            self.subscribe_pc = None
            self.connected.clear()
            self.connected_at = None
        if self.subscribe_pc is None:
            pc = self.subscribe_pc = _peer_connection()
            pc.on("track", lambda track: self._tasks.append(asyncio.create_task(self._consume(track))))
            pc.on("connectionstatechange", self._state)
        pc = self.subscribe_pc
        for section in parse(sdp).sections:
            if section.mid is not None and section.msid is not None:
                self._owners[section.mid] = section.msid
        await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await self.room.description(self.participant, "subscribe", "answer", pc.localDescription.sdp)

    def _state(self) -> None:
        if self.subscribe_pc is not None and self.subscribe_pc.connectionState == "connected":
            self.connected_at = self.connected_at or time.monotonic()
            self.connected.set()

    async def _consume(self, track: MediaStreamTrack) -> None:
        assert self.subscribe_pc is not None
        mid = next(t.mid for t in self.subscribe_pc.getTransceivers() if t.receiver.track is track)
        counts = self.frames if track.kind == "video" else self.audio_frames
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                owner = self._owners.get(mid or "")
                if owner is not None:
                    counts[owner] += 1
                    self.first_frame_at.setdefault(f"{owner}:{track.kind}", time.monotonic())

    # -- faults ----------------------------------------------------------------------------------

    def lose_incoming(self, fraction: float, seed: int = 1) -> None:
        """Drop `fraction` of the RTP packets reaching this peer's subscribe connection, before they
        are decrypted (as the network would)."""
        assert self.subscribe_pc is not None
        connection = self.subscribe_pc.getTransceivers()[0].receiver.transport.transport._connection
        connection.data_received = _lossy(connection.data_received, fraction, seed)  # type: ignore[method-assign]

    def cut_subscribe(self) -> None:
        """The network between this peer's subscribe connection and the server goes dead: nothing
        reaches the peer any more, so it answers nothing either (ICE consent checks included)."""
        assert self.subscribe_pc is not None
        connection = self.subscribe_pc.getTransceivers()[0].receiver.transport.transport._connection
        for pair in connection._nominated.values():
            pair.protocol.datagram_received = lambda data, addr: None

    def lose_outgoing(self, fraction: float, seed: int = 2) -> None:
        """Drop `fraction` of the RTP packets this peer publishes, after they are encrypted."""
        assert self.publish_pc is not None
        ice = self.publish_pc.getTransceivers()[0].sender.transport.transport
        send: Callable[..., object] = ice._send
        rng = random.Random(seed)

        async def lossy_send(data: bytes) -> None:
            if _is_rtp(data) and rng.random() < fraction:
                return
            await send(data)  # type: ignore[misc]

        ice._send = lossy_send

    # -- the end ---------------------------------------------------------------------------------

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for pc in (self.publish_pc, self.subscribe_pc):
            if pc is not None:
                await pc.close()
        for track in (self.audio_track, self.video_track):
            if track is not None:
                track.stop()


def _is_rtp(data: bytes) -> bool:
    return len(data) > 12 and 127 < data[0] < 192 and not 192 <= data[1] <= 223


def _lossy(deliver: Callable[[bytes, int], None], fraction: float, seed: int) -> Callable[[bytes, int], None]:
    rng = random.Random(seed)

    def data_received(data: bytes, component: int) -> None:
        if _is_rtp(data) and rng.random() < fraction:
            return
        deliver(data, component)

    return data_received


async def wait_for(condition: Callable[[], bool], timeout_s: float, interval_s: float = 0.02) -> float:
    """Wait until `condition()` holds; how long it took. Fails the test after `timeout_s`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(interval_s)
    return time.monotonic() - start


async def held_back(watcher: Peer, member_id: str, clock: Callable[[], int]) -> tuple[int, int]:
    """For a member whose sending the server must hold back (a mute): once a second of `clock` (a
    count of another member's frames, 15 a second) has passed, the video and audio frames `watcher`
    has had from `member_id`; and that none more arrive over the next two seconds of `clock`."""
    marker = clock()
    await wait_for(lambda: clock() >= marker + 15, timeout_s=10)
    held = watcher.frames[member_id], watcher.audio_frames[member_id]
    marker = clock()
    await wait_for(lambda: clock() >= marker + 30, timeout_s=10)
    assert (watcher.frames[member_id], watcher.audio_frames[member_id]) == held
    return held
