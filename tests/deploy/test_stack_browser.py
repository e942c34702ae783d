"""People opening the meeting link of the documented stack in Chromium, over https through nginx,
see each other through the server's SFU, whichever instance nginx sends each of them to.

The page, its scripts and its socket all come through nginx (the websocket upgrade included); the
media, which nginx never carries, goes to the SFU of the instance that carries the room's media, and
in a relay-only room through the TURN server the instances hand credentials for. Route cookies pin
each browser to an instance, so that the room's members are spread over both. When the instance
carrying the media is killed, the other takes the room and the pictures move again.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser

from tests.browser.people import Person
from tests.support.stack import Stack

pytestmark = [pytest.mark.deploy, pytest.mark.browser]


def route_cookies(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    """For each instance, a route cookie nginx sends to it (its hash is nginx's to choose)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for n in range(200):
        value = f"pinned-{n}"
        status, health = stack.get_json("/healthz", cookie=value)
        assert status == 200, health
        cookie = {"name": "circle_route", "value": value, "url": stack.url, "secure": True}
        found.setdefault(health["instance"], [cookie])
        if len(found) == len(stack.instances):
            return found
    raise AssertionError(f"no route cookie found for every instance: {sorted(found)}")


async def test_browsers_forced_to_relay_see_each_other_through_nginx_coturn_and_the_sfu(
    stack: Stack, browser: Browser
) -> None:
    room = stack.create_room(title="Thursday night circle", relay_only=True)
    assert room["member_url"].startswith(f"{stack.url}/r/")
    first, second = route_cookies(stack).values()
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "av", cookies=first)
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "av", cookies=second)

    await maya.wait_for_video_from("Sam")
    await sam.wait_for_video_from("Maya")

    relay_ports = range(stack.turn.min_port, stack.turn.max_port + 1)

    def through_turn(end: dict[str, Any] | None) -> bool:
        return end is not None and end["type"] == "relay" and end["port"] in relay_ports

    for person in (maya, sam):
        assert person.page.url.startswith(stack.url)
        sockets = await person.page.evaluate(
            "() => __probe.sockets.map((s) => [s.url.split('?')[0], s.readyState])"
        )
        assert [stack.url.replace("https", "wss") + "/socket.io/", 1] in sockets, (person.name, sockets)
        cookies = await person.context.cookies(stack.url)
        assert [c["name"] for c in cookies] == ["circle_route"], (person.name, cookies)
        # Two connections, both with the server's SFU (publish and subscribe), each leaving this
        # browser through the relay: nobody learns anyone's address but the relay's and the server's.
        routes = await person.selected_routes()
        assert len(routes) == 2, (person.name, routes)
        for route in routes:
            assert (route["policy"], route["state"]) == ("relay", "connected"), (person.name, route)
            assert through_turn(route["local"]), (person.name, route)
            assert route["remote"]["address"] == stack.media_address, (person.name, route)


async def test_killing_the_instance_carrying_a_rooms_media_moves_it_and_the_pictures_move_again(
    stack: Stack, browser: Browser
) -> None:
    room = stack.create_room(title="Sunday morning circle", media_mode="sfu")
    cookies = route_cookies(stack)
    (victim, victim_cookie), (_, survivor_cookie) = cookies.items()
    # Lee is the first to need the room's media: Lee's instance carries it, and dies.
    lee = await Person.in_meeting(browser, room["member_url"], "Lee", "av", cookies=victim_cookie)
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "av", cookies=survivor_cookie)
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "av", cookies=survivor_cookie)
    people = (lee, maya, sam)
    for person in people:
        for other in people:
            if other is not person:
                await person.wait_for_video_from(other.name)

    stack.instance(victim).kill()
    # Maya and Sam start their media over with the survivor; Lee's page reconnects through nginx to
    # it and takes its seat again. Everyone's pictures move again.
    for person in people:
        for other in people:
            if other is not person:
                await person.wait_for_video_from(other.name, timeout_s=45)
    for person in people:
        assert not person.errors, (person.name, person.errors)
