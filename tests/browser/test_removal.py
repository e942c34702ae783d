"""Removing someone is a decision, not a slip: the facilitator confirms in a dialog that keeps the
keyboard inside it, closes with Escape and offers a ban; the person removed is told kindly, with
where to turn next."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser.people import Person
from tests.browser.test_accessibility import assert_accessible


async def focused_inside_dialog(person: Person) -> bool:
    return bool(await person.page.evaluate("() => Boolean(document.activeElement?.closest('dialog[open]'))"))


async def test_remove_asks_first_keeps_focus_in_the_dialog_and_escape_changes_nothing(
    circle_server, browser: Browser, artifacts: Path
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "text")
    page = maya.page

    remove = page.get_by_role("button", name="Remove Sam from the meeting")
    await remove.click()
    dialog = page.get_by_role("dialog", name="Remove Sam from the meeting?")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("checkbox", name="Also ban from this room")).not_to_be_checked()
    # The safe choice has the focus, and Tab never leaves the dialog, either way round.
    await expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    for key in ["Tab"] * 5 + ["Shift+Tab"] * 5:
        await page.keyboard.press(key)
        assert await focused_inside_dialog(maya), f"focus left the dialog after {key}"
    await assert_accessible(maya, "remove dialog")
    await page.screenshot(path=artifacts / "remove-dialog.png")

    # Escape closes it, removes nobody, and gives the focus back to the button that opened it.
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(remove).to_be_focused()
    await maya.say("Still here, Sam?")
    await expect(sam.chat_log).to_contain_text("Still here, Sam?")
    await expect(maya.participant("Sam")).to_have_count(1)

    # Cancel does the same.
    await remove.click()
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(sam.participants).to_be_visible()


async def test_a_removed_member_is_told_kindly_where_to_turn(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    lee = await Person.in_meeting(browser, room["member_url"], "Lee", "text")

    await maya.page.get_by_role("button", name="Remove Lee from the meeting").click()
    await maya.page.get_by_role("dialog").get_by_role("button", name="Remove", exact=True).click()

    page = lee.page
    await expect(page.get_by_role("heading", name="You were removed from the meeting")).to_be_visible()
    kind = "A facilitator removed you from this meeting. Thank you for coming."
    await expect(page.get_by_text(kind)).to_be_visible()
    await expect(page.get_by_text("you can contact the group's organiser")).to_be_visible()
    await expect(page.get_by_text("call your local emergency number")).to_be_visible()
    await expect(page.get_by_text("can't join this room again")).to_have_count(0)
    await assert_accessible(lee, "removed screen")
    await expect(maya.participant("Lee")).to_have_count(0)
    await expect(maya.page.get_by_role("status").filter(has_text="Lee was removed.")).to_have_count(1)


async def test_remove_with_a_ban_keeps_that_browser_out_of_the_room(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "text")

    await maya.page.get_by_role("button", name="Remove Sam from the meeting").click()
    dialog = maya.page.get_by_role("dialog")
    await dialog.get_by_role("checkbox", name="Also ban from this room").check()
    await dialog.get_by_role("button", name="Remove", exact=True).click()

    await expect(sam.page.get_by_role("heading", name="You were removed from the meeting")).to_be_visible()
    await expect(sam.page.get_by_text("you can't join this room again")).to_be_visible()
    await expect(sam.page.get_by_text("you can contact the group's organiser")).to_be_visible()
    told = maya.page.get_by_role("status").filter(has_text="Sam was removed and banned")
    await expect(told).to_have_count(1)

    # The same browser, under another name, is refused.
    again = Person("Samuel", sam.context, await sam.context.new_page())
    await again.page.goto(room["member_url"])
    await again.join("text", expect_meeting=False)
    await expect(again.page.get_by_role("alert")).to_contain_text("You can't join this meeting")
