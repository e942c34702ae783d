"""A bound on how fast log lines of one kind are written.

Bad input costs an attacker one frame and the server one log line; without a bound, a client sending
garbage as fast as it can would fill the disk and bury every other line. Each kind of line (a fixed
name chosen by the code, never text from a client) may be written `max_lines` times per `window_s`;
the lines held back are counted, and the count is told with the first line of that kind written after.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class _Window:
    started: float
    written: int = 0
    held_back: int = 0
    # Held back in the window before, told with this window's first line.
    untold: int = 0


class LogRate:
    """At most `max_lines` lines of each kind per `window_s` seconds (`clock`: monotonic seconds)."""

    def __init__(self, max_lines: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_lines = max_lines
        self._window_s = window_s
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    def admit(self, kind: str) -> int | None:
        """None if a line of `kind` must be held back now; else how many were held back before it."""
        now = self._clock()
        window = self._windows.get(kind)
        if window is None or now - window.started >= self._window_s:
            untold = window.held_back + window.untold if window is not None else 0
            window = self._windows[kind] = _Window(started=now, untold=untold)
        if window.written >= self._max_lines:
            window.held_back += 1
            return None
        window.written += 1
        told, window.untold = window.untold, 0
        return told

    def log(
        self, logger: logging.Logger, level: int, kind: str, message: str, *args: Any, **kwargs: Any
    ) -> None:
        """`logger.log(level, message, *args, **kwargs)`, unless lines of `kind` are over their rate."""
        if not logger.isEnabledFor(level):
            return
        held = self.admit(kind)
        if held is None:
            return
        if held:
            message = f"{message} (%d more like it held back)"
            args = (*args, held)
        logger.log(level, message, *args, **kwargs)


def unbounded() -> LogRate:
    """A LogRate that writes every line (where no setting applies, as in a unit test)."""
    return LogRate(max_lines=2**62, window_s=1.0)
