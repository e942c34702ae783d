"""What the SFU received of one upstream stream: the numbers for its receiver reports, and which
packets to ask the publisher for again (NACK)."""

from __future__ import annotations

from aiortc.rtp import RtcpReceiverInfo

from signaling.sfu.rtp import seq_newer

# A gap wider than this is a restart of the sender's numbering, not loss worth repairing.
MAX_REPAIRABLE_GAP = 512


class Reception:
    """Statistics and loss tracking of one SSRC (RFC 3550 appendix A.3 and A.8)."""

    def __init__(self, clock_rate: int, nack_interval_s: float, nack_tries: int) -> None:
        self._clock_rate = clock_rate
        self._nack_interval_s = nack_interval_s
        self._nack_tries = nack_tries
        self.base_seq: int | None = None
        self.max_seq = 0
        self.cycles = 0
        self.received = 0
        self._expected_prior = 0
        self._received_prior = 0
        self._jitter = 0.0
        self._last_transit: float | None = None
        self.missing: dict[int, int] = {}
        """Sequence number → how many times it was asked for."""
        self._last_nack_s = 0.0

    def add(self, seq: int, timestamp: int, arrival_s: float) -> list[int] | None:
        """Count a packet that arrived on the stream itself; the sequence numbers that just went
        missing (to ask for at once) if it opened a gap."""
        self.received += 1
        if self.base_seq is None:
            self.base_seq = self.max_seq = seq
            return None
        diff = (seq - self.max_seq) & 0xFFFF
        if diff == 0:
            return None
        if diff >= 0x8000:
            self.missing.pop(seq, None)
            return None
        if seq < self.max_seq:
            self.cycles += 0x10000
        max_seq = self.max_seq
        self.max_seq = seq
        transit = arrival_s * self._clock_rate - timestamp
        if self._last_transit is not None:
            d = abs(transit - self._last_transit)
            self._jitter += (d - self._jitter) / 16
        self._last_transit = transit
        if diff == 1:
            return None
        if diff > MAX_REPAIRABLE_GAP:
            self.missing.clear()
            return None
        lost = [(max_seq + i) & 0xFFFF for i in range(1, diff)]
        for lost_seq in lost:
            self.missing[lost_seq] = 1
        self._last_nack_s = arrival_s
        return lost

    def repaired(self, seq: int) -> None:
        """A retransmission brought `seq` back."""
        self.missing.pop(seq, None)

    def due(self, now_s: float) -> list[int] | None:
        """The packets still missing that are due to be asked for again."""
        if not self.missing or now_s - self._last_nack_s < self._nack_interval_s:
            return None
        self._last_nack_s = now_s
        due = []
        for seq, tries in list(self.missing.items()):
            if tries >= self._nack_tries or seq_newer(seq, self.max_seq):
                del self.missing[seq]
            else:
                self.missing[seq] = tries + 1
                due.append(seq)
        return due or None

    def report(self, ssrc: int) -> RtcpReceiverInfo | None:
        if self.base_seq is None:
            return None
        extended_max = self.cycles + self.max_seq
        expected = extended_max - self.base_seq + 1
        expected_interval = expected - self._expected_prior
        received_interval = self.received - self._received_prior
        self._expected_prior = expected
        self._received_prior = self.received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        lost = max(-(1 << 23), min((1 << 23) - 1, expected - self.received))
        return RtcpReceiverInfo(
            ssrc=ssrc,
            fraction_lost=fraction,
            packets_lost=lost,
            highest_sequence=extended_max & 0xFFFFFFFF,
            jitter=int(self._jitter),
            lsr=0,
            dlsr=0,
        )
