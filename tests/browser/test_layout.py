"""The meeting fits the screens people use: on a 360 × 740 phone every video stays on the first
screen, so the waiting list and the chat are never below a column of faces, and every control is
at least 44 px for a finger; on a 1280 × 800 laptop the chat box and Send are in view without
scrolling, for the facilitator with a full list and for a text-only member."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.browser.people import Person
from tests.browser.test_accessibility import assert_accessible

PHONE_740 = {"width": 360, "height": 740}
LAPTOP = {"width": 1280, "height": 800}

# Every visible control smaller than 44 × 44 px; a checkbox or radio counts with the row it sits in
# (its label is part of what a finger can press).
SMALL_TARGETS = """
() => {
  const small = [];
  for (const el of document.querySelectorAll("button, select, textarea, input, a[href]")) {
    if (!el.checkVisibility() || el.closest("[inert], dialog:not([open])")) continue;
    const target = ["checkbox", "radio"].includes(el.type) ? el.closest(".check, .mode") ?? el : el;
    const box = target.getBoundingClientRect();
    if (box.height < 44 || box.width < 44) {
      const name = el.id || el.getAttribute("aria-label") || el.textContent.trim();
      small.push(`${name}: ${box.width}x${box.height}`);
    }
  }
  return small;
}
"""


async def boxes(page: Page, selector: str) -> list[dict[str, Any]]:
    return list(
        await page.eval_on_selector_all(
            selector,
            "els => els.map((e) => { const b = e.getBoundingClientRect();"
            " return {top: b.top + scrollY, bottom: b.bottom + scrollY, left: b.left}; })",
        )
    )


async def test_on_a_phone_the_videos_stay_on_the_first_screen_and_targets_fit_a_finger(
    circle_server, browser: Browser, artifacts: Path
) -> None:
    room = await circle_server.create_room(title="Evening circle", guidelines="Be kind.", passcode="24682468")
    maya = await Person.open(browser, room["facilitator_url"], "Maya", viewport=PHONE_740)
    assert await maya.page.evaluate(SMALL_TARGETS) == [], "join screen"
    await maya.join("audio", passcode="24682468")
    for name in ("Ana", "Bo", "Cy"):
        member = await Person.open(browser, room["member_url"], name)
        await member.join("audio", passcode="24682468")
    await maya.page.get_by_role("button", name="Turn waiting room on").click()
    dee = await Person.open(browser, room["member_url"], "Dee")
    await dee.join("text", passcode="24682468", expect_meeting=False)
    page = maya.page
    await expect(page.get_by_role("button", name="Admit Dee")).to_be_visible()
    await expect(page.locator("figure.tile")).to_have_count(4)

    tiles = await boxes(page, "figure.tile")
    assert len({round(t["top"]) for t in tiles}) == 1, f"the videos are not one strip: {tiles}"
    assert max(t["bottom"] for t in tiles) <= PHONE_740["height"], tiles
    waiting = (await boxes(page, "#waiting-heading"))[0]
    assert waiting["bottom"] <= PHONE_740["height"], (
        f"the waiting list starts below the first screen: {waiting}"
    )
    message = (await boxes(page, "#message"))[0]
    assert message["top"] > max(t["bottom"] for t in tiles)
    await page.screenshot(path=artifacts / "facilitator-360px.png", full_page=True)

    assert await page.evaluate(SMALL_TARGETS) == [], "facilitator's meeting"
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_740["width"], "the page scrolls sideways"
    await assert_accessible(maya, "facilitator at 360 px with people waiting")

    await page.get_by_role("button", name="Remove Ana from the meeting").click()
    assert await page.evaluate(SMALL_TARGETS) == [], "remove dialog"
    await page.keyboard.press("Escape")


async def test_on_a_laptop_the_chat_box_and_send_fit_without_scrolling(
    circle_server, browser: Browser, artifacts: Path
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.open(browser, room["facilitator_url"], "Maya", viewport=LAPTOP)
    await maya.join("audio")
    for name in ("Ana", "Bo", "Cy", "Dee", "Eli"):
        await Person.in_meeting(browser, room["member_url"], name, "text")
    jo = await Person.open(browser, room["member_url"], "Jo", viewport=LAPTOP)
    await jo.join("text")
    await expect(maya.participants.get_by_role("listitem")).to_have_count(7)
    for line in range(12):
        await jo.say(f"Line {line} of a longer conversation.")

    for person in (maya, jo):
        page = person.page
        assert await page.evaluate("() => window.scrollY") == 0
        for control in (
            page.get_by_role("textbox", name="Message"),
            page.get_by_role("button", name="Send", exact=True),
            page.get_by_label("Send to"),
        ):
            box = await control.bounding_box()
            assert box is not None
            assert box["y"] >= 0 and box["y"] + box["height"] <= LAPTOP["height"], (person.name, box)
        log = await person.chat_log.bounding_box()
        assert log is not None and log["height"] >= 120, log
        await page.screenshot(path=artifacts / f"laptop-{person.name}.png")
    # The facilitator sees the tools and the first people in the list at once (a long list
    # scrolls within its panel).
    panel = await maya.page.locator(".people-panel").bounding_box()
    assert panel is not None
    for name in ("Invite next speaker", "Lock meeting"):
        button = await maya.page.get_by_role("button", name=name).bounding_box()
        assert button is not None and button["y"] + button["height"] <= LAPTOP["height"], name
    for name in ("Remove Ana from the meeting", "Remove Bo from the meeting"):
        button = await maya.page.get_by_role("button", name=name).bounding_box()
        assert button is not None
        inside = panel["y"] <= button["y"] and button["y"] + button["height"] <= panel["y"] + panel["height"]
        assert inside, name
    await assert_accessible(maya, "facilitator at 1280 x 800 with a long list")
    await assert_accessible(jo, "text only at 1280 x 800")
