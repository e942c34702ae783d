"""The values the server sends inside events and acknowledgements (Participant, Room, RoomSnapshot,
ChatMessage, Error, …), as typed, frozen dataclasses, and how any wire value becomes JSON.

The views are built here from the values of `rooms`, so that what a client may see is decided in one
place: never a token, key, instance or connection id. `encode` turns a view or an event
(`signaling.events`) into the JSON sent; docs/protocol.md is generated from these classes.

A field may be sent under another name (`Wire("from")`: `from` is a Python keyword), and one marked
`OMIT_NONE` is left out when it is None (a ChatMessage's `to` exists only on a private message).
`Doc` says what a field means, for the documentation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from enum import Enum
from typing import Annotated, Any, ClassVar, Literal, get_type_hints

from rooms import ChatMessage, Participant, Role, RoomState, Speaker
from rooms.concerns import may_read
from rooms.model import ChatKind, Concern, Segment


@dataclass(frozen=True, slots=True)
class Doc:
    """What a field means, for the documentation."""

    text: str


@dataclass(frozen=True, slots=True)
class Wire:
    """The name a field is sent under, where it differs from its own."""

    name: str


OMIT_NONE = "omit_none"
"""Marks an optional field that is left out of the message when it is None."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    attr: str
    wire: str
    omit_none: bool
    doc: str
    kind: Any


@functools.cache
def field_specs(cls: type) -> tuple[FieldSpec, ...]:
    """How each field of a wire value is sent (resolved once per class)."""
    hints = get_type_hints(cls, include_extras=True)
    specs = []
    for f in fields(cls):
        hint = hints[f.name]
        extras = getattr(hint, "__metadata__", ())
        wire = next((x.name for x in extras if isinstance(x, Wire)), f.name)
        doc = next((x.text for x in extras if isinstance(x, Doc)), "")
        kind = hint.__origin__ if extras else hint
        specs.append(FieldSpec(f.name, wire, OMIT_NONE in extras, doc, kind))
    return tuple(specs)


def encode(value: Any) -> Any:
    """The JSON value of a wire value (dataclasses become objects, tuples lists, enums their value)."""
    kind = type(value)
    if kind in _AS_IS:
        return value
    how = _ENCODERS.get(kind)
    if how is None:
        how = _ENCODERS[kind] = _encoder_of(kind)
    return how(value)


# What is sent as it is: the common case, answered before any other look-up.
_AS_IS = frozenset({str, int, bool, float, type(None), dict})
_ENCODERS: dict[type, Callable[[Any], Any]] = {}


def _as_is(value: Any) -> Any:
    return value


def _items(value: Any) -> list[Any]:
    return [encode(v) for v in value]


def _enum_value(value: Any) -> Any:
    return value.value


def _encoder_of(kind: type) -> Callable[[Any], Any]:
    """How to encode values of `kind`, worked out once per type. A dataclass gets a function of its
    own, written out field by field: a snapshot of a full room encodes a few thousand values, on every
    join."""
    if is_dataclass(kind):
        return _dataclass_encoder(kind)
    if issubclass(kind, tuple | list):
        return _items
    if issubclass(kind, Enum):
        return _enum_value
    return _as_is


# Fields whose values are sent as they are, by their declared type.
_PLAIN_KINDS = (str, int, bool)


def _dataclass_encoder(kind: type) -> Callable[[Any], Any]:
    lines, always = [], []
    for n, spec in enumerate(field_specs(kind)):
        value = f"v.{spec.attr}" if spec.kind in _PLAIN_KINDS else f"encode(v.{spec.attr})"
        if not spec.omit_none:
            always.append(f"{spec.wire!r}: {value}")
            continue
        lines += [
            f"    x{n} = v.{spec.attr}",
            f"    if x{n} is not None:",
            f"        out[{spec.wire!r}] = encode(x{n})",
        ]
    body = "\n".join(["def encode_one(v):", f"    out = {{{', '.join(always)}}}", *lines, "    return out"])
    scope: dict[str, Any] = {"encode": encode}
    exec(compile(body, f"<encoder of {kind.__name__}>", "exec"), scope)
    encoder: Callable[[Any], Any] = scope["encode_one"]
    return encoder


# -- values inside events and acknowledgements ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParticipantView:
    """A participant as every client sees it."""

    wire: ClassVar[str] = "Participant"
    id: str
    name: str
    role: Literal["facilitator", "member"]
    media: Literal["av", "audio", "text"]
    audio: bool
    video: bool
    hand: Annotated[int | None, Doc("raised at (ms), null when not raised")]
    away: Annotated[bool, Doc("dropped and within the resume grace")]
    joined_at: Annotated[int, Doc("ms since the epoch")]
    speaking: Annotated[bool, Doc("the microphone hears them now")]
    media_locked: Annotated[bool, Doc("a facilitator paused their own unmuting")]
    unmute_requested: Annotated[bool, Doc("held muted, they asked a facilitator to let them unmute")]


def participant_fields(p: Participant) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "role": p.role.value,
        "media": p.media.value,
        "audio": p.audio,
        "video": p.video,
        "hand": p.hand,
        "away": p.away,
        "joined_at": p.joined_at,
        "speaking": p.speaking,
        "media_locked": p.media_locked,
        "unmute_requested": p.unmute_requested,
    }


def participant_view(p: Participant) -> ParticipantView:
    # A room's participants mostly stay as they were from one version of the room to the next (the
    # same objects), and every join sends all of them: each one's view is made once.
    made = _participant_views.get(id(p))
    if made is not None and made[0] is p:
        return made[1]
    view = ParticipantView(**participant_fields(p))
    if len(_participant_views) >= _PARTICIPANT_VIEWS_KEPT:
        _participant_views.clear()
    # Keyed by identity, and holding the participant, so that its id cannot be another's meanwhile.
    _participant_views[id(p)] = (p, view)
    return view


_participant_views: dict[int, tuple[Participant, ParticipantView]] = {}
_PARTICIPANT_VIEWS_KEPT = 4096


@dataclass(frozen=True, slots=True)
class WaitingView(ParticipantView):
    """Someone in the waiting room, as facilitators see them."""

    wire: ClassVar[str] = "Waiting"
    returning_removed: Annotated[
        bool,
        Doc(
            "a facilitator removed them from this meeting earlier and they came back, or they come from"
            " the network address of someone banned (perhaps someone else on a shared one)"
        ),
    ]


def waiting_fields(p: Participant) -> dict[str, Any]:
    return {**participant_fields(p), "returning_removed": p.returning_removed}


@dataclass(frozen=True, slots=True)
class SpeakerView:
    """Who has the floor, since when (ms), and for how long (seconds, null: no timer)."""

    wire: ClassVar[str] = "Speaker"
    id: str
    since: int
    limit_s: int | None


def speaker_view(s: Speaker | None) -> SpeakerView | None:
    return SpeakerView(s.id, s.since, s.limit_s) if s is not None else None


@dataclass(frozen=True, slots=True)
class SegmentView:
    """One part of the meeting's agenda: a reading everyone sees, a round in which every member present
    takes a turn, open sharing with hands, or the closing."""

    wire: ClassVar[str] = "Segment"
    kind: Literal["reading", "round", "open", "closing"]
    title: str
    text: Annotated[str | None, OMIT_NONE, Doc("what everyone reads, e.g. the opening statement")] = None
    limit_s: Annotated[int | None, OMIT_NONE, Doc("a round's share timer, in seconds")] = None


def segment_fields(s: Segment) -> dict[str, Any]:
    return {"kind": s.kind.value, "title": s.title, "text": s.text, "limit_s": s.limit_s}


def segment_view(s: Segment) -> SegmentView:
    return SegmentView(**segment_fields(s))


def meeting_fields(state: RoomState) -> dict[str, Any]:
    """What `room:updated` and the Room say about the meeting beyond its lock, waiting room, hands
    and speaker: its safety pause, agenda, facilitator presence, private-message policy and media."""
    return {
        "safety": state.safety,
        "agenda": tuple(segment_view(x) for x in state.agenda),
        "segment": state.segment,
        "facilitator_present": state.facilitator_present,
        "private_chat": state.private_chat.value,
        "media_mode": "sfu" if state.sfu else "mesh",
        "media_epoch": state.media_epoch,
    }


# The meeting's fields, for every value and event that carries them.
Safety = Annotated[bool, Doc("the safety pause is on: room locked, everyone but facilitators held muted")]
Agenda = Annotated[tuple[SegmentView, ...], Doc("the meeting's agenda, in order")]
SegmentIndex = Annotated[int | None, Doc("the index in `agenda` of the current part; null before the first")]
FacilitatorPresent = Annotated[bool, Doc("a facilitator is in the room and connected")]
PrivateChatPolicy = Annotated[
    Literal["everyone", "facilitators", "nobody"], Doc("who may send private messages")
]
MediaMode = Annotated[
    Literal["mesh", "sfu"],
    Doc(
        'how media goes: "mesh", browser to browser, or "sfu", through the server (a room that moved'
        " there stays until it empties)"
    ),
]
MediaEpoch = Annotated[
    int,
    Doc(
        "grows when the server that carried the room's media was lost (it stopped or failed): on the"
        " SFU, start both connections with the server over"
    ),
]


@dataclass(frozen=True, slots=True)
class Retention:
    """How long chat outlives the meeting (seconds after the room empties; 0: at once) and how many
    messages the room keeps."""

    seconds: int
    max_messages: int


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent a chat message."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class ChatMessageView:
    """A chat message; ids sort in send order within a room when compared as plain strings."""

    wire: ClassVar[str] = "ChatMessage"
    id: str
    sender: Annotated[Sender, Wire("from")]
    text: str
    at: Annotated[int, Doc("ms since the epoch, set by the server")]
    to: Annotated[str | None, OMIT_NONE, Doc("the recipient, on a private message only")] = None
    kind: Annotated[
        Literal["milestone"] | None,
        OMIT_NONE,
        Doc("set when it is not a plain message: a milestone has its label as the text"),
    ] = None


def chat_fields(m: ChatMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "sender": Sender(m.sender_id, m.sender_name),
        "text": m.text,
        "at": m.at,
        "to": m.to,
        "kind": None if m.kind is ChatKind.PLAIN else m.kind.value,
    }


def chat_view(m: ChatMessage) -> ChatMessageView:
    return ChatMessageView(**chat_fields(m))


@dataclass(frozen=True, slots=True)
class ConcernView:
    """A member's private word to the facilitators, as only facilitators see it."""

    wire: ClassVar[str] = "Concern"
    id: str
    sender: Annotated[Sender, Wire("from")]
    about: Annotated[Sender | None, Doc("the person they are worried about, if they named one")]
    text: Annotated[str | None, Doc("their words, if any")]
    at: Annotated[int, Doc("ms since the epoch")]


def concern_fields(c: Concern) -> dict[str, Any]:
    about = Sender(c.about_id, c.about_name or "") if c.about_id is not None else None
    sender = Sender(c.sender_id, c.sender_name)
    return {"id": c.id, "sender": sender, "about": about, "text": c.text, "at": c.at}


@dataclass(frozen=True, slots=True)
class RoomView:
    """The room as everyone in it sees it."""

    wire: ClassVar[str] = "Room"
    id: str
    title: str
    locked: bool
    waiting_room: bool
    participants: Annotated[tuple[ParticipantView, ...], Doc("in join order, the receiver included")]
    hands: Annotated[tuple[str, ...], Doc("participant ids in queue order")]
    speaker: SpeakerView | None
    guidelines: str
    retention: Retention
    version: Annotated[int, Doc("grows with every change of the room")]
    safety: Safety
    agenda: Agenda
    segment: SegmentIndex
    facilitator_present: FacilitatorPresent
    private_chat: PrivateChatPolicy
    media_mode: MediaMode
    media_epoch: MediaEpoch


def room_fields(state: RoomState) -> dict[str, Any]:
    return {
        "id": state.room.id,
        "title": state.room.title,
        "locked": state.locked,
        "waiting_room": state.waiting_room,
        "participants": tuple(participant_view(p) for p in state.participants.values()),
        "hands": state.hands,
        "speaker": speaker_view(state.speaker),
        "guidelines": state.room.guidelines,
        "retention": Retention(state.room.retention_s, state.room.max_messages),
        "version": state.version,
        **meeting_fields(state),
    }


@dataclass(frozen=True, slots=True)
class RoomSnapshot(RoomView):
    """The room as the one joining may see it, with the recent chat."""

    wire: ClassVar[str] = "RoomSnapshot"
    waiting: Annotated[tuple[WaitingView, ...], Doc("the waiting room: for facilitators only, else empty")]
    chat: Annotated[tuple[ChatMessageView, ...], Doc("the recent history they may see")]
    concerns: Annotated[
        tuple[ConcernView, ...],
        Doc("concerns no facilitator has marked seen yet: for facilitators only, else empty"),
    ]


def room_snapshot(state: RoomState, viewer: Participant, chat: list[ChatMessage]) -> RoomSnapshot:
    """The RoomSnapshot of `state` as `viewer` may see it, with the `chat` they may see."""
    facilitator = viewer.role is Role.FACILITATOR
    waiting = tuple(WaitingView(**waiting_fields(p)) for p in state.waiting.values()) if facilitator else ()
    # A concern raised while no facilitator was there reaches the first one to come in.
    concerns = tuple(ConcernView(**concern_fields(c)) for c in state.concerns.values() if may_read(viewer, c))
    return RoomSnapshot(
        **room_fields(state), waiting=waiting, chat=tuple(chat_view(m) for m in chat), concerns=concerns
    )


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """Why a request failed: a stable `code` and a sentence to show."""

    wire: ClassVar[str] = "Error"
    code: str
    message: str
    retry_after_ms: Annotated[int | None, OMIT_NONE, Doc("with `rate_limited`: when to try again")] = None
    stored: Annotated[
        ChatMessageView | None,
        OMIT_NONE,
        Doc("with `unavailable` on `chat:send`: kept, and will reach everyone; do not send it again"),
    ] = None
    scope: Annotated[
        Literal["room", "meeting"] | None,
        OMIT_NONE,
        Doc("with `banned`: kept out of every meeting in this room, or of this meeting only (removed)"),
    ] = None
    guidelines_version: Annotated[
        int | None,
        OMIT_NONE,
        Doc("with `bad_request` on `join`: the version of the group guidelines to read and accept"),
    ] = None


VALUES: tuple[type, ...] = (
    ParticipantView,
    WaitingView,
    RoomView,
    RoomSnapshot,
    SpeakerView,
    SegmentView,
    Retention,
    ChatMessageView,
    Sender,
    ConcernView,
    ErrorBody,
)
"""The values inside events and acknowledgements, for the documentation."""
