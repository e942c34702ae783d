"""Room values to and from plain dicts of str/int/bool/None/list/dict, for any wire or store format
(msgpack between instances). Round-trips exactly: `state_from_dict(state_to_dict(s)) == s`.

Decoding is backward compatible: a field that an older version did not write decodes to its default."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from rooms.model import (
    ChatKind,
    ChatMessage,
    Concern,
    Media,
    Participant,
    PrivateChat,
    Role,
    RoomDefinition,
    RoomState,
    SafetyPause,
    Segment,
    SegmentKind,
    Speaker,
)


def segment_to_dict(segment: Segment) -> dict[str, Any]:
    return {**asdict(segment), "kind": segment.kind.value}


def segment_from_dict(d: dict[str, Any]) -> Segment:
    return Segment(**{**d, "kind": SegmentKind(d["kind"])})


def room_to_dict(room: RoomDefinition) -> dict[str, Any]:
    d = asdict(room)
    d["private_chat"] = room.private_chat.value
    d["agenda"] = [segment_to_dict(s) for s in room.agenda]
    d["invite_key_hashes"] = list(room.invite_key_hashes)
    return d


def room_from_dict(d: dict[str, Any]) -> RoomDefinition:
    known = {f.name for f in fields(RoomDefinition)}
    kw = {k: v for k, v in d.items() if k in known}
    if "private_chat" in kw:
        kw["private_chat"] = PrivateChat(kw["private_chat"])
    if "agenda" in kw:
        kw["agenda"] = tuple(segment_from_dict(s) for s in kw["agenda"])
    if "invite_key_hashes" in kw:
        kw["invite_key_hashes"] = tuple(kw["invite_key_hashes"])
    return RoomDefinition(**kw)


def _participant_to_dict(p: Participant) -> dict[str, Any]:
    d = asdict(p)
    d["role"] = p.role.value
    d["media"] = p.media.value
    return d


def _participant_from_dict(d: dict[str, Any]) -> Participant:
    return Participant(**{**d, "role": Role(d["role"]), "media": Media(d["media"])})


def _pause_to_dict(pause: SafetyPause) -> dict[str, Any]:
    return {
        "locked": pause.locked,
        "waiting_room": pause.waiting_room,
        "media_locked": sorted(pause.media_locked),
    }


def _pause_from_dict(d: dict[str, Any]) -> SafetyPause:
    return SafetyPause(d["locked"], d["waiting_room"], frozenset(d["media_locked"]))


def state_to_dict(s: RoomState) -> dict[str, Any]:
    return {
        "room": room_to_dict(s.room),
        "participants": [_participant_to_dict(p) for p in s.participants.values()],
        "waiting": [_participant_to_dict(p) for p in s.waiting.values()],
        "hands": list(s.hands),
        "speaker": asdict(s.speaker) if s.speaker else None,
        "locked": s.locked,
        "waiting_room": s.waiting_room,
        "bans": sorted(s.bans),
        "emptied_at": s.emptied_at,
        "version": s.version,
        "safety_pause": _pause_to_dict(s.safety_pause) if s.safety_pause else None,
        "removed": sorted(s.removed),
        "agenda": [segment_to_dict(x) for x in s.agenda],
        "segment": s.segment,
        "private_chat": s.private_chat.value,
        "concerns": [asdict(x) for x in s.concerns.values()],
        "sfu": s.sfu,
        "media_host": s.media_host,
        "media_epoch": s.media_epoch,
    }


def state_from_dict(d: dict[str, Any]) -> RoomState:
    room = room_from_dict(d["room"])
    participants = [_participant_from_dict(p) for p in d["participants"]]
    waiting = [_participant_from_dict(p) for p in d["waiting"]]
    concerns = [Concern(**x) for x in d.get("concerns", ())]
    pause = d.get("safety_pause")
    return RoomState(
        room=room,
        participants={p.id: p for p in participants},
        waiting={p.id: p for p in waiting},
        hands=tuple(d["hands"]),
        speaker=Speaker(**d["speaker"]) if d["speaker"] else None,
        locked=d["locked"],
        waiting_room=d["waiting_room"],
        bans=frozenset(d["bans"]),
        emptied_at=d["emptied_at"],
        version=d["version"],
        safety_pause=_pause_from_dict(pause) if pause else None,
        removed=frozenset(d.get("removed", ())),
        # A state written before agendas existed is a meeting that started with the room's own.
        agenda=tuple(segment_from_dict(x) for x in d["agenda"]) if "agenda" in d else room.agenda,
        segment=d.get("segment"),
        private_chat=PrivateChat(d.get("private_chat", room.private_chat)),
        concerns={x.id: x for x in concerns},
        sfu=d.get("sfu", False),
        media_host=d.get("media_host"),
        media_epoch=d.get("media_epoch", 0),
    )


def chat_to_dict(m: ChatMessage) -> dict[str, Any]:
    # Every field is a plain value: spelled out rather than `asdict`, which copies each one deeply
    # (this runs for every chat message a cluster appends).
    d: dict[str, Any] = {
        "id": m.id,
        "sender_id": m.sender_id,
        "sender_name": m.sender_name,
        "text": m.text,
        "at": m.at,
        "to": m.to,
    }
    # A plain message is written as before, so that every reader of the log can read it.
    if m.kind is not ChatKind.PLAIN:
        d["kind"] = m.kind.value
    return d


def chat_from_dict(d: dict[str, Any]) -> ChatMessage:
    return ChatMessage(**{**d, "kind": ChatKind(d.get("kind", ChatKind.PLAIN))})
