"""The wire, server → client: every event the server sends, and the values inside events and
acknowledgements (Participant, RoomSnapshot, ChatMessage, …), as typed, frozen dataclasses.

The views are built here from the values of `rooms`, so that what a client may see is decided in one
place: never a token, key, instance or connection id. `encode` turns any of them into the JSON object
sent; docs/protocol.md is generated from these classes and those of `signaling.protocol`.

A field may be sent under another name (`Wire("from")`: `from` is a Python keyword), and one marked
`OMIT_NONE` is left out when it is None (a ChatMessage's `to` exists only on a private message).
`Doc` says what a field means, for the documentation.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields, is_dataclass
from enum import Enum
from typing import Annotated, Any, ClassVar, Literal, get_type_hints

from rooms import ChatMessage, Event, Participant, Role, RoomState, Speaker
from signaling.protocol import IceCandidate, SessionDescription


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
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for spec in field_specs(type(value)):
            item = getattr(value, spec.attr)
            if item is None and spec.omit_none:
                continue
            out[spec.wire] = encode(item)
        return out
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


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


def _participant(p: Participant) -> dict[str, Any]:
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
    }


def participant_view(p: Participant) -> ParticipantView:
    return ParticipantView(**_participant(p))


@dataclass(frozen=True, slots=True)
class SpeakerView:
    """Who has the floor, since when (ms), and for how long (seconds, null: no timer)."""

    wire: ClassVar[str] = "Speaker"
    id: str
    since: int
    limit_s: int | None


def _speaker(s: Speaker | None) -> SpeakerView | None:
    return SpeakerView(s.id, s.since, s.limit_s) if s is not None else None


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


def _chat(m: ChatMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "sender": Sender(m.sender_id, m.sender_name),
        "text": m.text,
        "at": m.at,
        "to": m.to,
    }


def chat_view(m: ChatMessage) -> ChatMessageView:
    return ChatMessageView(**_chat(m))


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


def _room(state: RoomState) -> dict[str, Any]:
    return {
        "id": state.room.id,
        "title": state.room.title,
        "locked": state.locked,
        "waiting_room": state.waiting_room,
        "participants": tuple(participant_view(p) for p in state.participants.values()),
        "hands": state.hands,
        "speaker": _speaker(state.speaker),
        "guidelines": state.room.guidelines,
        "retention": Retention(state.room.retention_s, state.room.max_messages),
        "version": state.version,
    }


@dataclass(frozen=True, slots=True)
class RoomSnapshot(RoomView):
    """The room as the one joining may see it, with the recent chat."""

    wire: ClassVar[str] = "RoomSnapshot"
    waiting: Annotated[
        tuple[ParticipantView, ...], Doc("the waiting room: for facilitators only, else empty")
    ]
    chat: Annotated[tuple[ChatMessageView, ...], Doc("the recent history they may see")]


def room_snapshot(state: RoomState, viewer: Participant, chat: list[ChatMessage]) -> RoomSnapshot:
    """The RoomSnapshot of `state` as `viewer` may see it, with the `chat` they may see."""
    sees_waiting = viewer.role is Role.FACILITATOR
    waiting = tuple(participant_view(p) for p in state.waiting.values()) if sees_waiting else ()
    return RoomSnapshot(**_room(state), waiting=waiting, chat=tuple(chat_view(m) for m in chat))


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


# -- server → client events ------------------------------------------------------------------------

Version = Annotated[int, Doc("the room's version: ignore an event older than the newest applied")]


@dataclass(frozen=True, slots=True)
class ParticipantJoined(ParticipantView):
    """Someone joined (a Participant)."""

    event: ClassVar[str] = "participant:joined"
    version: Version


@dataclass(frozen=True, slots=True)
class ParticipantUpdated(ParticipantView):
    """Mute state, hand, role, away or speaking changed (a Participant)."""

    event: ClassVar[str] = "participant:updated"
    version: Version


@dataclass(frozen=True, slots=True)
class ParticipantLeft:
    """Someone left."""

    event: ClassVar[str] = "participant:left"
    id: str
    reason: Literal["left", "removed", "disconnected", "ended"]
    version: Version


@dataclass(frozen=True, slots=True)
class RoomUpdated:
    """Lock, waiting room, speaking queue, speaker or title changed."""

    event: ClassVar[str] = "room:updated"
    locked: bool
    waiting_room: bool
    hands: tuple[str, ...]
    speaker: SpeakerView | None
    title: str
    version: Version


@dataclass(frozen=True, slots=True)
class LobbyWaiting(ParticipantView):
    """Someone is in the waiting room (a Participant; facilitators only)."""

    event: ClassVar[str] = "lobby:waiting"
    version: Version


@dataclass(frozen=True, slots=True)
class LobbyAdmitted:
    """You were let in."""

    event: ClassVar[str] = "lobby:admitted"
    room: RoomSnapshot
    resume_token: str


@dataclass(frozen=True, slots=True)
class LobbyDenied:
    """You were not let in."""

    event: ClassVar[str] = "lobby:denied"
    reason: Literal["denied", "ended"]


@dataclass(frozen=True, slots=True)
class RoomEnded:
    """A facilitator ended the meeting."""

    event: ClassVar[str] = "room:ended"
    by: Annotated[str, Doc("the facilitator's participant id")]


@dataclass(frozen=True, slots=True)
class YouMuted:
    """A facilitator muted you (true for each track this muted)."""

    event: ClassVar[str] = "you:muted"
    by: str
    audio: bool
    video: bool


@dataclass(frozen=True, slots=True)
class YouRemoved:
    """A facilitator removed you; you will be disconnected."""

    event: ClassVar[str] = "you:removed"
    ban: bool


@dataclass(frozen=True, slots=True)
class ChatMessageSent(ChatMessageView):
    """A chat message you may see (a ChatMessage), the sender's own included."""

    event: ClassVar[str] = "chat:message"


@dataclass(frozen=True, slots=True)
class SignalRelayed:
    """WebRTC signalling from another participant of your room."""

    event: ClassVar[str] = "signal"
    sender: Annotated[str, Wire("from"), Doc("the sender's participant id")]
    description: Annotated[SessionDescription | None, OMIT_NONE] = None
    candidate: Annotated[IceCandidate | None, OMIT_NONE] = None


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """An error for an event sent without an acknowledgement."""

    event: ClassVar[str] = "error"
    error: ErrorBody
    about: Annotated[str, Wire("event"), Doc("the event that failed (cut to 64 characters)")]


@dataclass(frozen=True, slots=True)
class ServerClosing:
    """This server is stopping and takes no new connections: disconnect, connect again (a load
    balancer sends you to another instance) and resume with your token."""

    event: ClassVar[str] = "server:closing"


@dataclass(frozen=True, slots=True)
class RoomSync(RoomView):
    """After this server lost touch with the others: the room as it is now (a Room); apply it if its
    version is newer than what you have."""

    event: ClassVar[str] = "room:sync"


def room_sync(state: RoomState) -> RoomSync:
    return RoomSync(**_room(state))


ServerEvent = (
    ParticipantJoined
    | ParticipantUpdated
    | ParticipantLeft
    | RoomUpdated
    | LobbyWaiting
    | LobbyAdmitted
    | LobbyDenied
    | RoomEnded
    | YouMuted
    | YouRemoved
    | ChatMessageSent
    | SignalRelayed
    | ErrorEvent
    | ServerClosing
    | RoomSync
)

SERVER_EVENTS: dict[str, type] = {
    cls.event: cls
    for cls in (
        ParticipantJoined,
        ParticipantLeft,
        ParticipantUpdated,
        RoomUpdated,
        LobbyWaiting,
        LobbyAdmitted,
        LobbyDenied,
        RoomEnded,
        YouMuted,
        YouRemoved,
        ChatMessageSent,
        SignalRelayed,
        ErrorEvent,
        ServerClosing,
        RoomSync,
    )
}

VALUES: tuple[type, ...] = (
    ParticipantView,
    RoomView,
    RoomSnapshot,
    SpeakerView,
    Retention,
    ChatMessageView,
    Sender,
    ErrorBody,
)
"""The values inside events and acknowledgements, for the documentation."""


def chat_message(m: ChatMessage) -> ChatMessageSent:
    return ChatMessageSent(**_chat(m))


def from_rules(event: Event, state: RoomState) -> ServerEvent:
    """The wire event for what the rules decided (`lobby:admitted` is completed by joining, which
    adds what only it knows). Room-state events carry the version of `state`, the committed state."""
    v = state.version
    payload = event.payload
    match event.name:
        case "participant:joined" if isinstance(payload, Participant):
            return ParticipantJoined(**_participant(payload), version=v)
        case "participant:updated" if isinstance(payload, Participant):
            return ParticipantUpdated(**_participant(payload), version=v)
        case "lobby:waiting" if isinstance(payload, Participant):
            return LobbyWaiting(**_participant(payload), version=v)
        case "room:updated" if isinstance(payload, RoomState):
            return RoomUpdated(
                locked=payload.locked,
                waiting_room=payload.waiting_room,
                hands=payload.hands,
                speaker=_speaker(payload.speaker),
                title=payload.room.title,
                version=v,
            )
        case "participant:left" if isinstance(payload, dict):
            return ParticipantLeft(payload["id"], payload["reason"], v)
        case "lobby:denied" if isinstance(payload, dict):
            return LobbyDenied(payload["reason"])
        case "room:ended" if isinstance(payload, dict):
            return RoomEnded(payload["by"])
        case "you:muted" if isinstance(payload, dict):
            return YouMuted(payload["by"], payload["audio"], payload["video"])
        case "you:removed" if isinstance(payload, dict):
            return YouRemoved(payload["ban"])
    raise ValueError(f"no wire event for {event.name} with {type(payload).__name__}")
