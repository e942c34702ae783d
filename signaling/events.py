"""The wire, server → client: every event the server sends, as a typed, frozen dataclass, built from
what the rules decided (`from_rules`) or by the handlers. The values inside them are in
`signaling.views`; docs/protocol.md is generated from both and from `signaling.protocol`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from rooms import ChatMessage, Event, Participant, RoomState
from rooms.model import Concern
from signaling.protocol import IceCandidate, SessionDescription
from signaling.views import (
    OMIT_NONE,
    Agenda,
    ChatMessageView,
    ConcernView,
    Doc,
    ErrorBody,
    FacilitatorPresent,
    MediaEpoch,
    MediaMode,
    ParticipantView,
    PrivateChatPolicy,
    RoomSnapshot,
    RoomView,
    Safety,
    SegmentIndex,
    SpeakerView,
    WaitingView,
    Wire,
    chat_fields,
    concern_fields,
    meeting_fields,
    participant_fields,
    room_fields,
    speaker_view,
    waiting_fields,
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
    """Lock, waiting room, speaking queue, speaker, title, safety pause, agenda or its current part,
    facilitator presence, the private-message policy or the media mode changed."""

    event: ClassVar[str] = "room:updated"
    locked: bool
    waiting_room: bool
    hands: tuple[str, ...]
    speaker: SpeakerView | None
    title: str
    version: Version
    safety: Safety
    agenda: Agenda
    segment: SegmentIndex
    facilitator_present: FacilitatorPresent
    private_chat: PrivateChatPolicy
    media_mode: MediaMode
    media_epoch: MediaEpoch


@dataclass(frozen=True, slots=True)
class LobbyWaiting(WaitingView):
    """Someone is in the waiting room (a Waiting; facilitators only)."""

    event: ClassVar[str] = "lobby:waiting"
    version: Version


@dataclass(frozen=True, slots=True)
class LobbyFacilitator:
    """To someone in the waiting room: whether a facilitator is there to let them in."""

    event: ClassVar[str] = "lobby:facilitator"
    present: bool


@dataclass(frozen=True, slots=True)
class LobbyPasscodeFailures:
    """To facilitators: wrong passcodes keep coming for this room, and the door is shut to passcodes
    until `until`, for one network address or for everyone. Locking the room or changing its passcode
    stops it for good."""

    event: ClassVar[str] = "lobby:passcode-failures"
    scope: Annotated[
        Literal["address", "room"],
        Doc("address: one address tried too many; room: too many from many addresses together"),
    ]
    until: Annotated[int, Doc("ms since the epoch")]


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
    """A facilitator ended the meeting, or the room was deleted."""

    event: ClassVar[str] = "room:ended"
    by: Annotated[str | None, Doc("the facilitator's participant id; null when the room was deleted")]
    reason: Annotated[Literal["ended", "deleted"], Doc("`deleted`: the room is gone, its link too")] = "ended"


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
class UnmuteRequested:
    """To facilitators: someone held muted asks to unmute, or their request was answered."""

    event: ClassVar[str] = "media:unmute-requested"
    id: Annotated[str, Doc("the participant asking")]
    requested: Annotated[bool, Doc("false once a facilitator has answered")]
    at: Annotated[int | None, OMIT_NONE, Doc("when they asked (ms), on the request itself")] = None


@dataclass(frozen=True, slots=True)
class ConcernRaised(ConcernView):
    """To facilitators only: a member's private concern (a Concern). It never enters the chat."""

    event: ClassVar[str] = "concern:raised"


@dataclass(frozen=True, slots=True)
class ConcernSeen:
    """A facilitator has seen a concern (to facilitators, and to the member who raised it)."""

    event: ClassVar[str] = "concern:seen"
    id: str
    by: Annotated[str, Doc("the facilitator's participant id")]


@dataclass(frozen=True, slots=True)
class ChatMessageSent(ChatMessageView):
    """A chat message you may see (a ChatMessage), the sender's own included."""

    event: ClassVar[str] = "chat:message"


@dataclass(frozen=True, slots=True)
class ChatDeleted:
    """A facilitator deleted a chat message, for everyone: remove it."""

    event: ClassVar[str] = "chat:deleted"
    id: str


@dataclass(frozen=True, slots=True)
class SignalRelayed:
    """WebRTC signalling from another participant of your room, or from the server's SFU."""

    event: ClassVar[str] = "signal"
    sender: Annotated[str, Wire("from"), Doc('the sender\'s participant id, or "sfu" for the server')]
    description: Annotated[SessionDescription | None, OMIT_NONE] = None
    candidate: Annotated[IceCandidate | None, OMIT_NONE] = None
    pc: Annotated[
        Literal["publish", "subscribe"] | None,
        OMIT_NONE,
        Doc('from "sfu": which of your two connections with the server it is for'),
    ] = None
    restart: Annotated[
        bool | None,
        OMIT_NONE,
        Doc("from the SFU: close the peer connection you had for `pc` and take this one on a new one"),
    ] = None


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
    | LobbyFacilitator
    | LobbyPasscodeFailures
    | LobbyAdmitted
    | LobbyDenied
    | RoomEnded
    | YouMuted
    | YouRemoved
    | UnmuteRequested
    | ConcernRaised
    | ConcernSeen
    | ChatMessageSent
    | ChatDeleted
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
        LobbyFacilitator,
        LobbyPasscodeFailures,
        LobbyAdmitted,
        LobbyDenied,
        RoomEnded,
        YouMuted,
        YouRemoved,
        UnmuteRequested,
        ConcernRaised,
        ConcernSeen,
        ChatMessageSent,
        ChatDeleted,
        SignalRelayed,
        ErrorEvent,
        ServerClosing,
        RoomSync,
    )
}


def chat_message(m: ChatMessage) -> ChatMessageSent:
    return ChatMessageSent(**chat_fields(m))


def concern_raised(c: Concern) -> ConcernRaised:
    return ConcernRaised(**concern_fields(c))


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
            return LobbyWaiting(**waiting_fields(payload), version=v)
        case "room:updated" if isinstance(payload, RoomState):
            return RoomUpdated(
                locked=payload.locked,
                waiting_room=payload.waiting_room,
                hands=payload.hands,
                speaker=speaker_view(payload.speaker),
                title=payload.room.title,
                version=v,
                **meeting_fields(payload),
            )
        case "participant:left" if isinstance(payload, dict):
            return ParticipantLeft(payload["id"], payload["reason"], v)
        case "lobby:denied" if isinstance(payload, dict):
            return LobbyDenied(payload["reason"])
        case "room:ended" if isinstance(payload, dict):
            return RoomEnded(payload["by"], payload.get("reason", "ended"))
        case "you:muted" if isinstance(payload, dict):
            return YouMuted(payload["by"], payload["audio"], payload["video"])
        case "you:removed" if isinstance(payload, dict):
            return YouRemoved(payload["ban"])
        case "lobby:facilitator" if isinstance(payload, dict):
            return LobbyFacilitator(payload["present"])
        case "media:unmute-requested" if isinstance(payload, dict):
            return UnmuteRequested(payload["id"], payload["requested"], payload.get("at"))
        case "concern:raised" if isinstance(payload, dict):
            return concern_raised(Concern(**payload))
        case "concern:seen" if isinstance(payload, dict):
            return ConcernSeen(payload["id"], payload["by"])
        case "chat:deleted" if isinstance(payload, dict):
            return ChatDeleted(payload["id"])
    raise ValueError(f"no wire event for {event.name} with {type(payload).__name__}")
