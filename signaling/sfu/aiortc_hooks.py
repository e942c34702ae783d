"""Every use the SFU makes of aiortc's and aioice's private internals, and nothing else.

aiortc is built to decode what it receives and encode what it sends; an SFU must do neither. It still
needs aiortc for what it does well (SDP, ICE, DTLS, SRTP keys, RTCP routing), so it reaches in at a few
narrow points:

- candidates: each connection binds its one UDP socket on the configured address and port range,
  instead of aioice's every-interface, any-port default;
- ingress: that socket's protocol decrypts SRTP and SRTCP with the DTLS transport's own session and
  hands the packets straight to the SFU, without aioice's queue, aiortc's receive task, parsing and
  routing, or a coroutine per packet (STUN and DTLS still take aiortc's path);
- egress: packets for a subscriber are protected with the transport's own SRTP session (calling libsrtp
  through pylibsrtp's binding directly) and sent on the ICE pair aioice nominated;
- consent: the consent checks (RFC 7675) of a room's connections go out in shared rounds, instead
  of each connection's own timer waking the loop;
- senders and receivers: aiortc's own RTCP task of a forwarding sender stays idle (the SFU sends one
  report per subscriber for all its streams), a receiver never starts its decoder, and a forwarded
  section's stream id is the publisher's participant id.

aiortc, aioice and pylibsrtp are pinned exactly; `missing_private_names()` runs at import (and in the
tests) so an upgrade that renames one of these fails loudly at start-up instead of silently
mid-meeting.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import importlib
import ipaddress
import os
import random
import socket
from collections.abc import Callable, Sequence
from typing import Any

import aioice.ice
import aioice.stun
import aioice.turn
import pylibsrtp
from aioice.candidate import Candidate, candidate_foundation, candidate_priority
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcicetransport import RTCIceGatherer

# pylibsrtp's compiled cffi module (no type information).
_srtp_binding: Any = importlib.import_module("pylibsrtp._binding")

# (owner, name, how it is found): "attr" is looked up on the class, "init" is assigned in `__init__`
# (instance attributes only exist once an object is built, so their name is looked for in its code).
_PRIVATE_NAMES: tuple[tuple[Any, str, str], ...] = (
    (RTCDtlsTransport, "_rx_srtp", "init"),
    (RTCDtlsTransport, "_tx_srtp", "init"),
    (RTCIceGatherer, "_connection", "init"),
    (RTCRtpSender, "_ssrc", "init"),
    (RTCRtpSender, "_stream_id", "init"),
    (RTCRtpSender, "_run_rtcp", "attr"),
    (RTCRtpSender, "_RTCRtpSender__rtcp_started", "init"),
    (RTCRtpSender, "_RTCRtpSender__rtcp_exited", "init"),
    (RTCRtpReceiver, "receive", "attr"),
    (aioice.ice.Connection, "_nominated", "init"),
    (aioice.ice.Connection, "_protocols", "init"),
    (aioice.ice.Connection, "_query_consent_task", "init"),
    (aioice.ice.Connection, "query_consent", "attr"),
    (aioice.ice.Connection, "build_request", "attr"),
    (aioice.ice, "CONSENT_INTERVAL", "module"),
    (aioice.ice, "CONSENT_FAILURES", "module"),
    (aioice.ice.Connection, "get_component_candidates", "attr"),
    (aioice.ice.StunProtocol, "datagram_received", "attr"),
    (aioice.ice.StunProtocol, "local_candidate", "annotation"),
    (aioice.ice.CandidatePair, "remote_addr", "attr"),
    (aioice.ice.CandidatePair, "protocol", "init"),
    (aioice.turn, "UDP_SOCKET_BUFFER_SIZE", "module"),
    (pylibsrtp.Session, "_srtp", "init"),
    (pylibsrtp.Session, "_cdata", "init"),
    (pylibsrtp.Session, "_buffer", "init"),
    (pylibsrtp, "SRTP_MAX_TRAILER_LEN", "module"),
    (_srtp_binding, "ffi", "module"),
    (_srtp_binding, "lib", "module"),
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


_srtp_ffi = _srtp_binding.ffi
_srtp_lib = _srtp_binding.lib
_SRTP_TRAILER_BYTES: int = pylibsrtp.SRTP_MAX_TRAILER_LEN


class NoMediaPort(OSError):
    """Every UDP port of the configured media range is taken."""


def transport_of(pc: RTCPeerConnection) -> RTCDtlsTransport:
    """The one DTLS transport all of `pc`'s transceivers share (the SFU always bundles)."""
    transports = {t.receiver.transport for t in pc.getTransceivers()}
    if len(transports) != 1:
        raise RuntimeError(f"expected one bundled transport, found {len(transports)}")
    return transports.pop()


PacketHandler = Callable[[bytes], None]


def bind_candidates(
    pc: RTCPeerConnection,
    public_ip: str,
    ports: range | None,
    *,
    on_rtp: PacketHandler | None = None,
    on_rtcp: PacketHandler | None = None,
) -> None:
    """Make `pc` gather a single host candidate: `public_ip`, on a port from `ports` (any when None),
    and give the decrypted RTP (`on_rtp`) and RTCP (`on_rtcp`) packets it receives straight to the
    SFU; without a handler, that kind takes aiortc's own path.

    The socket binds `public_ip` itself when this host has that address, else every address (a
    1:1 NAT, as on most clouds, where the public address belongs to the NAT)."""
    dtls = transport_of(pc)
    connection = dtls.transport.iceGatherer._connection

    def protocol() -> aioice.ice.StunProtocol:
        return _MediaProtocol(connection, dtls, on_rtp, on_rtcp)

    connection.get_component_candidates = functools.partial(  # type: ignore[method-assign]
        _host_candidates, connection, protocol, public_ip, ports
    )


class _MediaProtocol(aioice.ice.StunProtocol):
    """aioice's socket protocol, with media taking a short cut once the SRTP keys exist."""

    def __init__(
        self,
        connection: aioice.ice.Connection,
        dtls: RTCDtlsTransport,
        on_rtp: PacketHandler | None,
        on_rtcp: PacketHandler | None,
    ) -> None:
        super().__init__(connection)
        self._dtls = dtls
        self._on_rtp = on_rtp
        self._on_rtcp = on_rtcp

    def datagram_received(self, data: bytes | str, addr: tuple[Any, ...]) -> None:
        # RFC 7983: a first byte of 128-191 is RTP or RTCP; RTCP packet types are 192-223.
        if isinstance(data, bytes) and len(data) > 1 and 127 < data[0] < 192:
            session = self._dtls._rx_srtp
            if session is not None:
                is_rtcp = 191 < data[1] < 224
                handler = self._on_rtcp if is_rtcp else self._on_rtp
                if handler is not None:
                    try:
                        plain = session.unprotect_rtcp(data) if is_rtcp else session.unprotect(data)
                    except pylibsrtp.Error:
                        return
                    handler(plain)
                    return
        super().datagram_received(data, addr)


async def _host_candidates(
    connection: aioice.ice.Connection,
    protocol: Callable[[], aioice.ice.StunProtocol],
    public_ip: str,
    ports: range | None,
    component: int,
    addresses: Sequence[str],
    timeout: int = 5,
) -> list[Candidate]:
    loop = asyncio.get_running_loop()
    transport, made = await _bind(loop, protocol, public_ip, ports)
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
    made.local_candidate = candidate
    connection._protocols.append(made)
    return [candidate]


async def _bind(
    loop: asyncio.AbstractEventLoop,
    protocol: Callable[[], aioice.ice.StunProtocol],
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
                return await loop.create_datagram_endpoint(protocol, local_addr=(host, port))
            except OSError as exc:
                if exc.errno == errno.EADDRNOTAVAIL:
                    break
                if exc.errno == errno.EADDRINUSE:
                    continue
                raise
    raise NoMediaPort(errno.EADDRINUSE, f"no free UDP port for media in {ports}")


class ConsentRounds:
    """When the next round of consent checks goes out, for every connection that shares it (a room's):
    a timer runs only while a connection waits."""

    def __init__(self) -> None:
        self._next: asyncio.Future[None] | None = None

    def next(self) -> asyncio.Future[None]:
        upcoming = self._next
        if upcoming is None or upcoming.done():
            loop = asyncio.get_running_loop()
            upcoming = self._next = loop.create_future()
            # aioice's own spacing: 0.8 to 1.2 times the interval.
            delay = aioice.ice.CONSENT_INTERVAL * (0.8 + 0.4 * random.random())
            loop.call_later(delay, _resolve, upcoming)
        return upcoming


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def pace_consent(pc: RTCPeerConnection, rounds: ConsentRounds) -> None:
    """Make `pc`'s consent checks (RFC 7675: one binding request every 4 to 6 s; 30 s without an
    answer closes the connection) go out in `rounds`, together with those of the other connections
    that share them. aioice gives each connection a timer of its own, and each of those wakes an
    idle event loop: with rounds, one wake-up sends them all. Call before the connection starts."""
    connection = transport_of(pc).transport.iceGatherer._connection
    connection.query_consent = functools.partial(  # type: ignore[method-assign]
        _paced_consent, connection, rounds
    )


async def _paced_consent(connection: aioice.ice.Connection, rounds: ConsentRounds) -> None:
    """aioice's `Connection.query_consent`, waiting for the shared round instead of sleeping."""
    assert connection.remote_password is not None
    failures = 0
    while True:
        # Shielded: the future is shared, and cancelling this task must not cancel it for all.
        await asyncio.shield(rounds.next())
        for pair in list(connection._nominated.values()):
            request = connection.build_request(pair, nominate=False)
            try:
                await pair.protocol.request(
                    request,
                    pair.remote_addr,
                    integrity_key=connection.remote_password.encode("utf8"),
                    retransmissions=0,
                )
                failures = 0
            except aioice.stun.TransactionError:
                failures += 1
            if failures >= aioice.ice.CONSENT_FAILURES:
                # Consent expired: close as aioice does (the task must not wait for itself).
                connection._query_consent_task = None
                await connection.close()
                return


def silence_receiver(receiver: RTCRtpReceiver) -> None:
    """Keep aiortc from starting a receiver's decoder thread and RTCP task: the SFU reports upstream
    itself, and never decodes."""

    async def receive(parameters: Any) -> None:
        return None

    receiver.receive = receive  # type: ignore[method-assign]


class Link:
    """The fast send path of one connection: SRTP-protect with its session, `sendto` on its nominated
    ICE pair. Open it once the connection is up; until then (and after it closes) sends are dropped."""

    __slots__ = ("_dtls", "_socket", "_sendto", "_addr", "_protect", "_protect_rtcp")

    def __init__(self, pc: RTCPeerConnection) -> None:
        self._dtls = transport_of(pc)
        self._socket: socket.socket | None = None
        self._sendto: Callable[..., Any] | None = None
        self._addr: tuple[str, int] = ("", 0)
        self._protect: Callable[[bytes], bytes] = bytes
        self._protect_rtcp: Callable[[bytes], bytes] = bytes

    @property
    def is_open(self) -> bool:
        return self._sendto is not None

    def open(self) -> bool:
        session = self._dtls._tx_srtp
        pair = self._dtls.transport.iceGatherer._connection._nominated.get(1)
        if session is None or pair is None:
            return False
        self.close()
        # A socket object of our own on the same socket: asyncio's `sendto` wrapper costs as much as
        # the system call on this path, and a datagram that finds the buffer full is dropped either
        # way (the subscriber's NACK repairs it).
        shared = pair.protocol.transport.get_extra_info("socket")
        own = socket.socket(shared.family, shared.type, fileno=os.dup(shared.fileno()))
        self._socket = own
        self._protect = _lean_protect(session)
        self._protect_rtcp = session.protect_rtcp
        self._addr = pair.remote_addr
        self._sendto = own.sendto
        return True

    def close(self) -> None:
        self._sendto = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def parts(self) -> tuple[Callable[..., Any], Callable[[bytes], bytes], tuple[str, int]] | None:
        """What sending one RTP packet takes: (sendto, protect, address); None while closed. For
        callers that send so many packets that a method call per packet shows."""
        if self._sendto is None:
            return None
        return self._sendto, self._protect, self._addr

    def send_rtcp(self, packet: bytes) -> None:
        sendto = self._sendto
        if sendto is None:
            return
        try:
            sendto(self._protect_rtcp(packet), self._addr)
        except (pylibsrtp.Error, OSError):
            return


def _lean_protect(session: pylibsrtp.Session) -> Callable[[bytes], bytes]:
    """`session.protect` without what pylibsrtp does around the C call on each packet (type checks,
    a fresh length cell): a third of the cost of protecting one packet."""
    srtp = session._srtp[0]
    cdata = session._cdata
    buffer = session._buffer
    room = len(cdata) - _SRTP_TRAILER_BYTES
    length = _srtp_ffi.new("int *")
    protect = _srtp_lib.srtp_protect

    def lean(packet: bytes) -> bytes:
        size = len(packet)
        if size > room:
            raise pylibsrtp.Error("packet is too long")
        length[0] = size
        buffer[0:size] = packet
        if protect(srtp, cdata, length):
            raise pylibsrtp.Error("protect failed")
        return buffer[0 : length[0]]  # type: ignore[no-any-return]

    return lean


def sender_ssrc(sender: RTCRtpSender) -> int:
    return sender._ssrc


def set_stream_id(sender: RTCRtpSender, stream_id: str) -> None:
    """The `a=msid` stream id of the sender's section in the next offer."""
    sender._stream_id = stream_id


def quiet_sender(sender: RTCRtpSender) -> None:
    """Keep a forwarding sender's own RTCP task idle: aiortc would report what it encoded (nothing),
    once a second per stream; the SFU reports what it forwarded, once per subscriber for all its
    streams. Call before the connection starts the sender."""
    sender._run_rtcp = functools.partial(_idle_rtcp, sender)  # type: ignore[method-assign]


async def _idle_rtcp(sender: RTCRtpSender) -> None:
    started: asyncio.Event = sender._RTCRtpSender__rtcp_started  # type: ignore[attr-defined]
    exited: asyncio.Event = sender._RTCRtpSender__rtcp_exited  # type: ignore[attr-defined]
    started.set()
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        pass
    exited.set()
