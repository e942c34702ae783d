"""What the Redis store adds to the `Store` contract: the per-instance cache of decoded room states never
serves a state Redis no longer holds, stays bounded, and chat ids come from the stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from rooms import ChatMessage, apply
from rooms.codec import chat_from_dict
from rooms.model import chat_id
from server.redis_backend import RedisLink
from server.redis_store import STATE_CACHE_ROOMS, RedisStore, StateCache, chat_key, chat_seq_key, unpack
from tests.support.rooms import a_room, joining
from tests.support.servers import RedisServer


@dataclass
class Instance:
    """A Redis store as one instance holds it, with its link and its cache of decoded states."""

    store: RedisStore
    link: RedisLink
    cache: StateCache


def instance(url: str, name: str) -> Instance:
    link, cache = RedisLink(url, 2.0), StateCache()
    return Instance(RedisStore(link, name, 0.5, resend_window_s=600.0, cache=cache), link, cache)


@pytest.fixture
async def pair(redis_server: RedisServer) -> AsyncIterator[tuple[Instance, Instance]]:
    redis_server.flush()
    one, other = instance(redis_server.url, "i-one"), instance(redis_server.url, "i-two")
    yield one, other
    await one.store.close()
    await other.store.close()


@pytest.fixture
def two(pair: tuple[Instance, Instance]) -> tuple[RedisStore, RedisStore]:
    return pair[0].store, pair[1].store


async def test_a_cached_state_gives_way_to_another_write(two: tuple[RedisStore, RedisStore]) -> None:
    one, other = two
    room = a_room()
    await one.create_room(room)
    await one.transact(room, lambda s: apply(s, joining(1), 1000), 1000)
    assert await one.load(room.id) == await other.load(room.id)
    changed, _ = await other.transact(room, lambda s: apply(s, joining(2), 2000), 2000)
    assert await one.load(room.id) == changed
    # A change made through the cache is made to what Redis holds.
    again, _ = await one.transact(room, lambda s: apply(s, joining(3), 3000), 3000)
    assert sorted(again.participants) == ["p001", "p002", "p003"]
    assert await other.load(room.id) == again


async def test_no_cached_state_survives_redis_losing_everything(
    two: tuple[RedisStore, RedisStore], redis_server: RedisServer
) -> None:
    """After a restart without persistence (or a failover to a replica that lagged), the same number of
    writes must not make an instance take its cached state for current."""
    one, other = two
    room = a_room()
    await one.create_room(room)
    first, _ = await one.transact(room, lambda s: apply(s, joining(1), 1000), 1000)
    assert await one.load(room.id) == first
    redis_server.flush()
    await other.create_room(room)
    rewritten, _ = await other.transact(room, lambda s: apply(s, joining(7), 1000), 1000)
    assert rewritten.version == first.version
    assert await one.load(room.id) == rewritten


def test_the_state_cache_keeps_the_most_recently_used_rooms() -> None:
    cache = StateCache(size=2)
    state = object()
    cache.put("a", b"1", state)  # type: ignore[arg-type]
    cache.put("b", b"1", state)  # type: ignore[arg-type]
    assert cache.get("a") is not None
    cache.put("c", b"1", state)  # type: ignore[arg-type]
    assert len(cache) == 2 and cache.get("b") is None and cache.get("a") is not None
    cache.drop("a")
    assert cache.get("a") is None


async def test_the_state_cache_is_bounded(pair: tuple[Instance, Instance]) -> None:
    one = pair[0].store
    for n in range(STATE_CACHE_ROOMS + 5):
        room = a_room(f"r{n}")
        await one.create_room(room)
        await one.transact(room, lambda s: apply(s, joining(1), 1000), 1000)
        assert await one.load(room.id) is not None
    assert len(pair[0].cache) == STATE_CACHE_ROOMS


async def test_chat_ids_stay_plain_digits_past_the_range_of_lua_number_printing(
    pair: tuple[Instance, Instance],
) -> None:
    (one, link), other = (pair[0].store, pair[0].link), pair[1].store
    await link.call(lambda r: r.set(chat_seq_key("r1"), 10**15))

    def make(message_id: str) -> ChatMessage:
        return ChatMessage(message_id, "p001", "Ann", "hello", 1_700_000_000_000)

    sent = await one.append_chat("r1", make, 10)
    assert sent.id == chat_id(10**15 + 1) and len(sent.id) == 16
    assert await other.chat_after("r1", None) == [sent]
    assert await other.chat_after("r1", chat_id(10**15)) == [sent]
    # The stored entry is the whole message, id included, as the script wrote it.
    ((_, fields),) = await link.call(lambda r: r.xrange(chat_key("r1")))
    assert chat_from_dict(unpack(fields[b"m"])) == sent


async def test_a_stored_message_holds_its_id_and_every_field(pair: tuple[Instance, Instance]) -> None:
    one, link = pair[0].store, pair[0].link

    def make(message_id: str) -> ChatMessage:
        return ChatMessage(message_id, "p001", "Ann", "just for you \u00e9", 1_700_000_000_000, "p002")

    sent = [await one.append_chat("r1", make, 10) for _ in range(3)]
    entries = await link.call(lambda r: r.xrange(chat_key("r1")))
    assert [chat_from_dict(unpack(fields[b"m"])) for _, fields in entries] == sent
    assert [m.id for m in sent] == [chat_id(n) for n in (1, 2, 3)]


async def test_what_was_said_goes_with_the_chat_not_with_its_resend_keys(
    pair: tuple[Instance, Instance],
) -> None:
    """A resend key remembers only which message it sent, so clearing the chat leaves nothing of what
    was said, and a repeat after the clear is a new message (the text is unicode-safe in the script)."""
    (one, link), other = (pair[0].store, pair[0].link), pair[1].store

    def make(message_id: str) -> ChatMessage:
        return ChatMessage(message_id, "p001", "Ann", "thirty days today ❤", 1_700_000_000_000, None)

    sent = await one.append_chat("r1", make, 10, key="k1")
    assert await other.append_chat("r1", make, 10, key="k1") == sent
    keys = await link.call(lambda r: r.keys("circle:chat-key:*"))
    assert [await link.call(lambda r, k=k: r.get(k)) for k in keys] == [b"1"]
    await one.clear_chat("r1")
    assert await other.chat_after("r1", None) == []
    again = await other.append_chat("r1", make, 10, key="k1")
    assert again.id > sent.id


async def test_scripts_are_sent_again_when_redis_forgot_them(pair: tuple[Instance, Instance]) -> None:
    (one, link), other = (pair[0].store, pair[0].link), pair[1].store
    room = a_room()
    await one.create_room(room)
    await one.transact(room, lambda s: apply(s, joining(1), 1000), 1000)
    await link.call(lambda r: r.script_flush())
    state, _ = await one.transact(room, lambda s: apply(s, joining(2), 2000), 2000)
    assert await other.load(room.id) == state
