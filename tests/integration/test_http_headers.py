"""Every HTTP answer carries the protections that apply to it; one that holds a secret (a host key,
a resume token) is never cached; a room records when it was created."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from tests.support.servers import RedisServer, RunningServer

Factory = Callable[..., Awaitable[RunningServer]]


def protected(headers: CIMultiDictProxy[str]) -> None:
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Referrer-Policy") == "no-referrer"
    assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", "")


async def test_api_answers_carry_security_headers_and_are_never_cached(circle_server: RunningServer) -> None:
    auth = {"Authorization": f"Bearer {circle_server.admin_token}"}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{circle_server.url}/api/rooms", json={"title": "t"}, headers=auth) as r:
            assert r.status == 201 and "host_key" in await r.json()
            protected(r.headers)
            assert r.headers["Cache-Control"] == "no-store"
            room = await r.json()
        for method, path, status in [
            ("GET", f"/api/rooms/{room['id']}", 200),
            ("GET", "/api/rooms/missing", 404),
            ("POST", "/api/rooms", 401),
            ("GET", "/healthz", 200),
            ("GET", "/nowhere", 404),
        ]:
            async with http.request(method, f"{circle_server.url}{path}") as r:
                assert r.status == status, path
                protected(r.headers)
                assert r.headers["Cache-Control"] == "no-store", path


async def test_a_polling_answer_holding_a_resume_token_is_never_cached(circle_server: RunningServer) -> None:
    room = await circle_server.create_room()
    base = f"{circle_server.url}/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as http:
        async with http.get(base) as r:
            sid = json.loads((await r.text())[1:])["sid"]
        async with http.post(f"{base}&sid={sid}", data="40") as r:
            assert r.status == 200
        async with http.get(f"{base}&sid={sid}") as r:
            assert (await r.text()).startswith("40")
        join = json.dumps(["join", {"room": room["id"], "name": "Sam"}])
        async with http.post(f"{base}&sid={sid}", data=f"421{join}") as r:
            assert r.status == 200
        async with http.get(f"{base}&sid={sid}") as r:
            assert "resume_token" in await r.text()
            assert r.headers["Cache-Control"] == "no-store"
            protected(r.headers)


async def test_web_pages_keep_their_own_policy(circle_server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{circle_server.url}/r/any-room") as r:
            assert r.status == 200
            protected(r.headers)
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
            assert r.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_a_created_room_says_when_and_keeps_it(
    circle_server_factory: Factory, redis_server: RedisServer, store: str
) -> None:
    if store == "redis":
        redis_server.flush()
        server = await circle_server_factory(redis_url=redis_server.url)
    else:
        server = await circle_server_factory()
    before = int(time.time() * 1000)
    room = await server.create_room()
    after = int(time.time() * 1000)
    assert before <= room["created_at"] <= after
    stored = await server.circle.store.get_room(room["id"])
    assert stored is not None and stored.created_at == room["created_at"]
