"""Getting into a meeting: the join screen, refusals said plainly, the waiting room, keyboard-only
use, and user text that stays text."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
from playwright.async_api import Browser, expect

from tests.browser.people import PHONE, Person
from tests.browser.test_accessibility import violations
from tests.support.client import Member

GUIDELINES = (
    "What is said here stays here.\n"
    "Speak from your own experience; listen without fixing.\n"
    "You can always pass."
)


async def test_join_screen_shows_the_room_and_asks_for_nothing_until_a_mode_is_chosen(
    circle_server, browser: Browser, artifacts: Path
) -> None:
    room = await circle_server.create_room(
        title="Thursday mindfulness peer group", guidelines=GUIDELINES, passcode="43214321"
    )
    for label, viewport in (("desktop", None), ("360px", PHONE)):
        person = await Person.open(browser, room["member_url"], "Ana", viewport=viewport)
        page = person.page
        await expect(page.get_by_role("heading", name="Thursday mindfulness peer group")).to_be_visible()
        await expect(page.get_by_label("I agree to the group guidelines")).to_be_visible()
        await expect(page.get_by_text("You can always pass.")).to_be_visible()
        retention = page.get_by_text("The chat is deleted as soon as the last person leaves.")
        await expect(retention).to_be_visible()
        await expect(page.get_by_label("Passcode")).to_be_visible()
        for name in ("Camera and microphone", "Audio only", "Text only"):
            await expect(page.get_by_role("radio", name=re.compile(f"^{name}"))).to_have_count(1)
        await expect(page.get_by_role("button", name="Join", exact=True)).to_be_visible()
        assert (await person.probe())["gum"] == 0  # nothing asked for a camera yet
        await page.get_by_label("Your name").fill("Ana")
        await page.screenshot(path=artifacts / f"join-{label}.png", full_page=True)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= (viewport or {"width": 1280})["width"], "the page scrolls sideways"

        await page.get_by_role("radio", name="Audio only").check()
        await expect(page.get_by_text("Your camera stays off.")).to_be_visible()
        assert (await person.probe())["gum"] == 1
        assert (await person.probe())["csp"] == []
        await person.close()


async def test_a_room_that_keeps_its_chat_says_for_how_long(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Sponsor check-in", retention_s=7200)
    person = await Person.open(browser, room["member_url"], "Ana")
    retention = person.page.get_by_text("The chat is deleted 2 hours after the last person leaves.")
    await expect(retention).to_be_visible()


async def test_refusals_are_explained(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Passcode circle", passcode="43214321")
    ana = await Person.open(browser, room["member_url"], "Ana")
    await ana.join("text", passcode="11111111", expect_meeting=False)
    await expect(ana.page.get_by_role("alert")).to_contain_text("That passcode didn't match")
    await ana.page.get_by_label("Passcode").fill("43214321")
    await ana.page.get_by_role("button", name="Join", exact=True).click()
    await expect(ana.participants).to_contain_text("Ana (you)")

    missing = await Person.open(browser, f"{circle_server.url}/r/no-such-room", "Bo")
    await expect(missing.page.get_by_role("alert")).to_contain_text("We couldn't find this meeting")
    # Not "You're invited to" above a meeting that isn't there.
    await expect(missing.page.get_by_role("heading", level=1)).to_have_text("Meeting not found")
    await expect(missing.page.get_by_text("You're invited to")).to_be_hidden()


async def test_the_server_address_and_a_cut_short_link_answer_a_calm_circle_page(
    circle_server, browser: Browser
) -> None:
    """Someone who opens the server's own address, or a link cut off before the meeting's code, is
    told what to do on a Circle page, not a bare "404: Not Found"."""
    page = await browser.new_page()
    try:
        for path in ("/", "/r/", "/r"):
            response = await page.goto(f"{circle_server.url}{path}")
            assert response is not None and response.status == 404
            assert response.headers["content-type"].startswith("text/html")
            await expect(page.get_by_role("heading", level=1)).to_have_text("This isn't a meeting link")
            await expect(page.get_by_text("call your local emergency number")).to_be_visible()
            assert await violations(page) == [], path
    finally:
        await page.close()


async def test_a_full_a_locked_and_a_banned_refusal_each_say_what_happened(
    circle_server_factory, browser: Browser
) -> None:
    server = await circle_server_factory(max_participants=2)
    room = await server.create_room(title="Small circle")
    host = await Member(server.url).connect()
    ann = await Member(server.url).connect()
    try:
        await host.join(room["id"], "Maya", "text", host_key=room["host_key"])
        await ann.join(room["id"], "Ann", "text")
        bo = await Person.open(browser, room["member_url"], "Bo")
        await bo.join("text", expect_meeting=False)
        await expect(bo.page.get_by_role("alert")).to_contain_text("This meeting is full right now")

        assert (await ann.call("leave"))["ok"]
        assert (await host.call("mod:lock", {"locked": True}))["ok"]
        await bo.page.get_by_role("button", name="Join", exact=True).click()
        await expect(bo.page.get_by_role("alert")).to_contain_text("The facilitator has locked this meeting")

        assert (await host.call("mod:lock", {"locked": False}))["ok"]
        await bo.page.get_by_role("button", name="Join", exact=True).click()
        await expect(bo.participants).to_contain_text("Bo (you)")
        assert (await host.call("mod:remove", {"id": await bo.self_id(), "ban": True}))["ok"]
        await expect(bo.page.get_by_role("heading", name="You were removed from the meeting")).to_be_visible()
        await expect(bo.page.get_by_role("button", name="Rejoin")).to_be_hidden()

        # The same browser, trying again from the link.
        again = Person(bo.name, bo.context, await bo.context.new_page())
        await again.page.goto(room["member_url"])
        await again.join("text", expect_meeting=False)
        await expect(again.page.get_by_role("alert")).to_contain_text("You can't join this meeting")
    finally:
        await host.close()
        await ann.close()


async def test_waiting_room_member_is_let_in_by_the_facilitator(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Newcomers' circle", waiting_room=True)
    host = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    ana = await Person.open(browser, room["member_url"], "Ana")
    await ana.join("text", expect_meeting=False)
    await expect(
        ana.page.get_by_role("heading", name="The facilitator will let you in shortly")
    ).to_be_visible()
    # The waiting screen breathes gently, unless the person asked for less motion.
    dot = ana.page.locator(".calm-dot")
    assert await dot.evaluate("el => getComputedStyle(el).animationName") == "breathe"
    await ana.page.emulate_media(reduced_motion="reduce")
    assert await dot.evaluate("el => getComputedStyle(el).animationName") == "none"
    await host.page.get_by_role("button", name="Admit Ana").click()
    await expect(ana.participants).to_contain_text("Maya")
    await expect(host.participant("Ana")).to_have_count(1)


async def test_names_and_messages_render_as_plain_text(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Evening circle")
    mallory = await Person.in_meeting(browser, room["member_url"], "<script>", "text")
    reader = await Person.in_meeting(browser, room["member_url"], "Ana", "text")
    await mallory.say("<img src=x onerror=alert(1)>")
    await expect(reader.chat_log).to_contain_text("<img src=x onerror=alert(1)>")
    await expect(reader.participants).to_contain_text("<script>")
    await expect(reader.chat_log).to_contain_text("<script>")
    for person in (mallory, reader):
        assert await person.page.locator("#chat-log img, #participants script").count() == 0
        assert person.dialogs == []
        assert (await person.probe())["csp"] == []


async def test_a_member_can_join_and_chat_with_the_keyboard_alone(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Keyboard circle", guidelines=GUIDELINES)
    ana = await Person.open(browser, room["member_url"], "Ana")
    page = ana.page
    keyboard = page.keyboard

    async def tab_to(predicate: str, limit: int = 25) -> None:
        for _ in range(limit):
            await keyboard.press("Tab")
            focused = await page.evaluate(
                """() => {
                  const el = document.activeElement;
                  const style = getComputedStyle(el);
                  return {visible: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
                          id: el.id, tag: el.tagName};
                }"""
            )
            if focused["tag"] != "BODY":
                assert focused["visible"], f"no visible focus on {focused}"
            if await page.evaluate(f"() => {predicate}"):
                return
        raise AssertionError(f"never reached {predicate}")

    await tab_to("document.activeElement.id === 'name'")
    await keyboard.type("Ana")
    await tab_to("document.activeElement.name === 'media'")
    await keyboard.press("ArrowDown")
    await keyboard.press("ArrowDown")
    await expect(page.get_by_role("radio", name="Text only")).to_be_checked()
    await tab_to("document.activeElement.id === 'agree'")
    await keyboard.press("Space")
    await tab_to("document.activeElement.id === 'join-button'")
    await keyboard.press("Enter")
    await expect(ana.participants).to_contain_text("Ana (you)")

    await tab_to("document.activeElement.id === 'message'")
    await keyboard.type("Hello from the keyboard")
    await keyboard.press("Shift+Enter")
    await keyboard.type("second line")
    await keyboard.press("Enter")
    await expect(ana.chat_log).to_contain_text("Hello from the keyboard\nsecond line")
    assert await page.get_by_role("textbox", name="Message").input_value() == ""


async def test_client_is_served_with_a_strict_content_security_policy(circle_server) -> None:
    room = await circle_server.create_room(title="Headers")
    async with aiohttp.ClientSession() as http:
        for path in (
            f"/r/{room['id']}",
            "/static/js/main.js",
            "/static/css/circle.css",
            "/static/vendor/socket.io.esm.min.js",
        ):
            async with http.get(circle_server.url + path) as response:
                assert response.status == 200, path
                csp = response.headers["Content-Security-Policy"]
                assert "script-src 'self'" in csp and "default-src 'self'" in csp
                assert "frame-ancestors 'none'" in csp
                assert response.headers["Referrer-Policy"] == "no-referrer"
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                assert "camera=(self)" in response.headers["Permissions-Policy"]
        for path in (
            "/static/package.json",
            "/static/node_modules/socket.io-client/package.json",
            "/static/../server/app.py",
            "/static/vendor/other.js",
        ):
            async with http.get(circle_server.url + path) as response:
                assert response.status == 404, path
