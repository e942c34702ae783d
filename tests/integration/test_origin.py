"""Browsers are let in only from Circle's own public origin (or one configured), compared by scheme,
host and port; the Host header is never trusted, so a page on a name that rebinds to this server's
address (DNS rebinding) is refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import pytest
import socketio

from tests.support.client import Member
from tests.support.servers import RunningServer

Factory = Callable[..., Awaitable[RunningServer]]


async def admitted(server: RunningServer, headers: dict[str, str]) -> bool:
    member = Member(server.url)
    try:
        await member.connect(headers=headers)
    except socketio.exceptions.ConnectionError:
        return False
    await member.close()
    return True


async def test_a_rebound_name_with_matching_origin_and_host_is_refused(circle_server: RunningServer) -> None:
    port = urlsplit(circle_server.url).port
    rebound = f"attacker.example:{port}"
    assert not await admitted(circle_server, {"Origin": f"http://{rebound}", "Host": rebound})
    # The server's own origin is still let in, whatever Host says.
    assert await admitted(circle_server, {"Origin": circle_server.url, "Host": rebound})


async def test_without_public_url_browsers_come_by_address_or_as_localhost_to_its_own_port(
    circle_server: RunningServer,
) -> None:
    port = urlsplit(circle_server.url).port
    assert port is not None
    for host in ("localhost", "127.0.0.1", "[::1]", "192.0.2.10"):
        assert await admitted(circle_server, {"Origin": f"http://{host}:{port}"}), host
    assert not await admitted(circle_server, {"Origin": f"http://localhost:{port + 1}"})
    assert not await admitted(circle_server, {"Origin": f"https://127.0.0.1:{port}"})
    assert not await admitted(circle_server, {"Origin": f"http://circle.example.org:{port}"})


async def test_behind_a_proxy_only_public_url_and_configured_origins_are_let_in(
    circle_server_factory: Factory,
) -> None:
    server = await circle_server_factory(
        public_url="https://circle.example.org/", cors_allowed_origins=("https://intranet.example.org",)
    )
    assert await admitted(server, {"Origin": "https://circle.example.org"})
    assert await admitted(server, {"Origin": "https://CIRCLE.example.org:443"})
    assert await admitted(server, {"Origin": "https://intranet.example.org"})
    # The address it listens on is not its public origin once public_url is set.
    assert not await admitted(server, {"Origin": server.url})
    assert not await admitted(server, {"Origin": "http://circle.example.org"})
    assert not await admitted(server, {"Origin": "https://circle.example.org.attacker.example"})
    assert not await admitted(server, {"Origin": "null"})


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1.evil.example", "file://"])
async def test_other_origins_are_refused(circle_server: RunningServer, origin: str) -> None:
    assert not await admitted(circle_server, {"Origin": origin})
