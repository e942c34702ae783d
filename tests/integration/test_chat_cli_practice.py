"""`circle chat` taking part in the meeting's practice as a first-class member: ending and passing a
turn, sharing a milestone, telling the facilitators privately; and from a facilitator's terminal,
reading and marking those concerns, stepping the agenda, ordering the queue and muting everyone
(real subprocesses, as in `test_chat_cli`)."""

from __future__ import annotations

import re

from tests.integration.test_chat_cli import facilitator_terminal, terminals  # noqa: F401 - shared
from tests.integration.test_limits_per_address import BEHIND_PROXY, PASSCODE, guess, person  # noqa: F401
from tests.support.client import Member

AGENDA = [
    {"kind": "reading", "title": "Opening", "text": "Welcome. You can always pass."},
    {"kind": "round", "title": "Check-in", "limit_s": 120},
    {"kind": "closing", "title": "Closing"},
]


async def test_a_terminal_member_passes_and_ends_their_turn_in_a_round_and_shares_a_milestone(
    circle_server,
    members,
    terminals,  # noqa: F811
) -> None:
    room = await circle_server.create_room(title="Evening circle", agenda=AGENDA)
    maya: Member = await members()
    await maya.join(room["id"], "Maya", "text", host_key=room["host_key"])
    sam: Member = await members()
    await sam.join(room["id"], "Sam", "text")
    jo = await terminals(room["member_url"], "Jo")
    await jo.expect(r"Type /help")
    joined = await sam.wait_for("participant:joined", lambda p: p["name"] == "Jo")

    # Nothing to end or pass yet: said so, and nothing is sent to the room.
    await jo.type("/done")
    await jo.expect(r"^You don't have the floor just now, so there is no turn to end\.$")
    await jo.type("/pass")
    await jo.expect(r"^You aren't in the speaking queue, so there is no turn to pass\.$")

    assert (await maya.call("mod:agenda-step", {"index": 0}))["ok"]
    await jo.expect(r"^\* Now: Opening \(reading\)$")
    await jo.expect(r"^\*   Welcome\. You can always pass\.$")
    assert (await maya.call("mod:agenda-step", {"index": 1}))["ok"]
    await jo.expect(r"^\* Now: Check-in \(round\)$")
    await jo.expect(r"^\* Everyone gets a turn, in the order they joined\. You can /pass\.$")
    round_ = await sam.wait_for("room:updated", lambda r: r.get("segment") == 1)
    assert round_["hands"] == [sam.id, joined["id"]]

    await jo.type("/pass")
    await jo.expect(r"^You passed\. That's always fine\.$")
    passed = await sam.wait_for("room:updated", lambda r: r.get("hands") == [sam.id])
    assert passed["hands"] == [sam.id]

    await jo.type("/hand")
    await jo.expect(r"^Your hand is raised\.$")
    assert (await sam.call("hand:pass"))["ok"]
    assert (await maya.call("mod:next-speaker", {"limit_s": 120}))["ok"]
    await jo.expect(r"^\* It's your turn to share \(share time: 2 minutes\)\.")
    await jo.expect(r"^\* Type /done when you have finished, or /pass to let your turn go\.$")
    given = len(sam.of("room:updated"))
    await jo.type("/done")
    await jo.expect(r"^Thank you for sharing\.$")
    ended = await sam.wait_for("room:updated", lambda r: any(r is u for u in sam.of("room:updated")[given:]))
    assert ended["speaker"] is None

    await jo.type("/milestone 30 days")
    shared = await sam.wait_for("chat:message", lambda m: m.get("kind") == "milestone")
    assert shared["text"] == "30 days" and shared["from"]["id"] == joined["id"]
    await jo.expect(r"\] ★ You share a milestone: 30 days$")
    await sam.call("milestone:share", {"label": "1 year"})
    await jo.expect(r"\] ★ Sam shares a milestone: 1 year$")

    # A milestone too long or missing is refused here, with what a milestone is.
    await jo.type("/milestone " + "x" * 41)
    await jo.expect(r"^Usage: /milestone TEXT — a milestone of 1 to 40 characters, like /milestone 30 days$")
    await jo.type("/milestone   ")
    await jo.type("after the refused milestones")
    await sam.wait_for("chat:message", lambda m: m["text"] == "after the refused milestones")
    usages = [line for line in jo.output if line.startswith("Usage: /milestone")]
    assert len(usages) == 2
    assert [m["text"] for m in sam.of("chat:message") if m.get("kind") == "milestone"] == [
        "30 days",
        "1 year",
    ]


async def test_a_terminal_members_concern_reaches_only_the_facilitators_terminal_which_marks_it_seen(
    circle_server,
    members,
    terminals,  # noqa: F811
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    sam: Member = await members()
    await sam.join(room["id"], "Sam", "text")
    jo = await terminals(room["member_url"], "Jo")
    await jo.expect(r"Type /help")

    # No facilitator here yet: the note is kept, and the first one to come reads it on entering.
    await jo.type("/concern I need support after the meeting.")
    await jo.expect(r"^No facilitator is here right now\. Your note is kept for them")
    maya = await facilitator_terminal(terminals, room)
    await maya.expect(r"^\* Private to facilitators: Jo has a concern: I need support after the meeting\.$")
    await maya.expect(r"^\* \(Concern 1: type /seen 1 once you have taken it in\.\)$")

    await jo.type("/worried Sam he said he isn't sleeping")
    await jo.expect(r"^The facilitators have been told, privately\. Thank you for letting them know\.$")
    await maya.expect(
        r"^\* Private to facilitators: Jo is worried about Sam: I'm worried about someone\. he said he isn't"
        r" sleeping$"
    )
    await maya.type("/concerns")
    await maya.expect(r"^Concerns not yet marked seen \(2\):$")
    await maya.expect(r"^  2\. Jo is worried about Sam")

    await maya.type("/seen 1")
    await jo.expect(r"^\* A facilitator has seen your concern\.$")
    await maya.expect(r"^\* Maya has seen concern 1\.$")
    await maya.type("/concerns")
    await maya.expect(r"^Concerns not yet marked seen \(1\):$")

    # Bad input from each side: said plainly, and nothing sent.
    await maya.type("/seen 1")
    await maya.expect(r"^No concern 1 is waiting to be seen; /concerns lists those that are\.$")
    await maya.type("/seen first")
    await maya.expect(r"^Usage: /seen NUMBER — the concern's number, as /concerns shows it\.$")
    await maya.type("/concern a note to myself")
    await maya.expect(r"^You're a facilitator: concerns come to you\.")
    await jo.type("/worried Nobody-here")
    await jo.expect(r"Usage: /worried NAME \[TEXT\]")
    await jo.type("/concern")
    await jo.expect(r"^Usage: /concern TEXT — what you'd like the facilitators to know, privately\.$")
    await jo.type("/seen 2")
    await jo.expect(r"^Only facilitators can use /seen\.$")
    await jo.type("/concerns")
    await jo.expect(r"^Only facilitators can use /concerns\.$")

    # The concerns never entered the chat, nor reached another member.
    await jo.type("plain chat after the notes")
    await sam.wait_for("chat:message", lambda m: m["text"] == "plain chat after the notes")
    assert not sam.of("concern:raised")
    assert not any("support after" in m["text"] or "sleeping" in m["text"] for m in sam.of("chat:message"))
    assert not any("Private to facilitators" in line for line in jo.output)


async def test_a_facilitator_on_the_terminal_steps_the_agenda_that_every_terminal_follows(
    circle_server,
    members,
    terminals,  # noqa: F811
) -> None:
    room = await circle_server.create_room(title="Evening circle", agenda=AGENDA)
    maya = await facilitator_terminal(terminals, room)
    jo = await terminals(room["member_url"], "Jo")
    await jo.expect(r"Type /help")
    await maya.expect(r"^\* Jo — text only joined\.$")

    await maya.type("/agenda back")
    await maya.expect(r"^There is no earlier part of the agenda to go back to\.$")
    await maya.type("/agenda next")
    await jo.expect(r"^\* Now: Opening \(reading\)$")
    await maya.expect(r"^\* Now: Opening \(reading\)$")
    await maya.type("/agenda 3")
    await jo.expect(r"^\* Now: Closing \(closing\)$")
    await maya.type("/agenda next")
    await maya.expect(r"^This is the last part of the agenda\.$")
    await maya.type("/agenda back")
    await jo.expect(r"^\* Now: Check-in \(round\)$")
    await jo.expect(r"^\* Everyone gets a turn, in the order they joined\. You can /pass\.$")
    await jo.type("/agenda")
    await jo.expect(r"^  2\. Check-in — round \(now\)$")

    # Bad input, and a member trying: refused with a clear word, the part unchanged.
    await maya.type("/agenda 9")
    await maya.expect(r"^The agenda has 3 parts: /agenda NUMBER takes 1 to 3\.$")
    await maya.type("/agenda onwards")
    await maya.expect(
        r"^Usage: /agenda shows the agenda; a facilitator's /agenda next\|back\|NUMBER steps it\.$"
    )
    await maya.type("/agenda 2")
    await maya.expect(r"^Part 2 is the current part already\.$")
    await jo.type("/agenda next")
    await jo.expect(r"^Only facilitators can step through the agenda; /agenda shows it\.$")
    await maya.type("/agenda")
    await maya.expect(r"^  2\. Check-in — round \(now\)$")
    # Still the round: neither the refusals nor the member moved the meeting on.
    sam: Member = await members()
    ack = await sam.join(room["id"], "Sam", "text")
    assert ack["room"]["segment"] == 1


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


async def test_help_lists_every_command_once_one_line_each(
    circle_server,
    terminals,  # noqa: F811
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await facilitator_terminal(terminals, room)
    jo = await terminals(room["member_url"], "Jo")
    await jo.expect(r"Type /help")
    member_commands = ["hand", "done", "pass", "milestone", "who", "msg", "agenda", "quit", "help"]
    member_commands += ["concern", "worried"]
    facilitator_only = ["admit", "deny", "mute", "release", "remove", "lower", "move", "next", "lock"]
    facilitator_only += ["unlock", "waiting", "role", "admitall", "muteall", "safety", "private", "delete"]
    facilitator_only += ["end", "concerns", "seen"]

    await jo.type("/help")
    await jo.expect(r"^  /help ")
    await maya.type("/help")
    await maya.expect(r"^  /agenda next\|back\|NUMBER ")

    def listed(output: list[str]) -> list[str]:
        return [name for line in output for name in re.findall(r"(?:^  |, )/([a-z]+)", line)]

    for name in member_commands:
        assert listed(jo.output).count(name) == 1, name
    for name in facilitator_only:
        assert name not in listed(jo.output), name
    assert "concern" not in listed(maya.output) and "worried" not in listed(maya.output)
    for name in [*member_commands[:9], *facilitator_only]:
        assert name in listed(maya.output), name
