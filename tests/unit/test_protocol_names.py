"""The event names and error codes that clients take from `signaling.protocol` are the protocol's own:
those the server sends and answers with, and those docs/protocol.md documents."""

from __future__ import annotations

import re
from pathlib import Path

from signaling import protocol as p
from signaling.errors import CODES
from signaling.events import SERVER_EVENTS

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "protocol.md").read_text()


def test_every_server_event_has_a_name_and_every_name_is_an_event() -> None:
    assert sorted(e.value for e in p.ServerEvent) == sorted(SERVER_EVENTS)
    section = DOC.split("## Server → client events", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"(?m)^### `([a-z]+(?::[a-z-]+)?)`$", section)
    assert sorted(e.value for e in p.ServerEvent) == sorted(documented)


def test_error_codes_are_the_mapped_and_documented_ones_in_order() -> None:
    assert [e.value for e in p.ErrorCode] == list(CODES)
    section = DOC.split("## Error codes", 1)[1].split("\n## ", 1)[0]
    assert [e.value for e in p.ErrorCode] == re.findall(r"(?m)^\| `([a-z_]+)` \|", section)
