"""Synthetic cameras and microphones for media tests and benchmarks: real frames that aiortc's
encoders turn into real VP8 and Opus, with no device and nothing read from disk."""

from __future__ import annotations

import asyncio
import fractions
import math
import os
import struct
import time

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av.frame import Frame

AUDIO_RATE = 48000
AUDIO_SAMPLES = 960


class SyntheticVideo(MediaStreamTrack):
    """A camera: `fps` frames a second of `width`×`height`: a textured scene panning sideways, with a
    patch of fresh noise in the middle, so the encoder spends the bitrate it is given (like a real
    picture) while most of each frame is predicted from the last."""

    kind = "video"

    def __init__(self, width: int = 160, height: int = 120, fps: int = 15) -> None:
        super().__init__()
        self._width, self._height, self._fps = width, height, fps
        canvas = bytearray()
        for _ in range(height // 8):
            row = b"".join(bytes([value]) * 8 for value in os.urandom(width * 2 // 8))
            canvas += row * 8
        self._canvas = bytes(canvas)
        self._patch = width // 6
        self._chroma = bytes([128]) * (width * height // 4)
        self._start: float | None = None
        self._count = 0
        self.sent = 0

    def frame(self, index: int) -> av.VideoFrame:
        """Picture number `index` of this camera."""
        frame = av.VideoFrame(width=self._width, height=self._height, format="yuv420p")
        frame.planes[0].update(self._luma(index))
        frame.planes[1].update(self._chroma)
        frame.planes[2].update(self._chroma)
        frame.pts = index * 90000 // self._fps
        frame.time_base = fractions.Fraction(1, 90000)
        return frame

    def _luma(self, index: int) -> bytes:
        width, height, patch = self._width, self._height, self._patch
        stride = width * 2
        x = (index * 4) % width
        rows = [self._canvas[r * stride + x : r * stride + x + width] for r in range(height // 8 * 8)]
        noise = os.urandom(patch * patch)
        top, left = (height - patch) // 2, (width - patch) // 2
        for i in range(patch):
            row = rows[top + i]
            rows[top + i] = row[:left] + noise[i * patch : (i + 1) * patch] + row[left + patch :]
        return b"".join(rows)

    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self._start + self._count / self._fps - time.monotonic()))
        frame = self.frame(self._count)
        self._count += 1
        self.sent += 1
        return frame


class SyntheticAudio(MediaStreamTrack):
    """A microphone: 20 ms frames of a 440 Hz tone (`loud`) or of silence."""

    kind = "audio"

    def __init__(self, loud: bool = False) -> None:
        super().__init__()
        self.loud = loud
        period = [int(8000 * math.sin(2 * math.pi * 440 * i / AUDIO_RATE)) for i in range(AUDIO_SAMPLES)]
        self._tone = struct.pack(f"<{AUDIO_SAMPLES}h", *period)
        self._silence = bytes(AUDIO_SAMPLES * 2)
        self._start: float | None = None
        self._count = 0

    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self._start + self._count * 0.02 - time.monotonic()))
        frame = av.AudioFrame(format="s16", layout="mono", samples=AUDIO_SAMPLES)
        frame.planes[0].update(self._tone if self.loud else self._silence)
        frame.pts = self._count * AUDIO_SAMPLES
        frame.sample_rate = AUDIO_RATE
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._count += 1
        return frame
