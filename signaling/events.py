"""The wire, server → client: every event the server sends, as a typed, frozen dataclass, built from
what the rules decided (`from_rules`) or by the handlers. The values inside them are in
`signaling.views`; docs/protocol.md is generated from both and from `signaling.protocol`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from rooms import ChatMessage, Event, Participant, RoomState
from signaling.protocol import IceCandidate, SessionDescription
from signaling.views import (
    OMIT_NONE,
    ChatMessageView,
    Doc,
    ErrorBody,
    ParticipantView,
    RoomSnapshot,
    RoomView,
    SpeakerView,
    Wire,
    chat_fields,
    participant_fields,
    room_fields,
    speaker_view,
)

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
    return RoomSync(**room_fields(state))


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


def chat_message(m: ChatMessage) -> ChatMessageSent:
    return ChatMessageSent(**chat_fields(m))


def from_rules(event: Event, state: RoomState) -> ServerEvent:
    """The wire event for what the rules decided (`lobby:admitted` is completed by joining, which
    adds what only it knows). Room-state events carry the version of `state`, the committed state."""
    v = state.version
    payload = event.payload
    match event.name:
        case "participant:joined" if isinstance(payload, Participant):
            return ParticipantJoined(**participant_fields(payload), version=v)
        case "participant:updated" if isinstance(payload, Participant):
            return ParticipantUpdated(**participant_fields(payload), version=v)
        case "lobby:waiting" if isinstance(payload, Participant):
            return LobbyWaiting(**participant_fields(payload), version=v)
        case "room:updated" if isinstance(payload, RoomState):
            return RoomUpdated(
                locked=payload.locked,
                waiting_room=payload.waiting_room,
                hands=payload.hands,
                speaker=speaker_view(payload.speaker),
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
