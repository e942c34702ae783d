"""A facilitator runs a meeting from an agenda, in real browsers: a reading every page shows, a round
whose 60-second share timer every page counts down, a text-only member taking their turn in the chat,
"I'm done", a milestone, and a private note that only the facilitator's page shows. Help is one press
away on every screen, a phone's included; and nobody is promised a facilitator who isn't there.
Every new screen passes the accessibility audit."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import Browser, Request, expect

from tests.browser.people import Person
from tests.browser.test_accessibility import assert_accessible
from tests.support.client import Member

OPENING = "We meet as equals.\nWhat is said here stays here."
AGENDA = [
    {"kind": "reading", "title": "Opening statement", "text": OPENING},
    {"kind": "round", "title": "Check-in", "limit_s": 60},
    {"kind": "open", "title": "Open sharing"},
    {"kind": "closing", "title": "Closing"},
]
PHONE_740 = {"width": 360, "height": 740}
A_MINUTE_OR_LESS = re.compile(r"^(1:00|0:[0-5]\d) left$")


async def test_a_facilitator_runs_a_meeting_from_its_agenda_and_a_private_note_reaches_only_them(
    circle_server, browser: Browser, artifacts: Path
) -> None:
    room = await circle_server.create_room(title="Tuesday evening circle", agenda=AGENDA)
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "audio")
    jo = await Person.open(browser, room["member_url"], "Jo", viewport=PHONE_740)
    await jo.join("text")
    everyone = (maya, sam, jo)

    # The reading, on every page.
    await maya.page.get_by_role("button", name="Start: Opening statement").click()
    for person in everyone:
        now = person.page.get_by_role("region", name="Opening statement")
        await expect(now).to_be_visible()
        await expect(now).to_contain_text("Reading · part 1 of 4")
        await expect(now.locator("#agenda-now-text")).to_have_text(OPENING)
    await assert_accessible(jo, "a reading, text only at 360 px")

    # The round: everyone is queued in join order, its share timer preset for the facilitator.
    await maya.page.get_by_role("button", name="Next: Check-in").click()
    for person in everyone:
        await expect(person.page.get_by_role("region", name="Check-in")).to_contain_text(
            "Round · part 2 of 4"
        )
    await expect(jo.page.locator("#agenda-now-hint")).to_contain_text("yours is in the chat")
    await expect(maya.page.get_by_label("Share time")).to_have_value("60")
    await expect(sam.page.get_by_role("button", name="Pass")).to_be_visible()
    await expect(maya.participant("Sam")).to_contain_text("1st")
    await expect(maya.participant("Jo")).to_contain_text("2nd")

    await maya.page.get_by_role("button", name="Invite next speaker").click()
    await expect(sam.page.locator("#speaker-text")).to_have_text("It's your turn to share.")
    for person in everyone:
        await expect(person.page.locator("#speaker-time")).to_have_text(A_MINUTE_OR_LESS)
    await assert_accessible(maya, "a timed round, facilitator")
    await sam.page.get_by_role("button", name="I'm done").click()
    for person in everyone:
        await expect(person.page.locator("#speaker-banner")).to_be_hidden()

    # A text-only member's turn is in the chat, timed like anyone's.
    await maya.page.get_by_role("button", name="Invite next speaker").click()
    await expect(jo.page.locator("#speaker-banner")).to_contain_text(
        "It's your turn to share. You can share by writing in the chat."
    )
    for person in (maya, sam):
        await expect(person.page.locator("#speaker-text")).to_have_text("Jo is sharing in the chat.")
        await expect(person.page.locator("#speaker-time")).to_have_text(A_MINUTE_OR_LESS)
    await jo.say("I'm grateful to be here tonight.")
    for person in (maya, sam):
        await expect(person.chat_log).to_contain_text("I'm grateful to be here tonight.")
    await jo.page.get_by_role("button", name="I'm done").click()
    await expect(maya.page.locator("#speaker-banner")).to_be_hidden()

    # A milestone: a quiet celebration in every page's chat.
    await sam.page.get_by_role("button", name="Share a milestone").click()
    dialog = sam.page.get_by_role("dialog", name="Share a milestone")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("radio", name="30 days").check()
    await assert_accessible(sam, "sharing a milestone")
    await dialog.get_by_role("button", name="Share").click()
    await expect(dialog).to_be_hidden()
    for person in everyone:
        milestone = person.chat_log.locator(".msg.milestone")
        await expect(milestone).to_have_count(1)
        await expect(milestone).to_contain_text("shared a milestone")
        await expect(milestone.locator(".text")).to_have_text("✦ 30 days")

    # A private note: the facilitator's page shows it, nobody else's.
    note = "Could someone stay on for a few minutes after?"
    await jo.page.get_by_role("button", name="Tell the facilitators privately").click()
    dialog = jo.page.get_by_role("dialog", name="Tell the facilitators privately")
    await dialog.get_by_role("radio", name="I need support after the meeting").check()
    await dialog.get_by_label("Anything you'd like to add").fill(note)
    await assert_accessible(jo, "telling the facilitators privately, at 360 px")
    await dialog.get_by_role("button", name="Tell the facilitators").click()
    await expect(jo.page.locator("#care-status")).to_have_text(
        "The facilitators have been told, privately. Thank you for letting them know."
    )
    told = maya.page.get_by_role("region", name=re.compile("^Told to you privately"))
    await expect(told).to_contain_text("I need support after the meeting.")
    await expect(told).to_contain_text(note)
    await assert_accessible(maya, "a private note, facilitator")
    await maya.page.screenshot(path=artifacts / "agenda-round-and-note.png", full_page=True)
    # Said after the note was sent: once Sam's page has it, the note would be there too.
    await maya.say("Let's move on to open sharing.")
    await expect(sam.chat_log).to_contain_text("Let's move on to open sharing.")
    for person in (sam, jo):
        await expect(person.page.locator("#concerns-panel")).to_be_hidden()
        assert note not in await person.chat_log.inner_text()
    assert note not in await sam.page.locator("body").inner_text()

    await told.get_by_role("button", name="Mark seen: Jo's note").click()
    await expect(told).to_be_hidden()
    await expect(jo.page.locator("#care-status")).to_have_text("A facilitator has seen your note.")

    await maya.page.get_by_role("button", name="Next: Open sharing").click()
    await expect(sam.page.get_by_role("region", name="Open sharing")).to_contain_text(
        "Raise your hand when you'd like to share."
    )
    await expect(maya.page.get_by_role("button", name="Back to: Check-in")).to_be_visible()


async def test_a_facilitator_sets_an_agenda_in_the_editor_with_the_keyboard(
    circle_server, browser: Browser
) -> None:
    room = await circle_server.create_room(title="Thursday peer group")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "text")
    page = maya.page
    await page.get_by_role("button", name="Set an agenda").click()
    editor = page.get_by_role("dialog", name="Agenda")
    await expect(editor).to_be_visible()
    for _ in range(3):
        await editor.get_by_role("button", name="Add a part").click()
    await expect(editor.get_by_label("Title, part 3")).to_be_focused()
    await editor.get_by_label("Title, part 1").fill("Serenity reading")
    await editor.get_by_label("Text everyone sees, part 1").fill("Take what you like and leave the rest.")
    await editor.get_by_label("Kind, part 2").select_option(label="Closing")
    await editor.get_by_label("Title, part 2").fill("Closing")
    await editor.get_by_label("Kind, part 3").select_option(label="Round")
    await editor.get_by_label("Title, part 3").fill("Check-in")
    await editor.get_by_label("Share time, part 3").select_option(label="2 minutes")
    # Saying nothing of a part is refused on the page, beside the list.
    await editor.get_by_role("button", name="Add a part").click()
    await editor.get_by_role("button", name="Save agenda").click()
    await expect(editor.get_by_role("alert")).to_have_text("Part 4 needs a title.")
    await expect(editor.get_by_label("Title, part 4")).to_be_focused()
    await editor.get_by_role("button", name="Remove: part 4").click()
    # The round goes before the closing; the keyboard stays on the part it moved.
    await editor.get_by_role("button", name="Move up: part 3").focus()
    await page.keyboard.press("Enter")
    await expect(editor.get_by_role("button", name="Move up: part 2")).to_be_focused()
    await expect(editor.get_by_label("Title, part 2")).to_have_value("Check-in")
    await expect(editor.get_by_label("Share time, part 2")).to_have_value("120")
    await assert_accessible(maya, "the agenda editor")
    await editor.get_by_role("button", name="Save agenda").click()
    await expect(editor).to_be_hidden()

    await page.get_by_role("button", name="Start: Serenity reading").click()
    now = sam.page.get_by_role("region", name="Serenity reading")
    await expect(now).to_contain_text("Take what you like and leave the rest.")
    await page.get_by_role("button", name="Next: Check-in").click()
    await expect(sam.page.get_by_role("region", name="Check-in")).to_contain_text("Each share has 2 minutes.")
    await expect(page.get_by_role("button", name="Next: Closing")).to_be_visible()


async def test_help_is_one_press_away_on_a_phone_from_the_join_screen_and_fetches_nothing_elsewhere(
    circle_server, browser: Browser, artifacts: Path
) -> None:
    room = await circle_server.create_room(title="Tuesday evening circle")
    own = urlsplit(circle_server.url).netloc
    ana = await Person.open(browser, room["member_url"], "Ana", viewport=PHONE_740)
    elsewhere: list[str] = []

    def note(request: Request) -> None:
        if urlsplit(request.url).netloc not in (own, ""):
            elsewhere.append(request.url)

    ana.page.on("request", note)
    await expect(ana.page.get_by_label("Your name")).to_be_visible()
    button = ana.page.get_by_role("button", name="Need help now?")
    box = await button.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE_740["width"] and box["y"] >= 0, box
    await button.click()
    panel = ana.page.get_by_role("dialog", name="Need help now?")
    await expect(panel).to_be_visible()
    await expect(panel).to_contain_text("phone your local emergency number")
    await expect(panel.get_by_role("heading", name="Emergency services")).to_be_visible()
    link = panel.get_by_role("link", name="findahelpline.com")
    await expect(link).to_have_attribute("href", "https://findahelpline.com")
    await expect(link).to_have_attribute("rel", "noopener noreferrer")
    box = await panel.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE_740["width"], box
    await ana.page.screenshot(path=artifacts / "crisis-panel-360px.png")
    await assert_accessible(ana, "the crisis panel at 360 px")
    await panel.get_by_role("button", name="Close").click()
    await expect(panel).to_be_hidden()
    await expect(button).to_be_focused()
    assert elsewhere == []

    # In the meeting and after it too.
    await ana.join("text")
    await ana.page.get_by_role("button", name="Need help now?").click()
    await expect(panel).to_be_visible()
    await ana.page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await ana.page.get_by_role("button", name="Leave").click()
    await expect(ana.page.get_by_role("heading", name="You have left the meeting")).to_be_visible()
    await ana.page.get_by_role("button", name="Need help now?").click()
    await expect(panel).to_be_visible()
    assert elsewhere == []


async def test_help_says_to_call_the_local_emergency_number_even_where_the_meeting_cannot_be_found(
    circle_server, browser: Browser
) -> None:
    lost = await Person.open(browser, f"{circle_server.url}/r/no-such-room", "Lee", viewport=PHONE_740)
    await expect(lost.page.locator("#room-error")).to_be_visible()
    await lost.page.get_by_role("button", name="Need help now?").click()
    panel = lost.page.get_by_role("dialog", name="Need help now?")
    await expect(panel).to_contain_text("phone your local emergency number")
    await expect(panel.get_by_role("list")).to_be_hidden()


async def test_the_waiting_room_says_whether_a_facilitator_is_there_to_let_anyone_in(
    circle_server, browser: Browser
) -> None:
    room = await circle_server.create_room(title="Newcomers' circle", waiting_room=True)
    ana = await Person.open(browser, room["member_url"], "Ana", viewport=PHONE_740)
    await ana.join("text", expect_meeting=False)
    await expect(ana.page.get_by_role("heading", name="The meeting hasn't started yet")).to_be_visible()
    await expect(ana.page.locator("#waiting-text")).to_contain_text("No facilitator is here yet")
    await assert_accessible(ana, "waiting room, before the meeting, at 360 px")
    await ana.page.get_by_role("button", name="Need help now?").click()
    await expect(ana.page.get_by_role("dialog", name="Need help now?")).to_be_visible()
    await ana.page.keyboard.press("Escape")

    host = await Member(circle_server.url).connect()
    try:
        await host.join(room["id"], "Maya", "text", host_key=room["host_key"])
        await expect(
            ana.page.get_by_role("heading", name="The facilitator will let you in shortly")
        ).to_be_visible()
        await host.call("leave")
        await expect(ana.page.get_by_role("heading", name="The facilitator has stepped away")).to_be_visible()

        again = await Member(circle_server.url).connect()
        ack = await again.join(room["id"], "Maya", "text", host_key=room["host_key"])
        [waiting] = ack["room"]["waiting"]
        await again.call("mod:admit", {"id": waiting["id"]})
        await expect(ana.participants).to_be_visible()
        await expect(ana.page.locator("#facilitator-away")).to_be_hidden()
        await again.close()  # dropped, not left
        away = ana.page.locator("#facilitator-away")
        await expect(away).to_have_text(
            "The facilitator has stepped away. You can stay; they may be back shortly."
        )
        await assert_accessible(ana, "meeting, the facilitator away, at 360 px")
    finally:
        await host.close()
