"""Muting: a routine mute is news the member can undo; "Mute and keep muted" holds until the
facilitator allows unmuting, and the member's page says so and offers no way round it."""

from __future__ import annotations

from playwright.async_api import Browser, Locator, expect

from tests.browser.people import Person
from tests.browser.test_accessibility import assert_accessible


def facts(person: Person, name: str) -> Locator:
    """What `person`'s list says about `name` (without the facilitator's buttons)."""
    return person.participant(name).locator(".facts")


async def test_a_routine_mute_is_calm_news_the_member_can_undo(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "audio")

    await maya.page.get_by_role("button", name="Mute Sam", exact=True).click()
    status = sam.page.locator("#self-status")
    await expect(status).to_have_text(
        "A facilitator turned off your microphone. You can turn it back on when you're ready."
    )
    # Information, in the calm style, and no alert.
    await expect(status).to_have_class("notice notice-info")
    await expect(sam.page.get_by_role("alert")).to_have_count(0)
    await assert_accessible(sam, "member muted by a facilitator")

    unmute = sam.page.get_by_role("button", name="Unmute microphone")
    await expect(unmute).to_be_enabled()
    await unmute.click()
    await expect(sam.page.get_by_role("button", name="Mute microphone")).to_be_visible()
    await expect(status).to_be_hidden()
    await expect(facts(maya, "Sam")).not_to_contain_text("muted")


async def test_a_member_kept_muted_cannot_unmute_until_the_facilitator_allows_it(
    circle_server, browser: Browser
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "audio")

    await maya.page.get_by_role("button", name="Mute and keep muted: Sam").click()
    await expect(facts(maya, "Sam")).to_contain_text("kept muted")
    allow = maya.page.get_by_role("button", name="Allow unmuting: Sam")
    await expect(allow).to_be_visible()

    unmute = sam.page.get_by_role("button", name="Unmute microphone")
    await expect(unmute).to_be_disabled()
    await expect(unmute).to_have_accessible_description(
        "A facilitator is keeping you muted for now. You'll be able to unmute when they allow it."
    )
    await expect(sam.page.get_by_role("alert")).to_have_count(0)
    # Other members are not told who is kept muted; they see "muted" like any other.
    await expect(facts(sam, "Sam")).not_to_contain_text("kept muted")
    await assert_accessible(sam, "member kept muted")

    # Pressing it anyway changes nothing: a message sent afterwards arrives while Sam is still muted.
    await unmute.click(force=True)
    await sam.say("I'll wait.")
    await expect(maya.chat_log).to_contain_text("I'll wait.")
    await expect(facts(maya, "Sam")).to_contain_text("kept muted")
    await expect(sam.page.get_by_role("button", name="Unmute microphone")).to_be_visible()

    await allow.click()
    await expect(facts(maya, "Sam")).not_to_contain_text("kept muted")
    await expect(sam.page.locator("#self-status")).to_contain_text("allowed you to unmute")
    await expect(unmute).to_be_enabled()
    await unmute.click()
    await expect(sam.page.get_by_role("button", name="Mute microphone")).to_be_visible()
    await expect(facts(maya, "Sam")).not_to_contain_text("muted")


async def test_text_only_members_are_offered_no_mute(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    await Person.in_meeting(browser, room["member_url"], "Jo", "text")
    item = maya.participant("Jo")
    await expect(item.get_by_role("button", name="Remove Jo from the meeting")).to_be_visible()
    await expect(item.get_by_role("button", name="Mute", exact=False)).to_have_count(0)
