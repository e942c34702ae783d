"""Two people in a relay-only room see each other through the server's SFU, reached through a real
coturn with the short-lived credentials Circle hands out: their browsers are told to use only
relayed candidates, and the route each of their connections with the server selected starts at the
TURN server.

This is what a member on a network that blocks direct UDP gets: media through the relay or not
at all. Here the only network is loopback, so a relayed route is the only thing that proves TURN
carried the media; a direct one would have used host candidates."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import Browser

from tests.browser.people import Person
from tests.support.servers import RunningServer
from tests.support.turn import TurnServer


async def test_two_browsers_forced_to_relay_see_each_other_through_coturn(
    circle_server_factory: Callable[..., Awaitable[RunningServer]],
    turn_server: TurnServer,
    browser: Browser,
) -> None:
    circle = await circle_server_factory(**turn_server.circle_settings())
    room = await circle.create_room(title="Thursday night circle", relay_only=True)
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "av")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "av")

    await maya.wait_for_video_from("Sam")
    await sam.wait_for_video_from("Maya")

    relay_ports = range(turn_server.min_port, turn_server.max_port + 1)

    def through_turn(end: dict[str, Any] | None) -> bool:
        return (
            end is not None
            and end["type"] == "relay"
            and end["address"] == "127.0.0.1"
            and end["port"] in relay_ports
        )

    for person in (maya, sam):
        routes = await person.selected_routes()
        # Publish and subscribe, both with the server: the other member's address is never a candidate.
        assert len(routes) == 2, (person.name, routes)
        for route in routes:
            assert route["policy"] == "relay", (person.name, route)
            assert route["state"] == "connected", (person.name, route)
            assert through_turn(route["local"]), (person.name, route)
            assert route["remote"]["address"] == circle.settings.media_public_ip, (person.name, route)
            assert route["local"]["relayProtocol"] == "udp", (person.name, route)


async def test_members_present_longer_than_their_credentials_last_still_reach_a_newcomer(
    circle_server_factory: Callable[..., Awaitable[RunningServer]],
    turn_server: TurnServer,
    browser: Browser,
) -> None:
    """Credentials last `turn_ttl_s`, a meeting much longer: a newcomer's connections are answered
    with a new allocation, which the ones present must make with credentials still valid."""
    ttl_s = 2
    circle = await circle_server_factory(**turn_server.circle_settings(), turn_ttl_s=ttl_s)
    room = await circle.create_room(title="Thursday night circle", relay_only=True)
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "av")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "av")
    await maya.wait_for_video_from("Sam")

    # Past the lifetime of every credential Maya and Sam were given when they joined.
    await asyncio.sleep(ttl_s + 1.5)
    jo = await Person.in_meeting(browser, room["member_url"], "Jo", "av")

    await jo.wait_for_video_from("Maya")
    await jo.wait_for_video_from("Sam")
    await maya.wait_for_video_from("Jo")
    await sam.wait_for_video_from("Jo")
    # The connection made before the credentials were renewed carries on.
    await maya.wait_for_video_from("Sam")
    for person in (maya, sam, jo):
        routes = await person.selected_routes()
        assert len(routes) == 2, (person.name, routes)
        for route in routes:
            assert route["local"]["type"] == "relay", (person.name, route)
