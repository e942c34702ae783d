"""`circle chat` taking part in the meeting's practice as a first-class member: ending and passing a
turn, sharing a milestone, telling the facilitators privately; and from a facilitator's terminal,
reading and marking those concerns, stepping the agenda, ordering the queue and muting everyone
(real subprocesses, as in `test_chat_cli`)."""

from __future__ import annotations

from tests.integration.test_chat_cli import facilitator_terminal, terminals  # noqa: F401 - shared
from tests.integration.test_limits_per_address import BEHIND_PROXY, PASSCODE, guess, person  # noqa: F401
from tests.support.client import Member

AGENDA = [
    {"kind": "reading", "title": "Opening", "text": "Welcome. You can always pass."},
    {"kind": "round", "title": "Check-in", "limit_s": 120},
    {"kind": "closing", "title": "Closing"},
]


async def test_a_facilitator_on_the_terminal_orders_the_queue_and_mutes_everyone(
    circle_server,
    members,
    terminals,  # noqa: F811
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await facilitator_terminal(terminals, room)
    ana: Member = await members()
    await ana.join(room["id"], "Ana", "av")
    bo: Member = await members()
    await bo.join(room["id"], "Bo", "audio")
    cy: Member = await members()
    await cy.join(room["id"], "Cy", "text")
    assert (await ana.call("media:state", {"audio": True, "video": True}))["ok"]
    assert (await bo.call("media:state", {"audio": True}))["ok"]
    await ana.call("hand:raise")
    await bo.call("hand:raise")
    await maya.expect(r"^\* Bo raised their hand\.$")

    await maya.type("/move Bo 1")
    moved = await ana.wait_for("room:updated", lambda r: r.get("hands") == [bo.id, ana.id])
    assert moved["hands"] == [bo.id, ana.id]
    await maya.expect(r"^Bo is now 1st in the speaking queue\.$")
    await maya.type("/who")
    await maya.expect(r"^  Bo — audio only, hand raised, 1st in queue$")

    await maya.type("/move Bo")
    await maya.expect(r"^Usage: /move NAME PLACE — someone in the speaking queue")
    await maya.type("/move Cy 1")
    await maya.expect(r"^Cy isn't in the speaking queue\.$")
    await maya.type("/move Ana 5")
    await maya.expect(r"^The speaking queue has 2 places: PLACE is 1 to 2\.$")

    await maya.type("/muteall loudly")
    await maya.expect(r"^Usage: /muteall \[keep\]")
    await maya.type("/muteall keep")
    muted = await ana.wait_for("you:muted")
    assert muted["audio"] is True
    await bo.wait_for("you:muted")
    await maya.expect(r"^3 people muted and kept muted\.$")
    refused = await bo.call("media:state", {"audio": True})
    assert refused["error"]["code"] == "forbidden"
    await maya.expect(r"^\* Bo is kept muted by a facilitator\.$")
    await maya.type("/muteall")
    await maya.expect(r"^Nobody needed muting\.$")

    jo = await terminals(room["member_url"], "Jo")
    await jo.expect(r"Type /help")
    await jo.type("/muteall")
    await jo.expect(r"^Only facilitators can use /muteall\.$")
    await jo.type("/move Ana 1")
    await jo.expect(r"^Only facilitators can use /move\.$")


async def test_a_facilitator_on_the_terminal_hears_that_passcodes_are_being_guessed(
    circle_server_factory,
    person,  # noqa: F811
    terminals,  # noqa: F811
) -> None:
    server = await circle_server_factory(passcode_room_burst=4, passcode_room_rate_per_s=0.01, **BEHIND_PROXY)
    room = await server.create_room(passcode=PASSCODE)
    maya = await terminals(room["facilitator_url"], "Maya", "--passcode", PASSCODE)
    await maya.expect(r"^You're a facilitator here")
    await maya.expect(r"Type /help")
    for n in range(4):
        assert (await guess(person, server, room, "wrong-one", f"203.0.113.{n + 10}"))[
            "code"
        ] == "wrong_passcode"
    shut = await guess(person, server, room, PASSCODE, "198.51.100.40")
    assert shut["code"] == "rate_limited"
    await maya.expect(r"^\* Many wrong passcodes are being tried for this meeting, so passcodes are paused")
