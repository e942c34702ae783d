"""Two people in a relay-only room, each opening the meeting link of the documented stack in
Chromium, over https through nginx, see each other through coturn.

The page, its scripts and its socket all come through nginx (the websocket upgrade included); the
media, which nginx never carries, goes through the TURN server the instances hand credentials for.
Their route cookies may send them to the same instance or to different ones: either way they meet.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser

from tests.browser.people import Person
from tests.support.stack import Stack

pytestmark = [pytest.mark.deploy, pytest.mark.browser]


async def test_browsers_forced_to_relay_see_each_other_through_nginx_and_coturn(
    stack: Stack, browser: Browser
) -> None:
    room = stack.create_room(title="Thursday night circle", relay_only=True)
    assert room["member_url"].startswith(f"{stack.url}/r/")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "av")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "av")

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
        [route] = await person.selected_routes()
        assert (route["policy"], route["state"]) == ("relay", "connected"), (person.name, route)
        assert through_turn(route["local"]) and through_turn(route["remote"]), (person.name, route)
