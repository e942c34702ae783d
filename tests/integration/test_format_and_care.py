"""The meeting's format and care, end to end over real sockets: a facilitator sets and steps through an
agenda (a round queues every member present), speakers end or pass their own turn, a milestone is a
quiet chat message, a concern reaches facilitators only (also across two instances on one Redis), the
room's crisis resources come with its public facts, and every meeting starts from the room's own
settings. Every `mod:*` event here is refused to members, changing nothing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.crisis import DEFAULT_RESOURCES, CrisisResourcesError, load_crisis_resources
from tests.support.client import Member
from tests.support.servers import RedisServer, RunningServer

Factory = Callable[..., Awaitable[RunningServer]]
Connect = Callable[[str], Awaitable[Member]]

READING = {"kind": "reading", "title": "Opening", "text": "We meet as equals.\nWhat is said here stays here."}
ROUND = {"kind": "round", "title": "Check-in", "limit_s": 60}
AGENDA = [READING, ROUND, {"kind": "open", "title": "Open sharing"}, {"kind": "closing", "title": "Closing"}]


async def meeting(
    server: RunningServer, connect: Connect, **room: Any
) -> tuple[dict[str, Any], list[Member]]:
    """A room on `server` with the facilitator Fran, then Ann (camera) and Bob (text only), in that order."""
    created = await server.create_room(**room)
    fa, ann, bob = await connect(server.url), await connect(server.url), await connect(server.url)
    await fa.join(created["id"], "Fran", host_key=created["host_key"])
    await ann.join(created["id"], "Ann")
    await bob.join(created["id"], "Bob", media="text")
    return created, [fa, ann, bob]


async def post_room(server: RunningServer, **body: Any) -> tuple[int, dict[str, Any]]:
    auth = {"Authorization": f"Bearer {server.admin_token}"}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/api/rooms", json={"title": "t", **body}, headers=auth) as r:
            return r.status, dict(await r.json())


async def public_facts(server: RunningServer, room_id: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/api/rooms/{room_id}") as r:
            assert r.status == 200
            return dict(await r.json())


def code(ack: dict[str, Any]) -> str:
    assert not ack["ok"], ack
    return str(ack["error"]["code"])


# -- the agenda ------------------------------------------------------------------------------------


async def test_members_are_refused_every_facilitator_event_of_the_format_and_nothing_changes(
    circle_server: RunningServer, connect: Connect
) -> None:
    _, (fa, ann, bob) = await meeting(circle_server, connect)
    assert (await fa.call("mod:agenda", {"segments": AGENDA}))["ok"]
    await ann.wait_for("room:updated", lambda r: len(r["agenda"]) == 4)
    assert code(await ann.call("mod:agenda", {"segments": []})) == "forbidden"
    assert code(await ann.call("mod:agenda-step", {"index": 1})) == "forbidden"
    await bob.call("concern:raise", {"text": "Can we talk after?"})
    concern = await fa.wait_for("concern:raised")
    assert code(await ann.call("mod:concern-seen", {"id": concern["id"]})) == "forbidden"
    # Nothing changed: the room was told of no change after the agenda, and the concern is still open.
    said = (await fa.call("chat:send", {"text": "Welcome, everyone"}))["message"]
    await ann.never_got(
        "room:updated",
        lambda r: r["agenda"] == [] or r["segment"] is not None,
        marker="chat:message",
        is_marker=lambda m: m == said,
    )
    await bob.never_got("concern:seen", marker="chat:message", is_marker=lambda m: m == said)
    late = await connect(circle_server.url)
    ack = await late.join(ann.joined["room"]["id"], "Gil")
    assert len(ack["room"]["agenda"]) == 4 and ack["room"]["segment"] is None


async def test_a_round_queues_every_member_present_in_join_order_with_the_agenda_share_timer(
    circle_server: RunningServer, connect: Connect
) -> None:
    _, (fa, ann, bob) = await meeting(circle_server, connect)
    ack = await fa.call("mod:agenda", {"segments": AGENDA})
    assert ack == {"ok": True, "segments": 4, "segment": None}
    assert (await fa.call("mod:agenda-step", {"index": 0}))["ok"]
    reading = await bob.wait_for("room:updated", lambda r: r["segment"] == 0)
    assert reading["agenda"][0] == READING
    assert reading["agenda"][1] == ROUND

    assert (await fa.call("mod:agenda-step", {"index": 1}))["ok"]
    entered = await ann.wait_for("room:updated", lambda r: r["segment"] == 1)
    assert entered["hands"] == [ann.id, bob.id] and entered["speaker"] is None
    assert (await fa.call("mod:next-speaker", {}))["speaker"] == ann.id
    sharing = await bob.wait_for("room:updated", lambda r: r["speaker"] is not None)
    assert (sharing["speaker"]["id"], sharing["speaker"]["limit_s"]) == (ann.id, 60)
    assert sharing["hands"] == [bob.id]

    # The speaker ends their own turn; the next in the queue passes theirs.
    assert await ann.call("speaker:done") == {"ok": True, "ended": True}
    await fa.wait_for("room:updated", lambda r: r["speaker"] is None and r["hands"] == [bob.id])
    assert await bob.call("hand:pass") == {"ok": True, "passed": True}
    await fa.wait_for("room:updated", lambda r: r["hands"] == [])
    # Neither is the speaker or in the queue any more: nothing left to end or pass.
    assert await ann.call("speaker:done") == {"ok": True, "ended": False}
    assert await bob.call("hand:pass") == {"ok": True, "passed": False}

    # Stepping out of the agenda, and to a part that does not exist.
    assert (await fa.call("mod:agenda-step", {"index": None}))["ok"]
    await ann.wait_for("room:updated", lambda r: r["segment"] is None and len(r["agenda"]) == 4)
    assert code(await fa.call("mod:agenda-step", {"index": 4})) == "bad_request"


async def test_a_room_keeps_a_default_agenda_that_every_meeting_starts_with(
    circle_server: RunningServer, connect: Connect
) -> None:
    room = await circle_server.create_room(agenda=AGENDA)
    fa = await connect(circle_server.url)
    ack = await fa.join(room["id"], "Fran", host_key=room["host_key"])
    assert ack["room"]["agenda"] == AGENDA and ack["room"]["segment"] is None
    await fa.call("mod:agenda", {"segments": [ROUND]})
    await fa.call("mod:agenda-step", {"index": 0})
    await fa.call("leave")
    again = await connect(circle_server.url)
    ack = await again.join(room["id"], "Fran", host_key=room["host_key"])
    assert ack["room"]["agenda"] == AGENDA and ack["room"]["segment"] is None


async def test_an_agenda_past_any_of_its_configured_limits_is_a_bad_request(
    circle_server_factory: Factory, connect: Connect
) -> None:
    server = await circle_server_factory(
        max_agenda_segments=2, max_agenda_title_chars=10, max_agenda_text_chars=20, max_agenda_limit_s=90
    )
    fine = [
        {"kind": "reading", "title": "x" * 10, "text": "y" * 20},
        {"kind": "round", "title": "R", "limit_s": 90},
    ]
    too_much = [
        [*fine, {"kind": "open", "title": "Three"}],
        [{"kind": "reading", "title": "x" * 11}],
        [{"kind": "reading", "title": "Reading", "text": "y" * 21}],
        [{"kind": "round", "title": "Round", "limit_s": 91}],
        [{"kind": "round", "title": "Round", "limit_s": 0}],
        [{"kind": "open", "title": "   "}],
    ]
    status, _ = await post_room(server, agenda=fine)
    assert status == 201
    for agenda in too_much:
        status, answer = await post_room(server, agenda=agenda)
        assert (status, answer["error"]["code"]) == (400, "bad_request"), agenda
    status, answer = await post_room(server, agenda=too_much[0])
    assert answer["error"]["message"] == "An agenda can have at most 2 parts."
    # The same limits hold for an edit of the room's default agenda.
    status, made = await post_room(server, agenda=fine)
    auth = {"Authorization": f"Bearer {server.admin_token}"}
    async with aiohttp.ClientSession() as http:
        for agenda in too_much:
            async with http.patch(
                f"{server.url}/api/rooms/{made['id']}", json={"agenda": agenda}, headers=auth
            ) as r:
                assert r.status == 400, agenda
        async with http.patch(
            f"{server.url}/api/rooms/{made['id']}", json={"agenda": fine}, headers=auth
        ) as r:
            assert r.status == 200

    _, (fa, ann, _bob) = await meeting(server, connect)
    assert (await fa.call("mod:agenda", {"segments": fine}))["ok"]
    for agenda in too_much:
        assert code(await fa.call("mod:agenda", {"segments": agenda})) == "bad_request", agenda
    said = (await fa.call("chat:send", {"text": "marker"}))["message"]
    await ann.never_got(
        "room:updated", lambda r: len(r["agenda"]) != 2, marker="chat:message", is_marker=lambda m: m == said
    )


# -- milestones ------------------------------------------------------------------------------------


async def test_a_milestone_reaches_everyone_as_a_chat_message_of_its_kind_and_is_kept_as_chat(
    circle_server: RunningServer, connect: Connect
) -> None:
    _, (fa, ann, bob) = await meeting(circle_server, connect)
    ack = await ann.call("milestone:share", {"label": "  30 days "})
    assert ack["ok"] and ack["message"]["kind"] == "milestone" and ack["message"]["text"] == "30 days"
    for m in (fa, ann, bob):
        got = await m.wait_for("chat:message", lambda x: x.get("kind") == "milestone")
        assert got == ack["message"] and got["from"] == {"id": ann.id, "name": "Ann"}
    history = await bob.call("chat:history")
    assert [(x["text"], x.get("kind")) for x in history["messages"]] == [("30 days", "milestone")]
    late = await connect(circle_server.url)
    joined = await late.join(ann.joined["room"]["id"], "Cy")
    assert joined["room"]["chat"] == [ack["message"]]


async def test_a_milestone_over_its_configured_length_is_a_bad_request(
    circle_server_factory: Factory, connect: Connect
) -> None:
    server = await circle_server_factory(max_milestone_chars=8)
    _, (_fa, ann, _bob) = await meeting(server, connect)
    assert (await ann.call("milestone:share", {"label": "1 year"}))["ok"]
    ack = await ann.call("milestone:share", {"label": "nine days"})
    assert code(ack) == "bad_request" and "1 to 8 characters" in ack["error"]["message"]
    assert code(await ann.call("milestone:share", {"label": "   "})) == "bad_request"


async def test_milestones_are_paced_by_the_chat_rate_limit(
    circle_server_factory: Factory, connect: Connect
) -> None:
    server = await circle_server_factory(chat_burst=2, chat_rate_per_s=0.01)
    _, (_fa, ann, _bob) = await meeting(server, connect)
    assert (await ann.call("chat:send", {"text": "hello"}))["ok"]
    assert (await ann.call("milestone:share", {"label": "30 days"}))["ok"]
    ack = await ann.call("milestone:share", {"label": "30 days"})
    assert code(ack) == "rate_limited" and ack["error"]["retry_after_ms"] > 0


# -- concerns --------------------------------------------------------------------------------------


async def test_a_concern_reaches_only_facilitators_never_the_chat_and_its_sender_hears_it_was_seen(
    circle_server: RunningServer, connect: Connect
) -> None:
    room, (fa, ann, bob) = await meeting(circle_server, connect)
    co = await connect(circle_server.url)
    await co.join(room["id"], "Cass", host_key=room["host_key"])
    ack = await ann.call("concern:raise", {"about": bob.id, "text": "I'm worried about someone."})
    assert ack["ok"] and ack["delivered"] is True and ack["id"]
    for facilitator in (fa, co):
        raised = await facilitator.wait_for("concern:raised")
        assert raised == {
            "id": ack["id"],
            "from": {"id": ann.id, "name": "Ann"},
            "about": {"id": bob.id, "name": "Bob"},
            "text": "I'm worried about someone.",
            "at": raised["at"],
        }
    said = (await fa.call("chat:send", {"text": "Let's begin"}))["message"]
    for member in (ann, bob):
        await member.never_got("concern:raised", marker="chat:message", is_marker=lambda m: m == said)
    for member in (fa, ann, bob):
        history = await member.call("chat:history")
        assert [x["text"] for x in history["messages"]] == ["Let's begin"]
    # A facilitator who comes in now finds it waiting; a member does not.
    late_fa, late_member = await connect(circle_server.url), await connect(circle_server.url)
    seen_on_join = (await late_fa.join(room["id"], "Dee", host_key=room["host_key"]))["room"]["concerns"]
    assert [c["id"] for c in seen_on_join] == [ack["id"]]
    assert (await late_member.join(room["id"], "Eve"))["room"]["concerns"] == []

    assert await co.call("mod:concern-seen", {"id": ack["id"]}) == {"ok": True, "seen": True}
    seen = {"id": ack["id"], "by": co.id}
    assert await ann.wait_for("concern:seen") == seen
    assert await fa.wait_for("concern:seen") == seen
    said = (await fa.call("chat:send", {"text": "Thank you"}))["message"]
    await bob.never_got("concern:seen", marker="chat:message", is_marker=lambda m: m == said)
    # Marked seen by a second facilitator at the same moment: nothing left to do.
    assert await fa.call("mod:concern-seen", {"id": ack["id"]}) == {"ok": True, "seen": False}


async def test_a_concern_about_a_facilitator_reaches_the_others_and_the_one_made_facilitator_later(
    circle_server: RunningServer, connect: Connect
) -> None:
    room, (fa, ann, bob) = await meeting(circle_server, connect)
    ack = await ann.call("concern:raise", {"about": fa.id, "text": "I felt cut off."})
    # Fran, the only facilitator, is who it is about: nobody can read it yet.
    assert ack["ok"] and ack["delivered"] is False
    assert (await fa.call("mod:concern-seen", {"id": ack["id"]})) == {"ok": True, "seen": False}
    assert (await fa.call("mod:role", {"id": bob.id, "role": "facilitator"}))["ok"]
    raised = await bob.wait_for("concern:raised")
    assert raised["id"] == ack["id"] and raised["about"] == {"id": fa.id, "name": "Fran"}
    # Neither the concern nor the mark that it was seen reaches Fran.
    assert await bob.call("mod:concern-seen", {"id": ack["id"]}) == {"ok": True, "seen": True}
    assert await ann.wait_for("concern:seen") == {"id": ack["id"], "by": bob.id}
    said = (await bob.call("chat:send", {"text": "Thanks for waiting"}))["message"]
    await fa.never_got("concern:raised", marker="chat:message", is_marker=lambda m: m == said)
    await fa.never_got("concern:seen", marker="chat:message", is_marker=lambda m: m == said)


async def test_a_concern_raised_with_no_facilitator_present_says_so_and_waits_for_one(
    circle_server: RunningServer, connect: Connect
) -> None:
    room = await circle_server.create_room()
    ann = await connect(circle_server.url)
    await ann.join(room["id"], "Ann")
    ack = await ann.call("concern:raise", {"text": "I need support after the meeting."})
    assert ack["ok"] and ack["delivered"] is False
    fa = await connect(circle_server.url)
    joined = await fa.join(room["id"], "Fran", host_key=room["host_key"])
    assert [(c["from"]["name"], c["text"]) for c in joined["room"]["concerns"]] == [
        ("Ann", "I need support after the meeting.")
    ]


async def test_concerns_past_their_configured_length_or_number_open_are_refused(
    circle_server_factory: Factory, connect: Connect
) -> None:
    server = await circle_server_factory(max_concern_chars=30, max_open_concerns=2)
    _, (fa, ann, bob) = await meeting(server, connect)
    ack = await ann.call("concern:raise", {"text": "x" * 31})
    assert code(ack) == "bad_request" and "30 characters" in ack["error"]["message"]
    first = await ann.call("concern:raise", {"text": "x" * 30})
    assert (await ann.call("concern:raise", {}))["ok"]
    assert code(await ann.call("concern:raise", {"text": "one more"})) == "rate_limited"
    # Another member's notes are their own to send.
    assert (await bob.call("concern:raise", {"text": "me too"}))["ok"]
    # Once a facilitator has seen one, there is room for another.
    await fa.call("mod:concern-seen", {"id": first["id"]})
    assert (await ann.call("concern:raise", {"text": "one more"}))["ok"]
    assert code(await ann.call("concern:raise", {})) == "rate_limited"


async def test_a_concern_reaches_only_facilitators_across_two_instances_on_one_redis(
    redis_server: RedisServer, circle_server_factory: Factory, connect: Connect
) -> None:
    redis_server.flush()
    one = await circle_server_factory(redis_url=redis_server.url)
    two = await circle_server_factory(redis_url=redis_server.url)
    room = await one.create_room()
    fa, cass = await connect(one.url), await connect(one.url)
    ann, bob = await connect(two.url), await connect(two.url)
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    await ann.join(room["id"], "Ann")
    await bob.join(room["id"], "Bob")
    await cass.join(room["id"], "Cass")
    ack = await ann.call("concern:raise", {"about": cass.id, "text": "Can someone check in with Cass?"})
    assert ack["ok"] and ack["delivered"] is True
    raised = await fa.wait_for("concern:raised")
    assert (raised["from"]["id"], raised["about"]["id"]) == (ann.id, cass.id)
    said = (await fa.call("chat:send", {"text": "after the concern"}))["message"]
    for member in (ann, bob, cass):
        await member.never_got("concern:raised", marker="chat:message", is_marker=lambda m: m == said)
    await fa.call("mod:concern-seen", {"id": ack["id"]})
    assert await ann.wait_for("concern:seen") == {"id": ack["id"], "by": fa.id}


# -- crisis resources ------------------------------------------------------------------------------


async def test_the_room_s_public_facts_carry_the_default_crisis_resources(
    circle_server: RunningServer,
) -> None:
    room = await circle_server.create_room()
    facts = await public_facts(circle_server, room["id"])
    assert facts["crisis_resources"] == [r.to_json() for r in DEFAULT_RESOURCES]
    assert facts["crisis_resources"][0]["text"].startswith("Your local emergency number")


async def test_a_deployment_s_own_crisis_resources_are_served_as_written(
    circle_server_factory: Factory, tmp_path: Path
) -> None:
    listed = [
        {
            "name": "Samaritans",
            "phone": "116 123",
            "url": "https://www.samaritans.org",
            "region": "UK and Ireland",
        },
        {"name": "Crisis Text Line", "text": "Text HOME to 741741", "region": "United States"},
    ]
    path = tmp_path / "crisis.json"
    path.write_text(json.dumps(listed))
    server = await circle_server_factory(crisis_resources=path)
    room = await server.create_room()
    assert (await public_facts(server, room["id"]))["crisis_resources"] == listed


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("not json", "is not valid JSON"),
        ("[]", "a JSON list of at least one resource"),
        ('{"name": "x"}', "a JSON list of at least one resource"),
        ('[{"phone": "112"}]', "resource 1 needs a name"),
        ('[{"name": "A", "phone": "112"}, {"name": "B"}]', "resource 2 needs a phone, a text or a url"),
        ('[{"name": "A", "url": "javascript:alert(1)"}]', "url must start with https:// or http://"),
        ('[{"name": "A", "phone": "call us"}]', "phone must be a number"),
        ('[{"name": "A", "phone": "112", "email": "a@b"}]', "unknown field 'email'"),
        ('[{"name": "A", "phone": 112}]', "phone must be text"),
    ],
)
def test_a_crisis_resources_file_that_cannot_be_used_stops_the_server_saying_why(
    tmp_path: Path, content: str, why: str
) -> None:
    path = tmp_path / "crisis.json"
    path.write_text(content)
    with pytest.raises(CrisisResourcesError) as info:
        load_crisis_resources(path)
    assert why in str(info.value) and str(path) in str(info.value)


def test_a_missing_crisis_resources_file_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(CrisisResourcesError, match="cannot be read"):
        load_crisis_resources(tmp_path / "nowhere.json")


async def test_a_server_given_an_unusable_crisis_resources_file_does_not_start(
    circle_server_factory: Factory, tmp_path: Path
) -> None:
    path = tmp_path / "crisis.json"
    path.write_text('[{"name": "A"}]')
    with pytest.raises(CrisisResourcesError, match="needs a phone, a text or a url"):
        await circle_server_factory(crisis_resources=path)


# -- the facilitator's presence, and the next meeting ----------------------------------------------


async def test_members_and_those_waiting_are_told_when_the_last_facilitator_steps_away(
    circle_server: RunningServer, connect: Connect
) -> None:
    room = await circle_server.create_room(waiting_room=True)
    fa, ann, wai = (
        await connect(circle_server.url),
        await connect(circle_server.url),
        await connect(circle_server.url),
    )
    assert (await fa.join(room["id"], "Fran", host_key=room["host_key"]))["room"][
        "facilitator_present"
    ] is True
    await ann.call("join", {"room": room["id"], "name": "Ann"})
    await fa.call("mod:admit", {"id": (await fa.wait_for("lobby:waiting"))["id"]})
    admitted = await ann.wait_for("lobby:admitted")
    assert admitted["room"]["facilitator_present"] is True
    waiting = await wai.call("join", {"room": room["id"], "name": "Wes"})
    assert waiting["waiting"] is True and waiting["facilitator_present"] is True

    await fa.close()  # a dropped connection, not a leave: the facilitator is away
    await ann.wait_for("room:updated", lambda r: r["facilitator_present"] is False)
    assert await wai.wait_for("lobby:facilitator") == {"present": False}
    back = await connect(circle_server.url)
    await back.join(room["id"], "Fran", host_key=room["host_key"])
    await ann.wait_for("room:updated", lambda r: r["facilitator_present"] is True)
    await wai.wait_for("lobby:facilitator", lambda x: x["present"] is True)


async def test_a_room_emptied_after_a_lock_starts_its_next_meeting_unlocked_with_its_own_waiting_room(
    circle_server: RunningServer, connect: Connect
) -> None:
    room = await circle_server.create_room(waiting_room=True, agenda=AGENDA)
    fa = await connect(circle_server.url)
    await fa.join(room["id"], "Fran", host_key=room["host_key"])
    await fa.call("mod:waiting-room", {"enabled": False})
    ann = await connect(circle_server.url)
    await ann.join(room["id"], "Ann")
    await fa.call("mod:agenda-step", {"index": 1})
    await fa.call("mod:lock", {"locked": True})
    await ann.wait_for("room:updated", lambda r: r["locked"] and not r["waiting_room"] and r["segment"] == 1)
    # Both drop; once the resume grace has run out the room is empty.
    await fa.close()
    await ann.close()
    store = circle_server.circle.store
    deadline = time.monotonic() + 5
    while not all(p.away for p in (await store.load(room["id"])).participants.values()):  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the drops were not noticed"
        await asyncio.sleep(0.02)
    state = await store.load(room["id"])
    assert state is not None
    grace_ms = int(circle_server.settings.resume_grace_s * 1000)
    await circle_server.circle.signaling.sweep(
        max(p.away_since or 0 for p in state.participants.values()) + grace_ms
    )
    assert (await store.load(room["id"])).is_empty  # type: ignore[union-attr]

    fa2, cy = await connect(circle_server.url), await connect(circle_server.url)
    snapshot = (await fa2.join(room["id"], "Fran", host_key=room["host_key"]))["room"]
    assert (snapshot["locked"], snapshot["waiting_room"], snapshot["hands"]) == (False, True, [])
    assert (snapshot["agenda"], snapshot["segment"], snapshot["speaker"]) == (AGENDA, None, None)
    assert (await cy.call("join", {"room": room["id"], "name": "Cy"}))["waiting"] is True
