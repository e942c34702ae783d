"""Every screen a person meets passes an automated WCAG 2.1 A/AA audit (axe-core, from the web
client's npm devDependencies): contrast, names and roles of controls, labels, landmarks, lists.

The audit runs through DevTools, not as a page script, so the page's Content-Security-Policy stays
as strict as it is for everyone. An automated audit finds a part of what matters; the keyboard test
in test_join.py and the checks on what each person sees cover more."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.browser.people import PHONE, Person

AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


async def violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now, each with where it is."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text(encoding="utf-8"))
    result = await page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations",
        WCAG_AA,
    )
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "where": [(n["target"], n.get("failureSummary", "")) for n in v["nodes"][:5]],
        }
        for v in result
    ]


async def assert_accessible(person: Person, screen: str) -> None:
    found = await violations(person.page)
    assert not found, f"{screen} ({person.name}):\n{json.dumps(found, indent=2)}"


async def test_join_and_waiting_screens_pass_the_audit(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(
        title="Thursday mindfulness peer group",
        guidelines="What is said here stays here.\nYou can always pass.",
        passcode="24682468",
        waiting_room=True,
    )
    ana = await Person.open(browser, room["member_url"], "Ana")
    await expect(ana.page.get_by_label("Your name")).to_be_visible()
    await assert_accessible(ana, "join screen")
    await ana.page.get_by_role("radio", name="Camera and microphone").check()
    await expect(ana.page.locator("video").first).to_be_visible()
    await assert_accessible(ana, "join screen with camera preview")

    phone = await Person.open(browser, room["member_url"], "Bo", viewport=PHONE)
    await expect(phone.page.get_by_label("Your name")).to_be_visible()
    await assert_accessible(phone, "join screen at 360 px")

    # A refusal on screen, then the waiting room.
    await phone.join("text", passcode="00000000", expect_meeting=False)
    await expect(phone.page.locator("#passcode-error")).to_be_visible()
    await assert_accessible(phone, "join screen with a refusal")
    await phone.page.get_by_label("Passcode").fill("24682468")
    await phone.page.get_by_role("button", name="Join", exact=True).click()
    # Nobody has opened the meeting yet, and the waiting room says so rather than promise a welcome.
    await expect(phone.page.get_by_text("The meeting hasn't started yet")).to_be_visible()
    await assert_accessible(phone, "waiting room")


async def test_meeting_screens_pass_the_audit(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Tuesday evening circle", waiting_room=True)
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "av")
    sam = await Person.open(browser, room["member_url"], "Sam")
    await sam.join("audio", expect_meeting=False)
    await maya.page.get_by_role("button", name="Admit Sam").click()
    await sam.wait_for_audio()
    jo = await Person.open(browser, room["member_url"], "Jo", viewport=PHONE)
    await jo.join("text", expect_meeting=False)
    await expect(maya.page.get_by_role("button", name="Admit Jo")).to_be_visible()
    await maya.page.get_by_role("button", name="Admit Jo").click()
    await expect(jo.participants).to_be_visible()
    await jo.say("Hi, I'm listening tonight.")
    await maya.say("Just for you, Jo.", to="Jo")
    await jo.page.get_by_role("button", name="Raise hand").click()
    await expect(maya.participant("Jo")).to_contain_text("hand raised")

    # The facilitator's view: tools, the queue, chat with a private message.
    await assert_accessible(maya, "meeting, facilitator")
    await assert_accessible(jo, "meeting, text only at 360 px")
    await assert_accessible(sam, "meeting, audio only, with someone on video")

    await maya.page.get_by_role("button", name="End meeting for everyone").click()
    await maya.page.get_by_role("button", name="Press again to end the meeting").click()
    await expect(jo.page.get_by_role("heading", name="The meeting has ended")).to_be_visible()
    await assert_accessible(jo, "meeting ended")
