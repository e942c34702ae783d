"""Generates docs/protocol.md from the message classes in `signaling.protocol` (client → server),
`signaling.events` and `signaling.views` (server → client), and the error codes of `signaling.errors`.

`python -m signaling.protocol_doc > docs/protocol.md`; a test fails when the file drifts from the code.
"""

from __future__ import annotations

import json
import types
from dataclasses import MISSING, fields
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from signaling import events as ev
from signaling import protocol as p
from signaling import views
from signaling.errors import CODES

HEADER = (
    f"""# Circle protocol v{p.PROTOCOL_VERSION} (generated)

Generated from `signaling/protocol.py`, `signaling/events.py`, `signaling/views.py` and
`signaling/errors.py` by `python -m signaling.protocol_doc`; do not edit by hand.
Transport: Socket.IO, default namespace, path `/socket.io/`, JSON payloads. Every client → server
event takes an acknowledgement: `{{"ok": true, ...}}` or `{{"ok": false, "error": Error}}`; sent
without one, an error arrives as the `error` event. Unknown events, unknown fields, wrong types and
fields over their length are answered `bad_request`; a frame over `max_frame_bytes` is not answered:
that connection is closed. The HTTP API answers a failure with the same Error, as
`{{"error": Error}}`, and the status below (a request body over `max_frame_bytes` is `too_large`).

Room-state events (`participant:*`, `room:updated`, `lobby:waiting`) and the RoomSnapshot carry the
room's `version`; with several instances two events may arrive out of order, so a client ignores an
event older than the newest it has applied for the same participant (or for the room). A `chat:send`
answered `unavailable` with a `stored` ChatMessage was kept and will reach everyone: do not resend it.

## Error codes

| code | HTTP | meaning |
|---|---|---|
"""
    + "\n".join(f"| `{code}` | {status} | {meaning} |" for code, (status, meaning) in CODES.items())
    + "\n"
)


def _type_name(kind: Any) -> str:
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(kind) if a is not type(None)]
        return f"{_type_name(inner[0])} or null"
    if origin is Literal:
        return " \\| ".join(f'"{a}"' for a in get_args(kind))
    if origin in (tuple, list):
        return f"list of {_type_name(get_args(kind)[0])}"
    if isinstance(kind, type):
        named = {str: "string", bool: "boolean", int: "integer"}.get(kind)
        return named or str(getattr(kind, "wire", kind.__name__))
    return str(kind)


def _field_rows(cls: type) -> list[str]:
    hints = get_type_hints(cls)
    rows = []
    for f in fields(cls):
        required = f.default is MISSING and f.default_factory is MISSING
        meta = f.metadata
        limits = []
        if meta.get("min_len"):
            limits.append(f"min {meta['min_len']}")
        if meta.get("max_len"):
            limits.append(f"max {meta['max_len']}")
        if meta.get("item_max_len"):
            limits.append(f"each max {meta['item_max_len']}")
        note = ", ".join(limits)
        if meta.get("doc"):
            note = f"{meta['doc']}; {note}" if note else meta["doc"]
        default = "required" if required else f"default `{json.dumps(f.default)}`"
        rows.append(f"| `{f.name}` | {_type_name(hints[f.name])} | {default} | {note} |")
    return rows


def _table(cls: type) -> list[str]:
    rows = _field_rows(cls)
    if not rows:
        return ["No fields.", ""]
    return ["| field | type | | limits |", "|---|---|---|---|", *rows, ""]


def _sent_rows(cls: type) -> list[str]:
    rows = []
    for spec in views.field_specs(cls):
        kind = _type_name(spec.kind)
        note = f"{spec.doc}; left out when null" if spec.omit_none and spec.doc else spec.doc
        if spec.omit_none and not spec.doc:
            note = "left out when null"
        rows.append(f"| `{spec.wire}` | {kind} | {note} |")
    return rows


def _sent_table(cls: type) -> list[str]:
    rows = _sent_rows(cls)
    if not rows:
        return ["No fields.", ""]
    return ["| field | type | meaning |", "|---|---|---|", *rows, ""]


def render() -> str:
    out = [HEADER, "## Client → server events", ""]
    for name, cls in p.CLIENT_EVENTS.items():
        out += [f"### `{name}`", "", " ".join((cls.__doc__ or "").split()), ""]
        out += _table(cls)
    out += ["## Nested values", ""]
    for cls in (p.SessionDescription, p.IceCandidate, p.AgendaSegment):
        out += [f"### {cls.__name__}", "", (cls.__doc__ or "").strip(), ""]
        out += _table(cls)
    out += ["## Server → client events", ""]
    for name, cls in ev.SERVER_EVENTS.items():
        out += [f"### `{name}`", "", " ".join((cls.__doc__ or "").split()), ""]
        out += _sent_table(cls)
    out += ["## Values in events and acknowledgements", ""]
    for cls in views.VALUES:
        out += [f"### {_type_name(cls)}", "", " ".join((cls.__doc__ or "").split()), ""]
        out += _sent_table(cls)
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
