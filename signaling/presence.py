"""Presence over time: who is away, who outstayed the resume grace, whose chat has expired, which
one-to-one rooms are over.

Run by the server's clock with the time passed in, so that it reads no clock of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from rooms import Outcome, Participant, RoomState, apply
from rooms import commands as cmd
from signaling.ports import Store

Deliver = Callable[[RoomState, Outcome], Awaitable[None]]


class Presence:
    """Sweeps the rooms in `store` for this instance (`instance_id`), whose open connections
    `live_conns()` names, and hands what changed to `deliver`."""

    def __init__(
        self,
        store: Store,
        deliver: Deliver,
        instance_id: str,
        resume_grace_s: float,
        live_conns: Callable[[], frozenset[str]],
        *,
        unused_one_to_one_s: float | None = None,
    ) -> None:
        self._store = store
        self._deliver = deliver
        self._instance_id = instance_id
        self._grace_s = resume_grace_s
        self._live_conns = live_conns
        self._unused_s = unused_one_to_one_s
        # When the rooms were last looked over for unused one-to-ones (ms since the epoch).
        self._unused_checked: int | None = None
        # Rooms whose chat was cleared, by the time they emptied: cleared once per emptying.
        self._cleared: set[tuple[str, int]] = set()

    async def sweep(self, now: int) -> None:
        """Mark away those on dead instances or whose drop was never recorded, remove whoever outstayed
        the grace, let go of a media host that died, expire the chat of rooms empty for their
        retention (and delete one-to-one rooms then). `now`: ms since the epoch."""
        store = self._store
        for room_id in await store.live_rooms():
            state = await store.load(room_id)
            if state is None:
                continue
            people = (*state.participants.values(), *state.waiting.values())
            if people:
                instances = {x.instance for x in people}
                if state.media_host is not None:
                    instances.add(state.media_host)
                dead = await store.dead_instances(instances)
                live = self._live_conns()
                lost_media = state.media_host in dead
                if lost_media or any(x.away or x.instance in dead or self._lost(x, live) for x in people):
                    state, outcome = await store.transact(
                        state.room, partial(self._sweep_room, dead=dead, now=now), now
                    )
                    await self._deliver(state, outcome)
            if state.is_empty and state.emptied_at is not None:
                key = (room_id, state.emptied_at)
                if key not in self._cleared and now - state.emptied_at >= state.room.retention_s * 1000:
                    if state.room.one_to_one:
                        # A one-to-one room is for one relationship: once its retention has passed with
                        # nobody in it, the room goes too, with its chat.
                        await store.delete_room(room_id, only_if_empty=True)
                    else:
                        await store.clear_chat(room_id)
                    self._cleared.add(key)

    async def sweep_unused(self, now: int) -> None:
        """Delete each one-to-one room nobody has joined in the `unused_one_to_one_s` since it was
        made: an invitation that was never taken up does not wait for ever (with its title). Every
        room's definition is read, so this runs seldom: at most once in a hundredth of that time,
        and at least once an hour."""
        if self._unused_s is None:
            return
        every_ms = min(self._unused_s * 10, 3_600_000)
        if self._unused_checked is not None and now - self._unused_checked < every_ms:
            return
        self._unused_checked = now
        store = self._store
        for room in await store.list_rooms():
            if not room.one_to_one or now - room.created_at < self._unused_s * 1000:
                continue
            # A room that has had a meeting goes once its chat's retention has passed (`sweep`).
            if await store.load(room.id) is None:
                await store.delete_room(room.id, only_if_empty=True)

    def _lost(self, x: Participant, live: frozenset[str]) -> bool:
        """Attached here through a connection that is gone, its drop not recorded (the store was down
        then, or this instance restarted under the same name)."""
        return x.instance == self._instance_id and x.conn not in live

    def _sweep_room(self, state: RoomState, dead: frozenset[str], now: int) -> tuple[RoomState, Outcome]:
        # The live connections are read after the state: whoever is in it connected before, so a
        # newcomer is never mistaken for a lost connection.
        live = self._live_conns()
        return apply(state, cmd.Sweep(self._grace_s, dead, self._instance_id, live), now)
