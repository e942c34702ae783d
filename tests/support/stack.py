"""The stack docs/deployment.md deploys, on loopback: nginx (from `deploy/nginx.conf.template`, with a
throwaway certificate) in front of `circle serve` instances on one Redis, and coturn (from
`deploy/turnserver.conf`); and members that reach it as browsers do, through nginx over https.

    with running_stack(tmp_dir, redis, turn) as stack:
        room = stack.create_room(relay_only=True)
        ann = await ProxiedMember.opening(stack, room, "websocket")
        await ann.connect()
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from tests.support.client import Member
from tests.support.nginx import Nginx, SelfSignedCertificate
from tests.support.processes import FAST_SETTINGS, ServerProcess, stop_all
from tests.support.servers import ADMIN_TOKEN, RedisServer
from tests.support.turn import TurnServer


@dataclass
class Stack:
    nginx: Nginx
    instances: list[ServerProcess]
    redis: RedisServer
    turn: TurnServer

    @property
    def url(self) -> str:
        return self.nginx.public_url

    @property
    def media_address(self) -> str:
        """Where browsers send the SFU their media: every instance's `media_public_ip`."""
        return str(STACK_SETTINGS["media_public_ip"])

    def instance(self, instance_id: str) -> ServerProcess:
        return next(server for server in self.instances if server.instance_id == instance_id)

    def get_json(self, path: str, cookie: str | None = None) -> tuple[int, dict[str, Any]]:
        """GET through nginx, with a route cookie or none (then routed by address)."""
        headers = {"Cookie": f"circle_route={cookie}"} if cookie else {}
        request = urllib.request.Request(f"{self.url}{path}", headers=headers)
        context = self.nginx.cert.client_context()
        try:
            with urllib.request.urlopen(request, timeout=5, context=context) as response:
                return int(response.status), dict(json.load(response))
        except urllib.error.HTTPError as exc:
            return int(exc.code), dict(json.load(exc))

    def create_room(self, title: str = "Tuesday evening circle", **body: Any) -> dict[str, Any]:
        """`POST /api/rooms` through nginx, as an operator's script would."""
        request = urllib.request.Request(
            f"{self.url}/api/rooms",
            data=json.dumps({"title": title, **body}).encode(),
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
            method="POST",
        )
        context = self.nginx.cert.client_context()
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            assert response.status == 201
            return dict(json.load(response))

    def logs(self) -> str:
        parts = [f"--- nginx ---\n{self.nginx.output()}"]
        parts += [f"--- {s.instance_id} ---\n{s.output()[-6000:]}" for s in self.instances]
        return "\n".join(parts)


@contextlib.contextmanager
def running_stack(
    base_dir: Path, redis: RedisServer, turn: TurnServer, n: int = 2, **settings: Any
) -> Iterator[Stack]:
    """`n` instances configured as docs/deployment.md says (the same admin token, public_url and
    TURN settings on every one, one Redis), behind nginx; all stopped on the way out, and their
    logs printed if the block failed."""
    cert = SelfSignedCertificate.make(base_dir / "tls")
    instances = [
        ServerProcess(base_dir / f"instance{i}", redis_url=redis.url, instance_id=f"i-{i}", **settings)
        for i in range(n)
    ]
    nginx = Nginx(base_dir / "nginx", [server.port for server in instances], cert)
    environment = {
        "CIRCLE_PUBLIC_URL": nginx.public_url,
        "CIRCLE_TURN_URLS": turn.url,
        "CIRCLE_TURN_SECRET": turn.secret,
    }
    for server in instances:
        server.env.update(environment)
    stack = Stack(nginx, instances, redis, turn)
    try:
        for server in instances:
            server.launch()
        for server in instances:
            server.wait_ready()
        nginx.start()
        yield stack
    except BaseException:
        print(stack.logs())
        raise
    finally:
        nginx.stop()
        stop_all(instances)


# Presence timings short enough for a test, and a drain long enough to look at a stopping instance.
# Instances trust nginx's X-Forwarded-For, as a deployment's must.
STACK_SETTINGS: dict[str, Any] = {
    **FAST_SETTINGS,
    "shutdown_grace_s": 6.0,
    "resume_grace_s": 10.0,
    "trusted_proxies": "127.0.0.1",
    "media_public_ip": "127.0.0.1",
}


class ProxiedMember(Member):
    """A socket.io client that reaches Circle as a browser does: through nginx over https (trusting
    only the stack's certificate), keeping the cookies nginx hands out, over one transport."""

    def __init__(self, stack: Stack, transport: str) -> None:
        super().__init__(stack.url)
        self.stack = stack
        self.transport = transport
        connector = aiohttp.TCPConnector(ssl=stack.nginx.cert.client_context())
        self.http = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.sio = self._client()

    def _client(self) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False, http_session=self.http)
        client.on("*", self._record)
        client.on("disconnect", self._on_disconnect)
        return client

    @classmethod
    async def opening(cls, stack: Stack, room: dict[str, Any], transport: str) -> ProxiedMember:
        """A member who first opens the room's link, as a browser does (and so has a route cookie)."""
        member = cls(stack, transport)
        async with member.http.get(room["member_url"]) as response:
            assert response.status == 200, response.status
        return member

    @property
    def route(self) -> str | None:
        """The route cookie nginx gave this member, if any."""
        for cookie in self.http.cookie_jar:
            if cookie.key == "circle_route":
                return cookie.value
        return None

    async def instance(self) -> str:
        """The instance this member's requests reach now: nginx routes `/healthz` as it does the
        socket's requests."""
        async with self.http.get(f"{self.url}/healthz") as response:
            return str((await response.json())["instance"])

    async def connect(self, headers: dict[str, str] | None = None) -> ProxiedMember:
        await self.sio.connect(self.url, transports=[self.transport], headers=headers or {})
        return self

    @property
    def transport_in_use(self) -> str:
        return str(self.sio.eio.current_transport)

    @property
    def session_id(self) -> str:
        return str(self.sio.eio.sid)

    async def reconnect(self) -> None:
        """A new connection through nginx with the same cookies, as the web client makes one after
        `server:closing` or a lost connection."""
        with contextlib.suppress(Exception):
            await self.sio.disconnect()
        self.sio = self._client()
        self.disconnected = False
        await self.connect()

    async def close(self) -> None:
        await super().close()
        await self.http.close()


__all__ = ["STACK_SETTINGS", "ProxiedMember", "Stack", "running_stack"]
