"""Keyframes and repair for one forwarded video source.

- `History` keeps the source's last packets (about ten seconds of 640×480 video at 1,024): subscribers'
  NACKs are answered from it, and a subscriber waiting for a picture gets everything since the last
  keyframe replayed from it — including when that keyframe's first packet was lost upstream and only
  came back later as a retransmission, after the rest of the frame had gone by.
- `KeyframeRequester` turns many subscribers asking for a keyframe at once into one upstream request,
  and asks again if none comes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from signaling.sfu.rtp import Packet, seq_newer


class History:
    """The last `size` packets of one source, by sequence number."""

    __slots__ = ("_slots", "_size", "highest", "keyframe_seq")

    def __init__(self, size: int) -> None:
        self._size = size
        self._slots: list[Packet | None] = [None] * size
        self.highest: int | None = None
        self.keyframe_seq: int | None = None
        """Where the most recent keyframe starts."""

    def add(self, packet: Packet) -> None:
        seq = packet.seq
        self._slots[seq % self._size] = packet
        if self.highest is None or seq_newer(seq, self.highest):
            self.highest = seq
        if packet.keyframe and (self.keyframe_seq is None or seq_newer(seq, self.keyframe_seq)):
            self.keyframe_seq = seq

    def get(self, seq: int) -> Packet | None:
        packet = self._slots[seq % self._size]
        return packet if packet is not None and packet.seq == seq else None

    def since_keyframe(self) -> list[Packet] | None:
        """Every packet held from the last keyframe's start on, in order; None when the history no
        longer holds that start."""
        start, highest = self.keyframe_seq, self.highest
        if start is None or highest is None:
            return None
        count = ((highest - start) & 0xFFFF) + 1
        if count > self._size or self.get(start) is None:
            return None
        held = (self.get((start + i) & 0xFFFF) for i in range(count))
        return [packet for packet in held if packet is not None]

    def clear(self) -> None:
        self._slots = [None] * self._size
        self.highest = None
        self.keyframe_seq = None


class KeyframeRequester:
    """Sends a keyframe request upstream at most once per `debounce_s`, and again every `retry_s`
    until a keyframe arrives or nobody waits any more."""

    def __init__(self, send: Callable[[], None], debounce_s: float, retry_s: float) -> None:
        self._send = send
        self._debounce_s = debounce_s
        self._retry_s = retry_s
        self._last_sent: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.sent = 0

    @property
    def waiting(self) -> bool:
        return self._timer is not None

    def request(self) -> None:
        """Someone needs a keyframe."""
        if self._timer is not None:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._last_sent is not None and now - self._last_sent < self._debounce_s:
            self._timer = loop.call_at(self._last_sent + self._debounce_s, self._fire)
        else:
            self._fire()

    def arrived(self) -> None:
        """A keyframe came: stop asking."""
        self.cancel()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        loop = asyncio.get_running_loop()
        self._last_sent = loop.time()
        self.sent += 1
        self._timer = loop.call_later(self._retry_s, self._fire)
        self._send()
