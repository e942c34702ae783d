"""The join form says what is wrong beside the field it is about, tied to that field for a screen
reader, and when too many tries were made it says how long to wait."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.browser.people import Person
from tests.browser.test_accessibility import assert_accessible


async def test_each_problem_is_said_beside_its_field(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Evening circle", guidelines="Be kind.", passcode="24682468")
    ana = await Person.open(browser, room["member_url"], "Ana")
    page = ana.page
    join = page.get_by_role("button", name="Join", exact=True)

    await join.click()
    name = page.get_by_label("Your name")
    await expect(page.locator("#name-error")).to_have_text(
        "Please enter a name. A first name or a nickname is enough."
    )
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(name).to_have_accessible_description(re.compile("Please enter a name"))
    await expect(name).to_be_focused()
    await assert_accessible(ana, "join screen with a field error")

    await name.fill("Ana")
    await join.click()
    await expect(page.locator("#name-error")).to_be_hidden()
    await expect(name).not_to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#mode-error")).to_have_text("Please choose how you'd like to take part.")
    text_only = page.get_by_role("radio", name=re.compile("^Text only"))
    await expect(text_only).to_have_accessible_description(re.compile("choose how you'd like to take part"))

    await text_only.check()
    await join.click()
    passcode = page.get_by_label("Passcode")
    await expect(page.locator("#passcode-error")).to_have_text("Please enter the passcode for this meeting.")
    await expect(passcode).to_be_focused()

    await passcode.fill("11111111")
    await join.click()
    await expect(page.locator("#agree-error")).to_contain_text("tick the box to agree")
    await page.get_by_label("I agree to the group guidelines").check()
    await join.click()
    # The server's refusal of the passcode is said beside the passcode, and nowhere else.
    await expect(page.locator("#passcode-error")).to_have_text(
        "That passcode didn't match. Check it and try again."
    )
    await expect(passcode).to_have_accessible_description(re.compile("That passcode didn't match"))
    await expect(page.locator("#join-error")).to_be_hidden()
    await expect(page.get_by_role("alert")).to_have_count(1)
    await assert_accessible(ana, "join screen with a wrong passcode")

    await passcode.fill("24682468")
    await join.click()
    await expect(ana.participants).to_contain_text("Ana (you)")


async def test_too_many_passcode_tries_say_how_long_to_wait(circle_server_factory, browser: Browser) -> None:
    server = await circle_server_factory(join_burst=2, join_rate_per_s=0.1)
    room = await server.create_room(title="Evening circle", passcode="24682468")
    ana = await Person.open(browser, room["member_url"], "Ana")
    page = ana.page
    error = page.locator("#passcode-error")
    await ana.join("text", passcode="00000000", expect_meeting=False)
    await expect(error).to_contain_text("That passcode didn't match")
    for guess in ("00010001", "00020002"):
        await page.get_by_label("Passcode").fill(guess)
        await page.get_by_role("button", name="Join", exact=True).click()
        await expect(page.get_by_role("button", name="Join", exact=True)).to_be_enabled()
    await expect(error).to_have_text(
        re.compile(r"^Too many tries in a short time\. Please wait (\d+) seconds?, then try again\.$")
    )
    seconds = int(re.findall(r"\d+", await error.inner_text())[0])
    assert 1 <= seconds <= 10, seconds
