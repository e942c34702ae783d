"""What both of a member's connections with the SFU share: how they are made, and how a candidate the
member trickles is applied."""

from __future__ import annotations

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceCandidate, RTCPeerConnection
from aiortc.sdp import candidate_from_sdp

from signaling.sfu.errors import SfuError
from signaling.sfu.sdp import is_mdns_candidate


def new_peer_connection() -> RTCPeerConnection:
    # No ICE servers: the SFU's own address is the candidate, and a default STUN server would be a
    # third party learning of every meeting. One transport for every track (max-bundle): aiortc's
    # "balanced" bundling leaves a second video section on a transport it then closes.
    return RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


def parse_candidate(pc: RTCPeerConnection, candidate: str) -> RTCIceCandidate | None:
    """The member's trickled candidate for `pc`, or None when there is nothing to add (an mDNS name
    the server cannot resolve: it learns that address from the member's checks instead)."""
    text = candidate.strip().removeprefix("a=").removeprefix("candidate:")
    if is_mdns_candidate(text):
        return None
    try:
        parsed = candidate_from_sdp(text)
    except (AssertionError, ValueError, IndexError):
        raise SfuError("bad_request", "That ICE candidate is malformed.") from None
    # Every track shares the first section's transport, which aiortc finds by that section's mid.
    transceivers = pc.getTransceivers()
    parsed.sdpMid = transceivers[0].mid if transceivers else "0"
    parsed.sdpMLineIndex = 0
    return parsed
