"""The socket.io event handlers: decode → authorise → `rooms.apply` → commit → deliver.

Each event from a connection is handled in arrival order (socket.io's `async_handlers=False`): chat
from one person stays in order and an offer is relayed before its ICE candidates.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import socketio

from rooms import (
    ChatMessage,
    Outcome,
    Participant,
    Refusal,
    RoomDefinition,
    RoomState,
    apply,
    check_chat,
)
from rooms import commands as cmd
from rooms.model import Media
from server import auth
from server.settings import Settings
from server.store import Store, StoreUnavailable
from signaling import protocol as p
from signaling.delivery import Delivery, participant_room, room_channel
from signaling.errors import to_ack
from signaling.ratelimit import TokenBucket
from signaling.relay import ice_config, relay_signal
from signaling.socket import (
    after_ack,
    current_sid,
    mark_current,
    wants_ack,
)
from signaling.to_command import to_command

log = logging.getLogger("circle.signaling")


@dataclass
class Conn:
    """One socket.io connection on this instance."""

    sid: str
    chat: TokenBucket
    signal: TokenBucket
    join: TokenBucket
    room_id: str | None = None
    participant_id: str | None = None


def now_ms() -> int:
    return int(time.time() * 1000)


class Signaling:
    def __init__(self, settings: Settings, store: Store, instance_id: str, signer: auth.Signer) -> None:
        self.settings = settings
        self.store = store
        self.instance_id = instance_id
        self.signer = signer
        self.sio: socketio.AsyncServer | None = None
        self.conns: dict[str, Conn] = {}
        # Set by close_all: new connections are refused from then on.
        self.closing = False
        self.delivery: Delivery | None = None
        self._handlers: dict[str, Callable[[Conn, Any], Awaitable[dict[str, Any]]]] = {
            "join": self._join,
            "leave": self._leave,
            "chat:send": self._chat_send,
            "chat:history": self._chat_history,
            "signal": self._signal,
            "rtc:config": self._rtc_config,
        }

    def attach(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio
        self.delivery = Delivery(sio)
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        sio.on("*", self._on_event)

    # -- connection life ---------------------------------------------------------------------------

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth_data: Any = None) -> None:
        if self.closing:
            # A client that is moving off this instance must land on another one.
            raise socketio.exceptions.ConnectionRefusedError(
                {"code": "unavailable", "message": "This server is restarting."}
            )
        s = self.settings
        self.conns[sid] = Conn(
            sid=sid,
            chat=TokenBucket(s.chat_burst, s.chat_rate_per_s),
            signal=TokenBucket(s.signal_burst, s.signal_rate_per_s),
            join=TokenBucket(s.join_burst, s.join_rate_per_s),
        )

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        conn = self.conns.pop(sid, None)
        if conn is None or conn.room_id is None or conn.participant_id is None:
            return
        try:
            await self._command(conn, cmd.Disconnect(conn.participant_id, sid))
        except Exception:
            log.exception("could not mark %s away", conn.participant_id)

    async def _on_event(self, event: str, sid: str, *args: Any) -> dict[str, Any] | None:
        ack_wanted = wants_ack()
        mark_current(sid)
        conn = self.conns.get(sid)
        try:
            if conn is None:
                raise Refusal("not_joined", "This connection is closing.")
            if len(args) > 1:
                raise p.ProtocolError("bad_request", "An event takes one object.")
            msg = p.decode(event, args[0] if args else None)
            retry = self._rate_limit(conn, event)
            if retry:
                raise Refusal(
                    "rate_limited",
                    "You're sending too fast. Please wait a moment.",
                    retry_after_ms=retry,
                )
            handler = self._handlers.get(event)
            if handler is None:
                if conn.participant_id is None:
                    raise Refusal("not_joined", "Join a room first.")
                result = await self._room_command(conn, msg)
            else:
                result = await handler(conn, msg)
            return {"ok": True, **result}
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: B036 - every failure must become an answer
            shown = event if event in p.CLIENT_EVENTS else "unknown"
            ack = to_ack(exc, shown, sid)
            if not ack_wanted and self.sio is not None:
                await self.sio.emit("error", {"error": ack["error"], "event": event[:64]}, to=sid)
            return ack

    def _rate_limit(self, conn: Conn, event: str) -> int:
        now = time.monotonic()
        if event == "join":
            return conn.join.take(now)
        if event == "chat:send":
            return conn.chat.take(now)
        return conn.signal.take(now)

    # -- plumbing ------------------------------------------------------------------------------------

    async def _room(self, conn: Conn) -> RoomDefinition:
        if conn.room_id is None:
            raise Refusal("not_joined", "Join a room first.")
        room = await self.store.get_room(conn.room_id)
        if room is None:
            raise Refusal("not_found", "This room no longer exists.")
        return room

    async def _command(self, conn: Conn, command: cmd.Command) -> tuple[RoomState, Outcome]:
        state, outcome = await self._apply(await self._room(conn), command)
        await self._deliver(state, outcome)
        return state, outcome

    async def _apply(self, room: RoomDefinition, command: cmd.Command) -> tuple[RoomState, Outcome]:
        """Apply a command atomically (the store may run the pure rules again on a conflict)."""
        now = now_ms()
        return await self.store.transact(room, lambda s: apply(s, command, now), now)

    async def _deliver(self, state: RoomState, outcome: Outcome) -> None:
        assert self.delivery is not None
        await self.delivery.send(state, outcome, self._finish_admission, self._close)
        if outcome.emptied and state.room.retention_s == 0:
            await self.store.clear_chat(state.room.id)

    async def _close(self, sid: str) -> None:
        """Close a connection; the sender's own only after its acknowledgement has gone out."""
        assert self.sio is not None
        sio = self.sio
        after = after_ack()
        if after is not None and sid in self.conns and current_sid() == sid:
            after.append(lambda: sio.disconnect(sid))
        else:
            await sio.disconnect(sid)

    async def _finish_admission(self, state: RoomState, pid: str, payload: dict[str, Any]) -> None:
        """A `lobby:admitted` carries the chat so far and a fresh resume token; the waiting socket
        (on whichever instance) enters the room's channel."""
        p_ = state.participants.get(pid)
        if p_ is None:
            return
        payload["room"]["chat"] = await self._visible_recent(state, pid)
        payload["room"]["version"] = state.version
        payload["resume_token"] = self.signer.resume_token(state.room.id, pid, p_.resume_gen)
        assert self.sio is not None
        await self.sio.enter_room(p_.conn, room_channel(state.room.id))

    async def _visible_recent(self, state: RoomState, pid: str) -> list[dict[str, Any]]:
        recent = await self.store.recent_chat(state.room.id, self.settings.chat_snapshot_messages)
        return [m.public() for m in recent if m.visible_to(pid)]

    # -- joining -----------------------------------------------------------------------------------

    async def _join(self, conn: Conn, msg: p.Join) -> dict[str, Any]:
        if conn.participant_id is not None:
            raise Refusal("bad_request", "This connection has already joined a room.")
        room = await self.store.get_room(msg.room)
        if room is None:
            raise Refusal("not_found", "There is no meeting at this link. Please check it.")
        is_host = False
        if msg.host_key:
            if not auth.key_matches(msg.host_key, room.host_key_hash):
                raise Refusal("forbidden", "This facilitator link is not valid for this room.")
            is_host = True
        passcode_ok = False
        if room.passcode_hash and msg.passcode:
            loop = asyncio.get_running_loop()
            passcode_ok = await loop.run_in_executor(
                None, auth.passcode_matches, msg.passcode, room.passcode_hash
            )
        resume_of = None
        if msg.resume_token:
            claim = self.signer.check_resume_token(msg.resume_token)
            if claim is not None and claim.room_id == room.id:
                resume_of = (claim.participant_id, claim.generation)
        command = cmd.Join(
            new_id=auth.new_id(),
            name=msg.name,
            media=Media(msg.media),
            instance=self.instance_id,
            conn=conn.sid,
            is_host=is_host,
            passcode_ok=passcode_ok,
            accepted_guidelines=msg.accept_guidelines,
            resume_of=resume_of,
            browser_key_hash=auth.key_hash(msg.browser_key) if msg.browser_key else None,
        )
        state, outcome = await self._apply(room, command)
        pid = outcome.result["id"]
        me = state.find(pid)
        assert me is not None
        conn.room_id, conn.participant_id = room.id, pid
        waiting = bool(outcome.result["waiting"])
        assert self.sio is not None
        await self.sio.enter_room(conn.sid, participant_room(pid))
        if not waiting:
            await self.sio.enter_room(conn.sid, room_channel(room.id))
        await self._deliver(state, outcome)
        token = self.signer.resume_token(room.id, pid, me.resume_gen)
        log.info("join room=%s participant=%s waiting=%s", room.id, pid, waiting)
        if waiting:
            return {"waiting": True, "self": me.public(), "resume_token": token}
        snapshot = state.snapshot(me)
        snapshot["chat"] = await self._visible_recent(state, pid)
        return {"self": me.public(), "room": snapshot, "resume_token": token}

    async def _leave(self, conn: Conn, msg: p.Leave) -> dict[str, Any]:
        if conn.participant_id is None or conn.room_id is None:
            raise Refusal("not_joined", "You are not in a room.")
        pid, room_id = conn.participant_id, conn.room_id
        await self._command(conn, cmd.Leave(pid))
        assert self.sio is not None
        await self.sio.leave_room(conn.sid, room_channel(room_id))
        await self.sio.leave_room(conn.sid, participant_room(pid))
        conn.room_id = conn.participant_id = None
        return {}

    # -- chat --------------------------------------------------------------------------------------

    async def _chat_send(self, conn: Conn, msg: p.ChatSend) -> dict[str, Any]:
        pid, state = await self._joined_state(conn)
        sender = check_chat(state, pid, msg.to)
        at = now_ms()

        def make(message_id: str) -> ChatMessage:
            return ChatMessage(message_id, sender.id, sender.name, msg.text, at, msg.to)

        message = await self.store.append_chat(state.room.id, make, state.room.max_messages, msg.key)
        assert self.delivery is not None
        try:
            await self.delivery.chat(state.room.id, message)
        except StoreUnavailable as exc:
            # Kept, but not yet sent to every instance: the sender must not send it again (it is in
            # chat:history, and the bus delivers it to the others when the backend returns). A
            # repeat under its key is delivered again: clients drop a message id they already have.
            raise StoreUnavailable("chat kept, not delivered", stored=message.public()) from exc
        return {"message": message.public()}

    async def _chat_history(self, conn: Conn, msg: p.ChatHistory) -> dict[str, Any]:
        pid, state = await self._joined_state(conn)
        messages = await self.store.chat_after(state.room.id, msg.after)
        return {"messages": [m.public() for m in messages if m.visible_to(pid)]}

    async def _joined_state(self, conn: Conn) -> tuple[str, RoomState]:
        if conn.participant_id is None or conn.room_id is None:
            raise Refusal("not_joined", "Join a room first.")
        state = await self.store.load(conn.room_id)
        pid = conn.participant_id
        if state is None or state.find(pid) is None:
            raise Refusal("not_joined", "You are no longer in this room.")
        if pid in state.waiting:
            raise Refusal("forbidden", "You are in the waiting room; a facilitator will let you in.")
        return pid, state

    # -- everything else is a room command -----------------------------------------------------------

    # -- media ---------------------------------------------------------------------------------------

    async def _signal(self, conn: Conn, msg: p.Signal) -> dict[str, Any]:
        pid, state = await self._joined_state(conn)
        assert self.sio is not None
        await relay_signal(self.sio, state, pid, msg)
        return {}

    async def _rtc_config(self, conn: Conn, msg: p.RtcConfig) -> dict[str, Any]:
        pid, state = await self._joined_state(conn)
        return ice_config(self.settings, state, pid)

    # -- everything else is a room command -----------------------------------------------------------

    async def _room_command(self, conn: Conn, msg: Any) -> dict[str, Any]:
        pid = conn.participant_id
        assert pid is not None
        command = to_command(pid, msg)
        _, outcome = await self._command(conn, command)
        return dict(outcome.result)

    # -- the clock -----------------------------------------------------------------------------------

    async def sweep(self, cleared: set[tuple[str, int]]) -> None:
        """Mark away those on dead instances or whose drop was never recorded, remove whoever outstayed
        the grace, expire the chat of rooms empty for their retention."""
        now = now_ms()
        for room_id in await self.store.live_rooms():
            state = await self.store.load(room_id)
            if state is None:
                continue
            people = (*state.participants.values(), *state.waiting.values())
            if people:
                dead = await self.store.dead_instances({x.instance for x in people})
                if any(x.away or x.instance in dead or self._lost(x) for x in people):
                    state, outcome = await self.store.transact(
                        state.room, partial(self._sweep_room, dead=dead, now=now), now
                    )
                    await self._deliver(state, outcome)
            if state.is_empty and state.emptied_at is not None:
                key = (room_id, state.emptied_at)
                if key not in cleared and now - state.emptied_at >= state.room.retention_s * 1000:
                    await self.store.clear_chat(room_id)
                    cleared.add(key)

    def _lost(self, x: Participant) -> bool:
        """Attached here through a connection that is gone, its drop not recorded (the store was down
        then, or this instance restarted under the same name)."""
        return x.instance == self.instance_id and x.conn not in self.conns

    def _sweep_room(self, state: RoomState, dead: frozenset[str], now: int) -> tuple[RoomState, Outcome]:
        # The live connections are read after the state: whoever is in it connected before, so a
        # newcomer is never mistaken for a lost connection.
        live = frozenset(self.conns)
        return apply(state, cmd.Sweep(self.settings.resume_grace_s, dead, self.instance_id, live), now)

    async def close_all(self, drain_s: float) -> None:
        """Refuse new connections, tell every local client the server is going away, and give them
        up to `drain_s` to disconnect themselves: a client that knows `server:closing` does so and
        reconnects at once (behind a load balancer, to another instance). Then disconnect whoever
        is left."""
        self.closing = True
        if self.sio is None:
            return
        for sid in list(self.conns):
            try:
                await self.sio.emit("server:closing", {}, to=sid)
            except Exception:
                log.exception("could not tell %s", sid)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + drain_s
        while self.conns and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for sid in list(self.conns):
            try:
                await self.sio.disconnect(sid)
            except Exception:
                log.exception("could not close %s", sid)


__all__ = ["Conn", "Signaling"]
