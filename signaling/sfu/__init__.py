"""Circle's selective forwarding unit: each member sends its tracks once, to the server, and the server
forwards the RTP packets to everyone else in the room — rewritten per subscriber, never decoded or
re-encoded. Members only ever see the server's address.

The API is `SfuRoom` (one per room with media on this instance) with `SfuConfig`; what it tells members
goes out as `SdpMessage` through a callable, and bad input raises `SfuError`.
"""

from signaling.sfu.config import SfuConfig
from signaling.sfu.errors import SfuError
from signaling.sfu.room import (
    ConnectionChanged,
    Kind,
    PcName,
    SdpMessage,
    SendSdp,
    SfuRoom,
    SfuStats,
    SpeakingChanged,
)
from signaling.sfu.speaking import SpeakingRule

__all__ = [
    "ConnectionChanged",
    "Kind",
    "PcName",
    "SdpMessage",
    "SendSdp",
    "SfuConfig",
    "SfuError",
    "SfuRoom",
    "SfuStats",
    "SpeakingChanged",
    "SpeakingRule",
]
