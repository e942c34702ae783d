"""What the rules decide to tell people, and whom to tell.

Each event names its wire event and carries what it is about: a participant as they are now, the room
as it is now, or a few plain facts. The layer that delivers it builds the wire message (and decides
what of a participant or a room a client may see), so that the rules need no knowledge of the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rooms.model import Participant, RoomState


@dataclass(frozen=True, slots=True)
class ToRoom:
    """Every joined participant (not those in the waiting room), optionally but one."""

    skip: str | None = None


@dataclass(frozen=True, slots=True)
class ToFacilitators:
    # A facilitator who must not hear it: the one a concern is about.
    skip: str | None = None


@dataclass(frozen=True, slots=True)
class ToParticipant:
    id: str


Audience = ToRoom | ToFacilitators | ToParticipant

Payload = Participant | RoomState | dict[str, Any]


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    payload: Payload
    audience: Audience = field(default_factory=ToRoom)


@dataclass(frozen=True, slots=True)
class Kick:
    """A connection to close once the events have been delivered."""

    id: str
    reason: str
    conn: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a command produced besides the new state: events to deliver, connections to close,
    and a result for the one who asked."""

    events: tuple[Event, ...] = ()
    kicks: tuple[Kick, ...] = ()
    result: dict[str, Any] = field(default_factory=dict)
    # True when the room has just become empty: its chat may now start to expire.
    emptied: bool = False
    # Marks ("id:…", "key:…", "addr:…") banned by this command, for the store to keep beyond the meeting.
    banned: frozenset[str] = frozenset()
