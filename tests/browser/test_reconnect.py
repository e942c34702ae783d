"""Coming back: a reload resumes the same participant with the chat so far, a dropped connection
recovers on its own, fetching what was said meanwhile and renegotiating media, and a stopping
instance hands its members on to another."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser.people import Person
from tests.support.processes import FAST_SETTINGS, running_cluster
from tests.support.proxy import TcpProxy
from tests.support.servers import RedisServer


async def test_reload_resumes_the_same_participant_with_the_chat_history(
    circle_server, browser: Browser
) -> None:
    room = await circle_server.create_room(title="Evening circle", guidelines="Be kind.")
    ana = await Person.in_meeting(browser, room["member_url"], "Ana", "av")
    bo = await Person.in_meeting(browser, room["member_url"], "Bo", "av")
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
    ana = await Person.in_meeting(browser, room["member_url"], "Ana", "av")
    bo = await Person.in_meeting(browser, room["member_url"], "Bo", "av")
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


async def test_messages_written_offline_are_sent_once_in_order_on_reconnect(
    circle_server, browser: Browser, artifacts: Path
) -> None:
    room = await circle_server.create_room(title="Commuters' morning check-in")
    link = room["member_url"]
    ana, bo = [await Person.in_meeting(browser, link, name, "text") for name in ("Ana", "Bo")]

    await ana.context.set_offline(True)
    await ana.drop_connection()
    await expect(ana.page.get_by_role("status").filter(has_text="reconnecting")).to_be_visible()
    lines = ["Written on the train.", "And one more before the tunnel ends."]
    for line in lines:
        await ana.say(line, delivered=False)
    waiting = ana.chat_log.locator(".msg.pending")
    await expect(waiting).to_have_count(2)
    await expect(waiting.first).to_contain_text("Not sent yet. It will be sent when the connection is back.")
    await expect(ana.page.get_by_role("textbox", name="Message")).to_have_value("")
    await ana.chat_log.screenshot(path=artifacts / "chat-offline.png")

    await ana.context.set_offline(False)
    await expect(bo.chat_log).to_contain_text(lines[1])
    await expect(waiting).to_have_count(0)
    for person in (ana, bo):
        texts = await person.chat_log.locator(".msg .text").all_inner_texts()
        assert texts == lines, f"{person.name} sees {texts}"


async def test_ice_restarts_from_both_sides_at_once_settle_and_media_flows(
    circle_server, browser: Browser
) -> None:
    """Both ends restarting ICE together is an offer collision: perfect negotiation must settle it
    (the polite side rolls back) and the connection must come back with new ICE credentials."""
    room = await circle_server.create_room(title="Evening circle")
    ana = await Person.in_meeting(browser, room["member_url"], "Ana", "av")
    bo = await Person.in_meeting(browser, room["member_url"], "Bo", "av")
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


async def test_a_member_follows_a_stopping_instance_to_another(
    redis_server: RedisServer, tmp_path: Path, browser: Browser
) -> None:
    """An operator stops one of two instances (a deploy). Its member's page leaves it, reconnects
    through the load balancer to the other instance and keeps their seat, chat and media."""
    redis_server.flush()
    # The balancer's address is the one the page is loaded from: the instances let that origin in.
    balancer = TcpProxy(0)
    port = await balancer.start()
    settings = {
        **FAST_SETTINGS,
        "resume_grace_s": 15.0,
        "shutdown_grace_s": 3.0,
        "cors_allowed_origins": f"http://127.0.0.1:{port}",
    }
    with running_cluster(2, tmp_path, redis_server.url, **settings) as (one, two):
        room = one.create_room(title="Evening circle")
        balancer.target_port = one.port
        try:
            ana = await Person.in_meeting(browser, f"http://127.0.0.1:{port}/r/{room['id']}", "Ana", "av")
            bo = await Person.in_meeting(browser, f"{two.url}/r/{room['id']}", "Bo", "av")
            await ana.wait_for_video_from("Bo")
            await ana.say("Said before the restart.")
            ana_id = await ana.self_id()

            balancer.target_port = two.port
            assert await asyncio.to_thread(one.stop) == 0
            reconnected = ana.page.get_by_role("status").filter(has_text="Reconnected")
            await expect(reconnected).to_be_visible(timeout=15000)

            assert await ana.self_id() == ana_id
            await expect(bo.participants.get_by_role("listitem")).to_have_count(2)
            await expect(bo.participant("Ana")).not_to_contain_text("away")
            await ana.say("Said after the restart.")
            await expect(bo.chat_log).to_contain_text("Said after the restart.")
            await bo.say("Still with you.")
            await expect(ana.chat_log).to_contain_text("Still with you.")
            await expect(ana.chat_log.get_by_text("Said before the restart.")).to_have_count(1)
            await ana.wait_for_video_from("Bo")
            await bo.wait_for_video_from("Ana")
            assert not ana.errors and not bo.errors, (ana.errors, bo.errors)
        finally:
            await balancer.close()
