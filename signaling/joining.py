"""Joining and leaving: who may come in (host keys, passcodes, signed resume tokens, bans through the
rules), and what someone let in receives.

Secrets are checked here and only the verdicts reach the rules (`rooms.commands.Join`): whether the
host key and the passcode match, whose seat a resume token names, and which of the joiner's marks the
room's bans hold (`signaling.bans`). Passcode tries are slowed per address and room first
(`signaling.passcodes`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import socketio

from rooms import ChatMessage, Refusal, RoomState
from rooms import commands as cmd
from rooms.model import Media, Role, RoomDefinition
from signaling import bans, credentials, views
from signaling import events as ev
from signaling import protocol as p
from signaling.config import SignalingConfig
from signaling.connections import Conn
from signaling.delivery import participant_channel, room_channel
from signaling.join_tokens import JoinClaim, check_join_token
from signaling.meetings import Meetings
from signaling.passcodes import PasscodeGuard, Shut
from signaling.ports import Store

log = logging.getLogger("circle.signaling")


class Admission:
    """What someone let into a room receives: the chat so far they may see, and a fresh resume token.
    Resume tokens are signed with the key given to `use_signing_key` (one per cluster)."""

    def __init__(self, config: SignalingConfig, store: Store, sio: socketio.AsyncServer) -> None:
        self._config = config
        self._store = store
        self._sio = sio
        # Replaced at start-up by the key the cluster shares; until then, tokens nobody can check.
        self.signer = credentials.Signer(credentials.new_secret(32))

    def use_signing_key(self, key: str) -> None:
        self.signer = credentials.Signer(key)

    def resume_token(self, state: RoomState, pid: str) -> str:
        me = state.find(pid)
        assert me is not None
        return self.signer.resume_token(state.room.id, pid, me.resume_gen)

    async def visible_recent(self, state: RoomState, pid: str) -> list[ChatMessage]:
        recent = await self._store.recent_chat(state.room.id, self._config.chat_snapshot_messages)
        return [m for m in recent if m.visible_to(pid)]

    async def admitted(self, let_in: RoomState, state: RoomState, pid: str) -> ev.LobbyAdmitted | None:
        """The `lobby:admitted` of `pid`: the room as the rules let them in (`let_in`), at the version
        committed (`state`), with the chat so far and a fresh resume token. Their socket (on whichever
        instance) enters the room's channel."""
        me, them = state.participants.get(pid), let_in.participants.get(pid)
        if me is None or them is None:
            return None
        snapshot = views.room_snapshot(let_in, them, await self.visible_recent(state, pid))
        await self._sio.enter_room(me.conn, room_channel(state.room.id))
        return ev.LobbyAdmitted(replace(snapshot, version=state.version), self.resume_token(state, pid))


_SHUT = {
    "address": "Too many wrong passcodes have come from your network. Please wait a little, then try again.",
    "room": "Too many wrong passcodes have been tried for this meeting. Please wait a little, then try"
    " again.",
}


class Joining:
    def __init__(
        self,
        meetings: Meetings,
        admission: Admission,
        sio: socketio.AsyncServer,
        instance_id: str,
        max_name_chars: int,
        join_token_secret: str | None = None,
        *,
        passcodes: PasscodeGuard,
        max_waiting_per_address: int,
    ) -> None:
        self._max_name_chars = max_name_chars
        self._join_token_secret = join_token_secret
        self._passcodes = passcodes
        self._max_waiting_per_address = max_waiting_per_address
        self._meetings = meetings
        self._admission = admission
        self._sio = sio
        self._instance_id = instance_id

    async def join(self, conn: Conn, msg: p.Join) -> dict[str, Any]:
        if conn.participant_id is not None:
            raise Refusal("bad_request", "This connection has already joined a room.")
        if msg.name is not None:
            p.within("name", msg.name, self._max_name_chars)
        room = await self._meetings.store.get_room(msg.room)
        if room is None:
            raise Refusal("not_found", "There is no meeting at this link. Please check it.")
        resume_of = None
        if msg.resume_token:
            claim = self._admission.signer.check_resume_token(msg.resume_token)
            if claim is not None and claim.room_id == room.id:
                resume_of = (claim.participant_id, claim.generation)
        vouched, token_refused = self._token(msg, room.id)
        if token_refused is not None and resume_of is None:
            raise token_refused
        name = vouched.name if vouched is not None else msg.name
        if name is None and token_refused is None:
            raise p.ProtocolError("bad_request", "name is required.")
        is_host = vouched is not None and vouched.role is Role.FACILITATOR
        if msg.host_key:
            if not credentials.key_matches(msg.host_key, room.host_key_hash):
                raise Refusal("forbidden", "This facilitator link is not valid for this room.")
            is_host = True
        # A community site's token vouches for its holder as the passcode would.
        passcode_ok = vouched is not None
        if room.passcode_hash and msg.passcode and not passcode_ok and not is_host:
            # A signed resume token for this room proves its holder was let in: no guessing to slow.
            passcode_ok = await self._passcode_matches(conn, room, msg.passcode, guarded=resume_of is None)
        invite = None
        if room.one_to_one and msg.invite:
            invite = next(
                (n for n, h in enumerate(room.invite_key_hashes) if credentials.key_matches(msg.invite, h)),
                None,
            )
        media = Media(msg.media)
        browser_key_hash = credentials.key_hash(msg.browser_key) if msg.browser_key else None
        address_hash = conn.address_hash or None
        joiner = bans.marks(resume_of[0] if resume_of else None, browser_key_hash, address_hash)
        command = cmd.Join(
            new_id=credentials.new_id(),
            name=name or "",
            media=vouched.allowed_media(media) if vouched is not None else media,
            instance=self._instance_id,
            conn=conn.sid,
            is_host=is_host,
            passcode_ok=passcode_ok,
            accepted_guidelines=msg.accept_guidelines,
            resume_of=resume_of,
            browser_key_hash=browser_key_hash,
            address_hash=address_hash,
            banned_marks=await self._meetings.bans.holding(room.id, joiner),
            max_waiting_per_address=self._max_waiting_per_address,
            invite=invite,
            guidelines_version=msg.guidelines_version,
        )
        check = None
        if token_refused is not None and resume_of is not None:
            check = _only_resuming(resume_of, token_refused)
        state, outcome = await self._meetings.apply(room, command, check)
        pid = outcome.result["id"]
        me = state.find(pid)
        assert me is not None
        conn.room_id, conn.participant_id, conn.media = room.id, pid, me.media.value
        waiting = bool(outcome.result["waiting"])
        await self._sio.enter_room(conn.sid, participant_channel(pid))
        if not waiting:
            await self._sio.enter_room(conn.sid, room_channel(room.id))
        await self._meetings.deliver(state, outcome)
        token = self._admission.resume_token(state, pid)
        log.info(
            "join room=%s participant=%s waiting=%s",
            room.id,
            pid,
            waiting,
            extra={"room": room.id, "participant": pid, "waiting": waiting},
        )
        you = views.encode(views.participant_view(me))
        if waiting:
            # Whether anyone is there to let them in yet (later changes come as `lobby:facilitator`).
            present = state.facilitator_present
            return {"waiting": True, "self": you, "resume_token": token, "facilitator_present": present}
        snapshot = views.room_snapshot(state, me, await self._admission.visible_recent(state, pid))
        return {"self": you, "room": views.encode(snapshot), "resume_token": token}

    def _token(self, msg: p.Join, room_id: str) -> tuple[JoinClaim | None, Refusal | None]:
        """The join token's claim, or why it was refused (neither without a token)."""
        if msg.token is None:
            return None, None
        try:
            return check_join_token(msg.token, self._join_token_secret, room_id, self._max_name_chars), None
        except Refusal as refused:
            return None, refused

    async def _passcode_matches(self, conn: Conn, room: RoomDefinition, passcode: str, guarded: bool) -> bool:
        address, stored = conn.address_hash, room.passcode_hash
        assert stored is not None
        loop = asyncio.get_running_loop()
        if not guarded:
            return bool(await loop.run_in_executor(None, credentials.passcode_matches, passcode, stored))
        wait = self._passcodes.admit(address, room.id, time.monotonic())
        if wait is not None:
            retry_ms, scope = wait
            raise Refusal("rate_limited", _SHUT[scope], retry_after_ms=retry_ms, scope=scope)
        try:
            matches = await loop.run_in_executor(None, credentials.passcode_matches, passcode, stored)
        except BaseException:
            self._passcodes.abandoned(address, room.id)
            raise
        if matches:
            self._passcodes.succeeded(address, room.id)
            return True
        shut = self._passcodes.failed(address, room.id, time.monotonic())
        if shut is not None:
            await self._tell_facilitators(room, shut)
        return False

    async def _tell_facilitators(self, room: RoomDefinition, shut: Shut) -> None:
        log.info(
            "passcode tries shut room=%s scope=%s for %.0f s",
            room.id,
            shut.scope,
            shut.seconds,
            extra={"room": room.id, "scope": shut.scope},
        )
        state = await self._meetings.store.load(room.id)
        if state is not None:
            until = self._meetings.clock() + int(shut.seconds * 1000)
            await self._meetings.delivery.to_facilitators(state, ev.LobbyPasscodeFailures(shut.scope, until))

    async def leave(self, conn: Conn, msg: p.Leave) -> dict[str, Any]:
        if conn.participant_id is None or conn.room_id is None:
            raise Refusal("not_joined", "You are not in a room.")
        pid, room_id = conn.participant_id, conn.room_id
        await self._meetings.command(conn, cmd.Leave(pid))
        await self._sio.leave_room(conn.sid, room_channel(room_id))
        await self._sio.leave_room(conn.sid, participant_channel(pid))
        conn.room_id = conn.participant_id = conn.media = None
        return {}


def _only_resuming(resume_of: tuple[str, int], refused: Refusal) -> Callable[[RoomState], None]:
    """A token that no longer holds (it expired during the meeting) still lets its holder take back the
    seat their resume token names, and nothing more: without that seat, the token's refusal stands."""
    pid, generation = resume_of

    def check(state: RoomState) -> None:
        seat = state.find(pid)
        if seat is None or seat.resume_gen != generation or f"id:{pid}" in state.bans:
            raise refused

    return check
