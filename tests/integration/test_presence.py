"""The presence sweep runs on the time it is given: a dropped member keeps their seat for exactly the
resume grace, a connection this instance lost without recording it is noticed, and an emptied room's
chat goes exactly when its retention runs out. No test here waits for a clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from rooms import ChatMessage, Outcome, RoomState, apply
from rooms import commands as cmd
from server.memory_store import MemoryStore
from signaling.presence import Presence
from tests.support.rooms import a_room, joining

GRACE_S = 30.0
T0 = 1_700_000_000_000


class Recorder:
    """What the sweep delivered, and the connections this instance holds."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, object]] = []
        self.live: set[str] = set()

    async def deliver(self, state: RoomState, outcome: Outcome) -> None:
        self.delivered += [(e.name, e.payload) for e in outcome.events]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[MemoryStore]:
    s = MemoryStore(tmp_path, resend_window_s=600)
    await s.start()
    yield s
    await s.close()


def sweeper(store: MemoryStore, seen: Recorder) -> Presence:
    return Presence(store, seen.deliver, "i-one", GRACE_S, lambda: frozenset(seen.live))


async def test_a_dropped_member_is_removed_when_the_grace_runs_out_and_not_before(store: MemoryStore) -> None:
    room = a_room()
    await store.create_room(room)
    seen = Recorder()
    seen.live |= {"c1", "c2"}
    for n in (1, 2):
        await store.transact(room, lambda s, n=n: apply(s, joining(n), T0), T0)
    await store.transact(room, lambda s: apply(s, cmd.Disconnect("p002", "c2"), T0 + 1000), T0 + 1000)
    seen.live.discard("c2")
    presence = sweeper(store, seen)

    await presence.sweep(T0 + 1000 + int(GRACE_S * 1000) - 1)
    state = await store.load(room.id)
    assert state is not None and state.participants["p002"].away
    assert seen.delivered == []

    await presence.sweep(T0 + 1000 + int(GRACE_S * 1000))
    state = await store.load(room.id)
    assert state is not None and list(state.participants) == ["p001"]
    assert ("participant:left", {"id": "p002", "reason": "disconnected"}) in seen.delivered


async def test_a_connection_lost_without_a_record_is_marked_away_at_the_sweep_time(
    store: MemoryStore,
) -> None:
    room = a_room()
    await store.create_room(room)
    seen = Recorder()
    seen.live |= {"c1", "c2"}
    for n in (1, 2):
        await store.transact(room, lambda s, n=n: apply(s, joining(n), T0), T0)
    presence = sweeper(store, seen)
    await presence.sweep(T0 + 5)
    assert seen.delivered == []

    seen.live.discard("c2")
    await presence.sweep(T0 + 7)
    state = await store.load(room.id)
    assert state is not None
    bob = state.participants["p002"]
    assert bob.away and bob.away_since == T0 + 7
    assert [name for name, _ in seen.delivered] == ["participant:updated"]


async def test_an_emptied_rooms_chat_goes_when_its_retention_runs_out(store: MemoryStore) -> None:
    room = a_room(retention_s=60)
    await store.create_room(room)
    seen = Recorder()
    seen.live.add("c1")
    await store.transact(room, lambda s: apply(s, joining(1), T0), T0)
    await store.append_chat(room.id, lambda i: ChatMessage(i, "p001", "Member 1", "hello", T0), 500)
    left_at = T0 + 1000
    await store.transact(room, lambda s: apply(s, cmd.Leave("p001"), left_at), left_at)
    presence = sweeper(store, seen)

    await presence.sweep(left_at + 60_000 - 1)
    assert [m.text for m in await store.chat_after(room.id, None)] == ["hello"]
    await presence.sweep(left_at + 60_000)
    assert await store.chat_after(room.id, None) == []


async def test_a_one_to_one_nobody_ever_joined_goes_when_its_invitation_runs_out(store: MemoryStore) -> None:
    day = 86_400_000
    pair = {"one_to_one": True, "invite_key_hashes": ("a" * 64, "b" * 64), "created_at": T0}
    unused = a_room("unused", **pair)
    used = a_room("used", **{**pair, "retention_s": 30 * 86_400})
    group = a_room("group", created_at=T0)
    fresh = a_room("fresh", **{**pair, "created_at": T0 + 20 * day})
    for room in (unused, used, group, fresh):
        await store.create_room(room)
    # The used one has had a meeting: its own retention decides when it goes, not this.
    sponsor = replace(joining(1), invite=0)
    await store.transact(used, lambda s: apply(s, sponsor, T0 + day), T0 + day)
    await store.transact(used, lambda s: apply(s, cmd.Leave("p001"), T0 + day), T0 + day)
    seen = Recorder()
    presence = Presence(
        store, seen.deliver, "i-one", GRACE_S, lambda: frozenset(), unused_one_to_one_s=30 * 86_400
    )

    await presence.sweep_unused(T0 + 30 * day - 1)
    assert {r.id for r in await store.list_rooms()} == {"unused", "used", "group", "fresh"}
    # Looked over again only after a while: a sweep a moment later reads nothing.
    await presence.sweep_unused(T0 + 30 * day)
    assert await store.get_room("unused") is not None
    await presence.sweep_unused(T0 + 30 * day + 3_600_000)
    assert {r.id for r in await store.list_rooms()} == {"used", "group", "fresh"}
    assert seen.delivered == []
