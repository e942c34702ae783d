"""Everything a member, a facilitator or the server's own clock can ask of a room.

Secrets never reach the rules: the caller verifies keys, passcodes and signed resume tokens and passes
the verdicts in (`is_host`, `passcode_ok`, `resume_of`) so the rules stay pure and testable.
"""

from __future__ import annotations

from dataclasses import dataclass

from rooms.model import Media, Role


@dataclass(frozen=True, slots=True)
class Join:
    new_id: str
    name: str
    media: Media
    instance: str
    conn: str
    is_host: bool = False
    passcode_ok: bool = False
    accepted_guidelines: bool = False
    # (participant id, generation) from a resume token whose signature the caller checked.
    resume_of: tuple[str, int] | None = None
    browser_key_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Leave:
    id: str


@dataclass(frozen=True, slots=True)
class Disconnect:
    """The connection dropped: not a leave. The participant is away until the grace runs out."""

    id: str
    conn: str


@dataclass(frozen=True, slots=True)
class Sweep:
    """The clock: mark away everyone attached to a dead instance, or to this `instance` through a
    connection it no longer has (a drop it could not record), and remove whoever outstayed the grace."""

    grace_s: float
    dead_instances: frozenset[str] = frozenset()
    instance: str | None = None
    live_conns: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SetMedia:
    id: str
    audio: bool
    video: bool


@dataclass(frozen=True, slots=True)
class SetSpeaking:
    id: str
    speaking: bool


@dataclass(frozen=True, slots=True)
class RaiseHand:
    id: str


@dataclass(frozen=True, slots=True)
class LowerHand:
    id: str


@dataclass(frozen=True, slots=True)
class Admit:
    by: str
    id: str


@dataclass(frozen=True, slots=True)
class Deny:
    by: str
    id: str


@dataclass(frozen=True, slots=True)
class Mute:
    by: str
    id: str
    audio: bool
    video: bool


@dataclass(frozen=True, slots=True)
class LockMedia:
    by: str
    id: str
    locked: bool


@dataclass(frozen=True, slots=True)
class Remove:
    by: str
    id: str
    ban: bool = False


@dataclass(frozen=True, slots=True)
class Lock:
    by: str
    locked: bool


@dataclass(frozen=True, slots=True)
class SetWaitingRoom:
    by: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class NextSpeaker:
    by: str
    limit_s: int | None = None


@dataclass(frozen=True, slots=True)
class LowerHandOf:
    by: str
    id: str


@dataclass(frozen=True, slots=True)
class SetRole:
    by: str
    id: str
    role: Role


@dataclass(frozen=True, slots=True)
class End:
    by: str


Command = (
    Join
    | Leave
    | Disconnect
    | Sweep
    | SetMedia
    | SetSpeaking
    | RaiseHand
    | LowerHand
    | Admit
    | Deny
    | Mute
    | LockMedia
    | Remove
    | Lock
    | SetWaitingRoom
    | NextSpeaker
    | LowerHandOf
    | SetRole
    | End
)
