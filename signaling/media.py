"""Which way a room's media goes, and the SFU of each room that goes through the server.

A room runs in mesh (members' browsers connect to each other, `signaling.relay`) while it holds at
most `mesh_max_participants` members with media, and on the SFU once it grows past that, from the start
when its `media_mode` is "sfu", and always when it is `relay_only` (members then only ever learn the
server's address). Once on the SFU a room stays there until it empties, so nobody's picture moves back
and forth as people come and go.

On the SFU the server enforces mute: a track whose owner is muted, held muted by a facilitator or the
safety pause, or has turned it off, is not forwarded, whatever that member's client does; and who is
speaking is the server's word, from the audio level of the packets it forwards.

A room's SFU lives on the instance that opened it, and members connected to other instances cannot
reach it yet: in a cluster every room stays in mesh (a `relay_only` room through TURN), as before the
SFU, rather than split one meeting's media across several SFUs that do not know each other.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Literal

import socketio

from rooms import Outcome, Refusal, RoomState
from rooms.model import Media
from signaling import protocol as p
from signaling.config import SignalingConfig
from signaling.delivery import participant_channel, room_channel
from signaling.events import RoomUpdated, SignalRelayed
from signaling.sfu import PcName, SdpMessage, SfuConfig, SfuRoom
from signaling.views import encode, meeting_fields, speaker_view

log = logging.getLogger("circle.media")

Mode = Literal["mesh", "sfu"]
SpeakingReport = Callable[[str, str, bool], Awaitable[None]]
"""`(room_id, participant_id, speaking)`: the SFU heard someone start or stop speaking."""


def media_members(state: RoomState) -> int:
    """Members in the meeting (not waiting) who take part with media."""
    return sum(1 for x in state.participants.values() if x.media is not Media.TEXT)


class MediaRooms:
    """The SFU rooms of this instance. `observe` must see every committed state (it frees a leaver's
    media, ends a room's media when it empties and applies mutes); `speaking` is told what the SFU
    hears."""

    def __init__(
        self,
        config: SignalingConfig,
        sio: socketio.AsyncServer,
        speaking: SpeakingReport,
        *,
        clustered: bool = False,
    ) -> None:
        self._config = config
        self._clustered = clustered
        self._sfu_config: SfuConfig = config.sfu_config()
        self._sio = sio
        self._speaking = speaking
        self._rooms: dict[str, SfuRoom] = {}
        # The connection each member's media was negotiated over, per room: after a resume the page
        # starts its media over, so the server's side must too.
        self._conns: dict[str, dict[str, str]] = {}

    def mode(self, room_id: str) -> Mode:
        return "sfu" if room_id in self._rooms else "mesh"

    def sfu(self, room_id: str) -> SfuRoom | None:
        return self._rooms.get(room_id)

    async def mode_for(self, state: RoomState) -> Mode:
        """The room's media mode, switching it to the SFU (and telling everyone) when it must be."""
        room_id = state.room.id
        if room_id in self._rooms:
            return "sfu"
        room = state.room
        if self._clustered:
            return "mesh"
        if (
            room.media_mode == "sfu"
            or room.relay_only
            or media_members(state) > self._config.mesh_max_participants
        ):
            self._open(state)
            await self._announce(state)
            return "sfu"
        return "mesh"

    def _open(self, state: RoomState) -> SfuRoom:
        room_id = state.room.id
        sfu = SfuRoom(
            room_id,
            self._sfu_config,
            send=self._send,
            on_speaking=lambda pid, speaking: self._speaking(room_id, pid, speaking),
            on_connection=lambda pid, pc, state: self._connection_changed(room_id, pid, pc, state),
        )
        self._rooms[room_id] = sfu
        log.info("room %s media moved to the SFU", room_id, extra={"room": room_id})
        return sfu

    async def _announce(self, state: RoomState) -> None:
        updated = RoomUpdated(
            locked=state.locked,
            waiting_room=state.waiting_room,
            hands=state.hands,
            speaker=speaker_view(state.speaker),
            title=state.room.title,
            version=state.version,
            media_mode="sfu",
            **meeting_fields(state),
        )
        await self._sio.emit(updated.event, encode(updated), room=room_channel(state.room.id))

    async def signal(self, state: RoomState, sender: str, msg: p.Signal) -> None:
        """A `signal` to "sfu" from `sender`."""
        if msg.description is None and msg.candidate is None:
            raise Refusal("bad_request", "A signal needs a description or a candidate.")
        if msg.pc is None:
            raise Refusal(
                "bad_request", 'A signal to the server names its connection: "publish" or "subscribe".'
            )
        member = state.participants.get(sender)
        if member is None or member.media is Media.TEXT:
            raise Refusal("bad_request", "You take part by text only.")
        if await self.mode_for(state) != "sfu":
            raise Refusal("bad_request", "This room's media goes peer to peer; ask rtc:config.")
        sfu = self._rooms[state.room.id]
        conns = self._conns.setdefault(state.room.id, {})
        if sender not in sfu.participants:
            await sfu.join(sender)
            self._apply_forwarding(sfu, state, sender)
        elif conns.get(sender) != member.conn:
            await sfu.reset(sender, "publish")
            await sfu.reset(sender, "subscribe")
        conns[sender] = member.conn
        if msg.description is not None:
            await sfu.description(sender, msg.pc, msg.description.type, msg.description.sdp)
        if msg.candidate is not None:
            await sfu.candidate(sender, msg.pc, msg.candidate.candidate)

    async def observe(self, state: RoomState, outcome: Outcome) -> None:
        """Bring the room's SFU in line with a committed state."""
        if outcome.emptied or not state.participants:
            await self.close_room(state.room.id)
            return
        # A room moves as soon as someone's joining takes it past the mesh limit, not when they first
        # ask for their media's configuration.
        await self.mode_for(state)
        sfu = self._rooms.get(state.room.id)
        if sfu is None:
            return
        for pid in sfu.participants:
            if pid not in state.participants or pid in state.waiting:
                await sfu.remove(pid)
                self._conns.get(state.room.id, {}).pop(pid, None)
            else:
                self._apply_forwarding(sfu, state, pid)

    def _apply_forwarding(self, sfu: SfuRoom, state: RoomState, pid: str) -> None:
        member = state.participants.get(pid)
        if member is None:
            return
        audio = member.audio and not member.media_locked
        video = member.video and not member.media_locked
        if sfu.is_forwarding(pid, "audio") != audio:
            sfu.set_forwarding(pid, "audio", audio)
        if sfu.is_forwarding(pid, "video") != video:
            sfu.set_forwarding(pid, "video", video)

    async def close_room(self, room_id: str) -> None:
        """End a room's media: every peer connection, transport and task of it is freed."""
        sfu = self._rooms.pop(room_id, None)
        self._conns.pop(room_id, None)
        if sfu is not None:
            await sfu.close()
            log.info("room %s media ended", room_id, extra={"room": room_id})

    async def close(self) -> None:
        """End the media of every room on this instance (shutdown)."""
        for room_id in list(self._rooms):
            await self.close_room(room_id)

    async def _send(self, message: SdpMessage) -> None:
        relayed = SignalRelayed(
            p.SFU,
            p.SessionDescription(message.type, message.sdp),
            pc=message.pc,
            restart=True if message.fresh else None,
        )
        await self._sio.emit(relayed.event, encode(relayed), room=participant_channel(message.participant))

    async def _connection_changed(self, room_id: str, participant: str, pc: PcName, state: str) -> None:
        if state != "failed":
            return
        log.info("an SFU %s connection of %s failed", pc, participant, extra={"participant": participant})
        sfu = self._rooms.get(room_id)
        # The server offers a failed subscribe connection afresh (the page takes it on a new one); a
        # failed publish connection is the page's to offer again.
        if pc == "subscribe" and sfu is not None and participant in sfu.participants:
            await sfu.reset(participant, "subscribe")
