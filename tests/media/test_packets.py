"""The forwarder's pieces on their own, without a network: RTP parsing and rewriting, keyframe starts,
the history, keyframe requests, upstream loss tracking, and speaking."""

from __future__ import annotations

import asyncio
import struct
import time

from signaling.sfu import rtp
from signaling.sfu.forwarder import Output, Source
from signaling.sfu.keyframes import History, KeyframeRequester
from signaling.sfu.reception import Reception
from signaling.sfu.sdp import restrict_offer
from signaling.sfu.speaking import SpeakingDetector, SpeakingRule


def vp8(keyframe: bool, start: bool = True, picture_id: bool = True) -> bytes:
    descriptor = (
        bytes([0x90 if start else 0x80, 0x80, 0x81, 0x23]) if picture_id else bytes([0x10 if start else 0])
    )
    return descriptor + bytes([0x00 if keyframe else 0x01, 0x11, 0x22])


def packet(seq: int, ts: int = 1000, keyframe: bool = False, arrival_s: float = 0.0) -> rtp.Packet:
    return rtp.Packet(seq, ts, 0, 0, vp8(keyframe), keyframe, -1, arrival_s)


class Wire:
    """Where a subscriber's packets go: kept, to be looked at."""

    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def parts(self) -> tuple[object, object, tuple[str, int]]:
        return (lambda data, address: self.packets.append(data)), (lambda data: data), ("", 0)

    def headers(self) -> list[tuple[int, int, int, int, int]]:
        return [rtp.HEADER.unpack_from(p) for p in self.packets]


def test_vp8_keyframe_starts_are_told_from_other_packets() -> None:
    for picture_id in (True, False):
        assert rtp.vp8_keyframe_start(vp8(True, picture_id=picture_id), 7)
        assert not rtp.vp8_keyframe_start(vp8(False, picture_id=picture_id), 7)
        assert not rtp.vp8_keyframe_start(vp8(True, start=False, picture_id=picture_id), 7)
    assert not rtp.vp8_keyframe_start(b"", 0)


def test_header_extensions_are_read_in_both_header_forms() -> None:
    header = rtp.HEADER.pack(0x90, 96, 1, 2, 3)
    one_byte = struct.pack("!HH", 0xBEDE, 2) + bytes([0x40, ord("1"), 0x10, 0x85, 0, 0, 0, 0])
    found = rtp.Extensions()
    assert rtp.read_extensions(header + one_byte + b"payload", 4, 1, found)
    assert (found.mid, found.level, found.payload_offset) == (b"1", 0x85, 24)
    two_byte = struct.pack("!HH", 0x1000, 2) + bytes([4, 1, ord("7"), 1, 1, 0x30, 0, 0])
    assert rtp.read_extensions(header + two_byte + b"payload", 4, 1, found)
    assert (found.mid, found.level) == (b"7", 0x30)
    assert not rtp.read_extensions(header + struct.pack("!HH", 0xBEDE, 9), 4, 1, found)


def test_a_subscriber_stream_continues_its_own_numbering_across_a_change_of_source() -> None:
    wire = Wire()
    output = Output(ssrc=77)
    assert output.connect(wire)  # type: ignore[arg-type]
    output.configure(97, "3", 1, 3, "video")
    output.anchor(packet(5000, ts=10_000), 0.0, 90000)
    for seq in range(5000, 5003):
        output.send(
            packet(seq, ts=10_000 + (seq - 5000) * 3000, arrival_s=(seq - 5000) / 30), b"\x00\x00\x01"
        )
    # Another source, with numbering of its own, takes over the slot 1 s later.
    output.anchor(packet(60_000, ts=500), 1.0, 90000)
    output.send(packet(60_000, ts=500, arrival_s=1.0), b"\x00\x00\x02")
    output.send(packet(59_999, ts=400, arrival_s=1.0), b"\x00\x00\x02")  # from before the takeover: dropped

    headers = wire.headers()
    assert len(headers) == 4
    seqs = [h[2] for h in headers]
    assert [(b - a) & 0xFFFF for a, b in zip(seqs, seqs[1:], strict=False)] == [1, 1, 1]
    stamps = [h[3] for h in headers]
    assert stamps[1] - stamps[0] == 3000 and 90000 - 6000 - 1 <= stamps[3] - stamps[2] <= 90000
    assert {h[4] for h in headers} == {77} and {h[1] & 0x7F for h in headers} == {97}
    found = rtp.Extensions()
    assert rtp.read_extensions(wire.packets[0], 1, 0, found) and found.mid == b"3"
    assert wire.packets[0].endswith(vp8(False))


def test_one_nack_resends_at_most_the_configured_number_of_packets() -> None:
    source = Source(
        "ada",
        "video",
        "0",
        90000,
        96,
        97,
        history_packets=1024,
        replay_max_age_s=1.0,
        resend_max_packets=16,
        reception=Reception(90000, nack_interval_s=0.1, nack_tries=8),
        keyframes=None,
        on_level=None,
    )
    wire = Wire()
    output = Output(ssrc=5)
    assert output.connect(wire)  # type: ignore[arg-type]
    output.configure(97, "0", 1, 3, "video")
    source.attach(output)
    source.receive(packet(1000, keyframe=True, arrival_s=time.monotonic()))
    for seq in range(1001, 1300):
        source.receive(packet(seq, arrival_s=time.monotonic()))
    sent = len(wire.packets)
    assert sent == 300
    first_out = rtp.HEADER.unpack_from(wire.packets[0])[2]
    output.nack([(first_out + i) & 0xFFFF for i in range(300)] * 2)
    assert len(wire.packets) - sent == 16
    assert [rtp.HEADER.unpack_from(p)[2] for p in wire.packets[sent:]] == [
        (first_out + i) & 0xFFFF for i in range(16)
    ]


def test_the_history_replays_a_keyframe_whose_first_packet_came_late() -> None:
    history = History(64)
    for seq in (65534, 65535, 1, 2):  # 0 lost: the keyframe's start
        history.add(packet(seq))
    assert history.since_keyframe() is None
    history.add(packet(0, keyframe=True))  # its retransmission
    assert [p.seq for p in history.since_keyframe() or []] == [0, 1, 2]
    assert history.get(65535) is not None and history.get(65535 - 64) is None


async def test_keyframe_requests_are_merged_and_repeated_until_one_comes() -> None:
    sent: list[float] = []
    loop = asyncio.get_running_loop()
    requester = KeyframeRequester(lambda: sent.append(loop.time()), debounce_s=0.25, retry_s=0.2)
    for _ in range(16):
        requester.request()
    assert len(sent) == 1
    await asyncio.sleep(0.3)
    assert len(sent) == 2 and sent[1] - sent[0] >= 0.19
    requester.arrived()
    requester.request()
    assert len(sent) == 2, "within the debounce of the last request"
    await asyncio.sleep(0.25)
    assert len(sent) == 3 and sent[2] - sent[1] >= 0.24
    requester.cancel()


def test_upstream_losses_are_asked_for_at_once_then_again_until_given_up() -> None:
    reception = Reception(90000, nack_interval_s=0.1, nack_tries=2)
    assert reception.add(100, 0, 0.0) is None
    assert reception.add(101, 0, 0.01) is None
    assert reception.add(104, 0, 0.02) == [102, 103]
    assert reception.due(0.05) is None
    reception.repaired(102)
    assert reception.due(0.2) == [103]
    assert reception.due(0.4) is None
    report = reception.report(1234)
    assert report is not None and report.highest_sequence == 104 and report.packets_lost == 2


def test_speaking_starts_after_sustained_speech_and_ends_after_quiet() -> None:
    changes: list[tuple[str, bool]] = []
    detector = SpeakingDetector(
        SpeakingRule(threshold_dbov=-40, onset_s=0.1, gap_s=0.3, hold_s=0.5), lambda *c: changes.append(c)
    )
    detector.level("ada", 0x80 | 20, 0.00)
    detector.level("ada", 0x80 | 20, 0.05)
    assert changes == []
    detector.level("ada", 0x80 | 20, 0.12)
    assert changes == [("ada", True)]
    detector.level("ada", 127, 0.4)
    detector.tick(0.5)
    assert changes == [("ada", True)]
    detector.tick(0.7)
    assert changes == [("ada", True), ("ada", False)]
    detector.level("bo", 90, 1.0)
    detector.level("bo", 90, 2.0)
    assert changes[-1] == ("ada", False)


def test_offers_keep_only_opus_and_vp8_with_its_retransmissions() -> None:
    sdp = "\r\n".join(
        [
            "v=0",
            "o=- 1 1 IN IP4 0.0.0.0",
            "s=-",
            "t=0 0",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111 9 0",
            "a=mid:0",
            "a=rtpmap:111 opus/48000/2",
            "a=rtpmap:9 G722/8000",
            "a=rtpmap:0 PCMU/8000",
            "a=candidate:1 1 udp 2122260223 abcd.local 50000 typ host",
            "a=candidate:2 1 udp 2122260223 192.0.2.1 50000 typ host",
            "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99",
            "a=mid:1",
            "a=rtpmap:96 VP8/90000",
            "a=rtcp-fb:96 nack",
            "a=rtpmap:97 rtx/90000",
            "a=fmtp:97 apt=96",
            "a=rtpmap:98 H264/90000",
            "a=rtcp-fb:98 nack",
            "a=rtpmap:99 rtx/90000",
            "a=fmtp:99 apt=98",
            "",
        ]
    )
    filtered, description = restrict_offer(sdp)
    assert [[c.name for c in s.codecs] for s in description.sections] == [["OPUS"], ["VP8", "RTX"]]
    assert "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n" in filtered
    assert "H264" not in filtered and "apt=98" not in filtered and "a=rtcp-fb:98" not in filtered
    assert ".local" not in filtered and "192.0.2.1" in filtered
