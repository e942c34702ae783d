"""Taking turns: the facilitator invites the next speaker with a share timer; every page shows the
speaker and the time left, counted against the server's clock (a page whose own clock is wrong
shows the same); a text-only speaker is told to share in the chat; on a phone the "your turn"
notice stays on screen wherever the page is scrolled; inviting with nobody waiting says so."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser.people import Person
from tests.browser.test_accessibility import assert_accessible
from tests.support.client import Member

# This computer's clock runs ten minutes fast: twice the share it will time.
FAST_CLOCK = """
(() => {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + 10 * 60 * 1000;
})();
"""

# Everything the page says through its live region, kept (the region itself is cleared as it goes).
RECORD_ANNOUNCEMENTS = """
() => {
  window.__said = [];
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) window.__said.push(n.textContent);
  }).observe(document.getElementById("announcer"), { childList: true });
}
"""

PHONE_740 = {"width": 360, "height": 740}

TIME_LEFT = re.compile(r"^[45]:\d\d left$")


async def test_invite_with_nobody_waiting_says_so_calmly(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    await maya.page.get_by_role("button", name="Invite next speaker").click()
    status = maya.page.locator("#host-status")
    await expect(status).to_have_text("Nobody has raised their hand yet, so there's no one to invite.")
    await expect(status).to_have_attribute("role", "status")
    await expect(maya.page.get_by_role("alert")).to_have_count(0)


async def test_the_share_timer_counts_down_alike_on_every_page_even_with_a_wrong_clock(
    circle_server, browser: Browser, artifacts: Path
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "audio")
    jo = await Person.open(browser, room["member_url"], "Jo", init_script=FAST_CLOCK)
    await jo.join("text")
    assert await jo.page.evaluate("() => Date.now() - performance.timeOrigin - performance.now()") > 590000

    await sam.page.get_by_role("button", name="Raise hand").click()
    await expect(maya.participant("Sam")).to_contain_text("hand raised")
    await maya.page.get_by_label("Share time").select_option(label="5 minutes")
    await maya.page.get_by_role("button", name="Invite next speaker").click()

    await expect(sam.page.locator("#speaker-text")).to_have_text("It's your turn to share.")
    for person in (maya, jo):
        await expect(person.page.locator("#speaker-text")).to_have_text("Sam is sharing.")
        await expect(person.participant("Sam").locator(".facts")).to_contain_text("sharing")
    for person in (maya, sam, jo):
        await expect(person.page.locator("#speaker-time")).to_have_text(TIME_LEFT)
    # The speaker's tile is marked, with the time left on it.
    tile = sam.tile("Sam")
    await expect(tile).to_have_class(re.compile(r"\bsharing\b"))
    await expect(tile.locator(".badge.sharing")).to_have_text("sharing")
    await expect(tile.locator(".badge.timer")).to_have_text(TIME_LEFT)

    # It counts down.
    first = await jo.page.locator("#speaker-time").inner_text()
    await asyncio.sleep(2.2)
    later = await jo.page.locator("#speaker-time").inner_text()
    assert TIME_LEFT.match(later) and later < first, (first, later)
    # The pages agree to within a second or two.
    seconds = []
    for person in (maya, sam, jo):
        m, s = (await person.page.locator("#speaker-time").inner_text()).split()[0].split(":")
        seconds.append(int(m) * 60 + int(s))
    assert max(seconds) - min(seconds) <= 2, seconds

    await assert_accessible(maya, "meeting with a timed share, facilitator")
    await assert_accessible(sam, "meeting, my turn to share")
    await sam.page.screenshot(path=artifacts / "share-timer-speaker.png")


async def test_a_text_only_speaker_is_told_to_share_in_the_chat_and_when_time_is_up(
    circle_server, browser: Browser
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    host = await Member(circle_server.url).connect()
    try:
        await host.join(room["id"], "Maya", "text", host_key=room["host_key"], accept_guidelines=True)
        sam = await Person.in_meeting(browser, room["member_url"], "Sam", "text")
        lee = await Person.in_meeting(browser, room["member_url"], "Lee", "text")
        await sam.page.evaluate(RECORD_ANNOUNCEMENTS)
        sam_id = await sam.self_id()
        await sam.page.get_by_role("button", name="Raise hand").click()
        await host.wait_for("room:updated", lambda update: update["hands"] == [sam_id])
        assert (await host.call("mod:next-speaker", {"limit_s": 3}))["ok"]

        banner = sam.page.locator("#speaker-banner")
        await expect(banner).to_contain_text("It's your turn to share. You can share by writing in the chat.")
        await expect(lee.page.locator("#speaker-text")).to_have_text("Sam is sharing in the chat.")
        # Time is up: said on the page, calmly, and aloud to the speaker once.
        await expect(sam.page.locator("#speaker-time")).to_have_text("time is up", timeout=8000)
        await expect(banner).to_have_class(re.compile(r"\btime-up\b"))
        await expect(lee.page.locator("#speaker-time")).to_have_text("time is up")
        said = await sam.page.evaluate("() => window.__said")
        assert said.count("Your share time is up. Finish your thought when you're ready.") == 1, said
        assert said.count("It's your turn to share. You can share by writing in the chat.") == 1, said
    finally:
        await host.close()


async def test_on_a_phone_the_your_turn_notice_stays_on_screen_when_scrolled_to_the_chat(
    circle_server, browser: Browser, artifacts: Path
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    for name in ("Ana", "Bo"):
        await Person.in_meeting(browser, room["member_url"], name, "audio")
    sam = await Person.open(browser, room["member_url"], "Sam", viewport=PHONE_740)
    await sam.join("audio")
    await sam.page.evaluate(RECORD_ANNOUNCEMENTS)
    await sam.page.get_by_role("button", name="Raise hand").click()
    await expect(maya.participant("Sam")).to_contain_text("hand raised")
    await maya.page.get_by_role("button", name="Invite next speaker").click()

    notice = sam.page.locator("#speaker-banner")
    await expect(notice).to_have_text("It's your turn to share.")
    await sam.page.get_by_role("textbox", name="Message").scroll_into_view_if_needed()
    await sam.page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    assert await sam.page.evaluate("() => window.scrollY") > 200, "the page should scroll at this size"
    box = await notice.bounding_box()
    assert box is not None
    assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE_740["height"], box
    # Scrolled to the end, the notice covers neither the message box nor Send.
    for control in (
        sam.page.get_by_role("textbox", name="Message"),
        sam.page.get_by_role("button", name="Send", exact=True),
    ):
        other = await control.bounding_box()
        assert other is not None
        assert other["y"] + other["height"] <= box["y"], (other, box)
    await sam.page.screenshot(path=artifacts / "your-turn-360px.png")
    await assert_accessible(sam, "your turn, scrolled, at 360 px")

    # Announced once, not again when the page re-renders.
    await maya.say("Take your time, Sam.")
    await expect(sam.chat_log).to_contain_text("Take your time, Sam.")
    said = await sam.page.evaluate("() => window.__said")
    assert said.count("It's your turn to share.") == 1, said
