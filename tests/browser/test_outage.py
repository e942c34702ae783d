"""What a member sees when the meeting's Redis stops answering for a few seconds: their message is
shown as not sent yet, goes out by itself once Redis answers again, and reaches the others once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser.people import Person
from tests.chaos.conftest import freeze, thaw
from tests.support.processes import FAST_SETTINGS, running_cluster
from tests.support.servers import RedisServer


async def test_a_message_sent_while_redis_is_frozen_goes_out_once_when_it_returns(
    redis_server: RedisServer, tmp_path: Path, browser: Browser
) -> None:
    redis_server.flush()
    with running_cluster(2, tmp_path, redis_server.url, **FAST_SETTINGS) as (one, two):
        room = one.create_room(title="Evening circle")
        ana = await Person.in_meeting(browser, f"{one.url}/r/{room['id']}", "Ana", "text")
        bo = await Person.in_meeting(browser, f"{two.url}/r/{room['id']}", "Bo", "text")
        await ana.say("Before the outage.")
        await expect(bo.chat_log).to_contain_text("Before the outage.")

        freeze(redis_server)
        try:
            await ana.say("Said while the server could not keep it.", delivered=False)
            waiting = ana.chat_log.locator(".msg.pending")
            await expect(waiting).to_contain_text("Not sent yet", timeout=10000)
            await asyncio.sleep(2)
        finally:
            thaw(redis_server)

        await expect(waiting).to_have_count(0, timeout=20000)
        await expect(bo.chat_log).to_contain_text("Said while the server could not keep it.")
        # Sent after the held message went out, on the same path: a second copy would come first.
        await ana.say("Glad that went through.")
        await expect(bo.chat_log).to_contain_text("Glad that went through.")
        for person in (ana, bo):
            texts = await person.chat_log.locator(".msg .text").all_inner_texts()
            assert texts == [
                "Before the outage.",
                "Said while the server could not keep it.",
                "Glad that went through.",
            ], texts
