"""One-to-one rooms (sponsor and sponsee, mentor and mentee) on a real server: two personal links, each
for one person at a time, nobody else; the room and its chat go once it has been empty for its retention."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from tests.support.admin import call, public_info
from tests.support.client import Member
from tests.support.servers import RunningServer

Connect = Callable[[], Awaitable[Member]]


def invite_of(link: str) -> str:
    fragment = urlsplit(link).fragment
    assert fragment.startswith("invite=")
    return fragment.removeprefix("invite=")


async def one_to_one(server: RunningServer, **extra: Any) -> tuple[str, str, str]:
    """A one-to-one room's id and its two invitations."""
    made = await call(
        server.url, "POST", "/api/rooms", {"title": "Sponsor check-in", "one_to_one": True, **extra}
    )
    assert made.status == 201, made
    first, second = made.body["links"]
    return made.body["id"], invite_of(first), invite_of(second)


async def test_a_one_to_one_room_answers_two_personal_links_and_no_facilitator_link(
    circle_server: RunningServer,
) -> None:
    made = await call(
        circle_server.url, "POST", "/api/rooms", {"title": "Sponsor check-in", "one_to_one": True}
    )
    assert made.status == 201
    room_id, links = made.body["id"], made.body["links"]
    assert set(made.body) == {"id", "title", "one_to_one", "links"}
    assert len(links) == 2 and len(set(links)) == 2
    for link in links:
        assert link.startswith(f"{circle_server.url}/r/{room_id}#invite=") and len(invite_of(link)) >= 24
    facts = await public_info(circle_server.url, room_id)
    assert facts.body["one_to_one"] is True


async def test_settings_that_mean_nothing_for_two_people_are_refused(circle_server: RunningServer) -> None:
    for extra in ({"passcode": "1234"}, {"waiting_room": True}, {"max_participants": 5}):
        body = {"title": "Check-in", "one_to_one": True, **extra}
        answer = await call(circle_server.url, "POST", "/api/rooms", body)
        assert answer.status == 400 and "one-to-one" in answer.error["message"]


async def test_each_link_lets_in_one_person_and_nobody_else_gets_in(
    circle_server: RunningServer, members: Connect
) -> None:
    room_id, first, second = await one_to_one(circle_server)
    sam, kim = await members(), await members()
    sam_ack = await sam.join(room_id, "Sam", invite=first)
    assert sam_ack["self"]["role"] == "member" and "waiting" not in sam_ack

    # Without an invitation, with a made-up one, or with the room's own host key: not this room.
    stranger = await members()
    for extra in ({}, {"invite": "made-up-invitation-key-1234"}):
        refused = await stranger.call("join", {"room": room_id, "name": "Lee", **extra})
        assert refused["error"]["code"] == "forbidden", refused
        assert "only for the two people invited" in refused["error"]["message"]

    # The first link while its holder is here: the room is full for it.
    refused = await stranger.call("join", {"room": room_id, "name": "Lee", "invite": first})
    assert refused["error"]["code"] == "room_full"

    await kim.join(room_id, "Kim", invite=second)
    await sam.wait_for("participant:joined", lambda d: d["name"] == "Kim")
    refused = await stranger.call("join", {"room": room_id, "name": "Lee", "invite": second})
    assert refused["error"]["code"] == "room_full"

    # Once its holder has left, the link works again (for them, on another day).
    await sam.call("leave")
    again = await members()
    await again.join(room_id, "Sam", invite=first)


async def test_the_room_and_its_chat_are_kept_while_in_use_and_deleted_after_its_retention(
    circle_server: RunningServer, members: Connect
) -> None:
    room_id, first, second = await one_to_one(circle_server, retention_s=60)
    signaling, store = circle_server.circle.signaling, circle_server.circle.store
    sam, kim = await members(), await members()
    await sam.join(room_id, "Sam", media="text", invite=first)
    await kim.join(room_id, "Kim", media="text", invite=second)
    assert (await sam.call("chat:send", {"text": "How was your week?"}))["ok"]
    started = sam.joined["self"]["joined_at"]

    # In use long past its retention: kept.
    await signaling.sweep(started + 3600_000)
    assert (await public_info(circle_server.url, room_id)).status == 200

    await sam.call("leave")
    await kim.call("leave")
    state = await store.load(room_id)
    assert state is not None and state.emptied_at is not None
    emptied = state.emptied_at

    # Empty for less than its retention: kept, chat and all.
    await signaling.sweep(emptied + 59_000)
    assert (await public_info(circle_server.url, room_id)).status == 200
    assert [m.text for m in await store.chat_after(room_id, None)] == ["How was your week?"]

    await signaling.sweep(emptied + 60_000)
    assert (await public_info(circle_server.url, room_id)).status == 404
    assert await store.chat_after(room_id, None) == [] and await store.load(room_id) is None
    listed = (await call(circle_server.url, "GET", "/api/rooms")).body["rooms"]
    assert room_id not in {r["id"] for r in listed}
    late = await members()
    refused = await late.call("join", {"room": room_id, "name": "Sam", "invite": first})
    assert refused["error"]["code"] == "not_found"


async def test_a_one_to_one_room_with_a_tiny_retention_vanishes_by_itself_after_both_leave(
    circle_server: RunningServer, members: Connect
) -> None:
    room_id, first, second = await one_to_one(circle_server, retention_s=1)
    sam, kim = await members(), await members()
    await sam.join(room_id, "Sam", media="text", invite=first)
    await kim.join(room_id, "Kim", media="text", invite=second)
    await sam.call("leave")
    await kim.call("leave")
    # The server's own clock sweeps every 0.2 s here: within seconds of the retention, the room is gone.
    deadline = asyncio.get_running_loop().time() + 10
    while (await public_info(circle_server.url, room_id)).status != 404:
        assert asyncio.get_running_loop().time() < deadline, "the room was never deleted"
        await asyncio.sleep(0.1)
    assert await circle_server.circle.store.chat_after(room_id, None) == []


async def test_a_group_room_empty_past_its_retention_keeps_its_definition(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room(title="Tuesday circle", retention_s=60)
    ann = await members()
    await ann.join(room["id"], "Ann", media="text")
    await ann.call("chat:send", {"text": "Until next week."})
    await ann.call("leave")
    state = await circle_server.circle.store.load(room["id"])
    assert state is not None and state.emptied_at is not None
    await circle_server.circle.signaling.sweep(state.emptied_at + 60_000)
    assert await circle_server.circle.store.chat_after(room["id"], None) == []
    assert (await public_info(circle_server.url, room["id"])).status == 200
