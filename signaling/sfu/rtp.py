"""RTP as the forwarder sees it: the few header fields it reads and rewrites, VP8 keyframe starts, and
the RTCP feedback it sends upstream.

Written for speed rather than generality: a packet is parsed once when it arrives and rewritten once
per subscriber, so nothing here allocates more than the bytes it must produce.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator

from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    pack_remb_fci,
    unpack_remb_fci,
)

HEADER = struct.Struct("!BBHII")
SENDER_REPORT = struct.Struct("!BBHIQIII")
RTCP_HEADER = struct.Struct("!BBH")
TWO_SSRCS = struct.Struct("!II")
NACK_ITEM = struct.Struct("!HH")
RTCP_SR = 200
RTCP_SDES = 202
RTCP_RTPFB = 205
RTCP_PSFB = 206
FMT_NACK = 1
FMT_PLI = 1
FMT_FIR = 4
FMT_REMB = 15
EXTENSION_HEADER = struct.Struct("!HH")
ONE_BYTE_PROFILE = 0xBEDE
NTP_EPOCH_OFFSET_S = 2208988800


class Packet:
    """One media packet as it arrived (RTX already unwrapped), shared by every subscriber's rewrite."""

    __slots__ = (
        "seq",
        "timestamp",
        "marker",
        "padded",
        "payload",
        "keyframe",
        "level",
        "arrival_s",
    )

    def __init__(
        self,
        seq: int,
        timestamp: int,
        marker: int,
        padded: int,
        payload: bytes,
        keyframe: bool,
        level: int,
        arrival_s: float,
    ) -> None:
        self.seq = seq
        self.timestamp = timestamp
        self.marker = marker
        """0x80 when the marker bit is set, else 0 (ready to OR into the second header byte)."""
        self.padded = padded
        """0x20 when the payload ends with RTP padding, else 0 (ready to OR into the first byte)."""
        self.payload = payload
        """The payload as received, padding included."""
        self.keyframe = keyframe
        """This packet starts a VP8 keyframe."""
        self.level = level
        """The audio level byte (voice flag and -dBov), or -1 when the packet carries none."""
        self.arrival_s = arrival_s


class Extensions:
    """The header extensions read from one incoming packet."""

    __slots__ = ("mid", "level", "payload_offset")

    def __init__(self) -> None:
        self.mid: bytes | None = None
        self.level = -1
        self.payload_offset = 12


def read_extensions(data: bytes, mid_id: int, level_id: int, out: Extensions) -> bool:
    """Fill `out` from `data`'s header; False when the header is malformed."""
    first = data[0]
    offset = 12 + (first & 0x0F) * 4
    out.mid = None
    out.level = -1
    if first & 0x10:
        if len(data) < offset + 4:
            return False
        profile, words = EXTENSION_HEADER.unpack_from(data, offset)
        pos = offset + 4
        end = pos + words * 4
        if end > len(data):
            return False
        if profile == ONE_BYTE_PROFILE:
            while pos < end:
                byte = data[pos]
                if byte == 0:
                    pos += 1
                    continue
                ident = byte >> 4
                if ident == 15:
                    break
                size = (byte & 0x0F) + 1
                pos += 1
                if ident == mid_id:
                    out.mid = data[pos : pos + size]
                elif ident == level_id:
                    out.level = data[pos]
                pos += size
        elif profile & 0xFFF0 == 0x1000:
            while pos + 1 < end:
                ident = data[pos]
                if ident == 0:
                    pos += 1
                    continue
                size = data[pos + 1]
                pos += 2
                if ident == mid_id:
                    out.mid = data[pos : pos + size]
                elif ident == level_id and size:
                    out.level = data[pos]
                pos += size
        offset = end
    if offset > len(data):
        return False
    out.payload_offset = offset
    return True


def payload_offset(data: bytes) -> int:
    """Where the payload of `data` starts (past CSRCs and header extensions); -1 when malformed."""
    first = data[0]
    offset = 12 + (first & 0x0F) * 4
    if first & 0x10:
        if len(data) < offset + 4:
            return -1
        offset += 4 + EXTENSION_HEADER.unpack_from(data, offset)[1] * 4
    return offset if offset <= len(data) else -1


def padding_size(data: bytes) -> int:
    return data[-1] if data[0] & 0x20 else 0


def vp8_keyframe_start(payload: bytes, end: int) -> bool:
    """Whether a VP8 RTP payload (RFC 7741) begins a keyframe: the start of partition 0 whose frame
    header has the inter-frame bit clear."""
    if end < 1:
        return False
    first = payload[0]
    if not first & 0x10 or first & 0x07:
        return False
    pos = 1
    if first & 0x80:
        if end < 2:
            return False
        extended = payload[1]
        pos = 2
        if extended & 0x80:
            if end <= pos:
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if extended & 0x40:
            pos += 1
        if extended & 0x30:
            pos += 1
    return pos < end and not payload[pos] & 0x01


def seq_newer(a: int, b: int) -> bool:
    """Whether 16-bit sequence number `a` comes after `b`."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000


def ntp_now() -> int:
    """The current wall-clock time as a 64-bit NTP timestamp."""
    now = time.time() + NTP_EPOCH_OFFSET_S
    seconds = int(now)
    return (seconds << 32) | int((now - seconds) * (1 << 32))


def abs_send_time(ntp: int) -> bytes:
    """The 3-byte abs-send-time value (6.18 fixed-point seconds) for an NTP timestamp."""
    return ((ntp >> 14) & 0xFFFFFF).to_bytes(3, "big")


def extension_block(elements: list[tuple[int, int]]) -> tuple[bytes, bytes]:
    """The fixed parts of a one-byte-header extension block holding `elements` (id, size) in order:
    (the block header, the zero padding that ends it). Element headers are written by the caller."""
    length = sum(1 + size for _, size in elements)
    padded = (length + 3) // 4 * 4
    return EXTENSION_HEADER.pack(ONE_BYTE_PROFILE, padded // 4), bytes(padded - length)


def element_header(ident: int, size: int) -> bytes:
    return bytes(((ident << 4) | (size - 1),))


def nack(sender_ssrc: int, media_ssrc: int, lost: list[int]) -> bytes:
    packet = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=sender_ssrc, media_ssrc=media_ssrc)
    packet.lost = lost
    return bytes(packet)


def pli(sender_ssrc: int, media_ssrc: int) -> bytes:
    return bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=sender_ssrc, media_ssrc=media_ssrc))


def remb(sender_ssrc: int, bitrate: int, ssrcs: list[int]) -> bytes:
    return bytes(
        RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=sender_ssrc, media_ssrc=0, fci=pack_remb_fci(bitrate, ssrcs))
    )


def receiver_report(sender_ssrc: int, reports: list[RtcpReceiverInfo]) -> bytes:
    return bytes(RtcpRrPacket(ssrc=sender_ssrc, reports=reports))


def sender_report(ssrc: int, ntp: int, rtp_timestamp: int, packets: int, octets: int) -> bytes:
    """An RTCP sender report without report blocks (RFC 3550 §6.4.1)."""
    return SENDER_REPORT.pack(
        0x80, RTCP_SR, 6, ssrc, ntp, rtp_timestamp, packets & 0xFFFFFFFF, octets & 0xFFFFFFFF
    )


def source_description(cname: bytes, ssrcs: list[int]) -> bytes:
    """An RTCP SDES packet giving each of `ssrcs` the same CNAME (RFC 3550 §6.5)."""
    chunks = b""
    for ssrc in ssrcs[:31]:
        chunk = struct.pack("!IBB", ssrc, 1, len(cname)) + cname + b"\x00"
        chunks += chunk + bytes(-len(chunk) % 4)
    return RTCP_HEADER.pack(0x80 | len(ssrcs[:31]), RTCP_SDES, len(chunks) // 4) + chunks


def feedback(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    """The transport- and payload-specific feedback messages (RFC 4585) in a compound RTCP packet:
    (packet type, format, media SSRC, feedback control information). Everything else is skipped."""
    pos, end_of_data = 0, len(data)
    while pos + 4 <= end_of_data:
        first, packet_type, words = RTCP_HEADER.unpack_from(data, pos)
        end = pos + 4 + words * 4
        if end > end_of_data or first >> 6 != 2:
            return
        if packet_type in (RTCP_RTPFB, RTCP_PSFB) and words >= 2:
            media_ssrc = TWO_SSRCS.unpack_from(data, pos + 4)[1]
            yield packet_type, first & 0x1F, media_ssrc, data[pos + 12 : end]
        pos = end


def nack_sequence_numbers(fci: bytes) -> list[int]:
    """The sequence numbers a generic NACK (RFC 4585 §6.2.1) asks for."""
    lost = []
    for offset in range(0, len(fci) - 3, 4):
        pid, bitmask = NACK_ITEM.unpack_from(fci, offset)
        lost.append(pid)
        for bit in range(16):
            if bitmask >> bit & 1:
                lost.append((pid + bit + 1) & 0xFFFF)
    return lost


def fir_targets(fci: bytes) -> list[int]:
    """The SSRCs a full intra request (RFC 5104 §4.3.1) asks keyframes of."""
    return [struct.unpack_from("!I", fci, offset)[0] for offset in range(0, len(fci) - 7, 8)]


def remb_bitrate(fci: bytes) -> tuple[int, list[int]] | None:
    """A receiver-estimated maximum bitrate: (bits per second, the SSRCs it is for)."""
    try:
        return unpack_remb_fci(fci)
    except ValueError:
        return None
