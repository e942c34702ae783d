"""The lean Redis connection (`server.resp`) against a real redis-server: commands answered in the
order sent, redis-py's errors, the database and user of the URL, a lost or abandoned connection
replaced, a subscription that hears every message and notices a Redis gone silent, and a Redis on a
unix socket."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import asyncio as aioredis
from redis.exceptions import AuthenticationError, ConnectionError, NoScriptError

from harness.processes import Process, redis_server_path
from server.redis_backend import RedisLink
from server.resp import RespClient, Subscription
from signaling.ports import Unavailable
from tests.support.servers import RedisServer


@pytest.fixture
async def admin(redis_server: RedisServer) -> AsyncIterator[Any]:
    client = aioredis.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, to freeze."""
    server = RedisServer()
    server.start()
    yield server
    if server.proc is not None:
        os.kill(server.pid, signal.SIGCONT)
    server.stop()


async def test_concurrent_commands_get_their_own_answers(redis_server: RedisServer) -> None:
    client = RespClient(redis_server.url, 2.0)
    try:
        # All written before any answer is read: one connection, answers matched in order.
        answers = await asyncio.gather(*(client.execute("ECHO", f"n{i}") for i in range(200)))
        assert answers == [f"n{i}".encode() for i in range(200)]
        assert await client.execute("PING") == b"PONG"
    finally:
        await client.aclose()


async def test_errors_and_scripts(redis_server: RedisServer) -> None:
    client = RespClient(redis_server.url, 2.0)
    try:
        with pytest.raises(NoScriptError):
            await client.evalsha("0" * 40, 0)
        sha = await client.script_load("return {KEYS[1], ARGV[1], 3, false}")
        assert await client.evalsha(sha.decode(), 1, "k", b"\x00v") == [b"k", b"\x00v", 3, None]
        # An error does not end the connection.
        assert await client.execute("ECHO", "still here") == b"still here"
    finally:
        await client.aclose()


async def test_the_urls_database_and_user(redis_server: RedisServer, admin: Any) -> None:
    await admin.execute_command("ACL", "SETUSER", "resp-user", "reset", "on", ">s3cret", "~*", "&*", "+@all")
    base = f"127.0.0.1:{redis_server.port}"
    client = RespClient(f"redis://resp-user:s3cret@{base}/3", 2.0)
    wrong = RespClient(f"redis://resp-user:nope@{base}/0", 2.0)
    try:
        await client.execute("SET", "resp:db", "three")
        other_db = aioredis.Redis.from_url(f"redis://{base}/3")
        assert await other_db.get("resp:db") == b"three"
        assert await admin.get("resp:db") is None
        await other_db.aclose()
        with pytest.raises(AuthenticationError):
            await wrong.execute("PING")
        with pytest.raises(AuthenticationError):
            await Subscription.open(
                f"redis://resp-user:nope@{base}/0", ["c"], timeout_s=2.0, ping_every_s=1.0, silence_s=1.0
            )
    finally:
        await client.aclose()
        await wrong.aclose()
        await admin.execute_command("ACL", "DELUSER", "resp-user")


async def test_a_lost_connection_fails_its_calls_and_the_next_call_opens_another(
    redis_server: RedisServer, admin: Any
) -> None:
    client = RespClient(redis_server.url, 2.0)
    try:
        first = await client.execute("CLIENT", "ID")
        waiting = asyncio.ensure_future(client.execute("BLPOP", "resp:nothing", 5))
        await asyncio.sleep(0.2)
        await admin.execute_command("CLIENT", "KILL", "ID", first)
        with pytest.raises(ConnectionError):
            await waiting
        assert await client.execute("CLIENT", "ID") != first
    finally:
        await client.aclose()


async def test_a_call_given_up_leaves_the_others_their_answers(redis_server: RedisServer) -> None:
    client = RespClient(redis_server.url, 2.0)
    try:
        first = await client.execute("CLIENT", "ID")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await client.execute("BLPOP", "resp:nothing", 0.4)
        # Its answer (nil, when the BLPOP ends) is dropped; the next call gets its own, on the same
        # connection.
        assert await client.execute("ECHO", "mine") == b"mine"
        assert await client.execute("CLIENT", "ID") == first
        client.reset()
        assert await client.execute("CLIENT", "ID") != first
    finally:
        await client.aclose()


async def test_the_link_replaces_a_connection_redis_stopped_answering_on(own_redis: RedisServer) -> None:
    link = RedisLink(own_redis.url, 0.3)
    try:
        await link.publish("resp:ch", b"before")
        first = await link.lean.execute("CLIENT", "ID")
        os.kill(own_redis.pid, signal.SIGSTOP)
        with pytest.raises(Unavailable):
            await link.publish("resp:ch", b"lost")
        os.kill(own_redis.pid, signal.SIGCONT)
        async with asyncio.timeout(10):
            while not link.up:
                await asyncio.sleep(0.05)
        await link.publish("resp:ch", b"after")
        assert await link.lean.execute("CLIENT", "ID") != first
    finally:
        await link.close()


async def test_a_subscription_hears_every_message_in_order(redis_server: RedisServer, admin: Any) -> None:
    sub = await Subscription.open(
        redis_server.url, ["resp:ch"], timeout_s=2.0, ping_every_s=0.2, silence_s=1.0
    )
    client = RespClient(redis_server.url, 2.0)
    try:
        payloads = [b"x" * n + b"\r\n" for n in (0, 1, 100, 70_000, 3)]  # one larger than a read
        for payload in payloads:
            assert await client.publish("resp:ch", payload) == 1
        async with asyncio.timeout(5):
            assert [await sub.next() for _ in payloads] == payloads
        await asyncio.sleep(0.6)  # several pings answered meanwhile: still subscribed
        await admin.publish("resp:ch", b"after")
        async with asyncio.timeout(5):
            assert await sub.next() == b"after"
    finally:
        await sub.close()
        await client.aclose()


async def test_a_silent_redis_ends_the_subscription(own_redis: RedisServer) -> None:
    sub = await Subscription.open(own_redis.url, ["resp:ch"], timeout_s=1.0, ping_every_s=0.2, silence_s=0.3)
    try:
        os.kill(own_redis.pid, signal.SIGSTOP)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(ConnectionError):
            async with asyncio.timeout(5):
                await sub.next()
        # Noticed within a ping interval and the silence allowed, and a tick's slack.
        assert loop.time() - started < 0.2 + 0.3 + 0.3
    finally:
        await sub.close()


async def test_a_redis_on_a_unix_socket(tmp_path: Path) -> None:
    binary = redis_server_path()
    assert binary is not None
    path = tmp_path / "redis.sock"
    argv = [binary, "--port", "0", "--unixsocket", str(path), "--save", "", "--appendonly", "no"]
    server = Process("redis-unix", [*argv, "--dir", str(tmp_path)], tmp_path / "redis.log")
    server.launch()
    try:
        async with asyncio.timeout(10):
            while not path.exists():
                await asyncio.sleep(0.05)
        url = f"unix://{path}?db=2"
        client = RespClient(url, 2.0)
        sub = await Subscription.open(url, ["unix:ch"], timeout_s=2.0, ping_every_s=1.0, silence_s=1.0)
        try:
            await client.execute("SET", "unix:k", "v")
            assert await client.publish("unix:ch", b"through the socket") == 1
            async with asyncio.timeout(5):
                assert await sub.next() == b"through the socket"
            # Written in the URL's database, and only there.
            in_two, in_zero = (aioredis.Redis.from_url(f"unix://{path}?db={db}") for db in (2, 0))
            assert await in_two.get("unix:k") == b"v" and await in_zero.get("unix:k") is None
            await in_two.aclose()
            await in_zero.aclose()
        finally:
            await sub.close()
            await client.aclose()
    finally:
        server.stop()
