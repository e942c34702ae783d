"""A member's `subscribe` connection: the server offers everyone else's tracks, the member answers, and
the server offers again whenever a track comes or goes.

Each track reaches the member in a slot (a send-only transceiver). A slot freed by a track that went
away is reused for the next track of its kind, once the member has seen it go inactive — so a page can
rely on every new track arriving with a `track` event of its own, and sections do not pile up over a
long meeting. The section's stream id (`a=msid`) is the id of the member whose track it carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender, RTCRtpTransceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av.frame import Frame

from signaling.sfu import aiortc_hooks as hooks
from signaling.sfu import rtp
from signaling.sfu.config import SfuConfig
from signaling.sfu.connection import SDP_ERRORS, TrickledCandidates, new_peer_connection
from signaling.sfu.errors import SfuError
from signaling.sfu.forwarder import Output, Source
from signaling.sfu.sdp import ABS_SEND_TIME_URI, ACCEPTED, AUDIO_LEVEL_URI, MID_URI, parse

log = logging.getLogger("circle.sfu")


class _Placeholder(MediaStreamTrack):
    """The track of a forwarding sender: aiortc's sender reads from it, and it never yields anything,
    because the forwarder sends that sender's packets itself."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    async def recv(self) -> Frame:
        await asyncio.Event().wait()
        raise MediaStreamError


class SlotState(enum.Enum):
    PENDING = "pending"
    """Offered to carry its source; the member has not answered yet."""
    ACTIVE = "active"
    REFUSED = "refused"
    """The member declined the section."""
    CLOSING = "closing"
    """Offered inactive; the member has not answered yet."""
    FREE = "free"
    """The member has seen it go inactive: ready for the next source of its kind."""


class Slot:
    """One send-only transceiver and the stream it carries."""

    __slots__ = ("transceiver", "kind", "output", "source", "state", "offered")

    def __init__(self, transceiver: RTCRtpTransceiver, kind: str, output: Output) -> None:
        self.transceiver = transceiver
        self.kind = kind
        self.output = output
        self.source: Source | None = None
        self.state = SlotState.PENDING
        self.offered = False


class Subscriber:
    """Everyone else's tracks, as one member receives them."""

    def __init__(
        self,
        participant: str,
        config: SfuConfig,
        *,
        send_offer: Callable[[str, bool], Awaitable[None]],
        on_state: Callable[[str], None],
        consent: hooks.ConsentRounds,
    ) -> None:
        self.participant = participant
        self._consent = consent
        self._config = config
        self._send_offer = send_offer
        self._on_state = on_state
        self.pc: RTCPeerConnection | None = None
        self.link: hooks.Link | None = None
        self.slots: list[Slot] = []
        self._wanted: list[Source] = []
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._dirty = False
        self._keys_timer: asyncio.TimerHandle | None = None
        self.keys_ready = False
        self._candidates = TrickledCandidates(config.max_candidates)
        self._by_ssrc: dict[int, Output] = {}
        self._cname = b""
        self.closed = False

    # -- what to carry ---------------------------------------------------------------------------

    def want(self, sources: list[Source]) -> None:
        """Carry exactly `sources` (in this order for new sections); renegotiates when that changes."""
        self._wanted = list(sources)
        wanted = set(self._wanted)
        for slot in self.slots:
            if slot.source is not None and slot.source not in wanted:
                # Stop forwarding at once; the member learns of it with the next offer.
                slot.source.detach(slot.output)
        self._schedule()

    def _schedule(self) -> None:
        self._dirty = True
        if self.closed or (self._task is not None and not self._task.done()):
            return
        self._task = asyncio.create_task(self._negotiate())

    async def _negotiate(self) -> None:
        while self._dirty and not self.closed:
            self._dirty = False
            async with self._lock:
                if self.closed:
                    return
                if self.pc is not None and self.pc.signalingState != "stable":
                    # The answer to the offer out there comes first; it schedules the next one.
                    self._dirty = True
                    return
                if not self._reconcile():
                    continue
                pc = self.pc
                assert pc is not None
                try:
                    await pc.setLocalDescription(await pc.createOffer())
                except hooks.NoMediaPort:
                    log.warning("no free media port for the subscribe connection of %s", self.participant)
                    self._on_state("failed")
                    return
                except SDP_ERRORS:
                    log.exception("could not make an offer for %s", self.participant)
                    self._on_state("failed")
                    return
                for slot in self.slots:
                    if slot.state in (SlotState.PENDING, SlotState.CLOSING):
                        slot.offered = True
                offer = pc.localDescription.sdp
                fresh = not self._cname
                if not self._cname:
                    cname = next((s.cname for s in parse(offer).sections if s.cname), None)
                    self._cname = (cname or "circle").encode()
            try:
                await self._send_offer(offer, fresh)
            except Exception:
                log.exception("could not send an offer to %s", self.participant)

    def _reconcile(self) -> bool:
        """Bring the slots in line with what is wanted; whether anything changed."""
        changed = False
        wanted = [s for s in self._wanted if not s.closed]
        wanted_set = set(wanted)
        for slot in self.slots:
            if slot.source is not None and slot.source not in wanted_set:
                slot.source.detach(slot.output)
                slot.source = None
                slot.transceiver.direction = "inactive"
                slot.state = SlotState.CLOSING
                slot.offered = False
                changed = True
        carried = {slot.source for slot in self.slots if slot.source is not None}
        for source in wanted:
            if source in carried:
                continue
            free = next((s for s in self.slots if s.state is SlotState.FREE and s.kind == source.kind), None)
            if free is None:
                slot = self._new_slot(source.kind)
            else:
                slot = free
                slot.transceiver.sender.replaceTrack(_Placeholder(source.kind))
                slot.transceiver.direction = "sendonly"
            hooks.set_stream_id(slot.transceiver.sender, source.publisher)
            slot.source = source
            slot.state = SlotState.PENDING
            slot.offered = False
            changed = True
        return changed

    def _new_slot(self, kind: str) -> Slot:
        fresh = self.pc is None
        if self.pc is None:
            self.pc = new_peer_connection()
            self.pc.on("connectionstatechange", self._connection_state)
        transceiver = self.pc.addTransceiver(_Placeholder(kind), direction="sendonly")
        codec = ACCEPTED[kind].lower()
        transceiver.setCodecPreferences(
            [c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType.lower() == f"{kind}/{codec}"]
        )
        if fresh:
            config = self._config
            hooks.bind_candidates(self.pc, config.media_public_ip, config.media_ports, on_rtcp=self._on_rtcp)
            hooks.pace_consent(self.pc, self._consent)
            self.link = hooks.Link(self.pc)
        output = Output(hooks.sender_ssrc(transceiver.sender))
        hooks.quiet_sender(transceiver.sender)
        self._by_ssrc[output.ssrc] = output
        slot = Slot(transceiver, kind, output)
        self.slots.append(slot)
        return slot

    # -- signalling ------------------------------------------------------------------------------

    async def answer(self, sdp: str) -> None:
        """Apply the member's answer to the server's last offer."""
        answered = parse(sdp)
        async with self._lock:
            pc = self.pc
            if self.closed or pc is None or pc.signalingState != "have-local-offer":
                raise SfuError("bad_request", "There is no offer from the server to answer.")
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            except SDP_ERRORS:
                raise SfuError("bad_request", "The server could not use that answer.") from None
            offered = parse(pc.localDescription.sdp)
            for slot in self.slots:
                mid = slot.transceiver.mid
                if not slot.offered or mid is None:
                    continue
                slot.offered = False
                if slot.state is SlotState.CLOSING:
                    slot.state = SlotState.FREE
                    continue
                if slot.state is not SlotState.PENDING:
                    continue
                mine, theirs = offered.by_mid(mid), answered.by_mid(mid)
                codec = mine.codec(ACCEPTED[slot.kind]) if mine is not None else None
                if theirs is None or not theirs.receives or codec is None:
                    slot.state = SlotState.REFUSED
                    continue
                dynamic_uri = ABS_SEND_TIME_URI if slot.kind == "video" else AUDIO_LEVEL_URI
                slot.output.configure(
                    codec.payload_type,
                    mid,
                    theirs.extensions.get(MID_URI),
                    theirs.extensions.get(dynamic_uri),
                    slot.kind,
                )
                slot.state = SlotState.ACTIVE
            await self._candidates.flush(pc)
            self._attach_ready()
        if self._dirty:
            self._schedule()

    async def candidate(self, candidate: str) -> None:
        """A candidate the member trickled; an empty one ends them."""
        async with self._lock:
            pc = self.pc
            ready = pc is not None and pc.remoteDescription is not None
            await self._candidates.add(pc if ready else None, candidate)

    # -- forwarding ------------------------------------------------------------------------------

    def _attach_ready(self) -> None:
        if not self.keys_ready or self.link is None:
            return
        for slot in self.slots:
            source, output = slot.source, slot.output
            if (
                slot.state is not SlotState.ACTIVE
                or source is None
                or source.closed
                or output.source is not None
            ):
                continue
            if output.connect(self.link):
                source.attach(output)

    def _on_rtcp(self, data: bytes) -> None:
        """Feedback from the member about the streams it receives."""
        by_ssrc = self._by_ssrc
        for packet_type, fmt, media_ssrc, fci in rtp.feedback(data):
            if packet_type == rtp.RTCP_RTPFB:
                output = by_ssrc.get(media_ssrc)
                if fmt == rtp.FMT_NACK and output is not None:
                    output.nack(rtp.nack_sequence_numbers(fci))
            elif fmt == rtp.FMT_PLI:
                output = by_ssrc.get(media_ssrc)
                if output is not None:
                    output.keyframe()
            elif fmt == rtp.FMT_FIR:
                for ssrc in rtp.fir_targets(fci):
                    output = by_ssrc.get(ssrc)
                    if output is not None:
                        output.keyframe()
            elif fmt == rtp.FMT_REMB:
                estimate = rtp.remb_bitrate(fci)
                if estimate is not None:
                    for ssrc in estimate[1]:
                        output = by_ssrc.get(ssrc)
                        if output is not None:
                            output.remb(estimate[0])

    def report(self, now_s: float, ntp: int) -> None:
        """Send the member one compound RTCP packet for all its streams: each one's sender report,
        then their CNAME (the room calls this about once a second, for every member at once: one
        wake-up, however many members)."""
        link = self.link
        if link is None or not link.is_open:
            return
        reports, ssrcs = [], []
        for slot in self.slots:
            report = slot.output.report(now_s, ntp)
            if report is not None:
                reports.append(report)
                ssrcs.append(slot.output.ssrc)
        if reports:
            link.send_rtcp(b"".join(reports) + rtp.source_description(self._cname, ssrcs))

    def _connection_state(self) -> None:
        pc = self.pc
        if pc is None:
            return
        state = pc.connectionState
        if state == "connected" and self._keys_timer is None and not self.keys_ready:
            loop = asyncio.get_running_loop()
            self._keys_timer = loop.call_later(self._config.subscriber_key_delay_s, self._keys_arrived)
        elif state in ("failed", "closed"):
            self._stop_forwarding()
        self._on_state(state)

    def _keys_arrived(self) -> None:
        self._keys_timer = None
        if self.closed or self.link is None or not self.link.open():
            return
        self.keys_ready = True
        self._attach_ready()

    def _stop_forwarding(self) -> None:
        self.keys_ready = False
        if self._keys_timer is not None:
            self._keys_timer.cancel()
            self._keys_timer = None
        for slot in self.slots:
            if slot.output.source is not None:
                slot.output.source.detach(slot.output)
        if self.link is not None:
            self.link.close()

    async def close(self) -> None:
        """Free the connection, its transport and its tasks."""
        self.closed = True
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with self._lock:
            self._stop_forwarding()
            pc, self.pc = self.pc, None
            self.link = None
            self.slots.clear()
            self._by_ssrc.clear()
            if pc is not None:
                pc.remove_all_listeners()
                await pc.close()
