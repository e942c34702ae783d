"""Circle's TURN credentials against a real coturn configured from deploy/turnserver.conf: what
`rtc:config` hands out allocates a relay, the relay carries media between two members, a credential
stops working when its lifetime is over or was not made with the shared secret, and the relay
will not reach into the network it runs on.

The TURN client is aioice's, a complete one (allocation, long-term credentials, channels)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aioice import stun
from aioice.turn import TurnTransport, create_turn_endpoint

from server import auth
from tests.support.client import Member, seated
from tests.support.servers import RunningServer
from tests.support.turn import TurnServer


class Peer(asyncio.DatagramProtocol):
    """The application end of a relayed allocation: what arrived, and what failed to send."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.errors: asyncio.Queue[Exception] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.put_nowait((data, addr))

    def error_received(self, exc: Exception) -> None:
        self.errors.put_nowait(exc)


async def allocate(turn: TurnServer, username: str, password: str) -> tuple[TurnTransport, Peer]:
    return await asyncio.wait_for(create_turn_endpoint(Peer, turn.address, username, password), 10)


async def refusal(turn: TurnServer, username: str, password: str) -> tuple[int, str]:
    """The error coturn answers an allocation with; fails if it allocates."""
    with pytest.raises(stun.TransactionFailed) as failed:
        transport, _ = await allocate(turn, username, password)
        transport.close()
    code, reason = failed.value.response.attributes["ERROR-CODE"]
    return int(code), str(reason)


def turn_entry(config: dict[str, Any]) -> dict[str, Any]:
    [entry] = [server for server in config["ice_servers"] if "username" in server]
    return dict(entry)


@pytest.fixture
async def circle_with_turn(
    circle_server_factory: Callable[..., Awaitable[RunningServer]], turn_server: TurnServer
) -> RunningServer:
    return await circle_server_factory(**turn_server.circle_settings())


async def test_a_credential_from_rtc_config_allocates_a_relay_on_coturn(
    circle_with_turn: RunningServer, connect: Callable[[str], Awaitable[Member]], turn_server: TurnServer
) -> None:
    room = await circle_with_turn.create_room()
    [maya] = await seated(lambda: connect(circle_with_turn.url), room["id"], "Maya")
    config = await maya.call("rtc:config")
    assert config["ok"], config
    assert config["ttl_s"] == circle_with_turn.settings.turn_ttl_s
    entry = turn_entry(config)
    assert entry["urls"] == [turn_server.url]
    assert entry["username"].endswith(f":{maya.id}")

    transport, _ = await allocate(turn_server, entry["username"], entry["credential"])
    try:
        host, port = transport.get_extra_info("sockname")
        assert host == "127.0.0.1"
        assert turn_server.min_port <= port <= turn_server.max_port
    finally:
        transport.close()


async def test_two_members_relayed_by_coturn_reach_each_other(
    circle_with_turn: RunningServer, connect: Callable[[str], Awaitable[Member]], turn_server: TurnServer
) -> None:
    room = await circle_with_turn.create_room(relay_only=True)
    maya, sam = await seated(lambda: connect(circle_with_turn.url), room["id"], "Maya", "Sam")
    relays = []
    for member in (maya, sam):
        config = await member.call("rtc:config")
        assert config["ice_transport_policy"] == "relay", config
        entry = turn_entry(config)
        relays.append(await allocate(turn_server, entry["username"], entry["credential"]))
    (maya_relay, maya_end), (sam_relay, sam_end) = relays
    maya_address = maya_relay.get_extra_info("sockname")
    sam_address = sam_relay.get_extra_info("sockname")
    try:
        # An allocation takes data only from peers it has sent to (coturn's permissions), so the
        # first datagrams may be dropped: keep sending, as ICE's checks do, until both have arrived.
        async def exchange() -> tuple[Any, Any]:
            while True:
                maya_relay.sendto(b"from Maya", sam_address)
                sam_relay.sendto(b"from Sam", maya_address)
                await asyncio.sleep(0.1)
                if not sam_end.received.empty() and not maya_end.received.empty():
                    return sam_end.received.get_nowait(), maya_end.received.get_nowait()

        at_sam, at_maya = await asyncio.wait_for(exchange(), 5)
        assert at_sam == (b"from Maya", maya_address)
        assert at_maya == (b"from Sam", sam_address)
    finally:
        maya_relay.close()
        sam_relay.close()


async def test_coturn_refuses_a_credential_once_its_lifetime_is_over(
    circle_server_factory: Callable[..., Awaitable[RunningServer]],
    connect: Callable[[str], Awaitable[Member]],
    turn_server: TurnServer,
) -> None:
    circle = await circle_server_factory(**turn_server.circle_settings(), turn_ttl_s=1)
    room = await circle.create_room()
    [maya] = await seated(lambda: connect(circle.url), room["id"], "Maya")
    entry = turn_entry(await maya.call("rtc:config"))
    expiry = int(entry["username"].split(":", 1)[0])

    transport, _ = await allocate(turn_server, entry["username"], entry["credential"])
    transport.close()

    # The same username and password, correctly signed, once the expiry they name has passed.
    while time.time() < expiry + 1.5:
        await asyncio.sleep(0.1)
    assert await refusal(turn_server, entry["username"], entry["credential"]) == (401, "Unauthorized")

    # And a credential made now for the same participant allocates again.
    fresh = await maya.call("rtc:config")
    transport, _ = await allocate(turn_server, turn_entry(fresh)["username"], turn_entry(fresh)["credential"])
    transport.close()


async def test_coturn_refuses_a_credential_made_with_another_secret(turn_server: TurnServer) -> None:
    username, password = auth.turn_credentials("not-the-shared-secret", "p-guess", 600)
    assert await refusal(turn_server, username, password) == (401, "Unauthorized")
    username, password = auth.turn_credentials(turn_server.secret, "p-guess", 600)
    transport, _ = await allocate(turn_server, username, password)
    transport.close()


@pytest.mark.parametrize(
    "peer",
    [
        ("10.0.0.1", 22),  # a private network
        ("172.16.0.1", 22),
        ("192.168.1.1", 80),  # the router of a home or office
        ("169.254.169.254", 80),  # a cloud provider's metadata service
        ("127.0.0.2", 6379),  # this machine, besides the relay's own address
        ("100.64.0.1", 80),  # carrier-grade NAT
    ],
)
async def test_the_relay_refuses_to_reach_into_the_network_it_runs_on(
    turn_server: TurnServer, peer: tuple[str, int]
) -> None:
    username, password = auth.turn_credentials(turn_server.secret, "p-probe", 600)
    transport, end = await allocate(turn_server, username, password)
    try:
        transport.sendto(b"GET / HTTP/1.0\r\n\r\n", peer)
        error = await asyncio.wait_for(end.errors.get(), 5)
        assert isinstance(error, stun.TransactionFailed)
        assert error.response.attributes["ERROR-CODE"] == (403, "Forbidden IP")
    finally:
        transport.close()
