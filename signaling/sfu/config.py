"""What an SFU can be told: where its media is reached, and the timings of its repair machinery."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from signaling.sfu.speaking import SpeakingRule


@dataclass(frozen=True, slots=True)
class SfuConfig:
    media_public_ip: str = "127.0.0.1"
    """The address members' browsers send media to: the only address of the server they learn. The
    server binds it when it has it, else every address (behind a 1:1 NAT, as on most clouds)."""
    media_udp_port_min: int = 0
    """Lowest UDP port for media (each member uses two: one per connection); 0 with
    `media_udp_port_max` 0 lets the system pick any free port."""
    media_udp_port_max: int = 0
    """Highest UDP port for media (inclusive)."""
    subscriber_key_delay_s: float = 0.15
    """How long after the server's side of a subscriber's DTLS handshake completes before media is
    sent: the browser completes its side (and holds the SRTP keys) a little later, and packets that
    arrive before are lost, the first keyframe with them."""
    keyframe_debounce_s: float = 0.5
    """Keyframe requests from subscribers within this long of the last upstream request are merged."""
    keyframe_retry_s: float = 1.0
    """An upstream keyframe request is repeated after this long while no keyframe came."""
    history_packets: int = 1024
    """Packets kept per video source for retransmission and keyframe replay."""
    replay_max_age_s: float = 1.0
    """A new subscriber gets the last keyframe replayed when it is at most this old; an older one
    costs more to replay than a fresh keyframe."""
    nack_interval_s: float = 0.1
    """Packets still missing upstream are asked for again this often."""
    nack_tries: int = 8
    """How many times one missing packet is asked for before it is given up."""
    resend_max_packets: int = 128
    """At most this many packets are sent again for one NACK from a subscriber (one NACK can name
    thousands, and each resend costs as much as forwarding a packet)."""
    max_candidates: int = 32
    """ICE candidates a member may trickle for one connection (a browser sends a handful; each one
    makes the server run connectivity checks)."""
    max_video_bitrate_bps: int = 1_500_000
    """The most a publisher is asked to send per video track (each subscriber may ask for less)."""
    report_interval_s: float = 1.0
    """Mean interval of the receiver reports (and bitrate estimates) sent to publishers."""
    speaking: SpeakingRule = field(default_factory=SpeakingRule)

    def __post_init__(self) -> None:
        try:
            ipaddress.ip_address(self.media_public_ip)
        except ValueError:
            raise ValueError(f"media_public_ip must be an IP address, not {self.media_public_ip!r}") from None
        low, high = self.media_udp_port_min, self.media_udp_port_max
        if (low, high) != (0, 0) and not 1024 <= low <= high <= 65535:
            raise ValueError("media UDP ports must be 1024 ≤ min ≤ max ≤ 65535 (or both 0 for any port)")
        if self.history_packets < 64 or self.history_packets & (self.history_packets - 1):
            raise ValueError("history_packets must be a power of two, at least 64")
        for name in ("subscriber_key_delay_s", "keyframe_debounce_s", "replay_max_age_s", "nack_interval_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.resend_max_packets < 1 or self.max_candidates < 1:
            raise ValueError("resend_max_packets and max_candidates must be at least 1")
        if self.keyframe_retry_s <= 0 or self.report_interval_s <= 0:
            raise ValueError("keyframe_retry_s and report_interval_s must be positive")

    @property
    def media_ports(self) -> range | None:
        if self.media_udp_port_min == 0:
            return None
        return range(self.media_udp_port_min, self.media_udp_port_max + 1)
