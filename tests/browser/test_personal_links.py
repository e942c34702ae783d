"""Coming in by a link made for one person: a one-to-one room's `#invite=`, a community site's
`#token=` (the name it gives is shown and cannot be changed), and guidelines changed while the join
page was open, which the page shows again to be accepted."""

from __future__ import annotations

import time

import jwt
from playwright.async_api import Browser, expect

from tests.browser.people import Person
from tests.support.admin import call
from tests.support.client import Member

SECRET = "a-secret-shared-with-the-community-site-0123456789"


async def test_each_personal_link_of_a_one_to_one_room_lets_one_person_in(
    circle_server, browser: Browser
) -> None:
    made = await call(
        circle_server.url, "POST", "/api/rooms", {"title": "Sponsor check-in", "one_to_one": True}
    )
    first, second = made.body["links"]
    sam = await Person.open(browser, first, "Sam")
    await expect(sam.page.get_by_role("heading", name="Sponsor check-in")).to_be_visible()
    await sam.join("text")
    await expect(sam.participant("Sam")).to_be_visible()

    kim = await Person.open(browser, second, "Kim")
    await kim.join("text")
    await expect(sam.participant("Kim")).to_be_visible()

    # The room's plain link lets no one in, and says why before anyone types a name.
    stranger = await Person.open(browser, f"{circle_server.url}/r/{made.body['id']}", "Lee")
    await expect(stranger.page.get_by_role("alert")).to_contain_text("only for the two people invited")
    await expect(stranger.page.get_by_role("button", name="Join", exact=True)).to_be_hidden()

    # Sam's link, opened elsewhere while Sam is in: refused, saying so.
    again = await Person.open(browser, first, "Sam")
    await again.join("text", expect_meeting=False)
    await expect(again.page.get_by_role("alert")).to_contain_text(
        "already in this meeting with this personal link"
    )


async def test_a_join_token_link_names_its_holder_who_cannot_change_the_name(
    circle_server_factory, browser: Browser
) -> None:
    server = await circle_server_factory(join_token_secret=SECRET)
    room = await server.create_room(title="Community circle", passcode="43214321")
    host = await Member(server.url).connect()
    try:
        await host.join(room["id"], "Maya", "text", host_key=room["host_key"])
        claims = {"room": room["id"], "name": "Sam", "role": "member", "exp": int(time.time()) + 600}
        token = jwt.encode(claims, SECRET, algorithm="HS256")
        sam = await Person.open(browser, f"{server.url}/r/{room['id']}#token={token}", "Sam")
        page = sam.page
        name = page.get_by_label("Your name")
        await expect(name).to_have_value("Sam")
        await expect(name).not_to_be_editable()
        await expect(page.get_by_text("Your name comes from the site that sent you here.")).to_be_visible()
        # No passcode asked of a member the site vouches for: the token stands in for it.
        await expect(page.get_by_label("Passcode")).to_be_hidden()
        await page.get_by_role("radio", name="Text only").check()
        await page.get_by_role("button", name="Join", exact=True).click()
        await expect(sam.participant("Sam")).to_be_visible()
        joined = await host.wait_for("participant:joined", lambda p: p["name"] == "Sam")
        assert joined["role"] == "member"

        facilitator = {**claims, "name": "Fay", "role": "facilitator"}
        fay = await Person.open(
            browser,
            f"{server.url}/r/{room['id']}#token={jwt.encode(facilitator, SECRET, algorithm='HS256')}",
            "Fay",
        )
        await expect(fay.page.get_by_text("You're joining as this meeting's facilitator")).to_be_visible()
        await fay.page.get_by_role("radio", name="Text only").check()
        await fay.page.get_by_role("button", name="Join", exact=True).click()
        await expect(fay.participant("Fay")).to_be_visible()
        assert (await host.wait_for("participant:joined", lambda p: p["name"] == "Fay"))[
            "role"
        ] == "facilitator"

        expired = jwt.encode({**claims, "exp": int(time.time()) - 60}, SECRET, algorithm="HS256")
        late = await Person.open(browser, f"{server.url}/r/{room['id']}#token={expired}", "Sam")
        await late.page.get_by_role("radio", name="Text only").check()
        await late.page.get_by_role("button", name="Join", exact=True).click()
        await expect(late.page.get_by_role("alert")).to_contain_text("This join link has expired")
    finally:
        await host.close()


async def test_guidelines_changed_while_the_join_page_was_open_are_shown_again_to_accept(
    circle_server, browser: Browser
) -> None:
    room = await circle_server.create_room(title="Tuesday circle", guidelines="Listen without fixing.")
    ann = await Person.open(browser, room["member_url"], "Ann")
    page = ann.page
    await expect(page.get_by_text("Listen without fixing.")).to_be_visible()
    edited = await call(
        circle_server.url, "PATCH", f"/api/rooms/{room['id']}", {"guidelines": "Listen. You can always pass."}
    )
    assert edited.body["guidelines_version"] == 2

    await ann.join("text", expect_meeting=False)
    await expect(page.get_by_text("The group guidelines have changed.")).to_be_visible()
    await expect(page.get_by_text("Listen. You can always pass.")).to_be_visible()
    agreement = page.get_by_label("I agree to the group guidelines")
    await expect(agreement).not_to_be_checked()
    await agreement.check()
    await page.get_by_role("button", name="Join", exact=True).click()
    await expect(ann.participant("Ann")).to_be_visible()
