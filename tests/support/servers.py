"""Real servers for tests: Circle on a free loopback port, and our own redis-server."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from harness.processes import RedisProcess as RedisServer
from server.app import CIRCLE_KEY, Circle, create_app
from server.backends import Backends
from server.settings import Settings

ADMIN_TOKEN = "test-admin-token"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    admin_token: str
    settings: Settings
    runner: web.AppRunner

    @property
    def circle(self) -> Circle:
        return self.runner.app[CIRCLE_KEY]

    async def create_room(
        self,
        title: str = "Tuesday evening circle",
        guidelines: str | None = None,
        passcode: str | None = None,
        waiting_room: bool = False,
        **extra: Any,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"title": title, "waiting_room": waiting_room, **extra}
        if guidelines is not None:
            body["guidelines"] = guidelines
        if passcode is not None:
            body["passcode"] = passcode
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{self.url}/api/rooms", json=body, headers={"Authorization": f"Bearer {self.admin_token}"}
            ) as response:
                assert response.status == 201, await response.text()
                return dict(await response.json())

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_server(data_dir: Path, backends: Backends | None = None, **overrides: Any) -> RunningServer:
    """Circle in this process on a free port, with settings `overrides` (and, to inject faults, its
    store and bus given as `backends`)."""
    port = free_port()
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "data_dir": data_dir,
        "admin_token": ADMIN_TOKEN,
        "sweep_interval_s": 0.2,
        **overrides,
    }
    settings = Settings(**values)
    runner = web.AppRunner(
        create_app(settings, backends),
        handle_signals=False,
        access_log=None,
        shutdown_timeout=1,
        keepalive_timeout=settings.http_idle_timeout_s,
    )
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return RunningServer(f"http://127.0.0.1:{port}", ADMIN_TOKEN, settings, runner)


async def wait_until(predicate: Any, timeout: float = 5.0, interval: float = 0.02) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


__all__ = ["RedisServer", "RunningServer", "free_port", "start_server", "wait_until"]
