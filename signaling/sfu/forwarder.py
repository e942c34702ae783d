"""Per-source RTP forwarding: one incoming track fanned out to every subscriber, each packet rewritten
for each subscriber's own stream (SSRC, sequence number, timestamp, payload type, header extensions).

Each subscriber's stream continues its own numbering across everything that happens to it (joining,
a mute, a different publisher taking over its slot): offsets are set where forwarding (re)starts — at a
keyframe for video, at the next packet for audio — so the sequence always goes on from where it stopped
(SRTP's rollover counter depends on it) and timestamps advance by the wall-clock time in between.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import pylibsrtp

from signaling.sfu.aiortc_hooks import Link
from signaling.sfu.keyframes import History, KeyframeRequester
from signaling.sfu.reception import Reception
from signaling.sfu.rtp import (
    HEADER,
    Packet,
    abs_send_time,
    element_header,
    extension_block,
    ntp_now,
    sender_report,
)

# A subscriber's bitrate estimate older than this no longer limits what its publisher is asked to send.
REMB_STALE_S = 5.0


class Source:
    """One track of one publisher, as the SFU receives it, with the subscribers it is forwarded to."""

    def __init__(
        self,
        publisher: str,
        kind: str,
        mid: str,
        clock_rate: int,
        payload_type: int,
        rtx_payload_type: int | None,
        *,
        history_packets: int,
        replay_max_age_s: float,
        resend_max_packets: int,
        reception: Reception,
        keyframes: KeyframeRequester | None,
        on_level: Callable[[int, float], None] | None,
    ) -> None:
        self.publisher = publisher
        self.kind = kind
        self.mid = mid
        self.clock_rate = clock_rate
        self.payload_type = payload_type
        self.rtx_payload_type = rtx_payload_type
        self.media_ssrc: int | None = None
        self.rtx_ssrc: int | None = None
        self.outputs: list[Output] = []
        self.enabled = True
        self.history = History(history_packets) if kind == "video" else None
        self._replay_max_age_s = replay_max_age_s
        self._resend_max_packets = resend_max_packets
        self.reception = reception
        """What arrived upstream, for the publisher's receiver reports and NACKs."""
        self.keyframes = keyframes
        self._on_level = on_level
        self._waiting: list[Output] = []
        self.retransmitted = 0
        """Packets sent again to subscribers, from the history."""
        self.repaired = 0
        """Retransmissions received from the publisher."""
        self.closed = False

    # -- packets ---------------------------------------------------------------------------------

    def receive(self, packet: Packet) -> None:
        """Forward one packet (new, or a retransmission from upstream) to every subscriber."""
        history = self.history
        if history is not None:
            history.add(packet)
            if packet.keyframe and self.keyframes is not None:
                self.keyframes.arrived()
        if not self.enabled:
            return
        if packet.level >= 0 and self._on_level is not None:
            self._on_level(packet.level, packet.arrival_s)
        started: list[Output] | tuple[()] = ()
        if self._waiting:
            if history is None:
                for output in self._waiting:
                    output.anchor(packet, packet.arrival_s, self.clock_rate)
                self._waiting.clear()
            elif packet.keyframe:
                started = self._start_waiting(packet.arrival_s)
        if history is None:
            dynamic = bytes((packet.level,)) if packet.level >= 0 else b"\x7f"
        else:
            dynamic = abs_send_time(ntp_now())
        if started:
            for output in self.outputs:
                if output.live and output not in started:
                    output.send(packet, dynamic)
        else:
            for output in self.outputs:
                if output.live:
                    output.send(packet, dynamic)

    def retransmit(self, output: Output, seqs: list[int]) -> None:
        history = self.history
        if history is None or not self.enabled:
            return
        dynamic = abs_send_time(ntp_now())
        for seq in list(dict.fromkeys(seqs))[: self._resend_max_packets]:
            packet = history.get(seq)
            if packet is not None:
                output.send(packet, dynamic)
                self.retransmitted += 1

    # -- subscribers -----------------------------------------------------------------------------

    def attach(self, output: Output) -> None:
        """Start forwarding to `output` (its subscriber's keys are ready): at once from a recent
        keyframe when the history holds one, else from the next keyframe, which is requested."""
        if output in self.outputs:
            return
        output.source = self
        output.live = False
        self.outputs.append(output)
        self._waiting.append(output)
        if self.history is not None and self.enabled:
            self._start_waiting(time.monotonic())

    def detach(self, output: Output) -> None:
        if output in self.outputs:
            self.outputs.remove(output)
        if output in self._waiting:
            self._waiting.remove(output)
        output.live = False
        if output.source is self:
            output.source = None
        if not self._waiting and self.keyframes is not None:
            self.keyframes.cancel()

    def set_enabled(self, enabled: bool) -> None:
        """Forward (True) or hold back (False) this track; held back, subscribers get nothing at all
        from it, and resuming starts each of them again at a keyframe."""
        if enabled == self.enabled:
            return
        self.enabled = enabled
        if not enabled:
            for output in self.outputs:
                output.live = False
            self._waiting = list(self.outputs)
            if self.keyframes is not None:
                self.keyframes.cancel()
        elif self.history is not None:
            self._start_waiting(time.monotonic())

    @property
    def waiting(self) -> bool:
        """Some subscriber waits for this source's next keyframe (or, for audio, its next packet)."""
        return bool(self._waiting)

    def request_keyframe(self) -> None:
        if self.keyframes is not None and self.enabled:
            self.keyframes.request()

    def wanted_bitrate(self) -> int | None:
        """The lowest bitrate a subscriber of this source recently said it can take."""
        now = time.monotonic()
        rates = [o.remb_bps for o in self.outputs if o.remb_bps and now - o.remb_at < REMB_STALE_S]
        return min(rates) if rates else None

    def close(self) -> None:
        self.closed = True
        for output in list(self.outputs):
            self.detach(output)
        if self.keyframes is not None:
            self.keyframes.cancel()

    def _start_waiting(self, now_s: float) -> list[Output]:
        """Replay the last keyframe on to the subscribers waiting for a picture when it is recent;
        else ask the publisher for a new one. Returns the subscribers that got the replay."""
        assert self.history is not None
        packets = self.history.since_keyframe()
        if not packets or now_s - packets[0].arrival_s > self._replay_max_age_s:
            if self._waiting and self.keyframes is not None:
                self.keyframes.request()
            return []
        started, self._waiting = self._waiting, []
        dynamic = abs_send_time(ntp_now())
        for output in started:
            output.anchor(packets[0], now_s, self.clock_rate)
            for packet in packets:
                output.send(packet, dynamic)
        if self.keyframes is not None:
            self.keyframes.arrived()
        return started


def _discard(data: bytes, address: Any) -> None:
    """Where an output sends before it is connected: nowhere."""


class Output:
    """One subscriber's stream of whichever source its slot currently carries."""

    __slots__ = (
        "ssrc",
        "source",
        "live",
        "_sendto",
        "_protect",
        "_address",
        "_payload_type",
        "_head",
        "_first",
        "_dynamic",
        "_tail",
        "_seq_offset",
        "_ts_offset",
        "_start_seq",
        "_last_seq",
        "_last_ts",
        "_last_s",
        "_time_offset",
        "_clock_rate",
        "packets",
        "octets",
        "remb_bps",
        "remb_at",
    )

    def __init__(self, ssrc: int) -> None:
        self.ssrc = ssrc
        self.source: Source | None = None
        self.live = False
        """Anchored: packets of the source go out."""
        self._sendto: Callable[[bytes, Any], None] = _discard
        self._protect: Callable[[bytes], bytes] = bytes
        self._address: tuple[str, int] = ("", 0)
        self._payload_type = 0
        self._first = 0x80
        self._head = b""
        self._dynamic = False
        self._tail = b""
        self._seq_offset = 0
        self._ts_offset = 0
        self._start_seq = 0
        # Where a fresh stream starts: random, in the lower half so that SRTP's rollover counter
        # is not near a wrap at the start (as browsers do).
        self._last_seq = random.randrange(0x8000)
        self._last_ts = random.randrange(1 << 32)
        self._last_s: float | None = None
        # When a packet goes out, relative to when it arrived: zero when forwarding as packets come,
        # more for a replayed keyframe (its timestamps are shifted to now).
        self._time_offset = 0.0
        self._clock_rate = 90000
        self.packets = 0
        self.octets = 0
        self.remb_bps = 0
        self.remb_at = 0.0

    def connect(self, link: Link) -> bool:
        """Send through `link` (open); False when it is not."""
        parts = link.parts()
        if parts is None:
            return False
        self._sendto, self._protect, self._address = parts
        return True

    def configure(
        self, payload_type: int, mid: str | None, mid_id: int | None, dynamic_id: int | None, kind: str
    ) -> None:
        """Set what the subscriber negotiated: the payload type and the header extension ids (the
        MID, then abs-send-time for video or the audio level for audio)."""
        self._payload_type = payload_type
        elements: list[tuple[int, int]] = []
        head_elements = b""
        if mid_id is not None and mid:
            value = mid.encode()
            elements.append((mid_id, len(value)))
            head_elements = element_header(mid_id, len(value)) + value
        # The element whose value changes per packet comes last: it follows `_head` directly.
        dynamic_size = 3 if kind == "video" else 1
        self._dynamic = dynamic_id is not None
        if dynamic_id is not None:
            elements.append((dynamic_id, dynamic_size))
            head_elements += element_header(dynamic_id, dynamic_size)
        if elements:
            block_header, self._tail = extension_block(elements)
            self._head = block_header + head_elements
            self._first = 0x90
        else:
            self._head = self._tail = b""
            self._first = 0x80

    def anchor(self, first: Packet, now_s: float, clock_rate: int) -> None:
        """Continue this stream with `first` as the next packet."""
        seq = (self._last_seq + 1) & 0xFFFF
        ts = self._last_ts
        if self._last_s is not None:
            ts += max(1, int((now_s - self._last_s) * clock_rate))
        self._seq_offset = (seq - first.seq) & 0xFFFF
        self._ts_offset = (ts - first.timestamp) & 0xFFFFFFFF
        self._start_seq = first.seq
        self._time_offset = now_s - first.arrival_s
        self._clock_rate = clock_rate
        self.live = True

    def send(self, packet: Packet, dynamic: bytes) -> None:
        if (packet.seq - self._start_seq) & 0xFFFF >= 0x8000:
            return
        seq = (packet.seq + self._seq_offset) & 0xFFFF
        ts = (packet.timestamp + self._ts_offset) & 0xFFFFFFFF
        payload = packet.payload
        header = HEADER.pack(
            self._first | packet.padded, packet.marker | self._payload_type, seq, ts, self.ssrc
        )
        if self._dynamic:
            data = b"".join((header, self._head, dynamic, self._tail, payload))
        else:
            data = b"".join((header, self._head, self._tail, payload))
        try:
            self._sendto(self._protect(data), self._address)
        except (pylibsrtp.Error, OSError):
            return
        self.packets += 1
        self.octets += len(payload)
        if 0 < (seq - self._last_seq) & 0xFFFF < 0x8000:
            self._last_seq = seq
            self._last_ts = ts
            self._last_s = packet.arrival_s + self._time_offset

    # -- what the subscriber says ----------------------------------------------------------------

    def nack(self, seqs: list[int]) -> None:
        """The subscriber lost these of its sequence numbers."""
        source = self.source
        if source is None or not self.live:
            return
        lost = [(seq - self._seq_offset) & 0xFFFF for seq in seqs]
        source.retransmit(self, [seq for seq in lost if (seq - self._start_seq) & 0xFFFF < 0x8000])

    def keyframe(self) -> None:
        """The subscriber needs a keyframe (PLI or FIR)."""
        if self.source is not None:
            self.source.request_keyframe()

    def remb(self, bitrate_bps: int) -> None:
        """The subscriber estimates it can take this much."""
        self.remb_bps = bitrate_bps
        self.remb_at = time.monotonic()

    def report(self, now_s: float, ntp: int) -> bytes | None:
        """This stream's RTCP sender report (the wall clock `ntp` is at `now_s`), or None before it
        has sent anything."""
        if self._last_s is None:
            return None
        rtp = (self._last_ts + int((now_s - self._last_s) * self._clock_rate)) & 0xFFFFFFFF
        return sender_report(self.ssrc, ntp, rtp, self.packets, self.octets)
