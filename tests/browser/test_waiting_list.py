"""Arrivals in the waiting room reach a facilitator who is looking elsewhere: a count, a line read
aloud, a short sound made in the page (which they can turn off) and the count in the tab title; each
person waiting is shown with how they will take part."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.browser.people import Person
from tests.browser.test_accessibility import assert_accessible


async def test_arrivals_are_counted_announced_sounded_and_labelled_with_their_way_of_taking_part(
    circle_server, browser: Browser
) -> None:
    room = await circle_server.create_room(title="Newcomers' circle", waiting_room=True)
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    page = maya.page
    waiting = page.get_by_role("list", name=re.compile(r"^Waiting to join"))
    assert await maya.tones() == 0
    await expect(page).to_have_title("Newcomers' circle · Circle")

    ana = await Person.open(browser, room["member_url"], "Ana")
    await ana.join("av", expect_meeting=False)
    await expect(waiting.get_by_role("listitem")).to_have_count(1)
    bo = await Person.open(browser, room["member_url"], "Bo")
    await bo.join("text", expect_meeting=False)

    await expect(page.get_by_role("heading", name="Waiting to join (2)")).to_be_visible()
    await expect(page).to_have_title("(2) Newcomers' circle · Circle")
    await expect(waiting.get_by_role("listitem").filter(has_text="Ana")).to_contain_text(
        "camera and microphone"
    )
    await expect(waiting.get_by_role("listitem").filter(has_text="Bo")).to_contain_text("text only")
    for name in ("Ana", "Bo"):
        said = page.get_by_role("status").filter(has_text=f"{name} is waiting to be let in.")
        await expect(said).to_have_count(1)
    # Two notes each, made in the page: no sound file was asked for.
    assert await maya.tones() == 4
    assert (await maya.probe())["csp"] == []
    await assert_accessible(maya, "facilitator with people waiting")

    # Sound off: the next arrival is still counted, listed and said, but makes no sound.
    sound = page.get_by_role("checkbox", name="Play a sound when someone is waiting")
    await expect(sound).to_be_checked()
    await sound.uncheck()
    cy = await Person.open(browser, room["member_url"], "Cy")
    await cy.join("audio", expect_meeting=False)
    await expect(page.get_by_role("heading", name="Waiting to join (3)")).to_be_visible()
    await expect(waiting.get_by_role("listitem").filter(has_text="Cy")).to_contain_text("audio only")
    await expect(page.get_by_role("status").filter(has_text="Cy is waiting to be let in.")).to_have_count(1)
    assert await maya.tones() == 4

    # The choice is kept in this browser.
    await page.reload()
    await expect(maya.participants).to_be_visible()
    await expect(sound).not_to_be_checked()

    for name in ("Ana", "Bo", "Cy"):
        await page.get_by_role("button", name=f"Admit {name}").click()
    await expect(page.get_by_role("heading", name=re.compile(r"^Waiting to join"))).to_be_hidden()
    await expect(page).to_have_title("Newcomers' circle · Circle")
    await expect(maya.participants.get_by_role("listitem")).to_have_count(4)


async def test_members_never_hear_or_see_arrivals(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Newcomers' circle", waiting_room=True)
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    await maya.page.get_by_role("button", name="Turn waiting room off").click()
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "text")
    await maya.page.get_by_role("button", name="Turn waiting room on").click()
    ana = await Person.open(browser, room["member_url"], "Ana")
    await ana.join("text", expect_meeting=False)
    await expect(maya.page.get_by_role("button", name="Admit Ana")).to_be_visible()
    await maya.say("Someone is waiting.")
    await expect(sam.chat_log).to_contain_text("Someone is waiting.")
    assert await sam.tones() == 0
    await expect(sam.page).to_have_title("Newcomers' circle · Circle")
    await expect(sam.page.get_by_role("heading", name=re.compile(r"^Waiting to join"))).to_be_hidden()
