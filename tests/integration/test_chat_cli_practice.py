"""`circle chat` taking part in the meeting's practice as a first-class member: ending and passing a
turn, sharing a milestone, telling the facilitators privately; and from a facilitator's terminal,
reading and marking those concerns, stepping the agenda, ordering the queue and muting everyone
(real subprocesses, as in `test_chat_cli`)."""

from __future__ import annotations

from tests.integration.test_chat_cli import facilitator_terminal, terminals  # noqa: F401 - shared
from tests.integration.test_limits_per_address import BEHIND_PROXY, PASSCODE, guess, person  # noqa: F401

AGENDA = [
    {"kind": "reading", "title": "Opening", "text": "Welcome. You can always pass."},
    {"kind": "round", "title": "Check-in", "limit_s": 120},
    {"kind": "closing", "title": "Closing"},
]


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
