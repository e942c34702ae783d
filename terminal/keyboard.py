"""Lines typed at the terminal, read one at a time and only when asked for.

Nothing reads between two requests, so a passcode prompt (which reads the terminal itself, without
echo) never races a reader for the line typed into it.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import TextIO


class Keyboard:
    """The lines of `stream`, for an asyncio program."""

    def __init__(self, stream: TextIO = sys.stdin) -> None:
        self._stream = stream
        self._wanted = threading.Semaphore(0)
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._thread: threading.Thread | None = None
        self._ended = False

    async def next_line(self) -> str | None:
        """The next line typed, without its line ending; None once the input has ended."""
        if self._ended and self._lines.empty():
            return None
        if self._thread is None:
            # A thread, because a blocking read of a terminal or pipe works everywhere the same way;
            # a daemon, so that a read nobody waits for any more never holds up the exit.
            loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._read, args=(loop,), daemon=True)
            self._thread.start()
        self._wanted.release()
        line = await self._lines.get()
        if line is None:
            self._ended = True
        return line

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            self._wanted.acquire()
            line = self._stream.readline()
            loop.call_soon_threadsafe(self._lines.put_nowait, line.rstrip("\r\n") if line else None)
            if not line:
                return
