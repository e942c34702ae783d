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

from terminal.browser_key import keep_browser_key
from terminal.commands import handle_line
from terminal.keyboard import Keyboard
from terminal.link import MeetingLink
from terminal.session import EXIT_INTERRUPTED, EXIT_USAGE, ChatClient


def run(url: str, name: str, passcode: str | None = None, accept_guidelines: bool = False) -> int:
    """Join the meeting at `url` as a text-only participant; return the process exit code.

    `accept_guidelines` accepts the group's guidelines without asking (for scripts).
    """
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
        client = ChatClient(link, name, passcode, browser_key.value, accept_guidelines)
        return await client.main(Keyboard(), functools.partial(handle_line, client))

    try:
        return asyncio.run(session())
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
