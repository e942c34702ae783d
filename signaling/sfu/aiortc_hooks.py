"""Every use the SFU makes of aiortc's and aioice's private internals, and nothing else.

aiortc is built to decode what it receives and encode what it sends; an SFU must do neither. It still
needs aiortc for what it does well (SDP, ICE, DTLS, SRTP keys, RTCP routing), so it reaches in at a few
narrow points:

- ingress: the DTLS transport's `_handle_rtp_data` gets every decrypted RTP packet of a publisher as
  bytes, before aiortc parses or routes it;
- egress: packets for a subscriber are protected with the transport's own SRTP session and sent on the
  ICE pair aioice nominated, without a coroutine or a copy per packet;
- senders: a forwarded track's sender keeps aiortc's RTCP routing, but its RTCP handling (NACK, PLI,
  REMB) and its sender reports come from the forwarder, and its stream id is the publisher's id;
- candidates: each connection binds its one UDP socket on the configured address and port range,
  instead of aioice's every-interface, any-port default.

Both packages are pinned exactly; `missing_private_names()` runs at import (and in the tests) so an
upgrade that renames one of these fails loudly at start-up instead of silently mid-meeting.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import ipaddress
import random
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aioice.ice
import aioice.turn
import pylibsrtp
from aioice.candidate import Candidate, candidate_foundation, candidate_priority
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcicetransport import RTCIceGatherer
from aiortc.rtp import (
    AnyRtcpPacket,
    RtcpByePacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
)

# (owner, name, how it is found): "attr" is looked up on the class, "init" is assigned in `__init__`
# (instance attributes only exist once an object is built, so their name is looked for in its code).
_PRIVATE_NAMES: tuple[tuple[Any, str, str], ...] = (
    (RTCDtlsTransport, "_handle_rtp_data", "attr"),
    (RTCDtlsTransport, "_tx_srtp", "init"),
    (RTCIceGatherer, "_connection", "init"),
    (RTCRtpSender, "_ssrc", "init"),
    (RTCRtpSender, "_stream_id", "init"),
    (RTCRtpSender, "_handle_rtcp_packet", "attr"),
    (RTCRtpSender, "_run_rtcp", "attr"),
    (RTCRtpSender, "_send_rtcp", "attr"),
    (RTCRtpSender, "_RTCRtpSender__cname", "init"),
    (RTCRtpSender, "_RTCRtpSender__rtcp_started", "init"),
    (RTCRtpSender, "_RTCRtpSender__rtcp_exited", "init"),
    (RTCRtpReceiver, "receive", "attr"),
    (aioice.ice.Connection, "_nominated", "init"),
    (aioice.ice.Connection, "_protocols", "init"),
    (aioice.ice.Connection, "get_component_candidates", "attr"),
    (aioice.ice.StunProtocol, "local_candidate", "annotation"),
    (aioice.ice.CandidatePair, "remote_addr", "attr"),
    (aioice.ice.CandidatePair, "protocol", "init"),
    (aioice.turn, "UDP_SOCKET_BUFFER_SIZE", "module"),
)


def missing_private_names() -> list[str]:
    """The private aiortc/aioice names this module relies on that the installed versions lack."""
    missing = []
    for owner, name, how in _PRIVATE_NAMES:
        if how in ("attr", "module"):
            found = hasattr(owner, name)
        elif how == "annotation":
            found = name in getattr(owner, "__annotations__", {})
        else:
            found = name in owner.__init__.__code__.co_names
        if not found:
            missing.append(f"{getattr(owner, '__qualname__', owner.__name__)}.{name}")
    return missing


_missing = missing_private_names()
if _missing:
    raise ImportError(
        "The installed aiortc/aioice lack internals the SFU relies on: "
        + ", ".join(_missing)
        + ". Install the versions pinned in pyproject.toml."
    )


class NoMediaPort(OSError):
    """Every UDP port of the configured media range is taken."""


def transport_of(pc: RTCPeerConnection) -> RTCDtlsTransport:
    """The one DTLS transport all of `pc`'s transceivers share (the SFU always bundles)."""
    transports = {t.receiver.transport for t in pc.getTransceivers()}
    if len(transports) != 1:
        raise RuntimeError(f"expected one bundled transport, found {len(transports)}")
    return transports.pop()


def bind_candidates(pc: RTCPeerConnection, public_ip: str, ports: range | None) -> None:
    """Make `pc` gather a single host candidate: `public_ip`, on a port from `ports` (any when None).

    The socket binds `public_ip` itself when this host has that address, else every address (a
    1:1 NAT, as on most clouds, where the public address belongs to the NAT)."""
    gatherer = transport_of(pc).transport.iceGatherer
    connection = gatherer._connection
    connection.get_component_candidates = functools.partial(  # type: ignore[method-assign]
        _host_candidates, connection, public_ip, ports
    )


async def _host_candidates(
    connection: aioice.ice.Connection,
    public_ip: str,
    ports: range | None,
    component: int,
    addresses: Sequence[str],
    timeout: int = 5,
) -> list[Candidate]:
    loop = asyncio.get_running_loop()
    transport, protocol = await _bind(loop, connection, public_ip, ports)
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, aioice.turn.UDP_SOCKET_BUFFER_SIZE)
    port = transport.get_extra_info("sockname")[1]
    candidate = Candidate(
        foundation=candidate_foundation("host", "udp", public_ip),
        component=component,
        transport="udp",
        priority=candidate_priority(component, "host"),
        host=public_ip,
        port=port,
        type="host",
    )
    protocol.local_candidate = candidate
    connection._protocols.append(protocol)
    return [candidate]


async def _bind(
    loop: asyncio.AbstractEventLoop,
    connection: aioice.ice.Connection,
    public_ip: str,
    ports: range | None,
) -> tuple[asyncio.DatagramTransport, aioice.ice.StunProtocol]:
    wildcard = "::" if ipaddress.ip_address(public_ip).version == 6 else "0.0.0.0"
    if ports is None:
        order = [0]
    else:
        # A random start spreads connections over the range instead of probing from its bottom each time.
        start = random.randrange(len(ports))
        order = [ports[(start + i) % len(ports)] for i in range(len(ports))]
    for host in (public_ip, wildcard):
        for port in order:
            try:
                transport, protocol = await loop.create_datagram_endpoint(
                    lambda: aioice.ice.StunProtocol(connection), local_addr=(host, port)
                )
            except OSError as exc:
                if exc.errno == errno.EADDRNOTAVAIL:
                    break
                if exc.errno == errno.EADDRINUSE:
                    continue
                raise
            return transport, protocol
    raise NoMediaPort(errno.EADDRINUSE, f"no free UDP port for media in {ports}")


def on_rtp(pc: RTCPeerConnection, handler: Callable[[bytes, int], None]) -> None:
    """Give every decrypted RTP packet `pc` receives to `handler(packet, arrival_ms)`, and nothing to
    aiortc's receivers (which would depacketize and decode)."""
    dtls = transport_of(pc)

    async def handle_rtp_data(data: bytes, arrival_time_ms: int) -> None:
        handler(data, arrival_time_ms)

    dtls._handle_rtp_data = handle_rtp_data  # type: ignore[method-assign]
    for transceiver in pc.getTransceivers():
        silence_receiver(transceiver.receiver)


def silence_receiver(receiver: RTCRtpReceiver) -> None:
    """Keep aiortc from starting a receiver's decoder thread and RTCP task: the SFU reports upstream
    itself, and never decodes."""

    async def receive(parameters: Any) -> None:
        return None

    receiver.receive = receive  # type: ignore[method-assign]


class Link:
    """The fast send path of one connection: SRTP-protect with its session, `sendto` on its nominated
    ICE pair. Open it once the connection is up; until then (and after it closes) sends are dropped."""

    __slots__ = ("_dtls", "_sendto", "_addr", "_protect", "_protect_rtcp", "sent_packets")

    def __init__(self, pc: RTCPeerConnection) -> None:
        self._dtls = transport_of(pc)
        self._sendto: Callable[[bytes, Any], None] | None = None
        self._addr: tuple[str, int] = ("", 0)
        self._protect: Callable[[bytes], bytes] = bytes
        self._protect_rtcp: Callable[[bytes], bytes] = bytes
        self.sent_packets = 0

    @property
    def is_open(self) -> bool:
        return self._sendto is not None

    def open(self) -> bool:
        session = self._dtls._tx_srtp
        pair = self._dtls.transport.iceGatherer._connection._nominated.get(1)
        if session is None or pair is None:
            return False
        self._protect = session.protect
        self._protect_rtcp = session.protect_rtcp
        self._addr = pair.remote_addr
        self._sendto = pair.protocol.transport.sendto
        return True

    def close(self) -> None:
        self._sendto = None

    def send_rtp(self, packet: bytes) -> None:
        sendto = self._sendto
        if sendto is None:
            return
        try:
            sendto(self._protect(packet), self._addr)
        except (pylibsrtp.Error, OSError):
            return
        self.sent_packets += 1

    def send_rtcp(self, packet: bytes) -> None:
        sendto = self._sendto
        if sendto is None:
            return
        try:
            sendto(self._protect_rtcp(packet), self._addr)
        except (pylibsrtp.Error, OSError):
            return


def sender_ssrc(sender: RTCRtpSender) -> int:
    return sender._ssrc


def set_stream_id(sender: RTCRtpSender, stream_id: str) -> None:
    """The `a=msid` stream id of the sender's section in the next offer."""
    sender._stream_id = stream_id


@dataclass(frozen=True, slots=True)
class SenderReport:
    """What an RTCP sender report says about a forwarded stream."""

    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int


def take_over_sender(
    sender: RTCRtpSender,
    on_rtcp: Callable[[AnyRtcpPacket], None],
    report: Callable[[], SenderReport | None],
) -> None:
    """Route the RTCP a subscriber sends about this sender's SSRC to `on_rtcp`, and make the sender's
    periodic reports describe what the forwarder sent (aiortc would describe what it encoded: nothing).
    Call before the connection starts the sender."""

    async def handle_rtcp_packet(packet: AnyRtcpPacket) -> None:
        on_rtcp(packet)

    sender._handle_rtcp_packet = handle_rtcp_packet  # type: ignore[method-assign]
    sender._run_rtcp = functools.partial(_run_sender_rtcp, sender, report)  # type: ignore[method-assign]


async def _run_sender_rtcp(sender: RTCRtpSender, report: Callable[[], SenderReport | None]) -> None:
    started: asyncio.Event = sender._RTCRtpSender__rtcp_started  # type: ignore[attr-defined]
    exited: asyncio.Event = sender._RTCRtpSender__rtcp_exited  # type: ignore[attr-defined]
    send: Callable[[list[AnyRtcpPacket]], Awaitable[None]] = sender._send_rtcp
    started.set()
    try:
        while True:
            # RFC 3550 §6.2: vary the interval over [0.5, 1.5] times the nominal one.
            await asyncio.sleep(0.5 + random.random())
            current = report()
            if current is None:
                continue
            packets: list[AnyRtcpPacket] = [
                RtcpSrPacket(
                    ssrc=sender._ssrc,
                    sender_info=RtcpSenderInfo(
                        ntp_timestamp=current.ntp_timestamp,
                        rtp_timestamp=current.rtp_timestamp,
                        packet_count=current.packet_count & 0xFFFFFFFF,
                        octet_count=current.octet_count & 0xFFFFFFFF,
                    ),
                )
            ]
            cname: str | None = sender._RTCRtpSender__cname  # type: ignore[attr-defined]
            if cname is not None:
                source = RtcpSourceInfo(ssrc=sender._ssrc, items=[(1, cname.encode("utf8"))])
                packets.append(RtcpSdesPacket(chunks=[source]))
            await send(packets)
    except asyncio.CancelledError:
        pass
    await send([RtcpByePacket(sources=[sender._ssrc])])
    exited.set()
