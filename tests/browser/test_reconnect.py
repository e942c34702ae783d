"""Coming back: a reload resumes the same participant with the chat so far, and a dropped
connection recovers on its own, fetching what was said meanwhile and renegotiating media."""

from __future__ import annotations

import asyncio

from playwright.async_api import Browser, expect

from tests.browser.people import Person


async def test_reload_resumes_the_same_participant_with_the_chat_history(
    circle_server, browser: Browser
) -> None:
    room = await circle_server.create_room(title="Evening circle", guidelines="Be kind.")
    ana = await Person.open(browser, room["member_url"], "Ana")
    await ana.join("av")
    bo = await Person.open(browser, room["member_url"], "Bo")
    await bo.join("av")
    await bo.wait_for_video_from("Ana")
    await bo.say("Something said before the reload.")
    await ana.say("Ana was here before, too.")
    ana_id = await ana.self_id()

    await ana.page.reload()
    # No join screen: the same participant comes straight back, with the chat so far.
    await expect(ana.participants).to_contain_text("Ana (you)")
    assert await ana.self_id() == ana_id
    await expect(ana.chat_log).to_contain_text("Something said before the reload.")
    await expect(ana.chat_log).to_contain_text("Ana was here before, too.")
    await expect(bo.participants.get_by_role("listitem")).to_have_count(2)
    await expect(bo.participant("Ana")).not_to_contain_text("away")
    # Media is renegotiated with the new page.
    await bo.wait_for_video_from("Ana")
    await ana.wait_for_video_from("Bo")


async def test_dropped_connection_recovers_and_catches_up(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Evening circle")
    ana = await Person.open(browser, room["member_url"], "Ana")
    await ana.join("av")
    bo = await Person.open(browser, room["member_url"], "Bo")
    await bo.join("av")
    await ana.wait_for_video_from("Bo")
    ana_id = await ana.self_id()

    await ana.context.set_offline(True)
    await ana.drop_connection()
    await expect(ana.page.get_by_role("status").filter(has_text="reconnecting")).to_be_visible()
    await expect(bo.participant("Ana")).to_contain_text("away")
    await bo.say("Said while Ana was offline.")
    await asyncio.sleep(0.5)
    await ana.context.set_offline(False)

    await expect(ana.chat_log).to_contain_text("Said while Ana was offline.")
    await expect(bo.participant("Ana")).not_to_contain_text("away")
    assert await ana.self_id() == ana_id
    await expect(ana.participants.get_by_role("listitem")).to_have_count(2)
    await ana.wait_for_video_from("Bo")
    await bo.wait_for_video_from("Ana")
    await ana.say("Back again.")
    await expect(bo.chat_log).to_contain_text("Back again.")


async def test_ice_restarts_from_both_sides_at_once_settle_and_media_flows(
    circle_server, browser: Browser
) -> None:
    """Both ends restarting ICE together is an offer collision: perfect negotiation must settle it
    (the polite side rolls back) and the connection must come back with new ICE credentials."""
    room = await circle_server.create_room(title="Evening circle")
    ana = await Person.open(browser, room["member_url"], "Ana")
    await ana.join("av")
    bo = await Person.open(browser, room["member_url"], "Bo")
    await bo.join("av")
    await ana.wait_for_video_from("Bo")
    await bo.wait_for_video_from("Ana")

    ufrag = "pc => /a=ice-ufrag:(\\S+)/.exec(pc.localDescription.sdp)[1]"
    live = "__probe.pcs.filter((pc) => pc.connectionState !== 'closed')"
    before = {p: await p.page.evaluate(f"() => {live}.map({ufrag})") for p in (ana, bo)}
    await asyncio.gather(
        *(p.page.evaluate(f"() => {live}.forEach((pc) => pc.restartIce())") for p in (ana, bo))
    )
    for person in (ana, bo):
        await person.page.wait_for_function(
            f"""(old) => {{
              const pcs = {live};
              return pcs.length === 1 && pcs[0].signalingState === "stable"
                && pcs[0].connectionState === "connected" && !old.includes(({ufrag})(pcs[0]));
            }}""",
            arg=before[person],
            timeout=15000,
        )
    await ana.wait_for_video_from("Bo")
    await bo.wait_for_video_from("Ana")
