"""The socket.io event handlers: decode → authorise → `rooms.apply` → commit → deliver.

`Signaling` wires the parts together (joining, chat, presence, the drain on shutdown) and dispatches
each event to its handler. Each event from a connection is handled in arrival order (socket.io's
`async_handlers=False`): chat from one person stays in order and an offer is relayed before its ICE
candidates.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from rooms import Refusal, RoomDefinition
from rooms import commands as cmd
from signaling import credentials
from signaling import protocol as p
from signaling.addresses import AddressHasher
from signaling.bans import Bans
from signaling.chat import Chat
from signaling.config import SignalingConfig
from signaling.connections import Conn, ConnectionCounts, Connections
from signaling.delivery import Delivery
from signaling.drain import Drain
from signaling.errors import to_ack
from signaling.events import ErrorEvent
from signaling.joining import Admission, Joining
from signaling.lograte import LogRate
from signaling.media import MediaRooms
from signaling.meetings import Clock, Meetings, wall_clock_ms
from signaling.packets import PacketError
from signaling.passcodes import PasscodeGuard
from signaling.ports import NO_METRICS, Bus, Metrics, Store, Unavailable
from signaling.presence import Presence
from signaling.quotas import Quotas
from signaling.relay import ice_config, relay_signal
from signaling.socket import CircleSocketServer, mark_current, wants_ack
from signaling.to_command import Limits, to_command
from signaling.transports import Transports

log = logging.getLogger("circle.signaling")

Handler = Callable[[Conn, Any], Awaitable[dict[str, Any]]]


class Signaling:
    """Signalling for one instance, attached to its socket.io server `sio`, whose client manager is
    `bus`. The server drives it through `use_signing_key`, `sweep`, `drain`, and reads `closing` and
    `counts()`; what it does as it works, it reports to `metrics`."""

    def __init__(
        self,
        config: SignalingConfig,
        store: Store,
        bus: Bus,
        sio: socketio.AsyncServer,
        instance_id: str,
        clock: Clock = wall_clock_ms,
        metrics: Metrics = NO_METRICS,
        log_rate: LogRate | None = None,
    ) -> None:
        self._config = config
        self._sio = sio
        self._log_rate = log_rate or LogRate(config.max_log_lines_per_kind, config.log_kind_window_s)
        self._clock = clock
        self._metrics = metrics
        self._limits = Limits.of(config)
        self._conns = Connections(config)
        self._quotas = Quotas(config)
        self._admission = Admission(config, store, sio)
        # Replaced at start-up, with the signing key, by one keyed from the cluster's shared secret.
        self._addresses = AddressHasher(credentials.new_secret(32))
        self._transports = Transports(config, lambda: self._addresses)
        delivery = Delivery(sio, bus, self._admission.admitted, self._conns.__contains__)
        self._meetings = Meetings(store, delivery, clock, Bans(store, config.ban_ttl_s))
        self._joining = Joining(
            self._meetings,
            self._admission,
            sio,
            instance_id,
            config.max_name_chars,
            config.join_token_secret,
            passcodes=PasscodeGuard(config),
            max_waiting_per_address=config.max_waiting_per_address,
        )
        self._media = MediaRooms(config, sio, bus, self._meetings, instance_id, self._heard_speaking)
        delivery.observers.append(self._media.observe)
        self._chat = Chat(config, self._meetings, self._conns.rooms)
        self._presence = Presence(
            store,
            self._meetings.deliver,
            instance_id,
            config.resume_grace_s,
            self._conns.live,
            unused_one_to_one_s=config.one_to_one_unused_ttl_s,
        )
        self._drain = Drain(sio, self._conns, metrics)
        self._handlers: dict[str, Handler] = {
            "join": self._joining.join,
            "leave": self._joining.leave,
            "chat:send": self._chat.send,
            "chat:history": self._chat.history,
            "mod:delete-chat": self._chat.delete,
            "signal": self._signal,
            "rtc:config": self._rtc_config,
            "milestone:share": self._chat.milestone,
        }
        bus.screen(self._chat.first_delivery)
        bus.on_gap(self._chat.catch_up)
        if isinstance(sio, CircleSocketServer):
            sio.follow_transports(self._transport_opened, self._transports.close)
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        sio.on("*", self._on_event)

    # -- what the server drives ----------------------------------------------------------------------

    async def redefine(self, room: RoomDefinition) -> None:
        """`room` was edited: a meeting in it takes the new definition now, and its members see what
        changed for them (a meeting would otherwise take it at its next command)."""
        if await self._meetings.store.load(room.id) is None:
            return
        state, outcome = await self._meetings.apply(room, cmd.Redefine(room))
        await self._meetings.deliver(state, outcome)

    async def delete_room(self, room: RoomDefinition) -> bool:
        """End the meeting in `room`, if any, for everyone wherever they are connected (`room:ended`,
        then disconnected), then delete the room with its chat. Whether there was a room to delete."""
        state, outcome = await self._meetings.apply(room, cmd.Close())
        await self._meetings.deliver(state, outcome)
        return await self._meetings.store.delete_room(room.id)

    def use_signing_key(self, key: str) -> None:
        """Sign and check resume tokens with `key` (the same on every instance of a cluster), and key
        the hashes of client addresses from it."""
        self._admission.use_signing_key(key)
        self._addresses = AddressHasher(key)

    async def started(self) -> None:
        """This instance has started (perhaps again, under the same name): let go of what an earlier
        run of it held that lives on in the store (the media of rooms it hosted)."""
        try:
            rooms = await self._meetings.store.live_rooms()
        except Unavailable:
            return
        await self._media.let_go_of_earlier(rooms)

    async def sweep(self, now: int | None = None) -> None:
        """One tick: close connections past their join deadline, then presence: away, grace, chat
        expiry (`now`: ms since the epoch, else the clock's)."""
        for session in self._transports.overdue(time.monotonic(), self._joined):
            await self._sio.eio.disconnect(session)
        now = self._clock() if now is None else now
        await self._presence.sweep(now)
        await self._presence.sweep_unused(now)
        await self._media.check()

    async def drain(self, drain_s: float) -> None:
        """Stop taking connections, tell each client, wait up to `drain_s`, close whoever is left."""
        # The rooms whose media is hosted here move first, so that members connected elsewhere
        # start over with another instance while this one's members move.
        await self._media.release()
        await self._drain.run(drain_s)
        await self._media.close()

    @property
    def closing(self) -> bool:
        """True once `drain` has begun: new connections are refused."""
        return self._drain.closing

    def counts(self) -> ConnectionCounts:
        return self._conns.counts()

    @property
    def media(self) -> MediaRooms:
        """The SFU rooms of this instance."""
        return self._media

    # -- connection life -----------------------------------------------------------------------------

    def _transport_opened(self, session: str, environ: dict[str, Any]) -> dict[str, Any] | None:
        return self._transports.open(session, environ, time.monotonic())

    def _joined(self, sid: str) -> bool:
        conn = self._conns.get(sid)
        return conn is not None and conn.participant_id is not None

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth_data: Any = None) -> None:
        if self.closing:
            # A client that is moving off this instance must land on another one.
            raise socketio.exceptions.ConnectionRefusedError(
                {"code": "unavailable", "message": "This server is restarting."}
            )
        self._conns.open(sid, self._transports.address_hash(environ))
        self._transports.attach(environ, sid)

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        conn = self._conns.close(sid)
        if conn is None or conn.room_id is None or conn.participant_id is None:
            return
        try:
            await self._meetings.command(conn, cmd.Disconnect(conn.participant_id, sid))
        except Refusal:
            # The room was deleted meanwhile (its deletion is what closed this connection).
            return
        except Exception:
            log.exception(
                "could not mark %s away", conn.participant_id, extra={"participant": conn.participant_id}
            )

    # -- dispatch ------------------------------------------------------------------------------------

    async def _on_event(self, event: str, sid: str, *args: Any) -> dict[str, Any] | None:
        started = time.perf_counter()
        ack_wanted = wants_ack()
        mark_current(sid)
        # What the event is called in logs and metrics: a name the protocol knows, never a client's.
        shown = event if event in p.CLIENT_EVENTS else "unknown"
        conn = self._conns.get(sid)
        try:
            if conn is None:
                raise Refusal("not_joined", "This connection is closing.")
            # Before decoding, so that bad input and unknown events count against a bucket too.
            now = time.monotonic()
            retry = self._conns.rate_limit(conn, event, now) or self._quotas.take(conn, event, now)
            if retry:
                raise Refusal(
                    "rate_limited",
                    "You're sending too fast. Please wait a moment.",
                    retry_after_ms=retry,
                )
            if args and isinstance(args[0], PacketError):
                raise p.ProtocolError("bad_request", args[0].message)
            if len(args) > 1:
                raise p.ProtocolError("bad_request", "An event takes one object.")
            msg = p.decode(event, args[0] if args else None)
            handler = self._handlers.get(event)
            if handler is None:
                if conn.participant_id is None:
                    raise Refusal("not_joined", "Join a room first.")
                result = await self._room_command(conn, msg)
            else:
                result = await handler(conn, msg)
            self._metrics.event_handled(shown, None, time.perf_counter() - started)
            return {"ok": True, **result}
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: B036 - every failure must become an answer
            ack = to_ack(exc, shown, sid, self._log_rate)
            self._metrics.event_handled(shown, ack["error"]["code"], time.perf_counter() - started)
            if not ack_wanted:
                # The same error object as the acknowledgement's, with the event it is about.
                await self._sio.emit(ErrorEvent.event, {"error": ack["error"], "event": event[:64]}, to=sid)
            return ack

    # -- media ---------------------------------------------------------------------------------------

    async def _signal(self, conn: Conn, msg: p.Signal) -> dict[str, Any]:
        pid, state = await self._meetings.joined_state(conn)
        if msg.to == p.SFU:
            await self._media.signal(state, pid, msg)
        else:
            await relay_signal(self._sio, state, pid, msg)
        return {}

    async def _rtc_config(self, conn: Conn, msg: p.RtcConfig) -> dict[str, Any]:
        pid, state = await self._meetings.joined_state(conn)
        mode = await self._media.mode_for(state)
        return ice_config(self._config, state, pid, mode)

    async def _heard_speaking(self, room_id: str, pid: str, speaking: bool) -> None:
        room = await self._meetings.store.get_room(room_id)
        if room is None:
            return
        try:
            state, outcome = await self._meetings.apply(room, cmd.SetSpeaking(pid, speaking))
        except Refusal:
            # They left (or were let out) while their last packets were still arriving.
            return
        await self._meetings.deliver(state, outcome)

    # -- everything else is a room command -----------------------------------------------------------

    async def _room_command(self, conn: Conn, msg: Any) -> dict[str, Any]:
        pid = conn.participant_id
        assert pid is not None
        if isinstance(msg, p.MediaSpeaking):
            _, state = await self._meetings.joined_state(conn)
            if await self._media.mode_for(state) == "sfu":
                # On the SFU who is speaking is the server's word, from the packets it forwards.
                return {}
        _, outcome = await self._meetings.command(conn, to_command(pid, msg, self._limits))
        return dict(outcome.result)


__all__ = ["Signaling"]
