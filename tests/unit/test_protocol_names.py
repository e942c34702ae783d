"""The event names and error codes that clients take from `signaling.protocol` are the protocol's own."""

from __future__ import annotations

import re
from pathlib import Path

from signaling import protocol as p

ROOT = Path(__file__).resolve().parents[2]


# docs/protocol.md is generated from the protocol module and checked against it, so it stands for
# the protocol here, whichever way the module describes its events.
DOC = (ROOT / "docs" / "protocol.md").read_text()


def test_every_server_event_has_a_name_and_every_name_is_an_event() -> None:
    section = DOC.split("## Server → client events", 1)[1].split("\n## ", 1)[0]
    events = re.findall(r"(?m)^\| `([a-z]+(?::[a-z-]+)?)` \|", section)
    assert events
    assert sorted(e.value for e in p.ServerEvent) == sorted(events)


def test_error_codes_are_the_documented_ones_in_order() -> None:
    (line,) = re.findall(r"(?m)^Error codes: (.*)\.$", DOC)
    assert [e.value for e in p.ErrorCode] == re.findall(r"`([a-z_]+)`", line)
