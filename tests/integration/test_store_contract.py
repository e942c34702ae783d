"""The `Store` contract, held by both implementations: memory (one instance) and Redis (a cluster).

Each test runs against both, except presence, which means one thing with a single instance and
another with several. `stores` gives two handles on one store: for memory the same object twice (one
process), for Redis two stores with their own connections, as two instances have; what one writes,
the other must read, and writes through both at once must not lose each other.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from rooms import ChatMessage, Refusal, RoomState, apply
from rooms import commands as cmd
from rooms.model import chat_id
from server.memory_store import MemoryStore
from server.redis_backend import RedisLink
from server.redis_store import RedisStore
from signaling.ports import ChatDraft, DeletedMessage, RoomGone, Store
from tests.support.rooms import a_room, joining
from tests.support.servers import RedisServer

TTL_S = 0.5
RESEND_WINDOW_S = 600.0
SHORT_WINDOW_S = 0.3


async def _stores(
    request: pytest.FixtureRequest, tmp_path: Path, resend_window_s: float
) -> AsyncIterator[tuple[str, Store, Store]]:
    if request.param == "memory":
        memory = MemoryStore(tmp_path, resend_window_s=resend_window_s)
        await memory.start()
        yield "memory", memory, memory
        await memory.close()
        return
    redis_server: RedisServer = request.getfixturevalue("redis_server")
    redis_server.flush()
    one = RedisStore(RedisLink(redis_server.url, 2.0), "i-one", TTL_S, resend_window_s=resend_window_s)
    two = RedisStore(RedisLink(redis_server.url, 2.0), "i-two", TTL_S, resend_window_s=resend_window_s)
    await one.start()
    await two.start()
    yield "redis", one, two
    await one.close()
    await two.close()


@pytest.fixture(params=["memory", "redis"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, Store, Store]]:
    async for pair in _stores(request, tmp_path, RESEND_WINDOW_S):
        yield pair


@pytest.fixture(params=["memory", "redis"])
async def forgetful_stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[str, Store, Store]]:
    """Stores that remember a resend key for `SHORT_WINDOW_S` only."""
    async for pair in _stores(request, tmp_path, SHORT_WINDOW_S):
        yield pair


def message(text: str, to: str | None = None, sender: str = "p001") -> object:
    def make(message_id: str) -> ChatMessage:
        return ChatMessage(message_id, sender, "Ann", text, 1_700_000_000_000, to)

    return make


async def append(
    store: Store,
    room_id: str,
    text: str,
    max_messages: int = 500,
    key: str | None = None,
    sender: str = "p001",
) -> ChatMessage:
    make = message(text, sender=sender)
    return await store.append_chat(room_id, make, max_messages, key)  # type: ignore[arg-type]


# -- room definitions ----------------------------------------------------------------------------------


async def test_a_created_room_reads_back_equal_on_every_instance(stores: tuple[str, Store, Store]) -> None:
    _, one, two = stores
    room = a_room(guidelines="Listen without fixing.", passcode_hash="x", retention_s=30)
    await one.create_room(room)
    assert await two.get_room(room.id) == room
    assert await two.get_room("nope") is None


async def test_every_room_is_listed_on_every_instance(stores: tuple[str, Store, Store]) -> None:
    _, one, two = stores
    rooms = [a_room(f"r{n}", retention_s=n) for n in range(3)]
    for room in rooms:
        await one.create_room(room)
    listed = await two.list_rooms()
    assert sorted(listed, key=lambda r: r.id) == rooms


async def test_an_edit_replaces_the_definition_but_never_brings_back_a_deleted_room(
    stores: tuple[str, Store, Store],
) -> None:
    _, one, two = stores
    room = a_room()
    await one.create_room(room)
    edited = replace(room, title="Thursday circle", revision=1)
    assert await two.update_room(edited)
    assert await one.get_room(room.id) == edited
    assert await one.delete_room(room.id)
    assert not await two.update_room(replace(edited, revision=2))
    assert await one.get_room(room.id) is None and await two.list_rooms() == []


async def test_a_deleted_room_leaves_no_state_and_no_chat(stores: tuple[str, Store, Store]) -> None:
    _, one, two = stores
    room = a_room()
    await one.create_room(room)
    await one.transact(room, lambda s: apply(s, joining(1), 1000), 1000)
    await append(one, room.id, "said in the room")
    assert await two.delete_room(room.id)
    assert await one.get_room(room.id) is None
    assert await one.load(room.id) is None and await two.load(room.id) is None
    assert await one.chat_after(room.id, None) == []
    assert room.id not in await one.live_rooms()
    assert not await two.delete_room(room.id)


async def test_a_room_someone_is_in_is_kept_when_only_an_empty_one_may_go(
    stores: tuple[str, Store, Store],
) -> None:
    _, one, two = stores
    room = a_room()
    await one.create_room(room)
    state, _ = await one.transact(room, lambda s: apply(s, joining(1), 1000), 1000)
    assert not await two.delete_room(room.id, only_if_empty=True)
    assert await one.get_room(room.id) == room and await one.load(room.id) == state
    await one.transact(room, lambda s: apply(s, cmd.Leave("p001"), 2000), 2000)
    assert await two.delete_room(room.id, only_if_empty=True)
    assert await one.get_room(room.id) is None


# -- live state --------------------------------------------------------------------------------------


async def test_a_room_without_a_meeting_has_no_state(stores: tuple[str, Store, Store]) -> None:
    _, one, _ = stores
    assert await one.load("r1") is None


async def test_a_committed_state_is_what_every_instance_loads(stores: tuple[str, Store, Store]) -> None:
    _, one, two = stores
    room = a_room()
    await one.create_room(room)
    state, outcome = await one.transact(room, lambda s: apply(s, joining(1), 1000), 1000)
    assert outcome.result["id"] == "p001"
    assert await two.load(room.id) == state
    assert room.id in await two.live_rooms()


async def test_no_meeting_starts_in_a_deleted_room_even_one_read_just_before(
    stores: tuple[str, Store, Store],
) -> None:
    """A join that read the room just before it was deleted finds nothing to join: the meeting would
    otherwise live on in a room nobody can reach or delete."""
    _, one, two = stores
    room = a_room()
    await one.create_room(room)
    assert await two.delete_room(room.id)
    with pytest.raises(RoomGone) as gone:
        await one.transact(room, lambda s: apply(s, joining(1), 1000), 1000)
    assert gone.value.code == "not_found"
    assert await one.load(room.id) is None and room.id not in await one.live_rooms()
    # And a meeting under way when its room goes ends there: the next change finds nothing either.
    await one.create_room(room)
    await one.transact(room, lambda s: apply(s, joining(1), 1000), 1000)
    assert await two.delete_room(room.id)
    with pytest.raises(RoomGone):
        await one.transact(room, lambda s: apply(s, joining(2), 2000), 2000)


async def test_a_state_returned_unchanged_is_not_written(stores: tuple[str, Store, Store]) -> None:
    _, one, _ = stores
    room = a_room()
    state, result = await one.transact(room, lambda s: (s, "looked"), 1000)
    assert result == "looked" and state.is_empty
    assert await one.load(room.id) is None


async def test_a_failing_change_commits_nothing(stores: tuple[str, Store, Store]) -> None:
    _, one, _ = stores
    room = a_room()
    await one.create_room(room)
    first, _ = await one.transact(room, lambda s: apply(s, joining(1), 1000), 1000)

    def refuse(s: RoomState) -> tuple[RoomState, None]:
        raise ValueError("refused")

    with pytest.raises(ValueError):
        await one.transact(room, refuse, 2000)
    assert await one.load(room.id) == first


async def test_concurrent_changes_through_two_instances_lose_no_update(
    stores: tuple[str, Store, Store],
) -> None:
    _, one, two = stores
    room = a_room(max_participants=200)
    await one.create_room(room)

    async def join(n: int) -> None:
        store = one if n % 2 else two
        await store.transact(room, lambda s: apply(s, joining(n), 1000 + n), 1000 + n)

    await asyncio.gather(*(join(n) for n in range(60)))
    state = await one.load(room.id)
    assert state is not None
    assert sorted(state.participants) == sorted(f"p{n:03d}" for n in range(60))
    assert state.version == 60


async def test_a_change_sees_the_latest_state_even_when_retried(stores: tuple[str, Store, Store]) -> None:
    """`fn` may run more than once; whatever it returns last is computed from what is committed."""
    _, one, two = stores
    room = a_room()
    await one.create_room(room)

    def add_ban(n: int) -> object:
        return lambda s: (replace(s, bans=s.bans | {f"id:x{n}"}, version=s.version + 1), n)

    await asyncio.gather(*(((one if n % 2 else two).transact(room, add_ban(n), 1)) for n in range(40)))  # type: ignore[arg-type]
    state = await two.load(room.id)
    assert state is not None and state.bans == {f"id:x{n}" for n in range(40)}


# -- chat ----------------------------------------------------------------------------------------------


async def test_chat_ids_sort_as_plain_strings_in_append_order(stores: tuple[str, Store, Store]) -> None:
    _, one, _ = stores
    ids = [(await append(one, "r1", f"m{n}")).id for n in range(25)]
    assert ids == sorted(ids) and len(set(ids)) == 25
    assert [m.id for m in await one.chat_after("r1", None)] == ids


async def test_history_after_an_id_is_everything_later_in_order(stores: tuple[str, Store, Store]) -> None:
    _, one, two = stores
    sent = [await append(one, "r1", f"m{n}") for n in range(12)]
    later = await two.chat_after("r1", sent[8].id)
    assert [m.text for m in later] == ["m9", "m10", "m11"]
    assert later == sent[9:]
    assert await two.chat_after("r1", sent[-1].id) == []
    assert await two.chat_after("other-room", None) == []


async def test_history_keeps_private_messages_with_their_recipient(stores: tuple[str, Store, Store]) -> None:
    _, one, two = stores
    sent = await one.append_chat("r1", message("just for you", to="p002"), 10)  # type: ignore[arg-type]
    (got,) = await two.chat_after("r1", None)
    assert got == sent and got.to == "p002"


async def test_chat_is_trimmed_to_the_rooms_maximum(stores: tuple[str, Store, Store]) -> None:
    _, one, _ = stores
    for n in range(15):
        await append(one, "r1", f"m{n}", max_messages=10)
    assert [m.text for m in await one.chat_after("r1", None)] == [f"m{n}" for n in range(5, 15)]


async def test_recent_chat_is_the_last_messages_in_order(stores: tuple[str, Store, Store]) -> None:
    _, one, _ = stores
    for n in range(7):
        await append(one, "r1", f"m{n}")
    assert [m.text for m in await one.recent_chat("r1", 3)] == ["m4", "m5", "m6"]
    assert await one.recent_chat("r1", 0) == []


async def test_cleared_chat_is_gone_and_later_ids_still_sort_after(stores: tuple[str, Store, Store]) -> None:
    _, one, two = stores
    before = await append(one, "r1", "before")
    await two.clear_chat("r1")
    assert await one.chat_after("r1", None) == []
    after = await append(one, "r1", "after")
    assert after.id > before.id
    assert [m.text for m in await two.chat_after("r1", before.id)] == ["after"]


async def test_concurrent_messages_from_two_instances_get_distinct_ordered_ids(
    stores: tuple[str, Store, Store],
) -> None:
    _, one, two = stores
    sent = await asyncio.gather(*(append(one if n % 2 else two, "r1", f"m{n}") for n in range(50)))
    history = await one.chat_after("r1", None)
    assert len({m.id for m in sent}) == 50
    assert [m.id for m in history] == sorted(m.id for m in sent)
    assert {m.text for m in history} == {f"m{n}" for n in range(50)}


async def test_a_checked_message_is_decided_on_the_current_state_of_the_room(
    stores: tuple[str, Store, Store],
) -> None:
    """However stale what an instance last saw of the room, the draft that counts is made from the
    state the message is appended to, and a refusal from an outdated state does not stand."""
    _, one, two = stores
    room = a_room()
    await one.create_room(room)
    await one.transact(room, lambda s: apply(s, joining(1), 1000), 1000)
    seen: list[int] = []

    def draft(state: RoomState | None) -> ChatDraft:
        assert state is not None
        seen.append(state.version)
        if state.find("p002") is None:
            raise Refusal("not_joined", "Join a room first.")
        return ChatDraft(message("hello", sender="p002"), 500)  # type: ignore[arg-type]

    # Instance one saw the room before p002 joined through instance two.
    with pytest.raises(Refusal):
        await one.append_checked_chat(room.id, draft, None)
    latest, _ = await two.transact(room, lambda s: apply(s, joining(2), 2000), 2000)
    said, published = await one.append_checked_chat(room.id, draft, "k1")
    assert not published and said.text == "hello" and said.sender_id == "p002"
    assert seen[-1] == latest.version
    assert await two.chat_after(room.id, None) == [said]
    # Gone again (through two): refused, on the state that says so, and nothing appended.
    await two.transact(room, lambda s: apply(s, cmd.Leave("p002"), 3000), 3000)
    with pytest.raises(Refusal):
        await one.append_checked_chat(room.id, draft, None)
    assert await one.chat_after(room.id, None) == [said]


async def test_a_checked_message_to_a_room_without_a_meeting_is_decided_on_no_state(
    stores: tuple[str, Store, Store],
) -> None:
    _, one, _ = stores

    def draft(state: RoomState | None) -> ChatDraft:
        assert state is None
        raise Refusal("not_joined", "Join a room first.")

    with pytest.raises(Refusal):
        await one.append_checked_chat("r1", draft, None)
    assert await one.chat_after("r1", None) == []


async def test_chat_ids_count_each_rooms_messages_only(stores: tuple[str, Store, Store]) -> None:
    """An id tells nothing of other rooms: each room's ids start at the first and grow with its own
    messages only (one counter for the server would show how much it has carried)."""
    _, one, two = stores
    for n in range(30):
        await append(one, "busy", f"m{n}")
    first = await append(two, "quiet", "hello")
    second = await append(one, "quiet", "again")
    assert (first.id, second.id) == (chat_id(1), chat_id(2))
    assert (await append(two, "busy", "more")).id == chat_id(31)


async def test_a_message_sent_again_under_its_key_is_kept_once(stores: tuple[str, Store, Store]) -> None:
    _, one, two = stores
    first = await append(one, "r1", "I made it to thirty days.", key="k-1")
    again = await append(two, "r1", "I made it to thirty days.", key="k-1")
    assert again == first
    assert await two.chat_after("r1", None) == [first]
    assert (await append(one, "r1", "And again tomorrow.", key="k-2")).id > first.id


async def test_a_key_reused_for_another_message_does_not_swallow_it(
    stores: tuple[str, Store, Store],
) -> None:
    _, one, two = stores
    first = await append(one, "r1", "first", key="k")
    other = await append(two, "r1", "not the same message", key="k")
    assert other.id > first.id and other.text == "not the same message"


async def test_a_key_is_its_senders_own(stores: tuple[str, Store, Store]) -> None:
    _, one, two = stores
    ann = await append(one, "r1", "hello", key="same")
    bob = await append(two, "r1", "hello", key="same", sender="p002")
    elsewhere = await append(two, "r2", "hello", key="same")
    assert ann.id != bob.id
    assert [m.sender_id for m in await one.chat_after("r1", None)] == ["p001", "p002"]
    assert await one.chat_after("r2", None) == [elsewhere]


async def test_concurrent_resends_under_one_key_keep_one_message(stores: tuple[str, Store, Store]) -> None:
    _, one, two = stores
    sent = await asyncio.gather(
        *(append(one if n % 2 else two, "r1", "Is anyone else here?", key="k") for n in range(20))
    )
    assert len({m.id for m in sent}) == 1
    assert len(await one.chat_after("r1", None)) == 1


async def test_a_key_whose_message_was_trimmed_away_sends_anew(stores: tuple[str, Store, Store]) -> None:
    _, one, two = stores
    first = await append(one, "r1", "one", max_messages=2, key="k")
    for text in ("two", "three"):
        await append(one, "r1", text, max_messages=2)
    again = await append(two, "r1", "one", max_messages=2, key="k")
    assert again.id > first.id
    assert [m.text for m in await two.chat_after("r1", None)] == ["three", "one"]


async def test_a_resend_after_the_window_is_a_new_message(forgetful_stores: tuple[str, Store, Store]) -> None:
    _, one, two = forgetful_stores
    first = await append(one, "r1", "Is anyone else here?", key="k")
    assert await append(two, "r1", "Is anyone else here?", key="k") == first
    await asyncio.sleep(SHORT_WINDOW_S + 0.2)
    late = await append(two, "r1", "Is anyone else here?", key="k")
    assert late.id > first.id
    assert [m.id for m in await one.chat_after("r1", None)] == [first.id, late.id]


# -- deleting chat -------------------------------------------------------------------------------------


async def test_a_deleted_message_is_gone_from_history_and_recent_chat_on_every_instance(
    stores: tuple[str, Store, Store],
) -> None:
    _, one, two = stores
    sent = [await append(one, "r1", f"m{n}") for n in range(4)]
    deleted = await two.delete_chat("r1", sent[1].id, "p009")
    assert deleted == sent[1]
    for store in (one, two):
        assert [m.text for m in await store.chat_after("r1", None)] == ["m0", "m2", "m3"]
        assert [m.text for m in await store.chat_after("r1", sent[0].id)] == ["m2", "m3"]
        assert [m.text for m in await store.recent_chat("r1", 2)] == ["m2", "m3"]
    later = await append(one, "r1", "m4")
    assert later.id > sent[-1].id


async def test_only_someone_who_can_see_a_message_can_delete_it(stores: tuple[str, Store, Store]) -> None:
    _, one, two = stores
    private = await one.append_chat("r1", message("just for you", to="p002"), 10)  # type: ignore[arg-type]
    assert await two.delete_chat("r1", private.id, "p003") is None
    assert await one.chat_after("r1", None) == [private]
    assert await two.delete_chat("r1", private.id, "p002") == private
    assert await one.chat_after("r1", None) == []


async def test_deleting_what_is_not_there_deletes_nothing(stores: tuple[str, Store, Store]) -> None:
    _, one, two = stores
    kept = await append(one, "r1", "kept")
    gone = await append(one, "r1", "gone")
    assert await two.delete_chat("r1", gone.id, "p001") == gone
    for missing in (gone.id, "9" * 16, "not-an-id", kept.id + "0"):
        assert await two.delete_chat("r1", missing, "p001") is None
    assert await two.delete_chat("other-room", kept.id, "p001") is None
    assert await one.chat_after("r1", None) == [kept]


async def test_a_resend_under_a_deleted_messages_key_does_not_bring_it_back(
    stores: tuple[str, Store, Store],
) -> None:
    _, one, two = stores
    first = await append(one, "r1", "Something I should not have said.", key="k-1")
    await two.delete_chat("r1", first.id, "p002")
    for store in (one, two):
        with pytest.raises(DeletedMessage):
            await append(store, "r1", "Something I should not have said.", key="k-1")
    assert await one.chat_after("r1", None) == []
    # Other words under that key are another message, as before any deletion.
    other = await append(two, "r1", "Something else.", key="k-1")
    assert [m.id for m in await one.chat_after("r1", None)] == [other.id]


async def test_a_deleted_messages_key_is_forgotten_with_the_resend_window(
    forgetful_stores: tuple[str, Store, Store],
) -> None:
    _, one, two = forgetful_stores
    first = await append(one, "r1", "Is anyone else here?", key="k")
    await one.delete_chat("r1", first.id, "p001")
    with pytest.raises(DeletedMessage):
        await append(two, "r1", "Is anyone else here?", key="k")
    await asyncio.sleep(SHORT_WINDOW_S + 0.2)
    late = await append(two, "r1", "Is anyone else here?", key="k")
    assert late.id > first.id
    assert await one.chat_after("r1", None) == [late]


async def test_cleared_chat_forgets_its_deletions(stores: tuple[str, Store, Store]) -> None:
    _, one, two = stores
    first = await append(one, "r1", "hello", key="k")
    await one.delete_chat("r1", first.id, "p001")
    await two.clear_chat("r1")
    assert (await append(two, "r1", "hello", key="k")).id > first.id


# -- presence and shared secrets ---------------------------------------------------------------------


async def ask_until(check: Callable[[], Awaitable[bool]], within_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"not so within {within_s} s"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("stores", ["redis"], indirect=True)
async def test_an_instance_is_dead_once_its_heartbeat_expires_and_never_while_it_keeps_beating(
    stores: tuple[str, Store, Store],
) -> None:
    """`i-alive` beats every fifth of its TTL, as an instance's clock does, never in step with the
    questions; `i-gone` beats once, with a TTL of its own, and then never again."""
    _, one, two = stores
    loop = asyncio.get_running_loop()

    async def keep_beating() -> None:
        while True:
            await one.heartbeat("i-alive", TTL_S)
            await asyncio.sleep(TTL_S / 5)

    beating = asyncio.create_task(keep_beating())
    first_alive_beat = loop.time()
    try:
        # Missing heartbeats count only once Redis has held heartbeats for a TTL (it may just have
        # lost them all): until then nobody is reported, not even an instance that never beat.
        async def trusted() -> bool:
            return await two.dead_instances({"i-never"}) == {"i-never"}

        await ask_until(trusted, within_s=TTL_S * 10)

        gone_ttl_s = TTL_S * 2
        beaten_at = loop.time()
        await one.heartbeat("i-gone", gone_ttl_s)
        assert await two.dead_instances({"i-alive", "i-gone"}) == frozenset()

        async def gone_is_dead() -> bool:
            dead = await two.dead_instances({"i-alive", "i-gone", "i-never"})
            assert "i-alive" not in dead, f"reported dead {loop.time() - first_alive_beat:.2f} s in"
            return dead == {"i-gone", "i-never"}

        await ask_until(gone_is_dead, within_s=gone_ttl_s + 3)
        assert loop.time() - beaten_at >= gone_ttl_s, "dead before its heartbeat expired"
        # `i-alive` was asked about over more than two of its TTLs: only its beats kept it alive.
        assert loop.time() - first_alive_beat > TTL_S * 2
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating


@pytest.mark.parametrize("stores", ["memory"], indirect=True)
async def test_a_single_instance_store_never_reports_an_instance_dead(
    stores: tuple[str, Store, Store],
) -> None:
    """In memory every member is attached to this one process, which is alive while it answers:
    there is no other instance to lose, and an instance reported dead would have the sweep mark
    every member away. So a heartbeat may expire, or never have been made, and nobody is dead."""
    _, store, _ = stores
    loop = asyncio.get_running_loop()
    await store.heartbeat("i-gone", TTL_S / 10)
    expired_at = loop.time() + TTL_S / 10
    while loop.time() <= expired_at:
        await asyncio.sleep(0.01)
    assert await store.dead_instances({"i-gone", "i-never"}) == frozenset()


async def test_the_configured_signing_key_wins(stores: tuple[str, Store, Store]) -> None:
    _, one, _ = stores
    assert await one.signing_key("configured-key") == "configured-key"


async def test_instances_without_a_configured_key_share_one(stores: tuple[str, Store, Store]) -> None:
    kind, one, two = stores
    if kind == "memory":
        pytest.skip("a single instance has no one to share its key with")
    key = await one.signing_key(None)
    assert len(key) >= 32 and await two.signing_key(None) == key


async def test_a_ban_holds_on_every_instance_until_it_expires(stores: tuple[str, Store, Store]) -> None:
    _, one, two = stores
    await one.add_bans("r1", ["id:p1", "key:k1", "addr:a1"], ttl_s=0.4)
    await one.add_bans("r1", ["key:k2"], ttl_s=60)
    asked = ["id:p1", "key:k1", "key:k2", "addr:a2"]
    assert await two.banned("r1", asked) == {"id:p1", "key:k1", "key:k2"}
    assert await two.banned("r2", asked) == frozenset()
    assert await two.banned("r1", []) == frozenset()
    await asyncio.sleep(0.5)
    assert await two.banned("r1", asked) == {"key:k2"}


async def test_a_mark_banned_again_keeps_the_later_end(stores: tuple[str, Store, Store]) -> None:
    _, one, two = stores
    await one.add_bans("r1", ["key:k1"], ttl_s=60)
    await two.add_bans("r1", ["key:k1"], ttl_s=0.2)
    await asyncio.sleep(0.3)
    assert await one.banned("r1", ["key:k1"]) == {"key:k1"}


async def test_a_single_instance_keeps_the_key_it_made_across_restarts(tmp_path: Path) -> None:
    keys = []
    for _ in range(2):
        memory = MemoryStore(tmp_path, resend_window_s=RESEND_WINDOW_S)
        await memory.start()
        keys.append(await memory.signing_key(None))
        assert await memory.signing_key("configured") == "configured"
        await memory.close()
    assert keys[0] == keys[1] and len(keys[0]) >= 32
