"""Everything a member, a facilitator or the server's own clock can ask of a room.

Secrets never reach the rules: the caller verifies keys, passcodes and signed resume tokens and passes
the verdicts in (`is_host`, `passcode_ok`, `resume_of`, `invite`) so the rules stay pure and testable.
"""

from __future__ import annotations

from dataclasses import dataclass

from rooms.model import Media, PrivateChat, Role, RoomDefinition, Segment


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
    # A keyed hash of the joiner's network address.
    address_hash: str | None = None
    # Of the joiner's marks ("id:…" from the resume token, "key:…", "addr:…"), those the room's bans in
    # the store hold: the caller looks them up, the rules decide what they mean.
    banned_marks: frozenset[str] = frozenset()
    # The most people from the joiner's address the waiting room may hold (None: no limit).
    max_waiting_per_address: int | None = None
    # In a one-to-one room: which of the room's two invitations the caller found the joiner's key to match.
    invite: int | None = None
    # The version of the guidelines the joiner was shown and accepted (None: the current one).
    guidelines_version: int | None = None


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


@dataclass(frozen=True, slots=True)
class Redefine:
    """The room's definition was edited: the meeting under way keeps its live settings, the next one
    starts from the new definition (at once, when nobody is in the room)."""

    room: RoomDefinition


@dataclass(frozen=True, slots=True)
class Close:
    """The room is being deleted: the meeting under way, if any, ends for everyone, waiting room included."""


@dataclass(frozen=True, slots=True)
class Safety:
    """The safety pause: lock, waiting room on, every hand down, everyone but facilitators muted and held
    muted; `on=False` undoes what the pause did and nothing else."""

    by: str
    on: bool


@dataclass(frozen=True, slots=True)
class AdmitAll:
    by: str


@dataclass(frozen=True, slots=True)
class MuteAll:
    """Mute everyone but facilitators; with `lock`, also hold their media muted."""

    by: str
    lock: bool = False


@dataclass(frozen=True, slots=True)
class RequestUnmute:
    """A member whose media a facilitator holds muted asks for it back."""

    id: str


@dataclass(frozen=True, slots=True)
class ReorderHands:
    """`order` must hold exactly the ids of the current queue."""

    by: str
    order: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DoneSpeaking:
    """The speaker ends their own turn."""

    id: str


@dataclass(frozen=True, slots=True)
class PassTurn:
    """Someone in the queue lets their turn go (the speaker: ends it)."""

    id: str


@dataclass(frozen=True, slots=True)
class AgendaLimits:
    """Bounds of an agenda, from the server's settings."""

    max_segments: int = 20
    max_title_chars: int = 80
    max_text_chars: int = 5000
    max_limit_s: int = 3600


@dataclass(frozen=True, slots=True)
class SetAgenda:
    by: str
    segments: tuple[Segment, ...]
    limits: AgendaLimits = AgendaLimits()


@dataclass(frozen=True, slots=True)
class StepAgenda:
    """Go to segment `index` of the agenda (None: to none of them)."""

    by: str
    index: int | None


MILESTONE_MAX_CHARS = 40


@dataclass(frozen=True, slots=True)
class ShareMilestone:
    id: str
    label: str
    max_chars: int = MILESTONE_MAX_CHARS


CONCERN_MAX_CHARS = 1000
CONCERN_MAX_OPEN = 3


@dataclass(frozen=True, slots=True)
class RaiseConcern:
    """A member tells the facilitators privately that they are worried (`about` someone present, or
    not), with optional words. `max_open` bounds how many of one member's concerns wait unseen."""

    id: str
    concern_id: str
    about: str | None = None
    text: str | None = None
    max_chars: int = CONCERN_MAX_CHARS
    max_open: int = CONCERN_MAX_OPEN


@dataclass(frozen=True, slots=True)
class ConcernSeen:
    by: str
    id: str


@dataclass(frozen=True, slots=True)
class DeleteChat:
    """Delete chat message `id` for everyone; the chat log lives outside the room state."""

    by: str
    id: str


@dataclass(frozen=True, slots=True)
class SetPrivateChat:
    by: str
    policy: PrivateChat


@dataclass(frozen=True, slots=True)
class HostMedia:
    """Move the meeting's media to the SFU, if it is not there yet, and host it on `instance`, unless
    another instance that is not among `dead_instances` hosts it already. With `restart`, `instance`
    hosts it but no longer has it (it restarted under the same name): everyone starts over with it."""

    instance: str
    dead_instances: frozenset[str] = frozenset()
    restart: bool = False


@dataclass(frozen=True, slots=True)
class ReleaseMedia:
    """`instance` stops hosting the meeting's media (it is stopping): everyone starts over with the
    instance that takes it next."""

    instance: str


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
    | Redefine
    | Close
    | Safety
    | AdmitAll
    | MuteAll
    | RequestUnmute
    | ReorderHands
    | DoneSpeaking
    | PassTurn
    | SetAgenda
    | StepAgenda
    | ShareMilestone
    | RaiseConcern
    | ConcernSeen
    | DeleteChat
    | SetPrivateChat
    | HostMedia
    | ReleaseMedia
)
