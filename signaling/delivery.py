"""Delivering what the rules decided: socket.io channels per room and per participant.

Channels (socket.io rooms) are shared across instances by the bus, so an emit reaches the right
sockets wherever they are connected: `room:{id}` holds every admitted participant's socket, `p:{id}`
the socket of one participant (also while in the waiting room). These names are signalling's own;
nothing else builds or parses them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import socketio

from rooms import ChatMessage, Outcome, Role, RoomState, ToFacilitators, ToParticipant, ToRoom
from signaling.socket import after_ack, current_sid

Finisher = Callable[[RoomState, str, dict[str, Any]], Awaitable[None]]


def room_channel(room_id: str) -> str:
    return f"room:{room_id}"


def participant_channel(participant_id: str) -> str:
    return f"p:{participant_id}"


# Events that describe the room's state carry its version: across instances two of them may arrive
# out of order, and a client keeps, per participant (and for the room), only the newest.
VERSIONED = frozenset(
    {"participant:joined", "participant:left", "participant:updated", "room:updated", "lobby:waiting"}
)

# Events worth nothing later: a relayed WebRTC offer replayed after an outage would confuse the
# negotiation it belonged to, so the bus does not keep one it could not send.
PERISHABLE_EVENTS = frozenset({"signal"})


class Delivery:
    """Emits to the channels above. `finish_admission` completes a `lobby:admitted` for the one let
    in; `is_local(sid)` tells whether a connection is on this instance."""

    def __init__(
        self, sio: socketio.AsyncServer, finish_admission: Finisher, is_local: Callable[[str], bool]
    ) -> None:
        self.sio = sio
        self._finish_admission = finish_admission
        self._is_local = is_local

    async def send(self, state: RoomState, outcome: Outcome) -> None:
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
                        await self.sio.emit(event.name, event.payload, room=participant_channel(p.id))
            elif isinstance(audience, ToParticipant):
                payload = event.payload
                if event.name == "lobby:admitted":
                    payload = {**payload, "room": dict(payload["room"])}
                    await self._finish_admission(state, audience.id, payload)
                await self.sio.emit(event.name, payload, room=participant_channel(audience.id))
        for kick in outcome.kicks:
            await self.close(kick.conn)

    async def chat(self, room_id: str, message: ChatMessage) -> None:
        payload = message.public()
        await self.sio.emit("chat:message", payload, room=self._chat_audience(room_id, message))

    async def chat_here(self, room_id: str, message: ChatMessage) -> None:
        """Deliver a chat message to this instance's sockets only (what they missed in a gap)."""
        room = self._chat_audience(room_id, message)
        await self.sio.manager.emit("chat:message", message.public(), "/", room=room, ignore_queue=True)

    async def sync_here(self, state: RoomState) -> None:
        """Send this instance's sockets in the room the room as it is now (`room:sync`)."""
        await self.sio.manager.emit(
            "room:sync", state.sync(), "/", room=room_channel(state.room.id), ignore_queue=True
        )

    @staticmethod
    def _chat_audience(room_id: str, message: ChatMessage) -> str | list[str]:
        if message.to is None:
            return room_channel(room_id)
        return [participant_channel(message.sender_id), participant_channel(message.to)]

    async def enter(self, sid: str, channel: str) -> None:
        await self.sio.enter_room(sid, channel)

    async def leave(self, sid: str, channel: str) -> None:
        await self.sio.leave_room(sid, channel)

    async def close(self, sid: str) -> None:
        """Close a connection; the sender's own only after its acknowledgement has gone out."""
        sio = self.sio
        after = after_ack()
        if after is not None and self._is_local(sid) and current_sid() == sid:
            after.append(lambda: sio.disconnect(sid))
        else:
            await sio.disconnect(sid)
