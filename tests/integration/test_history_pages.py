"""chat:history answers a page at a time (`chat_history_page_messages`), forward with `after` or back
with `before`, says whether more is left, and draws on its own rate limit (`history_burst`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tests.support.client import Member
from tests.support.servers import RunningServer

Factory = Callable[..., Awaitable[RunningServer]]


def texts(ack: dict[str, Any]) -> list[str]:
    return [m["text"] for m in ack["messages"]]


async def test_history_pages_forward_after_and_back_before_and_says_when_more_is_left(
    circle_server_factory: Factory,
) -> None:
    server = await circle_server_factory(chat_history_page_messages=5, chat_burst=20)
    room = await server.create_room()
    ann, bob = await Member(server.url).connect(), await Member(server.url).connect()
    try:
        await ann.join(room["id"], "Ann")
        await bob.join(room["id"], "Bob")
        sent = [(await ann.call("chat:send", {"text": f"m{i}"}))["message"] for i in range(12)]
        ids = [m["id"] for m in sent]

        first = await bob.call("chat:history")
        assert texts(first) == ["m0", "m1", "m2", "m3", "m4"] and first["more"] is True
        second = await bob.call("chat:history", {"after": ids[4]})
        assert texts(second) == ["m5", "m6", "m7", "m8", "m9"] and second["more"] is True
        last = await bob.call("chat:history", {"after": ids[9]})
        assert texts(last) == ["m10", "m11"] and last["more"] is False

        back = await bob.call("chat:history", {"before": ids[10]})
        assert texts(back) == ["m5", "m6", "m7", "m8", "m9"] and back["more"] is True
        oldest = await bob.call("chat:history", {"before": ids[5]})
        assert texts(oldest) == ["m0", "m1", "m2", "m3", "m4"] and oldest["more"] is False
        between = await bob.call("chat:history", {"after": ids[2], "before": ids[6]})
        assert texts(between) == ["m3", "m4", "m5"] and between["more"] is False
        assert (await bob.call("chat:history", {"after": ids[11]})) == {
            "ok": True,
            "messages": [],
            "more": False,
        }
    finally:
        await ann.close()
        await bob.close()


async def test_history_requests_past_their_burst_are_rate_limited_while_chat_still_goes_through(
    circle_server_factory: Factory,
) -> None:
    server = await circle_server_factory(history_burst=3, history_rate_per_s=0.5)
    room = await server.create_room()
    m = await Member(server.url).connect()
    try:
        await m.join(room["id"], "Sam")
        for _ in range(3):
            assert (await m.call("chat:history"))["ok"]
        ack = await m.call("chat:history")
        assert ack["error"]["code"] == "rate_limited" and ack["error"]["retry_after_ms"] > 0
        assert (await m.call("chat:send", {"text": "still here"}))["ok"], "chat has a bucket of its own"
        assert (await m.call("media:state", {"audio": True}))["ok"], "so do other actions"
    finally:
        await m.close()
