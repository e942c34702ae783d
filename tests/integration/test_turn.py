"""Circle's TURN credentials against a real coturn configured from deploy/turnserver.conf: what
`rtc:config` hands out allocates a relay, the relay carries datagrams between two members, a
credential allocates nothing once its lifetime is over (what it allocated in time carries on) or
when it was not made with the shared secret, and the relay will not reach into the network it runs
on.

The TURN client is aioice's, a complete one (allocation, long-term credentials, channels)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aioice import stun
from aioice.turn import TurnTransport, create_turn_endpoint

from signaling import credentials
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


async def exchange(a: TurnTransport, a_end: Peer, b: TurnTransport, b_end: Peer) -> None:
    """Datagrams from each relayed end reach the other, with the sender's relayed address.

    An allocation takes data only from peers it has sent to (coturn's permissions), so the first
    datagrams may be dropped: both keep sending, as ICE's checks do, until both have arrived."""
    a_address, b_address = a.get_extra_info("sockname"), b.get_extra_info("sockname")

    async def both_arrived() -> tuple[Any, Any]:
        while True:
            a.sendto(b"from a", b_address)
            b.sendto(b"from b", a_address)
            await asyncio.sleep(0.1)
            if not a_end.received.empty() and not b_end.received.empty():
                return b_end.received.get_nowait(), a_end.received.get_nowait()

    at_b, at_a = await asyncio.wait_for(both_arrived(), 5)
    assert at_b == (b"from a", a_address)
    assert at_a == (b"from b", b_address)


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
    try:
        await exchange(maya_relay, maya_end, sam_relay, sam_end)
    finally:
        maya_relay.close()
        sam_relay.close()


async def test_a_credential_past_its_expiry_allocates_nothing_while_its_allocation_carries_on(
    circle_server_factory: Callable[..., Awaitable[RunningServer]],
    connect: Callable[[str], Awaitable[Member]],
    turn_server: TurnServer,
) -> None:
    circle = await circle_server_factory(**turn_server.circle_settings(), turn_ttl_s=1)
    room = await circle.create_room()
    [maya] = await seated(lambda: connect(circle.url), room["id"], "Maya")
    entry = turn_entry(await maya.call("rtc:config"))
    expiry = int(entry["username"].split(":", 1)[0])
    early, early_end = await allocate(turn_server, entry["username"], entry["credential"])
    try:
        # The same username and password, correctly signed, once the expiry they name has passed.
        while time.time() < expiry + 1.5:
            await asyncio.sleep(0.1)
        assert await refusal(turn_server, entry["username"], entry["credential"]) == (401, "Unauthorized")

        # A credential made now for the same participant allocates again, and the allocation made
        # in time still relays, to a peer it had never sent to before its credential expired.
        fresh = turn_entry(await maya.call("rtc:config"))
        late, late_end = await allocate(turn_server, fresh["username"], fresh["credential"])
        try:
            await exchange(early, early_end, late, late_end)
        finally:
            late.close()
    finally:
        early.close()


async def test_coturn_refuses_a_credential_made_with_another_secret(turn_server: TurnServer) -> None:
    username, password = credentials.turn_credentials("not-the-shared-secret", "p-guess", 600)
    assert await refusal(turn_server, username, password) == (401, "Unauthorized")
    username, password = credentials.turn_credentials(turn_server.secret, "p-guess", 600)
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
    username, password = credentials.turn_credentials(turn_server.secret, "p-probe", 600)
    transport, end = await allocate(turn_server, username, password)
    try:
        transport.sendto(b"GET / HTTP/1.0\r\n\r\n", peer)
        error = await asyncio.wait_for(end.errors.get(), 5)
        assert isinstance(error, stun.TransactionFailed)
        assert error.response.attributes["ERROR-CODE"] == (403, "Forbidden IP")
    finally:
        transport.close()
