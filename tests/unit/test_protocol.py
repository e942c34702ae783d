"""Decoding of every client event: shapes, types, unknown fields, lengths."""

from __future__ import annotations

from pathlib import Path

import pytest

from signaling import protocol as p
from signaling.events import SERVER_EVENTS
from signaling.protocol_doc import render

ROOT = Path(__file__).resolve().parents[2]


def rejected(event: str, data: object) -> str:
    with pytest.raises(p.ProtocolError) as info:
        p.decode(event, data)
    assert info.value.code == "bad_request"
    return info.value.message


def test_join_decodes_into_a_typed_message_with_the_name_trimmed() -> None:
    msg = p.decode("join", {"room": "r1", "name": "  Sam ", "media": "text", "accept_guidelines": True})
    assert msg == p.Join(room="r1", name="Sam", media="text", accept_guidelines=True)


@pytest.mark.parametrize(
    ("event", "data", "why"),
    [
        ("nope", {}, "Unknown event"),
        ("join", {"room": "r", "name": "x", "extra": 1}, "Unknown field"),
        ("join", {"name": "x"}, "room is required"),
        ("join", {"room": "r", "name": "   "}, "must not be empty"),
        ("join", {"room": "r", "name": "x" * 41}, "too long"),
        ("join", {"room": "r", "name": "a\x07b"}, "control characters"),
        ("join", {"room": "r", "name": "x", "media": "hologram"}, "one of"),
        ("join", {"room": "r", "name": "x", "accept_guidelines": 1}, "true or false"),
        ("join", {"room": "r", "name": "x", "browser_key": "short"}, "too short"),
        ("join", ["r", "x"], "must be an object"),
        ("chat:send", {"text": "x" * 2001}, "too long"),
        ("chat:send", {"text": ""}, "must not be empty"),
        ("chat:send", {"text": 5}, "must be text"),
        ("media:state", {"audio": "yes"}, "true or false"),
        ("mod:next-speaker", {"limit_s": True}, "whole number"),
        ("signal", {"to": "x", "description": {"type": "bogus", "sdp": ""}}, "one of"),
        ("signal", {"to": "x", "candidate": {"candidate": "c", "evil": 1}}, "candidate.evil"),
        ("signal", {"to": "x", "description": "sdp"}, "must be an object"),
    ],
)
def test_bad_input_is_a_bad_request(event: str, data: object, why: str) -> None:
    assert why in rejected(event, data)


def test_chat_keeps_newlines_but_names_do_not() -> None:
    assert p.decode("chat:send", {"text": "line one\nline two"}).text == "line one\nline two"
    rejected("join", {"room": "r", "name": "a\nb"})


def test_events_without_fields_accept_nothing_or_an_empty_object() -> None:
    assert p.decode("leave", None) == p.Leave()
    assert p.decode("hand:raise", {}) == p.HandRaise()
    rejected("hand:raise", {"x": 1})


def test_a_signal_carries_sdp_and_candidates() -> None:
    msg = p.decode(
        "signal",
        {
            "to": "b",
            "candidate": {
                "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
            },
        },
    )
    assert msg.candidate.sdpMLineIndex == 0


def test_every_client_event_is_documented() -> None:
    doc = render()
    for name in p.CLIENT_EVENTS:
        assert f"### `{name}`" in doc
    for name in SERVER_EVENTS:
        assert f"### `{name}`" in doc


def test_docs_protocol_md_matches_the_code() -> None:
    written = (ROOT / "docs" / "protocol.md").read_text()
    assert written == render(), "docs/protocol.md is stale: run python -m signaling.protocol_doc"
