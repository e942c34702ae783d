"""The room and its people: immutable values that the rules in `rooms.rules` transform."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class Role(StrEnum):
    FACILITATOR = "facilitator"
    MEMBER = "member"


class Media(StrEnum):
    AV = "av"
    AUDIO = "audio"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class RoomDefinition:
    """What a facilitator set up: it outlives every meeting held in the room."""

    id: str
    title: str
    host_key_hash: str
    guidelines: str = ""
    passcode_hash: str | None = None
    waiting_room: bool = False
    # Given by whoever creates the room (the server's settings hold the defaults).
    max_participants: int = field(kw_only=True)
    # Chat is kept while anyone is present, and this long after the room empties (0: wiped at once).
    retention_s: int = field(kw_only=True)
    max_messages: int = field(kw_only=True)
    relay_only: bool = False
    created_at: int = 0

    @property
    def passcode_required(self) -> bool:
        return self.passcode_hash is not None


@dataclass(frozen=True, slots=True)
class Participant:
    id: str
    name: str
    role: Role
    media: Media
    joined_at: int
    instance: str
    # The connection (socket id) currently attached; a stale one's disconnect must not count.
    conn: str
    # Bumped at every resume so that an older resume token stops working.
    resume_gen: int = 0
    audio: bool = False
    video: bool = False
    hand: int | None = None
    away: bool = False
    away_since: int | None = None
    speaking: bool = False
    media_locked: bool = False
    browser_key_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Speaker:
    id: str
    since: int
    limit_s: int | None = None


@dataclass(frozen=True, slots=True)
class RoomState:
    """One meeting's live state. `participants` and `waiting` keep join order."""

    room: RoomDefinition
    participants: dict[str, Participant] = field(default_factory=dict)
    waiting: dict[str, Participant] = field(default_factory=dict)
    hands: tuple[str, ...] = ()
    speaker: Speaker | None = None
    locked: bool = False
    waiting_room: bool = False
    # Banned participant ids ("id:…") and hashes of banned browser keys ("key:…").
    bans: frozenset[str] = frozenset()
    emptied_at: int | None = None
    version: int = 0

    @classmethod
    def fresh(cls, room: RoomDefinition, now: int) -> RoomState:
        return cls(room=room, waiting_room=room.waiting_room, emptied_at=now)

    def find(self, participant_id: str) -> Participant | None:
        return self.participants.get(participant_id) or self.waiting.get(participant_id)

    @property
    def is_empty(self) -> bool:
        return not self.participants and not self.waiting

    def with_participant(self, p: Participant) -> RoomState:
        if p.id in self.waiting:
            return replace(self, waiting={**self.waiting, p.id: p})
        return replace(self, participants={**self.participants, p.id: p})


@dataclass(frozen=True, slots=True)
class ChatMessage:
    id: str
    sender_id: str
    sender_name: str
    text: str
    at: int
    to: str | None = None

    def visible_to(self, participant_id: str) -> bool:
        return self.to is None or participant_id in (self.sender_id, self.to)


def chat_id(seq: int) -> str:
    """Chat ids compare as plain strings in send order (zero-padded, as the protocol requires)."""
    return f"{seq:016d}"
