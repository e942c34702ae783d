"""A member's `publish` connection: the member offers its tracks, the server answers and receives them.

Every packet the member sends is parsed once here, routed to its `Source` (by SSRC; by the MID header
extension until the SSRC is known), RTX retransmissions are unwrapped, and losses are asked for again
at once (NACK). Once a second the publisher gets receiver reports and a bitrate cap: the lowest any of
its subscribers can take.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiortc import RTCPeerConnection, RTCSessionDescription

from signaling.sfu import aiortc_hooks as hooks
from signaling.sfu import rtp
from signaling.sfu.config import SfuConfig
from signaling.sfu.connection import SDP_ERRORS, TrickledCandidates, new_peer_connection
from signaling.sfu.errors import SfuError
from signaling.sfu.forwarder import Source
from signaling.sfu.keyframes import KeyframeRequester
from signaling.sfu.reception import Reception
from signaling.sfu.sdp import ACCEPTED, AUDIO_LEVEL_URI, MID_URI, Description, parse, restrict_offer

log = logging.getLogger("circle.sfu")


class Publisher:
    """The tracks one member sends to the SFU."""

    def __init__(
        self,
        participant: str,
        config: SfuConfig,
        *,
        on_tracks: Callable[[], None],
        on_level: Callable[[str, int, float], None],
        on_state: Callable[[str], None],
        consent: hooks.ConsentRounds,
    ) -> None:
        self.participant = participant
        self._consent = consent
        self._config = config
        self._on_tracks = on_tracks
        self._on_level = on_level
        self._on_state = on_state
        self.pc: RTCPeerConnection | None = None
        self.link: hooks.Link | None = None
        self.sources: dict[str, Source] = {}
        self._by_ssrc: dict[int, Source] = {}
        self._ufrag: str | None = None
        self._mid_id = 0
        self._level_id = 0
        self._rtcp_ssrc = 0
        self._extensions = rtp.Extensions()
        self._lock = asyncio.Lock()
        self._candidates = TrickledCandidates(config.max_candidates)
        self.closed = False

    # -- signalling ------------------------------------------------------------------------------

    async def offer(self, sdp: str) -> tuple[str, bool]:
        """Apply the member's offer; the answer to send back, and whether it starts a new connection
        (the member's first offer, or one with new ICE credentials)."""
        filtered, offered = restrict_offer(sdp)
        async with self._lock:
            if self.closed:
                raise SfuError("bad_request", "You have left the call.")
            if self.pc is not None and offered.ice_ufrag != self._ufrag:
                # aiortc cannot restart ICE: a member that does gets a fresh connection.
                await self._close_connection()
            fresh = self.pc is None
            if self.pc is None:
                self._candidates.restart()
                self.pc = new_peer_connection()
                self.pc.on("connectionstatechange", self._connection_state)
            pc = self.pc
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=filtered, type="offer"))
            except SDP_ERRORS:
                if fresh:
                    await self._close_connection()
                raise SfuError("bad_request", "The server could not use that offer.") from None
            for transceiver in pc.getTransceivers():
                hooks.silence_receiver(transceiver.receiver)
            if fresh:
                config = self._config
                hooks.bind_candidates(pc, config.media_public_ip, config.media_ports, on_rtp=self._on_rtp)
                hooks.pace_consent(pc, self._consent)
                self.link = hooks.Link(pc)
                self._rtcp_ssrc = hooks.sender_ssrc(pc.getTransceivers()[0].sender)
            self._ufrag = offered.ice_ufrag
            try:
                await pc.setLocalDescription(await pc.createAnswer())
            except hooks.NoMediaPort:
                await self._close_connection()
                raise SfuError(
                    "unavailable", "The server has no free media port right now; try again soon."
                ) from None
            await self._candidates.flush(pc)
            answer = pc.localDescription.sdp
            self._update_sources(offered, parse(answer))
            return answer, fresh

    async def candidate(self, candidate: str) -> None:
        """A candidate the member trickled; an empty one ends them."""
        async with self._lock:
            await self._candidates.add(self.pc, candidate)

    def _update_sources(self, offered: Description, answered: Description) -> None:
        changed = False
        receiving = set()
        for section in answered.sections:
            if section.mid is None or not section.receives or section.kind not in ACCEPTED:
                continue
            codec = section.codec(ACCEPTED[section.kind])
            if codec is None:
                continue
            self._mid_id = section.extensions.get(MID_URI, self._mid_id)
            self._level_id = section.extensions.get(AUDIO_LEVEL_URI, self._level_id)
            receiving.add(section.mid)
            rtx = section.rtx_for(codec.payload_type)
            rtx_pt = rtx.payload_type if rtx is not None else None
            existing = self.sources.get(section.mid)
            if existing is not None and (existing.payload_type, existing.rtx_payload_type) == (
                codec.payload_type,
                rtx_pt,
            ):
                continue
            if existing is not None:
                self._drop_source(existing)
            source = self._new_source(section.kind, section.mid, codec.clock_rate, codec.payload_type, rtx_pt)
            hint = offered.by_mid(section.mid)
            if hint is not None and hint.fid is not None:
                self._map(source, hint.fid[0], rtx=False)
                self._map(source, hint.fid[1], rtx=True)
            elif hint is not None and hint.ssrcs:
                self._map(source, hint.ssrcs[0], rtx=False)
            self.sources[section.mid] = source
            changed = True
        for mid in [m for m in self.sources if m not in receiving]:
            self._drop_source(self.sources.pop(mid))
            changed = True
        if changed:
            self._on_tracks()

    def _new_source(self, kind: str, mid: str, clock_rate: int, pt: int, rtx_pt: int | None) -> Source:
        config = self._config
        holder: list[Source] = []
        keyframes = None
        if kind == "video":
            keyframes = KeyframeRequester(
                lambda: self._send_pli(holder[0]), config.keyframe_debounce_s, config.keyframe_retry_s
            )
        participant = self.participant
        on_level = self._on_level
        source = Source(
            participant,
            kind,
            mid,
            clock_rate,
            pt,
            rtx_pt,
            history_packets=config.history_packets,
            replay_max_age_s=config.replay_max_age_s,
            resend_max_packets=config.resend_max_packets,
            reception=Reception(clock_rate, config.nack_interval_s, config.nack_tries),
            keyframes=keyframes,
            on_level=(lambda level, now: on_level(participant, level, now)) if kind == "audio" else None,
        )
        holder.append(source)
        return source

    def _drop_source(self, source: Source) -> None:
        for ssrc in [s for s, owner in self._by_ssrc.items() if owner is source]:
            del self._by_ssrc[ssrc]
        source.close()

    def _map(self, source: Source, ssrc: int, *, rtx: bool) -> None:
        self._by_ssrc[ssrc] = source
        if rtx:
            source.rtx_ssrc = ssrc
        else:
            source.media_ssrc = ssrc

    # -- media -----------------------------------------------------------------------------------

    def _on_rtp(self, data: bytes) -> None:
        if len(data) < 12:
            return
        first, second, seq, timestamp, ssrc = rtp.HEADER.unpack_from(data)
        pt = second & 0x7F
        source = self._by_ssrc.get(ssrc)
        if source is None:
            source = self._learn(data, ssrc, pt)
            if source is None:
                return
        now = time.monotonic()
        level = -1
        if pt == source.payload_type:
            if source.history is None:
                extensions = self._extensions
                if not rtp.read_extensions(data, self._mid_id, self._level_id, extensions):
                    return
                offset = extensions.payload_offset
                level = extensions.level
            else:
                offset = rtp.payload_offset(data)
            end = len(data) - rtp.padding_size(data)
            if offset < 0 or end < offset:
                return
            reception = source.reception
            lost = reception.add(seq, timestamp, now)
            if source.history is not None:
                if lost is None:
                    lost = reception.due(now)
                if lost:
                    self._send_nack(source, lost)
        elif pt == source.rtx_payload_type:
            offset = rtp.payload_offset(data)
            end = len(data) - rtp.padding_size(data)
            if offset < 0 or end < offset + 2:
                # Padding only: a bandwidth probe, nothing to forward.
                return
            seq = (data[offset] << 8) | data[offset + 1]
            offset += 2
            source.reception.repaired(seq)
            source.repaired += 1
        else:
            return
        payload = data[offset:]
        keyframe = source.history is not None and rtp.vp8_keyframe_start(payload, end - offset)
        source.receive(rtp.Packet(seq, timestamp, second & 0x80, first & 0x20, payload, keyframe, level, now))

    def _learn(self, data: bytes, ssrc: int, pt: int) -> Source | None:
        """Which source an unknown SSRC belongs to: the MID it carries, else its payload type when
        only one source uses it."""
        extensions = self._extensions
        source = None
        if (
            self._mid_id
            and rtp.read_extensions(data, self._mid_id, self._level_id, extensions)
            and extensions.mid
        ):
            source = self.sources.get(extensions.mid.decode("utf8", "replace"))
        if source is None:
            matching = [s for s in self.sources.values() if pt in (s.payload_type, s.rtx_payload_type)]
            if len(matching) == 1:
                source = matching[0]
        if source is None or pt not in (source.payload_type, source.rtx_payload_type):
            return None
        self._map(source, ssrc, rtx=pt == source.rtx_payload_type)
        return source

    def _send_nack(self, source: Source, lost: list[int]) -> None:
        if self.link is not None and source.media_ssrc is not None:
            self.link.send_rtcp(rtp.nack(self._rtcp_ssrc, source.media_ssrc, lost))

    def _send_pli(self, source: Source) -> None:
        if self.link is not None and source.media_ssrc is not None:
            self.link.send_rtcp(rtp.pli(self._rtcp_ssrc, source.media_ssrc))

    def report(self) -> None:
        """Send the member receiver reports about its tracks and the bitrate cap: the lowest any of
        its subscribers can take (the room calls this about once a second)."""
        link = self.link
        if link is None or not link.is_open:
            return
        reports = []
        video_ssrcs = []
        wanted = []
        for source in self.sources.values():
            if source.media_ssrc is None:
                continue
            report = source.reception.report(source.media_ssrc)
            if report is not None:
                reports.append(report)
            if source.kind == "video":
                video_ssrcs.append(source.media_ssrc)
                rate = source.wanted_bitrate()
                if rate is not None:
                    wanted.append(rate)
        if reports:
            link.send_rtcp(rtp.receiver_report(self._rtcp_ssrc, reports))
        if video_ssrcs:
            cap = min([self._config.max_video_bitrate_bps, *wanted])
            link.send_rtcp(rtp.remb(self._rtcp_ssrc, cap, video_ssrcs))

    # -- lifecycle -------------------------------------------------------------------------------

    def _connection_state(self) -> None:
        pc = self.pc
        if pc is None:
            return
        state = pc.connectionState
        if state == "connected" and self.link is not None and self.link.open():
            for source in self.sources.values():
                if source.waiting:
                    source.request_keyframe()
        elif state in ("failed", "closed") and self.link is not None:
            self.link.close()
        self._on_state(state)

    async def _close_connection(self) -> None:
        had_sources = bool(self.sources)
        for source in list(self.sources.values()):
            self._drop_source(source)
        self.sources.clear()
        self._by_ssrc.clear()
        if self.link is not None:
            self.link.close()
            self.link = None
        pc, self.pc = self.pc, None
        if pc is not None:
            pc.remove_all_listeners()
            await pc.close()
        if had_sources and not self.closed:
            self._on_tracks()

    async def reset(self) -> None:
        """Drop the connection (its tracks stop reaching anyone); the member may offer again."""
        async with self._lock:
            await self._close_connection()

    async def close(self) -> None:
        """Free the connection, its transport and its tasks."""
        async with self._lock:
            self.closed = True
            await self._close_connection()
