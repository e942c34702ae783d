from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import Member
from tests.support.servers import RedisServer, RunningServer, start_server
from tests.support.turn import TurnServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One private redis-server for the session; tests flush it as they need."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def turn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TurnServer]:
    """One private coturn for the session, configured from deploy/turnserver.conf."""
    server = TurnServer(tmp_path_factory.mktemp("turn"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def circle_server_factory(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[RunningServer]]]:
    started: list[RunningServer] = []

    async def start(**overrides: Any) -> RunningServer:
        server = await start_server(tmp_path / f"data{len(started)}", **overrides)
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        await server.stop()


@pytest.fixture
async def circle_server(circle_server_factory: Callable[..., Awaitable[RunningServer]]) -> RunningServer:
    return await circle_server_factory()


@pytest.fixture
async def members(circle_server: RunningServer) -> AsyncIterator[Callable[[], Awaitable[Member]]]:
    """Connect real socket.io clients to `circle_server`; all are closed after the test."""
    made: list[Member] = []

    async def connect() -> Member:
        member = await Member(circle_server.url).connect()
        made.append(member)
        return member

    yield connect
    for member in made:
        await member.close()


@pytest.fixture
async def connect() -> AsyncIterator[Callable[[str], Awaitable[Member]]]:
    """Real socket.io clients to any server URL; all are closed after the test."""
    made: list[Member] = []

    async def member(url: str) -> Member:
        m = await Member(url).connect()
        made.append(m)
        return m

    yield member
    await asyncio.gather(*(m.close() for m in made), return_exceptions=True)
