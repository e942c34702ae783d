"""The wire, client → server: every event as a typed, frozen dataclass, decoded and validated here
(the server → client side is `signaling.events`; docs/protocol.md is generated from both).

Decoding rejects unknown events, unknown fields, wrong types, and fields over their length with a
`ProtocolError` carrying the protocol's error code.
"""

from __future__ import annotations

import functools
import types
import unicodedata
from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

from signaling import text

PROTOCOL_VERSION = 1
SFU = "sfu"
"""The `to` of a `signal` meant for the server's SFU, and the `from` of one it sends."""
NAME_MAX = 40
CHAT_MAX = 2000
# A share timer longer than an hour is no timer a circle uses; the bound keeps numbers that no store
# can hold (msgpack stops at 2**64) out of the room's state.
SHARE_TIMER_MAX_S = 3600
# The WebRTC type of sdpMLineIndex: unsigned short.
M_LINE_INDEX_MAX = 65535
# A number field that declares no range of its own takes the integers JSON carries exactly.
SAFE_INTEGER_MAX = 2**53 - 1
PASSCODE_MAX = 128
JOIN_TOKEN_MAX = 4096
# Participant and chat message ids.
ID_MAX = 64
# The meeting's format and care: the most the wire carries; the server's settings may allow less.
AGENDA_SEGMENTS_MAX = 50
AGENDA_TITLE_MAX = 120
AGENDA_TEXT_MAX = 10000
MILESTONE_MAX = 40
CONCERN_MAX = 2000


class ProtocolError(Exception):
    """Bad input from a client: answered with `code`, the connection is kept."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _limit(
    min_len: int = 0,
    max_len: int = 0,
    *,
    text: str = "",
    doc: str = "",
    multiline: bool = False,
    min_value: int | None = None,
    max_value: int | None = None,
    item_max_len: int = 0,
) -> dict[str, Any]:
    """A field's bounds: lengths of text, `min_value`..`max_value` of a number (every number has
    both), and `text="name"` for a display name (the rules of `signaling.text`)."""
    bounds = {
        "min_len": min_len,
        "max_len": max_len,
        "doc": doc,
        "multiline": multiline,
        "text": text,
        # For a list of text: the longest each item may be.
        "item_max_len": item_max_len,
    }
    if min_value is not None:
        bounds["min_value"] = min_value
    if max_value is not None:
        bounds["max_value"] = max_value
    return bounds


def required(**meta: Any) -> Any:
    return field(metadata=_limit(**meta))


def optional(default: Any = None, **meta: Any) -> Any:
    return field(default=default, metadata=_limit(**meta))


# -- nested values ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """An SDP offer or answer (RTCSessionDescriptionInit)."""

    type: Literal["offer", "answer", "pranswer", "rollback"]
    sdp: str = optional("", max_len=60000, multiline=True)


@dataclass(frozen=True, slots=True)
class IceCandidate:
    """An ICE candidate (RTCIceCandidateInit); an empty `candidate` marks the end of gathering."""

    candidate: str = optional("", max_len=1024)
    sdpMid: str | None = optional(max_len=64)  # noqa: N815 - the browser's own field name
    sdpMLineIndex: int | None = optional(min_value=0, max_value=M_LINE_INDEX_MAX)  # noqa: N815
    usernameFragment: str | None = optional(max_len=256)  # noqa: N815


@dataclass(frozen=True, slots=True)
class AgendaSegment:
    """A part of the meeting: a reading, a round (everyone present takes a turn), open sharing, closing."""

    kind: Literal["reading", "round", "open", "closing"]
    title: str = required(min_len=1, max_len=AGENDA_TITLE_MAX)
    text: str | None = optional(max_len=AGENDA_TEXT_MAX, multiline=True, doc="what everyone reads")
    limit_s: int | None = optional(
        min_value=1, max_value=SHARE_TIMER_MAX_S, doc="a round's share timer, in seconds"
    )


# -- client → server events ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Join:
    """Join a room (or resume a seat with `resume_token`)."""

    event: ClassVar[str] = "join"
    room: str = required(min_len=1, max_len=64)
    name: str | None = optional(
        min_len=1,
        max_len=NAME_MAX,
        text="name",
        doc="first name or nickname, required unless `token` names you: NFKC-normalised, white space"
        " trimmed and collapsed; no invisible or direction-changing characters; not a role word, nor one"
        ' in brackets or set apart by a separator ("Host", "Sam (facilitator)", "Sam - moderator"): the'
        " page shows roles",
    )
    media: Literal["av", "audio", "text"] = "av"
    accept_guidelines: bool = False
    passcode: str | None = optional(max_len=PASSCODE_MAX)
    host_key: str | None = optional(max_len=128)
    resume_token: str | None = optional(max_len=512)
    browser_key: str | None = optional(min_len=16, max_len=64)
    guidelines_version: int | None = optional(
        min_value=1,
        max_value=SAFE_INTEGER_MAX,
        doc="the `guidelines_version` of the room's public info whose guidelines you accepted; refused"
        " (`bad_request`, with the current `guidelines_version`) when they have changed since",
    )
    invite: str | None = optional(
        max_len=128, doc="a one-to-one room's personal invitation (`#invite=` of its link); ignored elsewhere"
    )
    token: str | None = optional(
        max_len=JOIN_TOKEN_MAX,
        doc="a join token signed by a community site (`#token=` of its link): its name and role are"
        " yours; an expired, wrongly signed or other room's token is refused `forbidden`",
    )


@dataclass(frozen=True, slots=True)
class Leave:
    """Leave the meeting for good (a dropped connection is not a leave)."""

    event: ClassVar[str] = "leave"


@dataclass(frozen=True, slots=True)
class ChatSend:
    """Send a chat message to everyone, or privately with `to`."""

    event: ClassVar[str] = "chat:send"
    text: str = required(min_len=1, max_len=CHAT_MAX, multiline=True)
    to: str | None = optional(max_len=64, doc="participant id for a private message")
    key: str | None = optional(
        max_len=64,
        doc="chosen by the sender, new for each message; sending the same message again with the same"
        " key returns the one already kept instead of a copy (so a send whose answer was lost can be"
        " repeated)",
    )


@dataclass(frozen=True, slots=True)
class ChatHistory:
    """One page of the retained messages the requester may see, oldest first: the first after
    `after` (from the start without it), or with `before` the last before it. `more` in the answer
    says whether another page follows in that direction."""

    event: ClassVar[str] = "chat:history"
    after: str | None = optional(max_len=64)
    before: str | None = optional(max_len=64)


@dataclass(frozen=True, slots=True)
class MediaState:
    """Your microphone and camera are on or off."""

    event: ClassVar[str] = "media:state"
    audio: bool = False
    video: bool = False


@dataclass(frozen=True, slots=True)
class MediaSpeaking:
    """You started or stopped speaking (from the microphone level): shown to text-only members too."""

    event: ClassVar[str] = "media:speaking"
    speaking: bool = False


@dataclass(frozen=True, slots=True)
class Signal:
    """Relay WebRTC signalling to one participant of your room (mesh), or send it to the server's SFU
    with `to: "sfu"` and `pc` naming the connection: on `publish` you offer and send your tracks, on
    `subscribe` the server offers everyone else's and you answer. Only VP8 and Opus are accepted."""

    event: ClassVar[str] = "signal"
    to: str = required(min_len=1, max_len=64)
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None
    pc: Literal["publish", "subscribe"] | None = None


@dataclass(frozen=True, slots=True)
class RtcConfig:
    """The room's media `mode` (`mesh`: peer to peer; `sfu`: through the server), the ICE servers (and
    short-lived TURN credentials) for this participant and the `ice_transport_policy`; ask again
    within `ttl_s`. `media_epoch` is the room's, as in `room:updated`."""

    event: ClassVar[str] = "rtc:config"


@dataclass(frozen=True, slots=True)
class HandRaise:
    """Join the speaking queue."""

    event: ClassVar[str] = "hand:raise"


@dataclass(frozen=True, slots=True)
class HandLower:
    """Leave the speaking queue."""

    event: ClassVar[str] = "hand:lower"


@dataclass(frozen=True, slots=True)
class ModAdmit:
    """Let someone in from the waiting room."""

    event: ClassVar[str] = "mod:admit"
    id: str = required(min_len=1, max_len=64)


@dataclass(frozen=True, slots=True)
class ModDeny:
    """Turn someone away from the waiting room."""

    event: ClassVar[str] = "mod:deny"
    id: str = required(min_len=1, max_len=64)


@dataclass(frozen=True, slots=True)
class ModMute:
    """Mute someone's microphone and/or camera; they may unmute unless their media is locked."""

    event: ClassVar[str] = "mod:mute"
    id: str = required(min_len=1, max_len=64)
    audio: bool = False
    video: bool = False


@dataclass(frozen=True, slots=True)
class ModLockMedia:
    """While locked, that member's own unmute is refused."""

    event: ClassVar[str] = "mod:lock-media"
    id: str = required(min_len=1, max_len=64)
    locked: bool = True


@dataclass(frozen=True, slots=True)
class ModRemove:
    """Remove someone (and with `ban`, keep them out of this room)."""

    event: ClassVar[str] = "mod:remove"
    id: str = required(min_len=1, max_len=64)
    ban: bool = False


@dataclass(frozen=True, slots=True)
class ModLock:
    """Lock the room: nobody new may join (facilitators still can)."""

    event: ClassVar[str] = "mod:lock"
    locked: bool = True


@dataclass(frozen=True, slots=True)
class ModWaitingRoom:
    """Turn the waiting room on or off (off lets everyone waiting in)."""

    event: ClassVar[str] = "mod:waiting-room"
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class ModNextSpeaker:
    """Give the floor to the first raised hand, with an optional share timer."""

    event: ClassVar[str] = "mod:next-speaker"
    limit_s: int | None = optional(min_value=1, max_value=SHARE_TIMER_MAX_S, doc="seconds")


@dataclass(frozen=True, slots=True)
class ModLowerHand:
    """Lower someone's hand."""

    event: ClassVar[str] = "mod:lower-hand"
    id: str = required(min_len=1, max_len=64)


@dataclass(frozen=True, slots=True)
class ModRole:
    """Make someone a facilitator or a member."""

    event: ClassVar[str] = "mod:role"
    id: str = required(min_len=1, max_len=64)
    role: Literal["facilitator", "member"] = "member"


@dataclass(frozen=True, slots=True)
class ModEnd:
    """End the meeting for everyone."""

    event: ClassVar[str] = "mod:end"


# -- keeping the room safe -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModSafety:
    """The safety pause: lock the room, turn the waiting room on, lower every hand, and mute and hold
    muted everyone but facilitators; `on: false` undoes what the pause did."""

    event: ClassVar[str] = "mod:safety"
    on: bool = True


@dataclass(frozen=True, slots=True)
class ModAdmitAll:
    """Let everyone in from the waiting room, except anyone removed earlier in this meeting."""

    event: ClassVar[str] = "mod:admit-all"


@dataclass(frozen=True, slots=True)
class ModMuteAll:
    """Mute everyone but facilitators; with `lock`, also hold them muted."""

    event: ClassVar[str] = "mod:mute-all"
    lock: bool = False


@dataclass(frozen=True, slots=True)
class MediaRequestUnmute:
    """Held muted by a facilitator: ask them to let you unmute (they answer with `mod:lock-media`)."""

    event: ClassVar[str] = "media:request-unmute"


@dataclass(frozen=True, slots=True)
class ModReorderHands:
    """Put the speaking queue in a new order."""

    event: ClassVar[str] = "mod:reorder-hands"
    order: tuple[str, ...] = required(
        item_max_len=ID_MAX, doc="every participant id in the queue, each once, in the new order"
    )


@dataclass(frozen=True, slots=True)
class ModDeleteChat:
    """Delete a chat message you can see, for everyone (everyone who could see it gets `chat:deleted`)."""

    event: ClassVar[str] = "mod:delete-chat"
    id: str = required(min_len=1, max_len=ID_MAX, doc="the chat message's id")


@dataclass(frozen=True, slots=True)
class ModPrivateChat:
    """Who may send private messages in this meeting: everyone, only to or from facilitators, or
    nobody."""

    event: ClassVar[str] = "mod:private-chat"
    policy: Literal["everyone", "facilitators", "nobody"]


SAFETY_EVENTS = (
    ModSafety,
    ModAdmitAll,
    ModMuteAll,
    MediaRequestUnmute,
    ModReorderHands,
    ModDeleteChat,
    ModPrivateChat,
)
# -- the meeting's format and care ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModAgenda:
    """Set the meeting's agenda (mending it keeps the current part where it still exists)."""

    event: ClassVar[str] = "mod:agenda"
    segments: tuple[AgendaSegment, ...] = required(max_len=AGENDA_SEGMENTS_MAX, doc="in order; [] clears it")


@dataclass(frozen=True, slots=True)
class ModAgendaStep:
    """Go to part `index` of the agenda (null: to none); entering a round queues every member present."""

    event: ClassVar[str] = "mod:agenda-step"
    index: int | None = optional(min_value=0, max_value=AGENDA_SEGMENTS_MAX - 1)


@dataclass(frozen=True, slots=True)
class SpeakerDone:
    """The speaker ends their own turn."""

    event: ClassVar[str] = "speaker:done"


@dataclass(frozen=True, slots=True)
class HandPass:
    """Someone in the speaking queue lets their turn go."""

    event: ClassVar[str] = "hand:pass"


@dataclass(frozen=True, slots=True)
class MilestoneShare:
    """Share a milestone ("30 days", "1 year"): a quiet celebration in the chat, kept as chat is."""

    event: ClassVar[str] = "milestone:share"
    label: str = required(min_len=1, max_len=MILESTONE_MAX)


@dataclass(frozen=True, slots=True)
class ConcernRaise:
    """Tell the facilitators privately (only they receive it; it never enters the chat). A concern
    about a facilitator reaches the other facilitators only, and `delivered` says whether one of them
    is there now."""

    event: ClassVar[str] = "concern:raise"
    about: str | None = optional(max_len=64, doc="participant id of someone present you are worried about")
    text: str | None = optional(max_len=CONCERN_MAX, multiline=True)


@dataclass(frozen=True, slots=True)
class ModConcernSeen:
    """Mark a concern seen: it leaves every facilitator's list, and its sender is told."""

    event: ClassVar[str] = "mod:concern-seen"
    id: str = required(min_len=1, max_len=64)


CLIENT_EVENTS: dict[str, type] = {
    cls.event: cls
    for cls in (
        Join,
        Leave,
        ChatSend,
        ChatHistory,
        MediaState,
        MediaSpeaking,
        Signal,
        RtcConfig,
        HandRaise,
        HandLower,
        ModAdmit,
        ModDeny,
        ModMute,
        ModLockMedia,
        ModRemove,
        ModLock,
        ModWaitingRoom,
        ModNextSpeaker,
        ModLowerHand,
        ModRole,
        ModEnd,
        *SAFETY_EVENTS,
        # The meeting's format and care.
        ModAgenda,
        ModAgendaStep,
        SpeakerDone,
        HandPass,
        MilestoneShare,
        ConcernRaise,
        ModConcernSeen,
    )
}


def within(name: str, text: str, max_len: int) -> None:
    """A field the wire allows but the server's own limit (a setting, at most the wire's) does not."""
    if len(text) > max_len:
        raise ProtocolError("bad_request", f"{name} is too long (at most {max_len}).")


# -- decoding --------------------------------------------------------------------------------------


def _has_control(text: str, multiline: bool) -> bool:
    allowed = "\n\t\r" if multiline else ""
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)


def _check(name: str, kind: Any, value: Any, meta: Any) -> Any:
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(kind) if a is not type(None)]
        if value is None:
            return None
        return _check(name, options[0], value, meta)
    if origin is Literal:
        choices = get_args(kind)
        if value not in choices:
            raise ProtocolError("bad_request", f"{name} must be one of {', '.join(map(str, choices))}.")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ProtocolError("bad_request", f"{name} must be a list.")
        if meta.get("max_len") and len(value) > meta["max_len"]:
            raise ProtocolError("bad_request", f"{name} has too many items (at most {meta['max_len']}).")
        item = {"max_len": meta.get("item_max_len", 0)}
        return tuple(_check(f"{name}[{i}]", get_args(kind)[0], v, item) for i, v in enumerate(value))
    if kind is bool:
        if not isinstance(value, bool):
            raise ProtocolError("bad_request", f"{name} must be true or false.")
        return value
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ProtocolError("bad_request", f"{name} must be a whole number.")
        low = meta.get("min_value", -SAFE_INTEGER_MAX)
        high = meta.get("max_value", SAFE_INTEGER_MAX)
        if not low <= value <= high:
            raise ProtocolError("bad_request", f"{name} must be from {low} to {high}.")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ProtocolError("bad_request", f"{name} must be text.")
        if not text.encodable(value):
            raise ProtocolError("bad_request", f"{name} is not valid text (it holds a lone surrogate).")
        value = value.strip() if meta.get("min_len") else value
        if _has_control(value, meta.get("multiline", False)):
            raise ProtocolError("bad_request", f"{name} contains control characters.")
        if meta.get("text") == "name":
            value = text.normalise_name(value)
        if meta.get("max_len") and len(value) > meta["max_len"]:
            raise ProtocolError("bad_request", f"{name} is too long (at most {meta['max_len']}).")
        if len(value) < meta.get("min_len", 0):
            if meta["min_len"] == 1:
                raise ProtocolError("bad_request", f"{name} must not be empty.")
            raise ProtocolError("bad_request", f"{name} is too short (at least {meta['min_len']}).")
        if meta.get("text") == "name" and (problem := text.name_problem(value)):
            raise ProtocolError("bad_request", f"The {name} {problem}.")
        return value
    if isinstance(kind, type) and hasattr(kind, "__dataclass_fields__"):
        return decode_into(kind, value, prefix=f"{name}.")
    raise TypeError(f"unsupported field type {kind!r}")  # a bug in this module, not bad input


@functools.cache
def _shape(cls: type) -> tuple[dict[str, Any], dict[str, Any]]:
    """A message class's field types and fields; resolving type hints is slow, so once per class."""
    return get_type_hints(cls), {f.name: f for f in fields(cls)}


def decode_into(cls: type, data: Any, prefix: str = "") -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProtocolError("bad_request", f"{prefix.rstrip('.') or 'The message'} must be an object.")
    hints, known = _shape(cls)
    unknown = sorted(k for k in data if k not in known)
    if unknown:
        raise ProtocolError("bad_request", f"Unknown field: {prefix}{str(unknown[0])[:40]}.")
    values: dict[str, Any] = {}
    for name, f in known.items():
        if name not in data:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ProtocolError("bad_request", f"{prefix}{name} is required.")
            continue
        values[name] = _check(prefix + name, hints[name], data[name], f.metadata)
    return cls(**values)


def decode(event: str, data: Any) -> Any:
    """A typed message for `event`, or ProtocolError."""
    cls = CLIENT_EVENTS.get(event)
    if cls is None:
        raise ProtocolError("bad_request", "Unknown event.")
    return decode_into(cls, data)


# -- names for clients -----------------------------------------------------------------------------


class ServerEvent(StrEnum):
    """The name of every server → client event, for clients to subscribe by (each is a class in
    `signaling.events`, which a test holds this list to)."""

    PARTICIPANT_JOINED = "participant:joined"
    PARTICIPANT_LEFT = "participant:left"
    PARTICIPANT_UPDATED = "participant:updated"
    ROOM_UPDATED = "room:updated"
    LOBBY_WAITING = "lobby:waiting"
    LOBBY_FACILITATOR = "lobby:facilitator"
    LOBBY_PASSCODE_FAILURES = "lobby:passcode-failures"
    LOBBY_ADMITTED = "lobby:admitted"
    LOBBY_DENIED = "lobby:denied"
    ROOM_ENDED = "room:ended"
    YOU_MUTED = "you:muted"
    YOU_REMOVED = "you:removed"
    UNMUTE_REQUESTED = "media:unmute-requested"
    CONCERN_RAISED = "concern:raised"
    CONCERN_SEEN = "concern:seen"
    CHAT_MESSAGE = "chat:message"
    CHAT_DELETED = "chat:deleted"
    SIGNAL = "signal"
    ERROR = "error"
    SERVER_CLOSING = "server:closing"
    ROOM_SYNC = "room:sync"


class ErrorCode(StrEnum):
    """The stable error codes of every refusal, on the socket and over HTTP (`unauthorized`: HTTP only);
    `signaling.errors.CODES` maps each to its HTTP status, and a test holds the two together."""

    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    WRONG_PASSCODE = "wrong_passcode"
    ROOM_LOCKED = "room_locked"
    ROOM_FULL = "room_full"
    BANNED = "banned"
    FORBIDDEN = "forbidden"
    NOT_JOINED = "not_joined"
    RATE_LIMITED = "rate_limited"
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"
