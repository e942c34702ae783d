"""The facilitator's side of the events a member can receive: being muted, being removed, and the
meeting ending, each said plainly on the member's screen."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser.people import Person


async def test_member_is_told_when_muted_removed_or_the_meeting_ends(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "audio")
    lee = await Person.in_meeting(browser, room["member_url"], "Lee", "text")

    # Audio only: no camera control, a microphone control.
    await expect(sam.page.get_by_role("button", name="Turn camera off")).to_have_count(0)
    await maya.page.get_by_role("button", name="Mute Sam").click()
    await expect(sam.page.get_by_role("button", name="Unmute microphone")).to_be_visible()
    # Said as news, beside the controls, not as an error.
    await expect(sam.page.locator("#self-status")).to_contain_text("A facilitator turned off your microphone")
    await expect(sam.page.get_by_role("alert")).to_have_count(0)
    await expect(maya.participant("Sam")).to_contain_text("muted")

    await maya.page.get_by_role("button", name="Remove Lee from the meeting").click()
    await maya.page.get_by_role("dialog").get_by_role("button", name="Remove", exact=True).click()
    await expect(lee.page.get_by_role("heading", name="You were removed from the meeting")).to_be_visible()
    await expect(maya.participant("Lee")).to_have_count(0)

    end = maya.page.get_by_role("button", name="End meeting for everyone")
    await end.click()
    await maya.page.get_by_role("button", name="Press again to end the meeting").click()
    await expect(sam.page.get_by_role("heading", name="The meeting has ended")).to_be_visible()
    for person in (maya, sam, lee):
        assert person.dialogs == []
        assert person.errors == [], person.errors


async def test_facilitator_locks_the_meeting_and_turns_the_waiting_room_on_and_off(
    circle_server, browser: Browser, artifacts: Path
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "text")
    await expect(sam.page.get_by_role("button", name="Lock meeting")).to_have_count(0)  # members never see it

    await maya.page.get_by_role("button", name="Lock meeting").click()
    await expect(maya.page.get_by_role("button", name="Unlock meeting")).to_be_visible()
    late = await Person.open(browser, room["member_url"], "Lee")
    await late.join("text", expect_meeting=False)
    await expect(late.page.get_by_role("alert")).to_contain_text("locked this meeting")
    await maya.page.get_by_role("button", name="Unlock meeting").click()
    await expect(maya.page.get_by_role("button", name="Lock meeting")).to_be_visible()

    await maya.page.get_by_role("button", name="Turn waiting room on").click()
    await expect(maya.page.get_by_role("button", name="Turn waiting room off")).to_be_visible()
    await maya.page.screenshot(path=artifacts / "facilitator-tools.png", full_page=True)
    await late.page.get_by_role("button", name="Join", exact=True).click()
    await expect(
        late.page.get_by_role("heading", name="The facilitator will let you in shortly")
    ).to_be_visible()
    # Turning the waiting room off lets in everyone who was waiting.
    await maya.page.get_by_role("button", name="Turn waiting room off").click()
    await expect(late.participants).to_contain_text("Lee (you)")
    await expect(sam.participant("Lee")).to_have_count(1)
    for person in (maya, sam, late):
        assert person.dialogs == []
        assert person.errors == [], person.errors
