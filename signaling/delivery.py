"""Delivering what the rules decided: socket.io channels per room and per participant.

Channels (socket.io rooms) are shared across instances by the client manager, so an emit reaches the
right sockets wherever they are connected: `room:{id}` holds every admitted participant's socket,
`p:{id}` the socket of one participant (also while in the waiting room).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import socketio

from rooms import ChatMessage, Outcome, Role, RoomState, ToFacilitators, ToParticipant, ToRoom

Finisher = Callable[[RoomState, str, dict[str, Any]], Awaitable[None]]
Closer = Callable[[str], Awaitable[None]]


def room_channel(room_id: str) -> str:
    return f"room:{room_id}"


def participant_room(participant_id: str) -> str:
    return f"p:{participant_id}"


# Events that describe the room's state carry its version: across instances two of them may arrive
# out of order, and a client keeps, per participant (and for the room), only the newest.
VERSIONED = frozenset(
    {"participant:joined", "participant:left", "participant:updated", "room:updated", "lobby:waiting"}
)


class Delivery:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def send(
        self, state: RoomState, outcome: Outcome, finish_admission: Finisher, close: Closer
    ) -> None:
        room_id = state.room.id
        for event in outcome.events:
            audience = event.audience
            if event.name in VERSIONED:
                event = replace(event, payload={**event.payload, "version": state.version})
            if isinstance(audience, ToRoom):
                skipped = state.participants.get(audience.skip) if audience.skip else None
                await self.sio.emit(
                    event.name,
                    event.payload,
                    room=room_channel(room_id),
                    skip_sid=skipped.conn if skipped else None,
                )
            elif isinstance(audience, ToFacilitators):
                for p in state.participants.values():
                    if p.role is Role.FACILITATOR and not p.away:
                        await self.sio.emit(event.name, event.payload, room=participant_room(p.id))
            elif isinstance(audience, ToParticipant):
                payload = event.payload
                if event.name == "lobby:admitted":
                    payload = {**payload, "room": dict(payload["room"])}
                    await finish_admission(state, audience.id, payload)
                await self.sio.emit(event.name, payload, room=participant_room(audience.id))
        for kick in outcome.kicks:
            await close(kick.conn)

    async def chat(self, room_id: str, message: ChatMessage) -> None:
        payload = message.public()
        if message.to is None:
            await self.sio.emit("chat:message", payload, room=room_channel(room_id))
        else:
            rooms = [participant_room(message.sender_id), participant_room(message.to)]
            await self.sio.emit("chat:message", payload, room=rooms)
