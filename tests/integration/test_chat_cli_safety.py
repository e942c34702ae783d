"""`circle chat` keeping a room safe: the pause, the private-message policy, deleted chat and the
facilitator's presence, seen from a member's terminal and run from a facilitator's (real subprocesses,
as in `test_chat_cli`)."""

from __future__ import annotations

from tests.integration.test_chat_cli import facilitator_terminal, terminals  # noqa: F401 - shared
from tests.support.client import Member


async def test_a_terminal_member_hears_the_pause_the_policy_and_a_deleted_message_and_cannot_break_the_policy(
    circle_server,
    members,
    terminals,  # noqa: F811
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya: Member = await members()
    await maya.join(room["id"], "Maya", "text", host_key=room["host_key"])
    sam: Member = await members()
    await sam.join(room["id"], "Sam", "text")
    jo = await terminals(room["member_url"], "Jo")
    await jo.expect(r"Type /help")

    said = await sam.call("chat:send", {"text": "something hurtful"})
    await jo.expect(r"\] Sam: something hurtful$")
    assert (await maya.call("mod:delete-chat", {"id": said["message"]["id"]}))["ok"]
    await jo.expect(r"^\* A facilitator removed a message\.$")

    assert (await maya.call("mod:safety", {"on": True}))["ok"]
    await jo.expect(r"^\* The facilitator has paused the room for a moment\.$")
    assert (await maya.call("mod:safety", {"on": False}))["ok"]
    await jo.expect(r"^\* The facilitator has resumed the meeting\.$")

    assert (await maya.call("mod:private-chat", {"policy": "facilitators"}))["ok"]
    await jo.expect(r"^\* Private messages now go only to or from a facilitator\.$")
    await jo.type("/msg Sam just between us")
    await jo.expect(r"^Not sent: In this meeting, private messages go only to or from a facilitator\.$")
    await jo.type("/msg Maya a word in private")
    private = await maya.wait_for("chat:message", lambda m: m["text"] == "a word in private")
    assert private["to"] == maya.id
    await sam.call("chat:send", {"text": "after the private ones"})
    await jo.expect(r"\] Sam: after the private ones$")
    assert not any(m["text"] == "just between us" for m in sam.of("chat:message"))

    # The facilitator's connection drops: the room says they stepped away.
    await maya.close()
    await jo.expect(r"^\* The facilitator has stepped away\.$", timeout=15)


async def test_a_facilitator_on_the_terminal_pauses_the_room_sets_the_policy_admits_all_and_deletes(
    circle_server,
    members,
    terminals,  # noqa: F811
) -> None:
    room = await circle_server.create_room(title="Evening circle", waiting_room=True)
    maya = await facilitator_terminal(terminals, room)
    await maya.type("/help")
    await maya.expect(r"^  /safety on\|off ")
    await maya.expect(r"^  /private everyone\|facilitators\|nobody ")
    await maya.expect(r"^  /agenda ")

    first: Member = await members()
    await first.join(room["id"], "Ana", "text")
    second: Member = await members()
    await second.join(room["id"], "Bo", "text")
    await maya.expect(r"^\* Bo is waiting to be let in")
    await maya.type("/admitall")
    await first.wait_for("lobby:admitted")
    await second.wait_for("lobby:admitted")
    await maya.expect(r"^\* Bo — text only joined\.$")
    await maya.type("/admitall")
    await maya.expect(r"^Nobody is waiting to be let in\.$")

    await maya.type("/safety on")
    paused = await first.wait_for("room:updated", lambda r: r.get("safety"))
    assert paused["locked"] is True
    await maya.expect(r"^\* The facilitator has paused the room for a moment\.$")
    await maya.type("/safety on")
    await maya.expect(r"^The room is already paused\.$")
    await maya.type("/safety off")
    await first.wait_for("room:updated", lambda r: r.get("safety") is False)

    await maya.type("/private nobody")
    policy = await first.wait_for("room:updated", lambda r: r.get("private_chat") == "nobody")
    assert policy["private_chat"] == "nobody"
    refused = await first.call("chat:send", {"text": "psst", "to": second.id})
    assert refused["error"]["code"] == "forbidden"
    await maya.type("/private sometimes")
    await maya.expect(r"Usage: /private everyone\|facilitators\|nobody$")

    await first.call("chat:send", {"text": "first words"})
    await first.call("chat:send", {"text": "words to take back"})
    await maya.expect(r"\] Ana: words to take back$")
    await maya.type("/delete Ana")
    gone = await second.wait_for("chat:deleted")
    latest = [m for m in second.of("chat:message") if m["text"] == "words to take back"]
    assert gone["id"] == latest[0]["id"]
    await maya.expect(r"^\* A facilitator removed a message\.$")
    await maya.type("/delete Bo")
    await maya.expect(r"^Bo has no chat message to remove\.$")

    member = await terminals(room["member_url"], "Jo")
    await maya.expect(r"^\* Jo is waiting to be let in")
    await maya.type("/admit Jo")
    await member.expect(r"Type /help")
    await member.type("/help")
    await member.expect(r"^  /agenda ")
    await member.type("/agenda")
    await member.expect(r"^This meeting has no agenda\.$")
    await member.type("/safety on")
    await member.expect(r"^Only facilitators can use /safety\.$")
    assert not any("/delete" in line or "/private" in line for line in member.output)


async def test_a_terminal_member_waiting_hears_whether_a_facilitator_is_there_to_let_them_in(
    circle_server,
    members,
    terminals,  # noqa: F811
) -> None:
    room = await circle_server.create_room(title="Newcomers", waiting_room=True)
    jo = await terminals(room["member_url"], "Jo")
    await jo.expect(r"^You're in the waiting room\.$")
    await jo.expect(r"^\* No facilitator is here just now; you'll be let in when one arrives\.$")

    maya: Member = await members()
    joined = await maya.join(room["id"], "Maya", "text", host_key=room["host_key"])
    await jo.expect(r"^\* A facilitator is here and will let you in shortly\.$")
    (waiting,) = joined["room"]["waiting"]
    assert (await maya.call("mod:admit", {"id": waiting["id"]}))["ok"]
    await jo.expect(r"Type /help")
