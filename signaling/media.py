"""Which way a room's media goes, and the SFU of each room that goes through the server.

A room runs in mesh (members' browsers connect to each other, `signaling.relay`) while it holds at
most `mesh_max_participants` members with media, and on the SFU once it grows past that, from the start
when its `media_mode` is "sfu", and always when it is `relay_only` (members then only ever learn the
server's address). Once on the SFU a room stays there until it empties, so nobody's picture moves back
and forth as people come and go.

On the SFU the server enforces mute: a track whose owner is muted, held muted by a facilitator or the
safety pause, or has turned it off, is not forwarded, whatever that member's client does; and who is
speaking is the server's word, from the audio level of the packets it forwards.

In a cluster a room's media lives on one instance, its host, named in the room's state (`rooms.media`):
the first instance that needs the room's SFU takes it, and its heartbeat is its lease. A `signal` to
"sfu" from a member connected to another instance goes to the host as a notice over the bus and is
answered the same way; what changes the room anywhere is announced to the host, so that it forwards what the
room's state says. When the host dies (the presence sweep finds its heartbeat gone), stops or restarts,
the room's media epoch grows, every page starts its connections with the server over, and the first of
their offers gives the room a new host.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import socketio

from rooms import Outcome, Refusal, RoomState
from rooms import commands as cmd
from rooms.model import Media
from signaling import protocol as p
from signaling.config import SignalingConfig
from signaling.delivery import participant_channel
from signaling.events import SignalRelayed
from signaling.meetings import Meetings
from signaling.ports import Bus, Unavailable
from signaling.sfu import PcName, SdpMessage, SfuConfig, SfuRoom
from signaling.views import encode

log = logging.getLogger("circle.media")

Mode = Literal["mesh", "sfu"]
SpeakingReport = Callable[[str, str, bool], Awaitable[None]]
"""`(room_id, participant_id, speaking)`: the SFU heard someone start or stop speaking."""

# What instances tell each other about rooms' media (notices over the bus).
SIGNAL = "media:signal"
"""To the host: a member's `signal` to "sfu", to be answered with a `REPLY`."""
REPLY = "media:reply"
"""To the instance that passed a `SIGNAL` on: how it went (`error`: null, or `{code, message}`)."""
CHANGED = "media:changed"
"""To the room's media host (every instance while it has none): the room's state changed; the host
brings its SFU in line with it."""


@dataclass(frozen=True, slots=True)
class MediaTotals:
    rooms: int
    """Rooms whose media this instance hosts."""
    connections: int
    """Peer connections with members (publish and subscribe)."""
    forwarded: int
    """Streams forwarded (one per track per receiving member)."""


def media_members(state: RoomState) -> int:
    """Members in the meeting (not waiting) who take part with media."""
    return sum(1 for x in state.participants.values() if x.media is not Media.TEXT)


ENDED = "That connection with the server has ended; start again with an offer on publish."


def starts_session(msg: p.Signal) -> bool:
    """A member's media with the server starts with their offer on "publish": nothing else brings
    them into a room's SFU (anything else is left over from a connection that has ended)."""
    return msg.pc == "publish" and msg.description is not None and msg.description.type == "offer"


class MediaRooms:
    """The SFU rooms this instance (`instance_id`) hosts, and the way to the host of every other.
    `observe` must see every state this instance commits (it frees a leaver's media, ends a room's
    media when it empties, applies mutes, and tells the host when it is elsewhere); `speaking` is
    told what the SFU hears."""

    def __init__(
        self,
        config: SignalingConfig,
        sio: socketio.AsyncServer,
        bus: Bus,
        meetings: Meetings,
        instance_id: str,
        speaking: SpeakingReport,
    ) -> None:
        self._config = config
        self._sfu_config: SfuConfig = config.sfu_config()
        self._sio = sio
        self._bus = bus
        self._meetings = meetings
        self._instance = instance_id
        self._speaking = speaking
        self._rooms: dict[str, SfuRoom] = {}
        # The connection each member's media was negotiated over, per room: after a resume the page
        # starts its media over, so the server's side must too.
        self._conns: dict[str, dict[str, str]] = {}
        self._taking: dict[str, asyncio.Lock] = {}
        self._closing = False
        # Notices for the rooms hosted here, handled in the order they came, one room at a time.
        self._inbox: dict[str, deque[dict[str, Any]]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        # Signals passed on to another host, waiting for its answer.
        self._asked = itertools.count(1)
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        bus.on_notice(self._heard)

    def sfu(self, room_id: str) -> SfuRoom | None:
        return self._rooms.get(room_id)

    def totals(self) -> MediaTotals:
        """What this instance's SFU carries now, over every room it hosts."""
        connections = forwarded = 0
        for sfu in self._rooms.values():
            stats = sfu.stats()
            connections += stats.connections
            forwarded += stats.forwarded
        return MediaTotals(len(self._rooms), connections, forwarded)

    async def mode_for(self, state: RoomState) -> Mode:
        """The room's media mode, moving it to the SFU (and telling everyone) when it must go there."""
        if state.sfu:
            return "sfu"
        room = state.room
        if (
            room.media_mode == "sfu"
            or room.relay_only
            or media_members(state) > self._config.mesh_max_participants
        ) and not self._closing:
            await self._host(state)
            return "sfu"
        return "mesh"

    async def _host(self, state: RoomState) -> str:
        """The instance hosting the room's media, taking it here when nobody has it (or when it is
        this instance's but was lost to a restart)."""
        room_id = state.room.id
        host = state.media_host
        if host is not None and host != self._instance:
            return host
        if host == self._instance and room_id in self._rooms:
            return host
        if self._closing:
            raise Refusal("unavailable", "This server is restarting; your media will reconnect in a moment.")
        lock = self._taking.setdefault(room_id, asyncio.Lock())
        async with lock:
            if room_id in self._rooms:
                return self._instance
            take = cmd.HostMedia(self._instance, restart=host == self._instance)
            state, outcome = await self._meetings.apply(state.room, take)
            host = outcome.result.get("host")
            if host == self._instance and state.media_host == self._instance:
                # Open before anyone hears of it, so that every signal that follows finds it here.
                self._open(state)
            await self._meetings.deliver(state, outcome)
        if self._taking.get(room_id) is lock and not lock.locked():
            del self._taking[room_id]
        if not isinstance(host, str):
            raise Refusal("not_joined", "This meeting is over.")
        return host

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
        log.info("room %s media hosted here", room_id, extra={"room": room_id})
        return sfu

    # -- signals -------------------------------------------------------------------------------------

    async def signal(self, state: RoomState, sender: str, msg: p.Signal) -> None:
        """A `signal` to "sfu" from `sender`, a member connected here."""
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
        vacant = state.room.id not in self._rooms and state.media_host in (None, self._instance)
        if vacant and not starts_session(msg):
            # A late answer or candidate for a server that is gone must not make this one the host:
            # its own offer would then go to a page that has moved on.
            raise Refusal("bad_request", ENDED)
        host = await self._host(state)
        if host == self._instance:
            if state.media_host != host:
                # Read before this instance took the room: read it as it is now.
                state = await self._meetings.store.load(state.room.id) or state
            await self._signal_here(state, sender, msg)
        else:
            await self._pass_on(host, state.room.id, sender, msg)

    async def _signal_here(self, state: RoomState, sender: str, msg: p.Signal) -> None:
        sfu = self._rooms.get(state.room.id)
        member = state.participants.get(sender)
        if sfu is None or state.media_host != self._instance:
            raise Refusal("unavailable", "This room's media is moving; it will reconnect in a moment.")
        if member is None or member.media is Media.TEXT or msg.pc is None:
            raise Refusal("not_joined", "You are no longer in this room.")
        conns = self._conns.setdefault(state.room.id, {})
        if sender not in sfu.participants:
            if not starts_session(msg):
                raise Refusal("bad_request", ENDED)
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

    async def _pass_on(self, host: str, room_id: str, sender: str, msg: p.Signal) -> None:
        """Send a member's signal to the room's host and wait for its answer."""
        asked = next(self._asked)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[asked] = answer
        notice = {
            "kind": SIGNAL,
            "room": room_id,
            "sender": sender,
            "signal": asdict(msg),
            "reply_to": self._instance,
            "asked": asked,
        }
        try:
            await self._bus.notify(notice, to=host)
            reply = await asyncio.wait_for(answer, self._config.media_route_timeout_s)
        except (Unavailable, TimeoutError):
            raise Refusal(
                "unavailable",
                "The server carrying this room's media did not answer; your media will reconnect.",
            ) from None
        finally:
            self._answers.pop(asked, None)
        error = reply.get("error")
        if isinstance(error, dict):
            raise Refusal(str(error.get("code", "internal")), str(error.get("message", "")))

    # -- what other instances say --------------------------------------------------------------------

    def _heard(self, notice: dict[str, Any]) -> None:
        kind = notice.get("kind")
        if kind == REPLY:
            asked = notice.get("asked")
            answer = self._answers.get(asked) if isinstance(asked, int) else None
            if answer is not None and not answer.done():
                answer.set_result(notice)
            return
        room_id = notice.get("room")
        if kind not in (SIGNAL, CHANGED) or not isinstance(room_id, str):
            return
        if kind == CHANGED and room_id not in self._rooms:
            return
        waiting = self._inbox.get(room_id)
        if waiting is not None:
            if kind == CHANGED and waiting and waiting[-1].get("kind") == CHANGED:
                return  # one reading of the state serves both
            waiting.append(notice)
            return
        self._inbox[room_id] = deque([notice])
        worker = asyncio.ensure_future(self._work(room_id))
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    async def _work(self, room_id: str) -> None:
        waiting = self._inbox[room_id]
        try:
            while waiting:
                notice = waiting.popleft()
                try:
                    await self._take_in(room_id, notice)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("a media notice for room %s failed", room_id, extra={"room": room_id})
        finally:
            del self._inbox[room_id]

    async def _take_in(self, room_id: str, notice: dict[str, Any]) -> None:
        state = await self._meetings.store.load(room_id)
        if notice.get("kind") == CHANGED:
            if state is None:
                await self.close_room(room_id)
            else:
                await self._follow(state)
            return
        error: dict[str, Any] | None = None
        try:
            sender = notice.get("sender")
            if not isinstance(sender, str):
                raise p.ProtocolError("bad_request", "A signal needs its sender.")
            msg = p.decode("signal", notice.get("signal"))
            if state is None:
                raise Refusal("not_joined", "This meeting is over.")
            if state.media_host == self._instance and room_id not in self._rooms and starts_session(msg):
                # Hosted here before this instance restarted: take it up again, with everyone.
                await self._host(state)
                state = await self._meetings.store.load(room_id) or state
            await self._signal_here(state, sender, msg)
        except (Refusal, p.ProtocolError) as exc:
            error = {"code": exc.code, "message": exc.message}
        except Exception:
            log.exception("a signal passed on for room %s failed", room_id, extra={"room": room_id})
            error = {"code": "internal", "message": "Something went wrong on the server. Please try again."}
        reply_to = notice.get("reply_to")
        if isinstance(reply_to, str):
            with contextlib.suppress(Unavailable):
                await self._bus.notify(
                    {"kind": REPLY, "asked": notice.get("asked"), "error": error}, to=reply_to
                )

    # -- following the room's state ------------------------------------------------------------------

    async def observe(self, state: RoomState, outcome: Outcome) -> None:
        """Bring the room's media in line with a state this instance committed."""
        room_id = state.room.id
        if not state.sfu and not outcome.emptied and state.participants:
            # A room moves as soon as someone's joining takes it past the mesh limit, not when they
            # first ask for their media's configuration. Moving it delivered (and so observed) the
            # newer state.
            if await self.mode_for(state) == "sfu":
                return
        await self._follow(state)
        elsewhere = state.media_host != self._instance
        if self._bus.spans_instances and (state.sfu or outcome.emptied) and elsewhere:
            try:
                # To the host the state names; with none named, to every instance, in case one still
                # carries the room's media (it lets go when it reads the state).
                await self._bus.notify({"kind": CHANGED, "room": room_id}, to=state.media_host)
            except Unavailable:
                # The host finds out at its next check of the rooms it hosts.
                log.info("could not tell room %s's media host of a change", room_id, extra={"room": room_id})

    async def _follow(self, state: RoomState) -> None:
        room_id = state.room.id
        sfu = self._rooms.get(room_id)
        if sfu is None:
            return
        if not state.participants or state.media_host != self._instance:
            # The meeting is over, or its media has another host now (this one was taken for dead).
            await self.close_room(room_id)
            return
        for pid in sfu.participants:
            if pid not in state.participants or pid in state.waiting:
                await sfu.remove(pid)
                self._conns.get(room_id, {}).pop(pid, None)
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

    async def check(self) -> None:
        """Let go of every room this instance hosts no longer (the clock's tick): a meeting that
        ended elsewhere, or whose media another instance took while this one was taken for dead."""
        for room_id in list(self._rooms):
            try:
                state = await self._meetings.store.load(room_id)
            except Unavailable:
                return
            if state is None:
                await self.close_room(room_id)
            else:
                await self._follow(state)

    # -- ending --------------------------------------------------------------------------------------

    async def close_room(self, room_id: str) -> None:
        """End a room's media here: every peer connection, transport and task of it is freed."""
        sfu = self._rooms.pop(room_id, None)
        self._conns.pop(room_id, None)
        if sfu is not None:
            await sfu.close()
            log.info("room %s media ended here", room_id, extra={"room": room_id})

    async def let_go_of_earlier(self, room_ids: list[str]) -> None:
        """At start-up: rooms whose state names this instance as their media host were hosted by an
        earlier run of it under the same name, whose connections are gone. Let them go, so that
        their members start over at once rather than when their connections time out."""
        for room_id in room_ids:
            try:
                state = await self._meetings.store.load(room_id)
                if state is None or state.media_host != self._instance or room_id in self._rooms:
                    continue
                state, outcome = await self._meetings.apply(state.room, cmd.ReleaseMedia(self._instance))
            except (Refusal, Unavailable):
                continue
            await self._meetings.deliver(state, outcome)

    async def release(self) -> None:
        """Stop hosting (this instance is stopping): each room's members start over with another
        instance, which takes the room at their first offer."""
        self._closing = True
        if not self._bus.spans_instances:
            return
        for room_id, sfu in list(self._rooms.items()):
            room = await self._meetings.store.get_room(room_id)
            if room is None:
                continue
            try:
                state, outcome = await self._meetings.apply(room, cmd.ReleaseMedia(self._instance))
            except (Refusal, Unavailable):
                continue
            if self._rooms.get(room_id) is sfu:
                await self.close_room(room_id)
            await self._meetings.deliver(state, outcome)

    async def close(self) -> None:
        """End the media of every room on this instance (shutdown)."""
        self._closing = True
        for worker in list(self._workers):
            worker.cancel()
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
        # "closed" here is never the server's own doing (it stops listening before it closes one): the
        # member's end went, or ICE gave up on a path that went silent, which aiortc reports as closed.
        if state not in ("failed", "closed"):
            return
        log.info("an SFU %s connection of %s %s", pc, participant, state, extra={"participant": participant})
        sfu = self._rooms.get(room_id)
        # The server offers a lost subscribe connection afresh (the page takes it on a new one); a
        # lost publish connection is the page's to offer again.
        if pc == "subscribe" and sfu is not None and participant in sfu.participants:
            await sfu.reset(participant, "subscribe")
