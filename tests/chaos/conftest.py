"""Failure tests: real `circle serve` processes, a real Redis, and faults injected into them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis import asyncio as aioredis

from tests.support.client import Member
from tests.support.servers import RedisServer

Connect = Callable[[str], Awaitable[Member]]


def freeze(redis: RedisServer) -> None:
    """SIGSTOP: connections stay open and nothing answers, as with a hung host or a partition."""
    assert redis.proc is not None
    os.kill(redis.proc.pid, signal.SIGSTOP)


def thaw(redis: RedisServer) -> None:
    assert redis.proc is not None
    os.kill(redis.proc.pid, signal.SIGCONT)


def shut_down_keeping_data(redis: RedisServer) -> None:
    """Stop redis-server as an operator would with RDB persistence on: it writes its data and exits,
    and `redis.start()` brings it back on the same port with that data."""
    assert redis.proc is not None
    with socket.create_connection(("127.0.0.1", redis.port), timeout=5) as s:
        s.sendall(b"SHUTDOWN SAVE\r\n")
        with contextlib.suppress(OSError):
            s.recv(64)
    redis.proc.wait(10)
    redis.proc = None


@pytest.fixture
async def restricted_url(redis_server: RedisServer) -> AsyncIterator[tuple[str, Any]]:
    """A Redis user `circle` for the instances, and an admin client to take rights from it (a fault
    that hits one kind of command, the way a partial outage does)."""
    admin = aioredis.Redis.from_url(redis_server.url)
    await admin.execute_command("ACL", "SETUSER", "circle", "reset", "on", ">pw", "~*", "&*", "+@all")
    try:
        yield f"redis://circle:pw@127.0.0.1:{redis_server.port}/0", admin
    finally:
        await admin.execute_command("ACL", "DELUSER", "circle")
        await admin.aclose()
