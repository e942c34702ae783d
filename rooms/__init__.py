"""The rules of a Circle room: pure values and `apply(state, command, now)`; no I/O here."""

from rooms.errors import Refusal
from rooms.events import Event, Kick, Outcome, ToFacilitators, ToParticipant, ToRoom
from rooms.model import ChatMessage, Media, Participant, Role, RoomDefinition, RoomState, Speaker
from rooms.rules import apply, check_chat

__all__ = [
    "ChatMessage",
    "Event",
    "Kick",
    "Media",
    "Outcome",
    "Participant",
    "Refusal",
    "Role",
    "RoomDefinition",
    "RoomState",
    "Speaker",
    "ToFacilitators",
    "ToParticipant",
    "ToRoom",
    "apply",
    "check_chat",
]
