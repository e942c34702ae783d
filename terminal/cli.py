"""`circle chat URL --name NAME`: take part in a meeting by text, from a terminal.

The terminal client joins as a text-only participant, prints the people present, the chat and who
comes, goes, raises a hand or speaks, and sends what is typed. The session lives in
`terminal.session`, what typed lines do in `terminal.commands`, and how the room reads as text in
`terminal.view`.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
import threading

from terminal.browser_key import keep_browser_key
from terminal.commands import handle_line
from terminal.session import EXIT_INTERRUPTED, EXIT_USAGE, ChatClient, MeetingLink


def _read_stdin(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    # A thread, because a blocking read of a terminal or pipe works everywhere the same way.
    for line in sys.stdin:
        loop.call_soon_threadsafe(lines.put_nowait, line)
    loop.call_soon_threadsafe(lines.put_nowait, None)


def run(url: str, name: str, passcode: str | None = None) -> int:
    """Join the meeting at `url` as a text-only participant; return the process exit code."""
    try:
        link = MeetingLink.parse(url)
    except ValueError as exc:
        print(f"circle chat: {exc}", file=sys.stderr)
        return EXIT_USAGE
    name = name.strip()
    if not name:
        print("circle chat: --name must not be empty", file=sys.stderr)
        return EXIT_USAGE
    browser_key = keep_browser_key(os.environ)
    if browser_key.problem:
        print(f"circle chat: {browser_key.problem}; this run uses a key of its own.", file=sys.stderr)

    async def session() -> int:
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        threading.Thread(target=_read_stdin, args=(loop, lines), daemon=True).start()
        client = ChatClient(link, name, passcode, browser_key.value)
        return await client.main(lines, functools.partial(handle_line, client))

    try:
        return asyncio.run(session())
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
