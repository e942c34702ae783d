"""Keeping a meeting safe from the facilitator's page, as people would use it: the safety button on an
intruder, a member kept muted asking to unmute, a message deleted for everyone, private messages only
to or from facilitators, the speaking queue reordered by keyboard and by dragging, a removed member
kept out and flagged, and a wrong facilitator link said as the page opens. Every new screen passes
the accessibility audit."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Locator, expect

from tests.browser.people import PHONE, Person
from tests.browser.test_accessibility import assert_accessible

PAUSED = "The facilitator has paused the room for a moment."


def safety_notice(person: Person) -> Locator:
    return person.page.locator("#safety-notice")


async def test_the_safety_button_holds_an_intruder_and_every_page_says_so(
    circle_server, browser: Browser
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "text", viewport=PHONE)
    intruder = await Person.in_meeting(browser, room["member_url"], "Xan", "audio")
    await expect(intruder.page.get_by_role("button", name="Mute microphone")).to_be_visible()

    await maya.page.get_by_role("button", name="Pause the room for safety").click()
    for person in (maya, sam, intruder):
        await expect(safety_notice(person)).to_be_visible()
        await expect(safety_notice(person)).to_contain_text(PAUSED)
    said = sam.page.get_by_role("status").filter(has_text=PAUSED)
    await expect(said).to_have_count(1)
    await expect(maya.page.locator("#lock-status")).to_be_visible()

    # The intruder's microphone is off and stays off: the page offers no way round, and says why.
    unmute = intruder.page.get_by_role("button", name="Unmute microphone")
    await expect(unmute).to_be_disabled()
    await expect(unmute).to_have_accessible_description(re.compile("paused the room"))
    await expect(maya.participant("Xan").locator(".facts")).to_contain_text("kept muted")
    await unmute.click(force=True)
    await intruder.say("Let me talk!")
    await expect(maya.chat_log).to_contain_text("Let me talk!")
    await expect(maya.participant("Xan").locator(".facts")).to_contain_text("kept muted")
    await expect(intruder.page.get_by_role("button", name="Unmute microphone")).to_be_visible()
    await assert_accessible(maya, "facilitator during the safety pause")
    await assert_accessible(intruder, "member held muted during the safety pause")
    await assert_accessible(sam, "text-only member during the safety pause, at 360 px")

    # The facilitator deals with the intruder, then resumes; the room is as it was.
    await maya.page.get_by_role("button", name="Remove Xan from the meeting").click()
    await maya.page.get_by_role("dialog").get_by_role("button", name="Remove", exact=True).click()
    await expect(
        intruder.page.get_by_role("heading", name="You were removed from the meeting")
    ).to_be_visible()
    await maya.page.get_by_role("button", name="Resume the room").click()
    for person in (maya, sam):
        await expect(safety_notice(person)).to_be_hidden()
    await expect(maya.page.locator("#lock-status")).to_be_hidden()
    await expect(maya.page.get_by_role("button", name="Pause the room for safety")).to_be_visible()


async def test_a_member_kept_muted_cannot_unmute_and_can_ask_to(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "audio")
    await expect(sam.page.get_by_role("button", name="Mute microphone")).to_be_visible()
    ask = sam.page.get_by_role("button", name="Ask to unmute")
    await expect(ask).to_be_hidden()

    await maya.page.get_by_role("button", name="Mute everyone and keep muted").click()
    unmute = sam.page.get_by_role("button", name="Unmute microphone")
    await expect(unmute).to_be_disabled()
    await unmute.click(force=True)
    await sam.say("I'd like to share.")
    await expect(maya.chat_log).to_contain_text("I'd like to share.")
    await expect(maya.participant("Sam").locator(".facts")).to_contain_text("kept muted")

    await ask.click()
    asked = sam.page.get_by_role("button", name="Asked to unmute")
    await expect(asked).to_be_disabled()
    await expect(unmute).to_have_accessible_description(re.compile("You've asked to unmute"))
    await expect(maya.participant("Sam").locator(".facts")).to_contain_text("asks to unmute")
    await expect(maya.page.get_by_role("status").filter(has_text="Sam asks to unmute.")).to_have_count(1)
    await assert_accessible(sam, "member who asked to unmute")
    await assert_accessible(maya, "facilitator with a request to unmute")

    # "Not now" answers the request and keeps Sam muted; Sam may ask again.
    await maya.page.get_by_role("button", name="Not now: keep Sam muted").click()
    await expect(maya.participant("Sam").locator(".facts")).not_to_contain_text("asks to unmute")
    await expect(maya.participant("Sam").locator(".facts")).to_contain_text("kept muted")
    await expect(ask).to_be_enabled()
    await expect(unmute).to_be_disabled()
    await ask.click()
    await expect(maya.participant("Sam").locator(".facts")).to_contain_text("asks to unmute")

    await maya.page.get_by_role("button", name="Allow unmuting: Sam").click()
    await expect(maya.participant("Sam").locator(".facts")).not_to_contain_text("asks to unmute")
    await expect(ask).to_be_hidden()
    await expect(asked).to_be_hidden()
    await expect(unmute).to_be_enabled()
    await unmute.click()
    await expect(sam.page.get_by_role("button", name="Mute microphone")).to_be_visible()
    await expect(maya.participant("Sam").locator(".facts")).not_to_contain_text("muted")


async def test_a_deleted_message_vanishes_from_every_page_and_from_a_late_joiners_history(
    circle_server, browser: Browser
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "text")
    jo = await Person.in_meeting(browser, room["member_url"], "Jo", "text")
    await sam.say("Something hurtful.")
    await jo.say("Thank you for being here.")
    await expect(maya.chat_log).to_contain_text("Thank you for being here.")
    await expect(sam.chat_log.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)

    delete = maya.chat_log.get_by_role("button", name="Delete message from Sam: Something hurtful.")
    await delete.click()
    confirm = maya.chat_log.get_by_role("button", name=re.compile(r"^Confirm delete: message from Sam"))
    await expect(confirm).to_be_focused()
    await assert_accessible(maya, "facilitator confirming a deletion")
    await confirm.click()
    for person in (maya, sam, jo):
        await expect(person.chat_log).not_to_contain_text("Something hurtful.")
        await expect(person.chat_log).to_contain_text("Thank you for being here.")
    told = jo.page.get_by_role("status").filter(has_text="A facilitator deleted a message from the chat.")
    await expect(told).to_have_count(1)

    lee = await Person.in_meeting(browser, room["member_url"], "Lee", "text")
    await expect(lee.chat_log).to_contain_text("Thank you for being here.")
    await expect(lee.chat_log).not_to_contain_text("Something hurtful.")
    # Sam reloads: back as himself, with the chat so far, and without the deleted message.
    await sam.page.reload()
    await expect(sam.participants).to_be_visible(timeout=15000)
    await expect(sam.chat_log).to_contain_text("Thank you for being here.")
    await expect(sam.chat_log).not_to_contain_text("Something hurtful.")


async def test_facilitators_only_private_messages_are_enforced_by_the_server(
    circle_server, browser: Browser
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "text")
    jo = await Person.in_meeting(browser, room["member_url"], "Jo", "text")
    send_to = sam.page.get_by_label("Send to")
    await expect(send_to.get_by_role("option", name="Jo (private)")).to_have_count(1)

    await maya.page.get_by_label("Private messages").select_option(label="Only to or from a facilitator")
    await expect(send_to.get_by_role("option", name="Jo (private)")).to_have_count(0)
    await expect(send_to.get_by_role("option")).to_have_text(["Everyone", "Maya (private)"])
    await expect(send_to).to_have_accessible_description(
        "In this meeting, private messages go only to or from a facilitator."
    )
    await assert_accessible(sam, "member under the facilitators-only policy")
    await sam.say("Could we talk after?", to="Maya")
    await expect(maya.chat_log).to_contain_text("Could we talk after?")

    # A page that still offers Jo (an old page, or one tampered with) is refused by the server.
    jo_id = await jo.page.locator("figure.tile.self").get_attribute("data-participant")
    await send_to.evaluate("(select, id) => select.append(new Option('Jo (private)', id))", jo_id)
    await sam.say("Just between us, Jo.", to="Jo", delivered=False)
    await expect(sam.chat_log.locator(".msg.failed")).to_contain_text(
        "private messages go only to or from a facilitator"
    )
    await maya.say("Let's carry on.")
    await expect(jo.chat_log).to_contain_text("Let's carry on.")
    await expect(jo.chat_log).not_to_contain_text("Just between us, Jo.")

    await maya.page.get_by_label("Private messages").select_option(label="Turned off")
    await expect(send_to.get_by_role("option")).to_have_text(["Everyone"])
    await expect(maya.page.get_by_label("Send to").get_by_role("option")).to_have_text(["Everyone"])
    await expect(send_to).to_have_accessible_description("Private messages are turned off in this meeting.")


async def test_a_facilitator_reorders_the_queue_with_the_keyboard_and_by_dragging(
    circle_server, browser: Browser
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    people = [
        await Person.in_meeting(browser, room["member_url"], name, "text") for name in ("Sam", "Jo", "Lee")
    ]
    for person in people:
        await person.page.get_by_role("button", name="Raise hand").click()
        await expect(maya.participant(person.name)).to_contain_text("hand raised")
    queue = maya.page.get_by_role("list", name="Speaking queue")
    await expect(queue.get_by_role("listitem")).to_have_text(
        [re.compile("^1st Sam"), re.compile("^2nd Jo"), re.compile("^3rd Lee")]
    )
    await assert_accessible(maya, "facilitator with the speaking queue")

    # Keyboard: Lee up twice; the focus stays on the button pressed.
    up = queue.get_by_role("button", name="Move up: Lee")
    await up.focus()
    await maya.page.keyboard.press("Enter")
    await expect(queue.get_by_role("listitem")).to_have_text(
        [re.compile("^1st Sam"), re.compile("^2nd Lee"), re.compile("^3rd Jo")]
    )
    await expect(up).to_be_focused()
    await maya.page.keyboard.press("Enter")
    await expect(queue.get_by_role("listitem")).to_have_text(
        [re.compile("^1st Lee"), re.compile("^2nd Sam"), re.compile("^3rd Jo")]
    )
    await expect(up).to_be_focused()
    await expect(up).to_be_disabled()
    said = maya.page.get_by_role("status").filter(has_text="Lee is now 1st in the queue.")
    await expect(said).to_have_count(1)
    # Every page shows the new order.
    await expect(people[0].participant("Lee")).to_contain_text("1st in queue")
    await expect(people[0].participant("Sam")).to_contain_text("2nd in queue")

    # Dragging Jo onto Lee puts Jo first.
    await (
        queue.get_by_role("listitem")
        .filter(has_text="Jo")
        .drag_to(queue.get_by_role("listitem").filter(has_text="Lee"))
    )
    await expect(queue.get_by_role("listitem")).to_have_text(
        [re.compile("^1st Jo"), re.compile("^2nd Lee"), re.compile("^3rd Sam")]
    )
    await expect(people[1].participant("Jo")).to_contain_text("1st in queue")

    await maya.page.get_by_role("button", name="Invite next speaker").click()
    await expect(people[1].page.locator("#speaker-text")).to_contain_text("It's your turn to share")


async def test_a_removed_member_who_reloads_is_kept_out_and_flagged(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Evening circle", waiting_room=True)
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    sam = await Person.open(browser, room["member_url"], "Sam")
    await sam.join("text", expect_meeting=False)
    await maya.page.get_by_role("button", name="Admit Sam").click()
    await expect(sam.participants).to_be_visible()
    await maya.page.get_by_role("button", name="Remove Sam from the meeting").click()
    await maya.page.get_by_role("dialog").get_by_role("button", name="Remove", exact=True).click()
    await expect(sam.page.get_by_role("heading", name="You were removed from the meeting")).to_be_visible()

    # Back from the same browser under another name: waiting, not in, and flagged to the facilitator.
    await sam.page.reload()
    sam.name = "Sammy"
    await sam.join("text", expect_meeting=False)
    await expect(sam.page.get_by_text("The facilitator will let you in shortly")).to_be_visible()
    waiting = maya.page.get_by_role("list", name=re.compile(r"^Waiting to join"))
    sammy = waiting.get_by_role("listitem").filter(has_text="Sammy")
    await expect(sammy).to_contain_text("Removed earlier in this meeting")

    jo = await Person.open(browser, room["member_url"], "Jo")
    await jo.join("text", expect_meeting=False)
    await expect(waiting.get_by_role("listitem").filter(has_text="Jo")).not_to_contain_text("Removed")
    await expect(maya.page.get_by_text("only let in if you admit them yourself")).to_be_visible()
    await assert_accessible(maya, "facilitator with a removed member waiting")

    await maya.page.get_by_role("button", name="Admit everyone waiting").click()
    await expect(jo.participants).to_be_visible()
    await expect(maya.participant("Jo")).to_have_count(1)
    await expect(sammy).to_be_visible()
    await expect(sam.page.get_by_text("The facilitator will let you in shortly")).to_be_visible()
    await expect(maya.participant("Sammy")).to_have_count(0)


async def test_a_wrong_facilitator_link_is_said_as_the_page_opens(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Evening circle")
    other = await circle_server.create_room(title="Another circle")
    wrong = await Person.open(browser, f"{room['member_url']}#host={other['host_key']}", "Maya")
    alert = wrong.page.get_by_role("alert").filter(has_text="This facilitator link isn't right")
    await expect(alert).to_be_visible()
    await expect(wrong.page.get_by_label("Your name")).to_be_hidden()
    await expect(wrong.page.get_by_text("You're joining as this meeting's facilitator")).to_be_hidden()
    await assert_accessible(wrong, "join screen with a wrong facilitator link")

    await wrong.page.get_by_role("link", name="Join as a member instead").click()
    await expect(wrong.page.get_by_label("Your name")).to_be_visible()
    await expect(wrong.page).to_have_url(room["member_url"])
    await wrong.join("text")
    await expect(wrong.participant("Maya")).not_to_contain_text("facilitator")

    # The right link is not doubted: once its check has come back, nothing is said against it.
    right = await Person.open(browser, room["facilitator_url"], "Maya")
    await expect(right.page.locator("body")).to_have_attribute("data-host-check", "ok")
    await expect(right.page.get_by_text("You're joining as this meeting's facilitator")).to_be_visible()
    await expect(right.page.get_by_role("alert").filter(has_text="facilitator link")).to_have_count(0)
    await expect(right.page.get_by_label("Your name")).to_be_visible()
