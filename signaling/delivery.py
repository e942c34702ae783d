"""Delivering what the rules decided: socket.io channels per room and per participant.

Channels (socket.io rooms) are shared across instances by the bus, so an emit reaches the right
sockets wherever they are connected: `room:{id}` holds every admitted participant's socket, `p:{id}`
the socket of one participant (also while in the waiting room). These names are signalling's own;
nothing else builds or parses them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import socketio

from rooms import ChatMessage, Outcome, Role, RoomState, ToFacilitators, ToParticipant, ToRoom
from signaling import events as ev
from signaling.ports import Bus, Publication
from signaling.socket import after_ack, current_sid
from signaling.views import encode

Admit = Callable[[RoomState, RoomState, str], Awaitable[ev.LobbyAdmitted | None]]
"""(the room as the rules let them in, the committed room, participant id) → their `lobby:admitted`."""


def room_channel(room_id: str) -> str:
    return f"room:{room_id}"


def participant_channel(participant_id: str) -> str:
    return f"p:{participant_id}"


# Events worth nothing later: a relayed WebRTC offer replayed after an outage would confuse the
# negotiation it belonged to, so the bus does not keep one it could not send.
PERISHABLE_EVENTS = frozenset({ev.SignalRelayed.event})


class Delivery:
    """Emits to the channels above, through `sio` and its client manager `bus`. `admit` completes a
    `lobby:admitted` for the one let in; `is_local(sid)` tells whether a connection is on this
    instance."""

    def __init__(
        self, sio: socketio.AsyncServer, bus: Bus, admit: Admit, is_local: Callable[[str], bool]
    ) -> None:
        self.sio = sio
        self._bus = bus
        self._admit = admit
        self._is_local = is_local
        self.observers: list[Callable[[RoomState, Outcome], Awaitable[None]]] = []

    async def emit(
        self, event: ev.ServerEvent, channel: str | list[str], skip_sid: str | None = None
    ) -> None:
        await self.sio.emit(event.event, encode(event), room=channel, skip_sid=skip_sid)

    async def send(self, state: RoomState, outcome: Outcome) -> None:
        room_id = state.room.id
        for event in outcome.events:
            audience = event.audience
            if isinstance(audience, ToParticipant):
                if event.name == ev.LobbyAdmitted.event:
                    assert isinstance(event.payload, RoomState)
                    admitted = await self._admit(event.payload, state, audience.id)
                    if admitted is not None:
                        await self.emit(admitted, participant_channel(audience.id))
                    continue
                await self.emit(ev.from_rules(event, state), participant_channel(audience.id))
                continue
            message = ev.from_rules(event, state)
            if isinstance(audience, ToRoom):
                skipped = state.participants.get(audience.skip) if audience.skip else None
                await self.emit(message, room_channel(room_id), skip_sid=skipped.conn if skipped else None)
            elif isinstance(audience, ToFacilitators):
                await self.to_facilitators(state, message, skip=audience.skip)
        for kick in outcome.kicks:
            await self.close(kick.conn)
        for observe in self.observers:
            await observe(state, outcome)

    async def to_facilitators(self, state: RoomState, event: ev.ServerEvent, skip: str | None = None) -> None:
        """Send `event` to each facilitator connected to the room (but `skip`)."""
        for p in state.participants.values():
            if p.role is Role.FACILITATOR and not p.away and p.id != skip:
                await self.emit(event, participant_channel(p.id))

    async def chat(self, room_id: str, message: ChatMessage) -> None:
        await self.emit(ev.chat_message(message), self._chat_audience(room_id, message))

    def chat_publication(self, state: RoomState, draft: ChatMessage) -> Publication | None:
        """`chat(room_id, message)`'s publication to the other instances where the room's people
        are, for the store to publish as it appends the message (`draft`: the message with
        `ID_PLACEHOLDER` as its id) if `state` is still the room's; None when the bus cannot take it
        that way."""
        payload = encode(ev.chat_message(draft))
        payload["id"] = payload.pop("id")  # last, where the store writes the id over the placeholder
        audience = self._chat_audience(state.room.id, draft)
        instances = {p.instance for p in state.participants.values()}
        return self._bus.publication(ev.ChatMessageSent.event, payload, audience, instances)

    async def chat_deleted(self, room_id: str, message: ChatMessage) -> None:
        """Tell everyone who could see `message` that it was deleted."""
        await self.emit(ev.ChatDeleted(message.id), self._chat_audience(room_id, message))

    async def chat_here(self, room_id: str, message: ChatMessage) -> None:
        """Deliver a chat message to this instance's sockets only (what they missed in a gap)."""
        await self._emit_here(ev.chat_message(message), self._chat_audience(room_id, message))

    async def sync_here(self, state: RoomState) -> None:
        """Send this instance's sockets in the room the room as it is now (`room:sync`)."""
        await self._emit_here(ev.room_sync(state), room_channel(state.room.id))

    async def _emit_here(self, event: ev.ServerEvent, channel: str | list[str]) -> None:
        await self.sio.manager.emit(event.event, encode(event), "/", room=channel, ignore_queue=True)

    @staticmethod
    def _chat_audience(room_id: str, message: ChatMessage) -> str | list[str]:
        if message.to is None:
            return room_channel(room_id)
        return [participant_channel(message.sender_id), participant_channel(message.to)]

    async def close(self, sid: str) -> None:
        """Close a connection; the sender's own only after its acknowledgement has gone out."""
        sio = self.sio
        after = after_ack()
        if after is not None and self._is_local(sid) and current_sid() == sid:
            after.append(lambda: sio.disconnect(sid))
        else:
            await sio.disconnect(sid)
