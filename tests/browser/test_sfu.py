"""Meetings through the server's SFU in real Chromium: every page on video decodes every other one
through the server, a text-only page opens no peer connection, and a mesh room that grows past its
limit moves to the SFU with every picture still moving."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Browser, expect

from tests.browser.people import Person
from tests.support.servers import RunningServer


async def test_three_on_video_and_one_by_text_meet_through_the_sfu(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Thursday circle", media_mode="sfu")
    names = ("Maya", "Sam", "Ali")
    video = [await Person.in_meeting(browser, room["member_url"], name, "av") for name in names]
    jo = await Person.in_meeting(browser, room["member_url"], "Jo", "text")
    for person in video:
        await expect(person.participants.get_by_role("listitem")).to_have_count(4)
    await asyncio.gather(
        *(
            person.wait_for_video_from(other, timeout_s=60)
            for person in video
            for other in names
            if other != person.name
        )
    )
    for person in video:
        # Two connections, both with the server: never one per other member.
        assert (await person.probe())["pcs"] == 2
    probe = await jo.probe()
    assert probe["gum"] == 0 and probe["pcs"] == 0, probe


# Five pages on video in one browser, on a shared machine: joining and decoding take their time.
@pytest.mark.timeout(300)
async def test_a_mesh_room_of_four_that_grows_to_five_moves_to_the_sfu_and_everyone_still_sees_everyone(
    circle_server_factory: Callable[..., Awaitable[RunningServer]], browser: Browser
) -> None:
    server = await circle_server_factory(mesh_max_participants=4)
    room = await server.create_room(title="Growing circle")
    names = ("Maya", "Sam", "Ali", "Bea")
    people = [await Person.in_meeting(browser, room["member_url"], name, "av") for name in names]
    for person in people:
        await expect(person.participants.get_by_role("listitem")).to_have_count(4)
    await people[0].wait_for_video_from("Bea", timeout_s=40)
    # Mesh: one connection per other member.
    assert (await people[0].probe())["pcs"] == 3

    people.append(await Person.in_meeting(browser, room["member_url"], "Cy", "av"))
    names += ("Cy",)
    await asyncio.gather(
        *(
            person.wait_for_video_from(other, timeout_s=90)
            for person in people
            for other in names
            if other != person.name
        )
    )
    # The mesh is gone once the SFU carries the pictures: only the two connections with the server.
    for person in people:
        live = await person.page.evaluate(
            "() => __probe.pcs.filter((pc) => pc.connectionState !== 'closed').length"
        )
        assert live == 2, person.name
