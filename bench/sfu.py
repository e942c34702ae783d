"""The SFU's cost: server CPU per forwarded video stream, beside a bare forwarder as the floor.

    .venv/bin/python -m bench.sfu             # 0, 1, 8, 16 and 32 subscribers, 3 runs
    .venv/bin/python -m bench.sfu --quick     # 0, 1 and 4 subscribers, one short run

One publisher sends 640×480 VP8 at ~0.8 Mbit/s, about 94 packets/s (a panning texture with a patch of
noise, so the encoder spends its bitrate like a real picture; encoded by aiortc's VP8 encoder in this
process before the measurements, then played in a loop, so a busy machine cannot slow the source).
Its packets reach two servers at once, each a process of its own whose CPU time is read from /proc:

- `sfu`: an `SfuRoom` (signaling/sfu) with the publisher and N subscribers as aiortc peers, over ICE,
  DTLS and SRTP like browsers;
- `floor`: a bare asyncio UDP forwarder written for this benchmark: SRTP-decrypt each packet once,
  then for each subscriber rewrite SSRC, sequence number and timestamp, encrypt with that
  subscriber's key and `sendto`. No ICE, no DTLS, no RTCP, no parsing beyond the header. The least a
  forwarder in Python can do, and the limit to chase.

The same packets, at the same moment, go to both (this process copies what the publisher encrypts for
the SFU, encrypted again with the floor's key). Subscribers count what they receive; the SFU's also send
receiver reports and bitrate estimates, as browsers do. Runs on loopback (inside `unshare -n` if wanted).

Per level N, over a window of `--window-s`: each server's CPU (% of one core), that divided by N (the
cost per forwarded stream, everything included), and the marginal cost ((cpu(N) − cpu(0)) / N). Then
the SFU holds the video back with the N subscribers still connected: what the connections cost on
their own (ICE consent checks, RTCP), apart from forwarding. Each bench subscriber receives one
stream; in a room each member's connection carries everyone's. The largest all-video room one core
carries under 70 % follows: P members cost P·(cpu(0) + connection) + P·(P − 1)·forwarding.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import functools
import json
import os
import random
import signal
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Coroutine
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aioice.ice
import av
import pylibsrtp
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)

from signaling.sfu import SdpMessage, SfuConfig, SfuRoom, rtp
from signaling.sfu import aiortc_hooks as hooks

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
BITRATE_BPS = 800_000
KEY_BYTES = 44  # AEAD_AES_256_GCM: 32 bytes of key, 12 of salt (what aiortc peers negotiate)
ROOM_BUDGET = 70.0


def srtp_session(key: bytes, outbound: bool) -> pylibsrtp.Session:
    policy = pylibsrtp.Policy(
        key=key,
        ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND if outbound else pylibsrtp.Policy.SSRC_ANY_INBOUND,
        srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
    )
    policy.allow_repeat_tx = True
    policy.window_size = 1024
    return pylibsrtp.Session(policy)


def schedstat(pid: int) -> tuple[int, int]:
    """CPU time (user + system, all threads) a process has used, in ns, and how many times it was
    put on a CPU (its wake-ups, near enough): the scheduler's own counts."""
    total = runs = 0
    for task in os.scandir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError), open(f"{task.path}/schedstat") as f:
            fields = f.read().split()
            total += int(fields[0])
            runs += int(fields[2])
    return total, runs


def cpu_ns(pid: int) -> int:
    return schedstat(pid)[0]


# -- the two servers, each in a process of its own ---------------------------------------------------


class Control:
    """Newline-delimited JSON over TCP between this benchmark and a server process."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, message: dict[str, Any]) -> None:
        self.writer.write(json.dumps(message).encode() + b"\n")
        await self.writer.drain()

    async def receive(self) -> dict[str, Any] | None:
        line = await self.reader.readline()
        return json.loads(line) if line else None


async def serve_sfu(port: int, max_bitrate: int) -> None:
    """An SfuRoom, driven over the control connection."""
    done = asyncio.Event()

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        control = Control(reader, writer)

        async def send(message: SdpMessage) -> None:
            await control.send({"op": "sdp", **asdict(message)})

        config = SfuConfig(media_public_ip=HOST, max_video_bitrate_bps=max_bitrate)
        room = SfuRoom("bench", config, send=send)
        while (message := await control.receive()) is not None:
            op = message.pop("op")
            if op == "join":
                await room.join(message["participant"])
            elif op == "description":
                await room.description(**message)
            elif op == "forwarding":
                room.set_forwarding(message["participant"], message["kind"], message["enabled"])
        await room.close()
        done.set()

    server = await asyncio.start_server(session, HOST, port)
    async with server:
        await done.wait()


class FloorForwarder(asyncio.DatagramProtocol):
    """The floor: decrypt once, then rewrite, encrypt and send per subscriber."""

    def __init__(self, ingress_key: bytes) -> None:
        self.ingress = srtp_session(ingress_key, outbound=False)
        self.subscribers: list[tuple[Any, tuple[str, int], int, int, int]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            plain = self.ingress.unprotect(data)
        except pylibsrtp.Error:
            return
        seq, ts = struct.unpack_from("!HI", plain, 2)
        packet = bytearray(plain)
        sendto = self.transport.sendto  # type: ignore[union-attr]
        for protect, address, ssrc, seq_offset, ts_offset in self.subscribers:
            struct.pack_into(
                "!HII", packet, 2, (seq + seq_offset) & 0xFFFF, (ts + ts_offset) & 0xFFFFFFFF, ssrc
            )
            sendto(protect(bytes(packet)), address)


async def serve_floor(port: int) -> None:
    done = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        control = Control(reader, writer)
        forwarder: FloorForwarder | None = None
        transport = None
        while (message := await control.receive()) is not None:
            if message["op"] == "ingress":
                forwarder = FloorForwarder(bytes.fromhex(message["key"]))
                transport, _ = await loop.create_datagram_endpoint(
                    functools.partial(lambda made: made, forwarder), local_addr=(HOST, 0)
                )
                await control.send({"op": "ingress", "port": transport.get_extra_info("sockname")[1]})
            elif message["op"] == "subscriber" and forwarder is not None:
                session = srtp_session(bytes.fromhex(message["key"]), outbound=True)
                forwarder.subscribers.append(
                    (
                        session.protect,
                        (HOST, message["port"]),
                        random.getrandbits(32),
                        random.getrandbits(16),
                        random.getrandbits(32),
                    )
                )
        if transport is not None:
            transport.close()
        done.set()

    server = await asyncio.start_server(session, HOST, port)
    async with server:
        await done.wait()


# -- this process: the publisher and the subscribers -------------------------------------------------


def peer_connection() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


class SfuSubscriber:
    """A browser receiving the publisher through the SFU: counts packets, sends receiver reports and a
    bitrate estimate once a second, decodes nothing."""

    def __init__(self, name: str, control: Control) -> None:
        self.name = name
        self.control = control
        self.pc: RTCPeerConnection | None = None
        self.link: hooks.Link | None = None
        self.packets = 0
        self.highest = 0
        self.ssrc: int | None = None
        self.reports: asyncio.Task[None] | None = None

    def on_rtp(self, data: bytes) -> None:
        self.packets += 1
        self.ssrc = struct.unpack_from("!I", data, 8)[0]
        self.highest = struct.unpack_from("!H", data, 2)[0]

    async def offer(self, sdp: str) -> None:
        if self.pc is None:
            self.pc = peer_connection()
        pc = self.pc
        await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        for transceiver in pc.getTransceivers():
            hooks.silence_receiver(transceiver.receiver)
        if self.link is None:
            # The SFU's own short cut for incoming media serves here too: counting is all this does.
            hooks.bind_candidates(pc, HOST, None, on_rtp=self.on_rtp)
            self.link = hooks.Link(pc)
            self.reports = asyncio.create_task(self.report())
        await pc.setLocalDescription(await pc.createAnswer())
        await self.control.send(
            {
                "op": "description",
                "participant": self.name,
                "pc": "subscribe",
                "type": "answer",
                "sdp": pc.localDescription.sdp,
            }
        )

    async def report(self) -> None:
        from aiortc.rtp import RtcpReceiverInfo

        me = random.getrandbits(32)
        while True:
            await asyncio.sleep(0.5 + random.random())
            link = self.link
            if link is None or self.ssrc is None:
                continue
            if not link.is_open and not link.open():
                continue
            info = RtcpReceiverInfo(self.ssrc, 0, 0, self.highest, 0, 0, 0)
            link.send_rtcp(rtp.receiver_report(me, [info]) + rtp.remb(me, 2_000_000, [self.ssrc]))

    async def close(self) -> None:
        if self.reports is not None:
            self.reports.cancel()
        if self.pc is not None:
            await self.pc.close()


class FloorSubscriber(asyncio.DatagramProtocol):
    def __init__(self, key: bytes) -> None:
        self.session = srtp_session(key, outbound=False)
        self.packets = 0

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        with contextlib.suppress(pylibsrtp.Error):
            self.session.unprotect(data)
            self.packets += 1


def encode_camera(seconds: int, keyframe_every_s: float) -> list[bytes]:
    """`seconds` of the synthetic 640×480 camera at 30 frames/s, encoded by aiortc's VP8 encoder at
    the benchmark's bitrate: one encoded frame each, a keyframe every `keyframe_every_s`."""
    from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload

    from harness.media import SyntheticVideo

    camera = SyntheticVideo(640, 480, 30)
    encoder = Vp8Encoder()
    encoder.target_bitrate = BITRATE_BPS
    every = round(keyframe_every_s * 30)
    frames = []
    for index in range(seconds * 30):
        payloads, _ = encoder.encode(camera.frame(index), force_keyframe=index % every == 0)
        frames.append(b"".join(vp8_depayload(payload) for payload in payloads))
    return frames


class EncodedCamera(MediaStreamTrack):
    """Plays encoded frames in a loop, 30 a second: the publisher spends nothing on encoding while
    the servers are measured, so the packet rate holds however busy the machine is."""

    kind = "video"

    def __init__(self, frames: list[bytes]) -> None:
        super().__init__()
        self._frames = frames
        self._start: float | None = None
        self._count = 0

    async def recv(self) -> av.Packet:
        if self._start is None:
            self._start = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self._start + self._count / 30 - time.monotonic()))
        packet = av.Packet(self._frames[self._count % len(self._frames)])
        packet.pts = self._count * 3000
        packet.time_base = fractions.Fraction(1, 90000)
        self._count += 1
        return packet


class Publisher:
    """640×480 VP8 to the SFU; every RTP packet copied to the floor as well."""

    def __init__(self, control: Control, floor_port: int, floor_key: bytes, frames: list[bytes]) -> None:
        self.control = control
        self.track = EncodedCamera(frames)
        self.pc = peer_connection()
        self.floor = srtp_session(floor_key, outbound=True)
        self.floor_address = (HOST, floor_port)
        self.udp: asyncio.DatagramTransport | None = None
        self.packets = 0
        self.octets = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.udp, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=(HOST, 0))
        self.pc.addTransceiver(self.track, direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        dtls = hooks.transport_of(self.pc)
        send_rtp = dtls._send_rtp

        # The video itself, not its retransmissions: the floor repairs nothing.
        media_ssrc = struct.pack("!I", hooks.sender_ssrc(self.pc.getTransceivers()[0].sender))

        async def send_and_copy(data: bytes) -> None:
            if data[8:12] == media_ssrc and not rtp_is_rtcp(data) and self.udp is not None:
                self.packets += 1
                self.octets += len(data)
                self.udp.sendto(self.floor.protect(data), self.floor_address)
            await send_rtp(data)

        dtls._send_rtp = send_and_copy  # type: ignore[method-assign]
        await self.control.send({"op": "join", "participant": "publisher"})
        await self.control.send(
            {
                "op": "description",
                "participant": "publisher",
                "pc": "publish",
                "type": "offer",
                "sdp": self.pc.localDescription.sdp,
            }
        )

    async def answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))

    async def close(self) -> None:
        await self.pc.close()
        if self.udp is not None:
            self.udp.close()


def rtp_is_rtcp(data: bytes) -> bool:
    return len(data) >= 2 and 192 <= data[1] <= 208


@dataclass
class Level:
    subscribers: int
    held: bool
    """The publisher's video was held back by the SFU: its connections stayed up, nothing was
    forwarded (what connections cost on their own: ICE consent, RTCP)."""
    window_s: float
    sfu_cpu_pct: float
    floor_cpu_pct: float
    sent_pps: float
    sent_kbps: float
    sfu_delivered: float
    """Share of the packets sent that each SFU subscriber received (the lowest)."""
    floor_delivered: float
    sfu_wakeups_per_s: float
    """How often the SFU's process was put on a CPU: unlike CPU time, a count that other work on
    the machine does not move, and each wake-up of an idle event loop costs more than a packet."""
    floor_wakeups_per_s: float
    other_load_cores: float
    """Cores busy with anything but the two servers and this process during the window."""


class Bench:
    def __init__(self, args: argparse.Namespace, frames: list[bytes]) -> None:
        self.args = args
        self.frames = frames
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.sfu_subscribers: list[SfuSubscriber] = []
        self.floor_subscribers: list[FloorSubscriber] = []
        self.floor_transports: list[asyncio.DatagramTransport] = []

    async def start(self) -> None:
        for name in ("sfu", "floor"):
            port = free_port()
            argv = [sys.executable, "-m", "bench.sfu", f"--serve-{name}", str(port)]
            argv += ["--max-bitrate", str(BITRATE_BPS), "--loop", self.args.loop]
            if name == "sfu" and self.args.profile:
                argv += ["--profile", self.args.profile]
            self.procs[name] = subprocess.Popen(argv, cwd=REPO)
            setattr(self, f"{name}_control", await connect(port))
        floor_key = os.urandom(KEY_BYTES)
        await self.floor_control.send({"op": "ingress", "key": floor_key.hex()})
        reply = await self.floor_control.receive()
        assert reply is not None
        self.publisher = Publisher(self.sfu_control, reply["port"], floor_key, self.frames)
        self.router = asyncio.create_task(self.route())
        await self.publisher.start()

    async def route(self) -> None:
        while (message := await self.sfu_control.receive()) is not None:
            if message["op"] == "sdp":
                if message["pc"] == "publish":
                    await self.publisher.answer(message["sdp"])
                else:
                    subscriber = next(s for s in self.sfu_subscribers if s.name == message["participant"])
                    await subscriber.offer(message["sdp"])

    async def add_subscribers(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        while len(self.sfu_subscribers) < count:
            name = f"sub-{len(self.sfu_subscribers)}"
            self.sfu_subscribers.append(SfuSubscriber(name, self.sfu_control))
            await self.sfu_control.send({"op": "join", "participant": name})
            key = os.urandom(KEY_BYTES)
            transport, protocol = await loop.create_datagram_endpoint(
                lambda key=key: FloorSubscriber(key),
                local_addr=(HOST, 0),  # type: ignore[misc]
            )
            self.floor_subscribers.append(protocol)
            self.floor_transports.append(transport)
            port = transport.get_extra_info("sockname")[1]
            await self.floor_control.send({"op": "subscriber", "key": key.hex(), "port": port})
        deadline = time.monotonic() + 30
        while any(s.packets == 0 for s in self.sfu_subscribers):
            if time.monotonic() > deadline:
                raise RuntimeError("a subscriber of the SFU received nothing within 30 s")
            await asyncio.sleep(0.1)

    async def measure(self, subscribers: int, held: bool = False) -> Level:
        await self.add_subscribers(subscribers)
        if held:
            message = {"op": "forwarding", "participant": "publisher", "kind": "video", "enabled": False}
            await self.sfu_control.send(message)
        await asyncio.sleep(self.args.settle_s)
        sfu_pid, floor_pid = self.procs["sfu"].pid, self.procs["floor"].pid
        mine = os.getpid()
        received = [s.packets for s in self.sfu_subscribers]
        floor_received = [s.packets for s in self.floor_subscribers]
        sent, octets = self.publisher.packets, self.publisher.octets
        start = time.monotonic()
        runs = [schedstat(sfu_pid)[1], schedstat(floor_pid)[1]]
        cpu = [cpu_ns(sfu_pid), cpu_ns(floor_pid), cpu_ns(mine), machine_busy_ns()]
        await asyncio.sleep(self.args.window_s)
        cpu_end = [cpu_ns(sfu_pid), cpu_ns(floor_pid), cpu_ns(mine), machine_busy_ns()]
        runs_end = [schedstat(sfu_pid)[1], schedstat(floor_pid)[1]]
        elapsed = time.monotonic() - start
        sent = self.publisher.packets - sent
        octets = self.publisher.octets - octets
        used = [(b - a) / 1e9 for a, b in zip(cpu, cpu_end, strict=True)]

        def delivered(before: list[int], subs: list[Any]) -> float:
            if not subs or not sent:
                return 1.0
            return min((s.packets - b) / sent for s, b in zip(subs, before, strict=True))

        return Level(
            subscribers=subscribers,
            held=held,
            window_s=round(elapsed, 2),
            sfu_cpu_pct=used[0] / elapsed * 100,
            floor_cpu_pct=used[1] / elapsed * 100,
            sent_pps=sent / elapsed,
            sent_kbps=octets * 8 / elapsed / 1000,
            sfu_delivered=delivered(received, self.sfu_subscribers),
            floor_delivered=delivered(floor_received, self.floor_subscribers),
            sfu_wakeups_per_s=(runs_end[0] - runs[0]) / elapsed,
            floor_wakeups_per_s=(runs_end[1] - runs[1]) / elapsed,
            other_load_cores=max(0.0, (used[3] - used[0] - used[1] - used[2]) / elapsed),
        )

    async def stop(self) -> None:
        self.router.cancel()
        for subscriber in self.sfu_subscribers:
            await subscriber.close()
        for transport in self.floor_transports:
            transport.close()
        await self.publisher.close()
        for name in ("sfu", "floor"):
            control: Control = getattr(self, f"{name}_control")
            control.writer.close()
            with contextlib.suppress(OSError):
                await control.writer.wait_closed()
        for name, proc in self.procs.items():
            try:
                await asyncio.to_thread(proc.wait, 30)
            except subprocess.TimeoutExpired:
                print(f"the {name} process did not stop within 30 s: killed", file=sys.stderr)
                proc.send_signal(signal.SIGKILL)
                proc.wait()


def machine_busy_ns() -> int:
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


async def connect(port: int) -> Control:
    deadline = time.monotonic() + 20
    while True:
        try:
            return Control(*await asyncio.open_connection(HOST, port))
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def run_once(args: argparse.Namespace, frames: list[bytes]) -> list[Level]:
    bench = Bench(args, frames)
    await bench.start()
    levels = []
    try:
        await asyncio.sleep(args.settle_s)
        plan = [(count, False) for count in args.levels]
        if args.levels[-1] > 0:
            plan.append((args.levels[-1], True))
        for count, held in plan:
            level = await bench.measure(count, held)
            levels.append(level)
            delivered = f"delivered sfu {level.sfu_delivered:.0%} floor {level.floor_delivered:.0%}"
            print(
                f"  {count:3d} subscribers{' (held)' if held else ''}: sfu {level.sfu_cpu_pct:6.2f} %"
                f"  floor {level.floor_cpu_pct:6.2f} %"
                f"  ({level.sent_pps:.0f} packets/s, {level.sent_kbps:.0f} kbit/s in, {delivered},"
                f" wake-ups/s sfu {level.sfu_wakeups_per_s:.0f} floor {level.floor_wakeups_per_s:.0f},"
                f" other load {level.other_load_cores:.2f} cores)",
                flush=True,
            )
    finally:
        await bench.stop()
    return levels


def summarise(runs: list[list[Level]]) -> dict[str, Any]:
    by_level: dict[int, list[Level]] = {}
    held: dict[int, list[Level]] = {}
    for run in runs:
        for level in run:
            (held if level.held else by_level).setdefault(level.subscribers, []).append(level)
    sfu = {n: statistics.median(lv.sfu_cpu_pct for lv in levels) for n, levels in by_level.items()}
    floor = {n: statistics.median(lv.floor_cpu_pct for lv in levels) for n, levels in by_level.items()}
    wakeups = {n: statistics.median(lv.sfu_wakeups_per_s for lv in levels) for n, levels in by_level.items()}
    rows = []
    for n in sorted(by_level):
        if n == 0:
            continue
        row: dict[str, Any] = {"subscribers": n, "sfu_cpu_pct": sfu[n], "floor_cpu_pct": floor[n]}
        row["sfu_wakeups_per_s"] = wakeups[n]
        row["floor_wakeups_per_s"] = statistics.median(lv.floor_wakeups_per_s for lv in by_level[n])
        row["sfu_per_stream_pct"] = sfu[n] / n
        row["floor_per_stream_pct"] = floor[n] / n
        row["ratio_per_stream"] = row["sfu_per_stream_pct"] / row["floor_per_stream_pct"]
        if 0 in sfu:
            row["sfu_marginal_pct"] = (sfu[n] - sfu[0]) / n
            row["floor_marginal_pct"] = (floor[n] - floor[0]) / n
            row["ratio_marginal"] = row["sfu_marginal_pct"] / row["floor_marginal_pct"]
        rows.append(row)
    summary: dict[str, Any] = {"rows": rows, "sfu_cpu_pct_no_subscriber": sfu.get(0)}
    if 0 in sfu and rows and rows[-1]["subscribers"] in held:
        n = rows[-1]["subscribers"]
        idle = statistics.median(lv.sfu_cpu_pct for lv in held[n])
        connection = (idle - sfu[0]) / n
        forward = (sfu[n] - idle) / n
        summary["held_subscribers"] = n
        summary["sfu_cpu_pct_held"] = idle
        held_wakeups = statistics.median(lv.sfu_wakeups_per_s for lv in held[n])
        summary["sfu_connection_wakeups_per_s"] = (held_wakeups - wakeups[0]) / n
        summary["sfu_connection_pct"] = connection
        summary["sfu_forward_pct"] = forward
        summary["ratio_forward"] = forward / rows[-1]["floor_marginal_pct"]
        # P members on video: P publish connections (with their ingest), P subscribe connections,
        # P·(P − 1) forwarded streams.
        members = 1
        while (members + 1) * (sfu[0] + connection) + (members + 1) * members * forward <= ROOM_BUDGET:
            members += 1
        summary["largest_video_room_under_70pct"] = members
    return summary


def report(summary: dict[str, Any]) -> None:
    print()
    print(
        "subscribers  SFU %core  floor %core   wake-ups/s SFU / floor"
        "   per stream: SFU / floor        marginal: SFU / floor"
    )
    for row in summary["rows"]:
        per_stream = f"{row['sfu_per_stream_pct']:.3f} / {row['floor_per_stream_pct']:.3f}"
        line = f"{row['subscribers']:11d}  {row['sfu_cpu_pct']:9.2f}  {row['floor_cpu_pct']:11.2f}   "
        line += f"{row['sfu_wakeups_per_s']:10.0f} / {row['floor_wakeups_per_s']:<5.0f}   "
        line += f"{per_stream} ({row['ratio_per_stream']:.2f}x)"
        if "sfu_marginal_pct" in row:
            marginal = f"{row['sfu_marginal_pct']:.3f} / {row['floor_marginal_pct']:.3f}"
            line += f"   {marginal} ({row['ratio_marginal']:.2f}x)"
        print(line)
    alone = summary.get("sfu_cpu_pct_no_subscriber")
    if alone is not None:
        print(f"SFU with the publisher alone: {alone:.2f} % of a core")
    if "sfu_forward_pct" in summary:
        n = summary["held_subscribers"]
        print(
            f"with {n} subscribers and the video held back: {summary['sfu_cpu_pct_held']:.2f} %, so"
            f" {summary['sfu_connection_pct']:.3f} % per subscriber connection kept up and"
            f" {summary['sfu_forward_pct']:.3f} % per stream forwarded"
            f" ({summary['ratio_forward']:.2f}x the floor's marginal); each connection wakes the SFU"
            f" {summary['sfu_connection_wakeups_per_s']:.2f} times a second"
        )
    largest = summary.get("largest_video_room_under_70pct")
    if largest is not None:
        print(f"largest all-video room one core carries under 70 %: {largest} members")


async def main_async(args: argparse.Namespace) -> int:
    # The peers of this process gather on loopback, like the SFU (aioice skips 127.0.0.1 by default).
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [HOST]  # type: ignore[assignment]
    print("encoding the camera's loop", flush=True)
    frames = encode_camera(10, keyframe_every_s=3.0)
    runs = []
    for i in range(args.repeat):
        print(f"run {i + 1} of {args.repeat} (both servers on {args.loop})", flush=True)
        runs.append(await run_once(args, frames))
    summary = summarise(runs)
    report(summary)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"runs": [[asdict(lv) for lv in run] for run in runs], "summary": summary}, indent=2)
    )
    print(f"written to {out}")
    return 0


def run_server(loop: str, main: Coroutine[Any, Any, None]) -> None:
    if loop == "uvloop":
        import uvloop

        uvloop.run(main)
    else:
        asyncio.run(main)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sfu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--window-s", type=float, default=10.0)
    parser.add_argument("--settle-s", type=float, default=3.0)
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[0, 1, 8, 16, 32])
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "sfu-latest.json"))
    parser.add_argument("--profile", help="run the SFU under cProfile and write its statistics here")
    parser.add_argument("--serve-sfu", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="the event loop of both servers (uvloop: what `python -m server` runs on)",
    )
    parser.add_argument("--max-bitrate", type=int, default=BITRATE_BPS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sfu:
        if args.profile:
            import cProfile

            with cProfile.Profile() as profiler:
                run_server(args.loop, serve_sfu(args.serve_sfu, args.max_bitrate))
            profiler.dump_stats(args.profile)
        else:
            run_server(args.loop, serve_sfu(args.serve_sfu, args.max_bitrate))
        return 0
    if args.serve_floor:
        run_server(args.loop, serve_floor(args.serve_floor))
        return 0
    if args.quick:
        args.repeat, args.window_s, args.settle_s, args.levels = 1, 3.0, 2.0, [0, 1, 4]
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
