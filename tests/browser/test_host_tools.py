"""The facilitator's tools on the page: knowing from the first screen that this link is the
facilitator's, copying the member link from inside the meeting, handing over to a co-facilitator and
back, and a lock that members can see."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.browser.people import Person
from tests.browser.test_accessibility import assert_accessible


async def test_the_facilitator_link_says_so_on_the_join_screen_and_the_member_link_does_not(
    circle_server, browser: Browser
) -> None:
    room = await circle_server.create_room(title="Evening circle", guidelines="Be kind.")
    maya = await Person.open(browser, room["facilitator_url"], "Maya")
    await expect(maya.page.get_by_text("You're joining as this meeting's facilitator.")).to_be_visible()
    await expect(maya.page.get_by_text("You're the facilitator of")).to_be_visible()
    await assert_accessible(maya, "join screen, facilitator link")

    sam = await Person.open(browser, room["member_url"], "Sam")
    await expect(sam.page.get_by_role("heading", name="Evening circle")).to_be_visible()
    await expect(sam.page.get_by_text("You're invited to")).to_be_visible()
    await expect(sam.page.get_by_text("You're joining as this meeting's facilitator.")).to_be_hidden()


async def test_the_facilitator_copies_the_member_link_without_their_key(
    circle_server, browser: Browser
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    await maya.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=circle_server.url)
    await maya.page.get_by_role("button", name="Copy member link").click()
    await expect(maya.page.locator("#host-status")).to_contain_text("Member link copied.")
    copied = await maya.page.evaluate("() => navigator.clipboard.readText()")
    assert copied == room["member_url"], copied
    assert room["host_key"] not in copied


async def test_a_member_made_co_facilitator_gets_the_tools_and_loses_them_again(
    circle_server, browser: Browser
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "text")
    await expect(sam.page.get_by_role("button", name="Lock meeting")).to_have_count(0)

    await maya.page.get_by_role("button", name="Make co-facilitator: Sam").click()
    await expect(sam.page.get_by_role("button", name="Lock meeting")).to_be_visible()
    await expect(sam.participant("Sam").locator(".facts")).to_contain_text("facilitator")
    await expect(maya.page.get_by_role("button", name="Make member: Sam")).to_be_visible()
    # The co-facilitator can act: they lock the meeting, and the facilitator sees it.
    await sam.page.get_by_role("button", name="Lock meeting").click()
    await expect(maya.page.get_by_role("button", name="Unlock meeting")).to_be_visible()
    await assert_accessible(sam, "co-facilitator's meeting")

    await maya.page.get_by_role("button", name="Make member: Sam").click()
    await expect(sam.page.get_by_role("button", name="Unlock meeting")).to_have_count(0)
    await expect(sam.participant("Sam").locator(".facts")).not_to_contain_text("facilitator")
    await expect(maya.page.get_by_role("button", name="Make co-facilitator: Sam")).to_be_visible()


async def test_members_see_that_the_meeting_is_locked(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "text")
    notice = sam.page.get_by_text("This meeting is locked: nobody new can join right now.")
    await expect(notice).to_be_hidden()

    await maya.page.get_by_role("button", name="Lock meeting").click()
    await expect(notice).to_be_visible()
    said = sam.page.get_by_role("status").filter(has_text="The meeting is locked: nobody new can join.")
    await expect(said).to_have_count(1)
    await assert_accessible(sam, "member in a locked meeting")

    await maya.page.get_by_role("button", name="Unlock meeting").click()
    await expect(notice).to_be_hidden()
    reopened = sam.page.get_by_role("status").filter(has_text="The meeting is open again.")
    await expect(reopened).to_have_count(1)
