"""How a room's state changes: load the room, apply the rules atomically in the store, then deliver
what they decided. Every handler that changes a room goes through here."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from rooms import Outcome, Refusal, RoomDefinition, RoomState, apply
from rooms import commands as cmd
from signaling.bans import Bans
from signaling.connections import Conn
from signaling.delivery import Delivery
from signaling.ports import Store

Clock = Callable[[], int]
"""Milliseconds since the Unix epoch."""


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class Meetings:
    def __init__(self, store: Store, delivery: Delivery, clock: Clock, bans: Bans) -> None:
        self.store = store
        self.delivery = delivery
        self.clock = clock
        self.bans = bans

    async def room(self, conn: Conn) -> RoomDefinition:
        if conn.room_id is None:
            raise Refusal("not_joined", "Join a room first.")
        room = await self.store.get_room(conn.room_id)
        if room is None:
            raise Refusal("not_found", "This room no longer exists.")
        return room

    async def command(self, conn: Conn, command: cmd.Command) -> tuple[RoomState, Outcome]:
        state, outcome = await self.apply(await self.room(conn), command)
        await self.deliver(state, outcome)
        return state, outcome

    async def apply(
        self,
        room: RoomDefinition,
        command: cmd.Command,
        check: Callable[[RoomState], None] | None = None,
    ) -> tuple[RoomState, Outcome]:
        """Apply a command atomically (the store may run the pure rules again on a conflict), to the
        meeting as `room`, the definition just read, has it (unless the meeting has a newer one).
        `check(state)` may refuse the command first, on the state it would apply to."""
        now = self.clock()

        def step(state: RoomState) -> tuple[RoomState, Outcome]:
            # Every command carries the definition it was read with, so a meeting catches up with an
            # edit at its next command, whichever instance the edit was made on.
            state, first = apply(state, cmd.Redefine(room), now)
            if check is not None:
                check(state)
            state, outcome = apply(state, command, now)
            if not first.events:
                return state, outcome
            return state, replace(outcome, events=(*first.events, *outcome.events))

        return await self.store.transact(room, step, now)

    async def deliver(self, state: RoomState, outcome: Outcome) -> None:
        try:
            # Kept before the banned are told and their sockets closed, so that a rejoin, on any
            # instance, finds the ban; they are told and closed even if it could not be kept.
            await self.bans.keep(state.room.id, outcome.banned)
        finally:
            await self.delivery.send(state, outcome)
        if outcome.emptied and state.room.retention_s == 0:
            await self.store.clear_chat(state.room.id)

    async def joined_state(self, conn: Conn) -> tuple[str, RoomState]:
        """The caller's id and the room's state; the caller must be in the room, not waiting."""
        if conn.participant_id is None or conn.room_id is None:
            raise Refusal("not_joined", "Join a room first.")
        return self.joined(conn, await self.store.load(conn.room_id))

    @staticmethod
    def joined(conn: Conn, state: RoomState | None) -> tuple[str, RoomState]:
        """`joined_state` with the room's state given (None: no meeting)."""
        pid = conn.participant_id
        if pid is None or conn.room_id is None:
            raise Refusal("not_joined", "Join a room first.")
        if state is None or state.find(pid) is None:
            raise Refusal("not_joined", "You are no longer in this room.")
        if pid in state.waiting:
            raise Refusal("forbidden", "You are in the waiting room; a facilitator will let you in.")
        return pid, state
