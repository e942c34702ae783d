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


class PrivateChat(StrEnum):
    """Who may send private messages in a meeting."""

    EVERYONE = "everyone"
    # Only to or from a facilitator: a member can still reach the facilitator, but no one else.
    FACILITATORS = "facilitators"
    NOBODY = "nobody"


class SegmentKind(StrEnum):
    READING = "reading"
    ROUND = "round"
    OPEN = "open"
    CLOSING = "closing"


class ChatKind(StrEnum):
    PLAIN = "plain"
    MILESTONE = "milestone"


@dataclass(frozen=True, slots=True)
class Segment:
    """One part of a meeting's agenda: a reading everyone sees, a round in which everyone present takes a
    turn, open sharing with hands, or the closing. `limit_s` is the share timer of a round."""

    kind: SegmentKind
    title: str
    text: str | None = None
    limit_s: int | None = None


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
    # Raised whenever the guidelines text changes, so that members accept the new text again.
    guidelines_version: int = 1
    private_chat: PrivateChat = PrivateChat.EVERYONE
    # The agenda every meeting in this room starts with.
    agenda: tuple[Segment, ...] = ()
    # A one-to-one room admits only the holders of its two personal invitations, one person each.
    one_to_one: bool = False
    invite_key_hashes: tuple[str, ...] = ()
    # Raised at every edit, so that a meeting never goes back to a definition older than the one it has.
    revision: int = 0
    # "auto": mesh while the room is small, the SFU once it grows; "sfu": the SFU from the start.
    media_mode: str = "auto"

    def __post_init__(self) -> None:
        if self.media_mode not in ("auto", "sfu"):
            raise ValueError('media_mode must be "auto" or "sfu"')
        if self.one_to_one and len(set(self.invite_key_hashes)) != 2:
            raise ValueError("a one-to-one room needs two different invitations")

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
    # Asked a facilitator to lift their media lock; cleared whenever a facilitator sets the lock.
    unmute_requested: bool = False
    # Came back to the waiting room after a facilitator removed them from this meeting.
    returning_removed: bool = False
    # The version of the room's guidelines this participant accepted (None: none accepted).
    guidelines_version: int | None = None
    # Which of a one-to-one room's two invitations brought them in.
    invite: int | None = None
    browser_key_hash: str | None = None
    # A keyed hash of the network address they joined from (never the address itself), so that a ban
    # can hold against it and facilitators can be told when someone from a banned address comes back.
    address_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Speaker:
    id: str
    since: int
    limit_s: int | None = None


@dataclass(frozen=True, slots=True)
class SafetyPause:
    """What the safety pause changed, so that lifting it undoes exactly that: the lock and waiting room as
    they were before (None once a facilitator has set them since) and the media locks it set."""

    locked: bool | None
    waiting_room: bool | None
    media_locked: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Concern:
    """A member's private word to the facilitators, kept until a facilitator has seen it."""

    id: str
    sender_id: str
    sender_name: str
    at: int
    about_id: str | None = None
    about_name: str | None = None
    text: str | None = None


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
    # Banned in this meeting: participant ids ("id:…"), browser key hashes ("key:…") and address hashes
    # ("addr:…"). The store keeps every ban for later meetings (with an expiry); this copy holds the
    # meeting's own until the store has them.
    bans: frozenset[str] = frozenset()
    emptied_at: int | None = None
    version: int = 0
    safety_pause: SafetyPause | None = None
    # Removed from this meeting: participant ids, browser key and address hashes, marked as for bans.
    removed: frozenset[str] = frozenset()
    agenda: tuple[Segment, ...] = ()
    # The index in `agenda` of the current segment, None before the first.
    segment: int | None = None
    private_chat: PrivateChat = PrivateChat.EVERYONE
    # Concerns no facilitator has marked seen yet, in the order they were raised.
    concerns: dict[str, Concern] = field(default_factory=dict)
    # The meeting's media goes through the server's SFU; it stays there until the room empties.
    sfu: bool = False
    # The instance whose SFU holds the meeting's media, as long as that instance is alive (its heartbeat
    # is the lease); None while no instance holds it.
    media_host: str | None = None
    # Grows each time the SFU that held the meeting's media was lost (its instance died, stopped or
    # restarted): everyone with media then starts their connections with the server over.
    media_epoch: int = 0

    @classmethod
    def fresh(cls, room: RoomDefinition, now: int) -> RoomState:
        return cls(
            room=room,
            waiting_room=room.waiting_room,
            emptied_at=now,
            agenda=room.agenda,
            private_chat=room.private_chat,
        )

    def reset(self, now: int) -> RoomState:
        """The room as its definition sets it up for the next meeting. Nothing of this one stays: its bans
        are in the store, which keeps them for the meetings to come as long as a ban lasts."""
        return RoomState.fresh(self.room, now)

    def find(self, participant_id: str) -> Participant | None:
        return self.participants.get(participant_id) or self.waiting.get(participant_id)

    @property
    def is_empty(self) -> bool:
        return not self.participants and not self.waiting

    @property
    def safety(self) -> bool:
        """The safety pause is on."""
        return self.safety_pause is not None

    @property
    def facilitator_present(self) -> bool:
        """A facilitator is in the room and connected."""
        return any(p.role is Role.FACILITATOR and not p.away for p in self.participants.values())

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
    kind: ChatKind = ChatKind.PLAIN

    def visible_to(self, participant_id: str) -> bool:
        return self.to is None or participant_id in (self.sender_id, self.to)


def chat_id(seq: int) -> str:
    """Chat ids compare as plain strings in send order (zero-padded, as the protocol requires)."""
    return f"{seq:016d}"
