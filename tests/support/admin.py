"""The admin API as an administrator's script calls it: real HTTP to a running server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.support.servers import ADMIN_TOKEN


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error(self) -> dict[str, Any]:
        return dict(self.body["error"])


async def call(url: str, method: str, path: str, body: Any = None, token: str | None = ADMIN_TOKEN) -> Answer:
    """`method path` on the server at `url`, with the admin token unless `token` is None."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{url}{path}", json=body, headers=headers) as response:
            text = await response.text()
            data = await response.json(content_type=None) if text else None
            return Answer(response.status, data, dict(response.headers))


async def public_info(url: str, room_id: str) -> Answer:
    return await call(url, "GET", f"/api/rooms/{room_id}", token=None)
