"""Decoding of every client event: shapes, types, unknown fields, lengths."""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, dataclass, field, fields, make_dataclass
from pathlib import Path
from typing import Any, get_type_hints

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
        ("mod:agenda", {"segments": {"kind": "round"}}, "must be a list"),
        ("mod:agenda", {"segments": [{"kind": "round", "title": "Check-in"}] * 51}, "too many items"),
        ("mod:agenda", {"segments": [{"kind": "round"}]}, "segments[0].title is required"),
        ("mod:agenda", {"segments": [{"kind": "dance", "title": "x"}]}, "segments[0].kind must be one of"),
        ("milestone:share", {"label": "x" * 41}, "too long"),
        ("concern:raise", {"text": "x" * 2001}, "too long"),
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


# -- the generated reference, read back as a client author reads it ---------------------------------


@dataclass(frozen=True)
class Documented:
    """One row of a field table in docs/protocol.md."""

    type: str
    required: bool
    default: Any
    doc: str
    min_len: int | None
    max_len: int | None


ROW = re.compile(r"^\| `(\w+)` \| (.+?) \| (required|default `(.*)`) \| (.*) \|$")
LIMITS = re.compile(r"(?:min (\d+))?(?:, )?(?:max (\d+))?")


def documented(text: str) -> tuple[dict[str, dict[str, Documented]], dict[str, dict[str, Documented]]]:
    """The client events and the nested values that `text` documents: for each, its fields."""
    events: dict[str, dict[str, Documented]] = {}
    nested: dict[str, dict[str, Documented]] = {}
    part: dict[str, dict[str, Documented]] | None = None
    table: dict[str, Documented] = {}
    for line in text.splitlines():
        if line.startswith("## "):
            part = {"## Client → server events": events, "## Nested values": nested}.get(line)
        elif line.startswith("### ") and part is not None:
            table = part[line[4:].strip("`")] = {}
        elif (row := ROW.match(line)) and part is not None:
            name, kind, requirement, default, note = row.groups()
            doc, _, limits = note.rpartition("; ") if "; " in note else ("", "", note)
            bounds = LIMITS.fullmatch(limits)
            if bounds is None:
                doc, bounds = note, LIMITS.fullmatch("")
            assert bounds is not None
            low, high = bounds.groups()
            table[name] = Documented(
                type=kind,
                required=requirement == "required",
                default=None if requirement == "required" else json.loads(default),
                doc=doc,
                min_len=int(low) if low else None,
                max_len=int(high) if high else None,
            )
    return events, nested


def committed_doc() -> str:
    return (ROOT / "docs" / "protocol.md").read_text()


EVENTS, NESTED = documented(committed_doc())


def decoder(name: str) -> Any:
    """What the server does with a payload documented under `name`."""
    if name in EVENTS:
        return lambda data: p.decode(name, data)
    return lambda data: p.decode_into(getattr(p, name), data)


def fields_of(name: str) -> dict[str, Documented]:
    return EVENTS[name] if name in EVENTS else NESTED[name]


def message_class(name: str) -> type:
    return p.CLIENT_EVENTS[name] if name in EVENTS else getattr(p, name)


def a_valid(row: Documented) -> Any:
    if row.type.startswith("string"):
        return "x" * max(1, row.min_len or 0)
    if row.type.startswith("boolean"):
        return True
    if row.type.startswith("integer"):
        return 3
    if row.type.startswith('"'):
        return json.loads(row.type.split(" \\| ")[0])
    if row.type.startswith("list of "):
        item = Documented(row.type.removeprefix("list of "), True, None, "", None, None)
        return [a_valid(item)]
    nested = row.type.removesuffix(" or null")
    return {k: a_valid(f) for k, f in NESTED[nested].items() if f.required}


def smallest_valid(name: str) -> dict[str, Any]:
    return {k: a_valid(f) for k, f in fields_of(name).items() if f.required}


def refusal(name: str, data: object) -> str:
    with pytest.raises(p.ProtocolError) as info:
        decoder(name)(data)
    assert info.value.code == "bad_request"
    return info.value.message


EVERY_FIELD = [(name, field) for name in (*EVENTS, *NESTED) for field in fields_of(name)]


def test_the_reference_documents_every_event_the_server_decodes_and_nothing_else() -> None:
    assert sorted(EVENTS) == sorted(p.CLIENT_EVENTS)
    for name in EVENTS:
        assert p.decode(name, smallest_valid(name)).event == name
    with pytest.raises(p.ProtocolError, match="Unknown event"):
        p.decode("not:documented", {})
    types = [fields_of(name)[key].type for name, key in EVERY_FIELD]
    referenced = {kind.removesuffix(" or null").removeprefix("list of ") for kind in types}
    assert {kind for kind in referenced if kind[0].isupper()} == set(NESTED)


@pytest.mark.parametrize("name", [*EVENTS, *NESTED])
def test_documented_fields_are_exactly_those_accepted_and_unknown_ones_are_refused(name: str) -> None:
    assert list(fields_of(name)) == [f.name for f in fields(message_class(name))]
    assert decoder(name)(smallest_valid(name)) is not None
    assert "Unknown field" in refusal(name, {**smallest_valid(name), "undocumented": 1})
    for key, row in fields_of(name).items():
        value = a_valid(row)
        got = getattr(decoder(name)({**smallest_valid(name), key: value}), key)
        got = list(got) if isinstance(got, tuple) else got
        assert got == value or (isinstance(value, dict | list) and got is not None), (name, key)


@pytest.mark.parametrize(("name", "field"), EVERY_FIELD)
def test_a_documented_requirement_or_default_is_what_the_decoder_applies(name: str, field: str) -> None:
    row = fields_of(name)[field]
    without = {k: v for k, v in smallest_valid(name).items() if k != field}
    if row.required:
        assert f"{field} is required" in refusal(name, without)
    else:
        assert getattr(decoder(name)(without), field) == row.default


@pytest.mark.parametrize(("name", "field"), EVERY_FIELD)
def test_a_documented_type_is_the_only_one_accepted(name: str, field: str) -> None:
    row = fields_of(name)[field]
    wrong: object
    if row.type.startswith("string"):
        wrong = 7
    elif row.type.startswith(("boolean", "integer")):
        wrong = "1"
    elif row.type.startswith('"'):
        for choice in row.type.removesuffix(" or null").split(" \\| "):
            decoder(name)({**smallest_valid(name), field: json.loads(choice)})
        wrong = "none of these"
    else:
        wrong = "not an object"
    assert refusal(name, {**smallest_valid(name), field: wrong})
    if row.type.endswith(" or null"):
        assert getattr(decoder(name)({**smallest_valid(name), field: None}), field) is None


@pytest.mark.parametrize(
    ("name", "field"), [(n, f) for n, f in EVERY_FIELD if fields_of(n)[f].type.startswith("string")]
)
def test_every_text_field_has_a_documented_length_and_the_decoder_holds_it(name: str, field: str) -> None:
    row = fields_of(name)[field]
    assert row.max_len is not None, f"{name}.{field} documents no maximum length"

    def send(length: int) -> Any:
        return decoder(name)({**smallest_valid(name), field: "x" * length})

    assert getattr(send(row.max_len), field) == "x" * row.max_len
    assert "too long" in refusal(name, {**smallest_valid(name), field: "x" * (row.max_len + 1)})
    if row.min_len:
        assert getattr(send(row.min_len), field) == "x" * row.min_len
        assert refusal(name, {**smallest_valid(name), field: "x" * (row.min_len - 1)})


def test_docs_protocol_md_matches_the_code() -> None:
    assert committed_doc() == render(), "docs/protocol.md is stale: run python -m signaling.protocol_doc"


def changed(cls: type, **replaced: Any) -> type:
    """`cls` as a new message class, each field in `replaced` swapped for (or added as) the one given."""
    hints = get_type_hints(cls)
    specs: list[tuple[str, Any, Any]] = []
    for f in fields(cls):
        kind, spec = replaced.pop(f.name, (hints[f.name], None))
        if spec is None:
            spec = (
                field(metadata=f.metadata)
                if f.default is MISSING
                else field(default=f.default, metadata=f.metadata)
            )
        specs.append((f.name, kind, spec))
    specs += [(name, kind, spec) for name, (kind, spec) in replaced.items()]
    namespace = {"event": cls.event, "__doc__": cls.__doc__}  # type: ignore[attr-defined]
    return make_dataclass(cls.__name__, specs, namespace=namespace, frozen=True)


def test_a_field_added_to_a_message_appears_in_the_rendered_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mood = p.optional(max_len=12, doc="how the sender feels")
    monkeypatch.setitem(p.CLIENT_EVENTS, "chat:send", changed(p.ChatSend, mood=(str | None, mood)))
    rendered = render()
    events, _ = documented(rendered)
    assert events["chat:send"]["mood"] == Documented(
        "string or null", False, None, "how the sender feels", None, 12
    )
    assert events["chat:send"]["text"] == EVENTS["chat:send"]["text"]
    assert rendered != committed_doc()


def test_a_changed_limit_appears_in_the_rendered_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    text = p.required(min_len=2, max_len=500, multiline=True)
    monkeypatch.setitem(p.CLIENT_EVENTS, "chat:send", changed(p.ChatSend, text=(str, text)))
    row = documented(render())[0]["chat:send"]["text"]
    assert (row.required, row.min_len, row.max_len) == (True, 2, 500)


def test_a_list_of_ids_is_a_list_of_short_text_and_nothing_else() -> None:
    msg = p.decode("mod:reorder-hands", {"order": ["b", "a"]})
    assert msg == p.ModReorderHands(order=("b", "a"))
    assert p.decode("mod:reorder-hands", {"order": []}).order == ()
    assert "must be a list" in rejected("mod:reorder-hands", {"order": "a,b"})
    assert "must be a list" in rejected("mod:reorder-hands", {"order": {"0": "a"}})
    assert "order[1] must be text" in rejected("mod:reorder-hands", {"order": ["a", 7]})
    assert "order[0] is too long" in rejected("mod:reorder-hands", {"order": ["x" * (p.ID_MAX + 1)]})
    assert "control characters" in rejected("mod:reorder-hands", {"order": ["a\x00"]})
    assert "order is required" in rejected("mod:reorder-hands", {})


def test_the_private_message_policy_is_one_of_three() -> None:
    for policy in ("everyone", "facilitators", "nobody"):
        assert p.decode("mod:private-chat", {"policy": policy}) == p.ModPrivateChat(policy)  # type: ignore[arg-type]
    assert "one of" in rejected("mod:private-chat", {"policy": "friends"})
    assert "policy is required" in rejected("mod:private-chat", {})
