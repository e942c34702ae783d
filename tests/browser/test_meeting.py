"""Three people hold a meeting in three browsers: two on camera and microphone, one by text.

Each video member decodes the other's moving video and receives their audio; the text-only member
reads everyone, asks for no camera or microphone and opens no peer connection; chat, private
messages, raised hands and leaving reach everyone it should, and no one else.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser.people import PHONE, Person


async def test_two_on_video_and_one_by_text_hold_a_meeting(
    circle_server, browser: Browser, artifacts: Path
) -> None:
    room = await circle_server.create_room(
        title="Tuesday evening recovery circle",
        guidelines="What is said here stays here.\nSpeak from your own experience.\nYou can always pass.",
    )
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "av")
    sam = await Person.in_meeting(browser, room["member_url"], "Sam", "av", viewport=PHONE)
    jo = await Person.in_meeting(browser, room["member_url"], "Jo", "text")
    everyone = (maya, sam, jo)

    # Everyone is listed everywhere, with the facts that apply.
    for person in everyone:
        await expect(person.participants.get_by_role("listitem")).to_have_count(3)
        await expect(person.participant("Maya")).to_contain_text("facilitator")
        await expect(person.participant("Jo")).to_contain_text("text only")

    # Video members see and hear each other.
    await maya.wait_for_video_from("Sam")
    await sam.wait_for_video_from("Maya")
    await maya.wait_for_audio()
    await sam.wait_for_audio()

    # The text-only member asked for no media and opened no peer connection.
    probe = await jo.probe()
    assert probe["gum"] == 0, probe
    assert probe["pcs"] == 0, probe

    # The text-only member sees who is speaking (the fake microphone beeps).
    try:
        await expect(jo.participants).to_contain_text("speaking", timeout=25000)
    except AssertionError as error:
        raise AssertionError(f"{error}\naudio: {[await p.probe() for p in (maya, sam)]}") from None

    # Chat from each reaches the other two.
    lines = {maya: "Welcome, everyone.", sam: "Glad to be here.", jo: "Hi, I'm listening tonight."}
    for sender, line in lines.items():
        await sender.say(line)
    for person in everyone:
        for line in lines.values():
            await expect(person.chat_log).to_contain_text(line)
    # Jo's page has handled, before these messages, every arrival that could have made it connect.
    assert (await jo.probe())["pcs"] == 0

    # A private message reaches only its recipient (and shows as private on both sides).
    await sam.say("Thank you for the welcome, Jo.", to="Jo")
    await expect(jo.chat_log).to_contain_text("Thank you for the welcome, Jo.")
    await expect(jo.chat_log.locator(".msg.private")).to_contain_text("Private message to you")
    await expect(sam.chat_log.locator(".msg.private")).to_contain_text("Private message to Jo")
    await maya.say("Let's begin.")  # sent after: once Maya has it, the private one would be there
    await expect(maya.chat_log).not_to_contain_text("Thank you for the welcome, Jo.")

    # A raised hand shows in every list, with its place in the queue.
    await jo.page.get_by_role("button", name="Raise hand").click()
    await expect(jo.page.get_by_role("button", name="Lower hand")).to_be_visible()
    for person in everyone:
        await expect(person.participant("Jo")).to_contain_text("hand raised, 1st in queue")

    # Muting shows in every list.
    await sam.page.get_by_role("button", name="Mute microphone").click()
    await expect(sam.page.get_by_role("button", name="Unmute microphone")).to_be_visible()
    for person in everyone:
        await expect(person.participant("Sam")).to_contain_text("muted")

    await maya.page.screenshot(path=artifacts / "meeting-desktop.png", full_page=True)
    await sam.page.screenshot(path=artifacts / "meeting-360px.png", full_page=True)
    await jo.page.screenshot(path=artifacts / "meeting-text-only.png", full_page=True)

    # Leaving removes the tile and the list item everywhere, at once and without a dialog.
    await sam.page.get_by_role("button", name="Leave", exact=True).click()
    await expect(sam.page.get_by_role("heading", name="You have left the meeting")).to_be_visible()
    for person in (maya, jo):
        await expect(person.participant("Sam")).to_have_count(0)
        await expect(person.tile("Sam")).to_have_count(0)
        await expect(person.participants.get_by_role("listitem")).to_have_count(2)

    for person in everyone:
        assert person.dialogs == []
        assert person.errors == [], person.errors
        assert (await person.probe())["csp"] == []
