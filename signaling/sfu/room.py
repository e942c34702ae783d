"""One room's media on the server: who publishes what, who receives what, and what is held back.

`SfuRoom` knows nothing of socket.io: what it must tell a member goes out through the `send`
callable it is given, and who is speaking through `on_speaking`. All of a room's media runs on the
event loop the room was created on.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from signaling.sfu import aiortc_hooks as hooks
from signaling.sfu.config import SfuConfig
from signaling.sfu.errors import SfuError
from signaling.sfu.forwarder import Source
from signaling.sfu.publisher import Publisher
from signaling.sfu.rtp import ntp_now
from signaling.sfu.speaking import SpeakingDetector
from signaling.sfu.subscriber import Subscriber

log = logging.getLogger("circle.sfu")

PcName = Literal["publish", "subscribe"]
Kind = Literal["audio", "video"]
KINDS: tuple[Kind, ...] = ("audio", "video")
# How often the room's clock ticks: speaking is re-checked (for members whose audio stopped arriving
# altogether) and, when due, every member gets its RTCP reports. One timer per room, not one per
# connection: each wake-up of an idle event loop costs more than the reports themselves.
TICK_S = 0.25


@dataclass(frozen=True, slots=True)
class SdpMessage:
    """A session description the server sends one member, on one of its two connections: on the wire,
    `signal {from: "sfu", pc, description: {type, sdp}}`."""

    participant: str
    pc: PcName
    type: Literal["offer", "answer"]
    sdp: str
    fresh: bool = False
    """The first description of a new connection: the member closes the peer connection it had for
    `pc` (if any) and takes this one on a new one (on the wire, `restart: true`)."""


@dataclass(frozen=True, slots=True)
class SfuStats:
    participants: int
    connections: int
    """Peer connections open (publish and subscribe)."""
    sources: int
    """Tracks received from publishers."""
    forwarded: int
    """Streams being forwarded (one per track per subscriber)."""
    retransmitted: int
    """Packets the SFU sent subscribers again from its own history (their NACKs)."""
    repaired_upstream: int
    """Retransmissions received from publishers (the SFU's NACKs)."""
    keyframe_requests: int
    """Keyframe requests sent to publishers."""


SendSdp = Callable[[SdpMessage], Awaitable[None]]
SpeakingChanged = Callable[[str, bool], Awaitable[None] | None]
ConnectionChanged = Callable[[str, PcName, str], Awaitable[None] | None]


class _Member:
    def __init__(self, publisher: Publisher, subscriber: Subscriber) -> None:
        self.publisher = publisher
        self.subscriber = subscriber
        self.held: set[str] = set()


class SfuRoom:
    """The selective forwarding unit of one room.

    - `send(SdpMessage)`: deliver a description to a member (awaited; errors are logged). A `fresh`
      one belongs on a new peer connection.
    - `on_speaking(participant, speaking)`: a member started or stopped speaking (from the audio level
      of their packets; a held-back member is never speaking).
    - `on_connection(participant, pc, state)`: one of a member's connections changed state
      (`connecting`, `connected`, `failed`, `closed`); after `failed` or `closed`, `reset` starts it
      over.
    Those two may be plain functions or coroutines.
    """

    def __init__(
        self,
        room_id: str,
        config: SfuConfig,
        *,
        send: SendSdp,
        on_speaking: SpeakingChanged | None = None,
        on_connection: ConnectionChanged | None = None,
    ) -> None:
        self.room_id = room_id
        self._config = config
        self._send = send
        self._on_speaking = on_speaking
        self._on_connection = on_connection
        self._members: dict[str, _Member] = {}
        self._speaking = SpeakingDetector(config.speaking, self._speaking_changed)
        self._ticker: asyncio.Task[None] | None = None
        # One round of consent checks for every connection of the room, not a timer each.
        self._consent = hooks.ConsentRounds()
        self._callbacks: set[asyncio.Task[None]] = set()
        self.closed = False

    @property
    def participants(self) -> frozenset[str]:
        return frozenset(self._members)

    # -- members ---------------------------------------------------------------------------------

    async def join(self, participant: str) -> None:
        """Take `participant` into the room's media: they get the server's offer of everyone else's
        tracks (on `subscribe`) as soon as there are any. Joining again is harmless."""
        self._member(participant)

    async def remove(self, participant: str) -> None:
        """Take `participant` out: their tracks stop reaching the others (who get a new offer) and
        both their connections are closed. Removing someone absent is harmless."""
        member = self._members.pop(participant, None)
        if member is None:
            return
        self._speaking.forget(participant)
        await member.publisher.close()
        self._replan()
        await member.subscriber.close()
        if not self._members:
            await self._stop_ticker()

    async def close(self) -> None:
        """End the room's media: every connection, transport and task is freed."""
        self.closed = True
        for participant in list(self._members):
            await self.remove(participant)
        await self._stop_ticker()
        callbacks, self._callbacks = self._callbacks, set()
        for task in callbacks:
            task.cancel()
        for task in callbacks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- signalling ------------------------------------------------------------------------------

    async def description(self, participant: str, pc: PcName, type: str, sdp: str) -> None:
        """A description from `participant`: an offer on `publish` (answered through `send`), or an
        answer on `subscribe` to the server's last offer. Raises `SfuError` (`bad_request`) for
        anything else, for SDP the server cannot use, and for codecs other than Opus and VP8."""
        if pc == "publish":
            if type != "offer":
                raise SfuError("bad_request", "On the publish connection you offer and the server answers.")
            answer, fresh = await self._member(participant).publisher.offer(sdp)
            await self._deliver(SdpMessage(participant, "publish", "answer", answer, fresh))
        elif pc == "subscribe":
            if type != "answer":
                raise SfuError("bad_request", "On the subscribe connection the server offers and you answer.")
            joined = self._members.get(participant)
            if joined is None:
                raise SfuError("bad_request", "There is no offer from the server to answer.")
            await joined.subscriber.answer(sdp)
        else:
            raise SfuError("bad_request", 'The connection must be "publish" or "subscribe".')

    async def candidate(self, participant: str, pc: PcName, candidate: str) -> None:
        """An ICE candidate `participant` trickled for one of its connections (an empty one ends
        them). Candidates with mDNS names are ignored: the server learns those addresses from the
        member's own checks."""
        member = self._members.get(participant)
        if member is None:
            raise SfuError("bad_request", "Send your offer before your candidates.")
        if pc == "publish":
            await member.publisher.candidate(candidate)
        elif pc == "subscribe":
            await member.subscriber.candidate(candidate)
        else:
            raise SfuError("bad_request", 'The connection must be "publish" or "subscribe".')

    async def reset(self, participant: str, pc: PcName) -> None:
        """Start one of `participant`'s connections over, as after `on_connection` said it failed
        (aiortc cannot restart ICE): `subscribe` is offered afresh at once; on `publish`, the member's
        tracks stop reaching the others until it offers again."""
        member = self._members.get(participant)
        if member is None:
            raise SfuError("bad_request", "You are not in this meeting's media.")
        if pc == "subscribe":
            old, member.subscriber = member.subscriber, self._new_subscriber(participant)
            await old.close()
            self._replan()
        elif pc == "publish":
            await member.publisher.reset()
        else:
            raise SfuError("bad_request", 'The connection must be "publish" or "subscribe".')

    # -- what is forwarded -----------------------------------------------------------------------

    def set_forwarding(self, participant: str, kind: Kind, enabled: bool) -> None:
        """Forward (True) or hold back (False) `participant`'s `kind` tracks: held back, nothing of
        them reaches anyone, whatever the member's own client does; forwarding resumes from the next
        keyframe. Holds for tracks the member publishes later too, until turned on again."""
        member = self._member(participant)
        if enabled:
            member.held.discard(kind)
        else:
            member.held.add(kind)
        for source in member.publisher.sources.values():
            if source.kind == kind:
                source.set_enabled(enabled)

    def is_forwarding(self, participant: str, kind: Kind) -> bool:
        member = self._members.get(participant)
        return member is not None and kind not in member.held

    def is_speaking(self, participant: str) -> bool:
        return self._speaking.is_speaking(participant)

    def stats(self) -> SfuStats:
        connections = sources = forwarded = retransmitted = repaired = keyframes = 0
        for member in self._members.values():
            connections += member.publisher.pc is not None
            connections += member.subscriber.pc is not None
            forwarded += sum(1 for s in member.subscriber.slots if s.output.live)
            for source in member.publisher.sources.values():
                sources += 1
                retransmitted += source.retransmitted
                repaired += source.repaired
                keyframes += source.keyframes.sent if source.keyframes is not None else 0
        return SfuStats(
            len(self._members), connections, sources, forwarded, retransmitted, repaired, keyframes
        )

    # -- inside ----------------------------------------------------------------------------------

    def _member(self, participant: str) -> _Member:
        if self.closed:
            raise SfuError("bad_request", "This meeting's media has ended.")
        existing = self._members.get(participant)
        if existing is not None:
            return existing
        publisher = Publisher(
            participant,
            self._config,
            on_tracks=lambda: self._tracks_changed(participant),
            on_level=self._level,
            on_state=lambda state: self._connection_changed(participant, "publish", state),
            consent=self._consent,
        )
        member = self._members[participant] = _Member(publisher, self._new_subscriber(participant))
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick())
        self._replan()
        return member

    def _new_subscriber(self, participant: str) -> Subscriber:
        return Subscriber(
            participant,
            self._config,
            send_offer=lambda sdp, fresh: self._deliver(
                SdpMessage(participant, "subscribe", "offer", sdp, fresh)
            ),
            on_state=lambda state: self._connection_changed(participant, "subscribe", state),
            consent=self._consent,
        )

    def _tracks_changed(self, participant: str) -> None:
        member = self._members.get(participant)
        if member is None:
            return
        for source in member.publisher.sources.values():
            source.set_enabled(source.kind not in member.held)
        self._replan()

    def _replan(self) -> None:
        """Give every member exactly everyone else's tracks."""
        every: list[Source] = []
        for member in self._members.values():
            tracks = member.publisher.sources.values()
            every += sorted(tracks, key=lambda s: KINDS.index(s.kind) if s.kind in KINDS else len(KINDS))
        for participant, member in self._members.items():
            member.subscriber.want([s for s in every if s.publisher != participant])

    def _level(self, participant: str, level: int, now_s: float) -> None:
        self._speaking.level(participant, level, now_s)

    def _speaking_changed(self, participant: str, speaking: bool) -> None:
        if self._on_speaking is not None:
            self._call(self._on_speaking(participant, speaking))

    def _connection_changed(self, participant: str, pc: PcName, state: str) -> None:
        if self._on_connection is not None:
            self._call(self._on_connection(participant, pc, state))

    def _call(self, result: Awaitable[None] | None) -> None:
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._callbacks.add(task)
            task.add_done_callback(self._callback_done)

    def _callback_done(self, task: asyncio.Task[None]) -> None:
        self._callbacks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("an SFU callback failed in room %s", self.room_id, exc_info=task.exception())

    async def _deliver(self, message: SdpMessage) -> None:
        try:
            await self._send(message)
        except Exception:
            log.exception("could not deliver an SFU %s to %s", message.type, message.participant)

    async def _tick(self) -> None:
        interval = self._config.report_interval_s
        next_report = time.monotonic() + interval * random.random()
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            self._speaking.tick(now)
            if now >= next_report:
                # RFC 3550 §6.2: the interval varies over [0.5, 1.5] times the nominal one.
                next_report = now + interval * (0.5 + random.random())
                ntp = ntp_now()
                for member in self._members.values():
                    member.publisher.report()
                    member.subscriber.report(now, ntp)

    async def _stop_ticker(self) -> None:
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
