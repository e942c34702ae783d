"""Room values to and from plain dicts of str/int/bool/None/list/dict, for any wire or store format
(msgpack between instances). Round-trips exactly: `state_from_dict(state_to_dict(s)) == s`."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from rooms.model import ChatMessage, Media, Participant, Role, RoomDefinition, RoomState, Speaker


def room_to_dict(room: RoomDefinition) -> dict[str, Any]:
    return asdict(room)


def room_from_dict(d: dict[str, Any]) -> RoomDefinition:
    known = {f.name for f in fields(RoomDefinition)}
    return RoomDefinition(**{k: v for k, v in d.items() if k in known})


def _participant_to_dict(p: Participant) -> dict[str, Any]:
    d = asdict(p)
    d["role"] = p.role.value
    d["media"] = p.media.value
    return d


def _participant_from_dict(d: dict[str, Any]) -> Participant:
    return Participant(**{**d, "role": Role(d["role"]), "media": Media(d["media"])})


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
    }


def state_from_dict(d: dict[str, Any]) -> RoomState:
    participants = [_participant_from_dict(p) for p in d["participants"]]
    waiting = [_participant_from_dict(p) for p in d["waiting"]]
    return RoomState(
        room=room_from_dict(d["room"]),
        participants={p.id: p for p in participants},
        waiting={p.id: p for p in waiting},
        hands=tuple(d["hands"]),
        speaker=Speaker(**d["speaker"]) if d["speaker"] else None,
        locked=d["locked"],
        waiting_room=d["waiting_room"],
        bans=frozenset(d["bans"]),
        emptied_at=d["emptied_at"],
        version=d["version"],
    )


def chat_to_dict(m: ChatMessage) -> dict[str, Any]:
    return asdict(m)


def chat_from_dict(d: dict[str, Any]) -> ChatMessage:
    return ChatMessage(**d)
