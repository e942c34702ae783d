"""Every number on the wire has a documented range, and no text field takes invalid Unicode."""

from __future__ import annotations

import types
from dataclasses import fields, is_dataclass
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest

from signaling import protocol as p
from signaling.protocol_doc import render


def is_number(kind: Any) -> bool:
    if get_origin(kind) in (Union, types.UnionType):
        return any(is_number(a) for a in get_args(kind))
    return kind is int


def with_nested(classes: list[type]) -> list[type]:
    """`classes` and every message class their fields hold, however deep."""
    found: list[type] = []
    todo = list(classes)
    while todo:
        cls = todo.pop()
        if cls in found:
            continue
        found.append(cls)
        for kind in get_type_hints(cls).values():
            for inner in (kind, *get_args(kind)):
                if isinstance(inner, type) and is_dataclass(inner):
                    todo.append(inner)
    return found


MESSAGES = with_nested(list(p.CLIENT_EVENTS.values()))


def number_fields() -> list[tuple[type, str]]:
    return [(cls, f.name) for cls in MESSAGES for f in fields(cls) if is_number(get_type_hints(cls)[f.name])]


@pytest.mark.parametrize(("cls", "name"), number_fields())
def test_every_number_field_declares_its_range(cls: type, name: str) -> None:
    meta = {f.name: f.metadata for f in fields(cls)}[name]
    assert "min_value" in meta and "max_value" in meta, f"{cls.__name__}.{name} has no range"
    assert meta["min_value"] <= meta["max_value"]


def test_the_generated_docs_give_each_range() -> None:
    doc = render()
    assert "| `limit_s` | integer or null | default `null` | seconds; from 1 to 3600 |" in doc
    assert "| `sdpMLineIndex` | integer or null | default `null` | from 0 to 65535 |" in doc


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("mod:next-speaker", {"limit_s": 10**18}),
        ("mod:next-speaker", {"limit_s": 0}),
        ("mod:next-speaker", {"limit_s": 3601}),
        ("signal", {"to": "b", "candidate": {"candidate": "", "sdpMLineIndex": -(10**20)}}),
        ("signal", {"to": "b", "candidate": {"candidate": "", "sdpMLineIndex": 65536}}),
    ],
)
def test_a_number_outside_its_range_is_a_bad_request(event: str, data: object) -> None:
    with pytest.raises(p.ProtocolError, match="must be from") as info:
        p.decode(event, data)
    assert info.value.code == "bad_request"


def test_numbers_at_the_ends_of_their_range_are_taken() -> None:
    assert p.decode("mod:next-speaker", {"limit_s": 1}).limit_s == 1
    assert p.decode("mod:next-speaker", {"limit_s": 3600}).limit_s == 3600
    signal = p.decode("signal", {"to": "b", "candidate": {"candidate": "", "sdpMLineIndex": 65535}})
    assert signal.candidate.sdpMLineIndex == 65535


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("join", {"room": "r", "name": "a\ud800b"}),
        ("join", {"room": "r\udc00", "name": "Sam"}),
        ("chat:send", {"text": "a\ud800b"}),
        ("signal", {"to": "b", "description": {"type": "offer", "sdp": "v=0\r\na\ud800b"}}),
        ("signal", {"to": "b", "candidate": {"candidate": "c\udfff"}}),
    ],
)
def test_a_lone_surrogate_in_any_text_is_a_bad_request(event: str, data: object) -> None:
    with pytest.raises(p.ProtocolError, match="not valid text") as info:
        p.decode(event, data)
    assert info.value.code == "bad_request"
