"""What both of a member's connections with the SFU share: how they are made, and how a candidate the
member trickles is applied."""

from __future__ import annotations

import contextlib

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceCandidate, RTCPeerConnection
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError, OperationError
from aiortc.sdp import candidate_from_sdp

from signaling.sfu.errors import SfuError
from signaling.sfu.sdp import is_mdns_candidate

# What aiortc raises for a description it cannot apply (its parser asserts, too).
SDP_ERRORS = (
    ValueError,
    OperationError,
    InvalidStateError,
    InvalidAccessError,
    InternalError,
    AssertionError,
)


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


class TrickledCandidates:
    """The ICE candidates a member trickles for one of its connections: those that come before the
    description they belong to wait for it, and there may be at most `limit` for one connection."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._early: list[str] = []
        self._count = 0

    def restart(self) -> None:
        """A new connection: the count starts again."""
        self._early.clear()
        self._count = 0

    async def add(self, pc: RTCPeerConnection | None, candidate: str) -> None:
        """Apply `candidate` (an empty one ends them) to `pc`, or keep it until `flush` when `pc`
        cannot take it yet (None)."""
        self._count += 1
        if self._count > self._limit:
            raise SfuError(
                "bad_request",
                f"A connection takes at most {self._limit} ICE candidates; that one was refused.",
            )
        if pc is None:
            self._early.append(candidate)
        else:
            await _apply(pc, candidate)

    async def flush(self, pc: RTCPeerConnection) -> None:
        """Apply the candidates that came early; a malformed one is dropped (its sender was not
        waiting for an answer)."""
        early, self._early = self._early, []
        for candidate in early:
            with contextlib.suppress(SfuError):
                await _apply(pc, candidate)


async def _apply(pc: RTCPeerConnection, candidate: str) -> None:
    if not candidate:
        await pc.addIceCandidate(None)
        return
    parsed = parse_candidate(pc, candidate)
    if parsed is not None:
        await pc.addIceCandidate(parsed)
