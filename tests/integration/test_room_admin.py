"""Managing rooms with the admin token, against a real server and real socket.io clients: the list, an
edit that a meeting under way takes at once, guidelines accepted again after they change, a deleted
room whose meeting ends and whose link is gone, and a new facilitator link that retires the old one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest

from tests.support.admin import call, public_info
from tests.support.client import Member
from tests.support.servers import RunningServer

Connect = Callable[[], Awaitable[Member]]

GUIDELINES = "What is said here stays here."


async def test_every_admin_endpoint_answers_401_without_the_admin_token(circle_server: RunningServer) -> None:
    room = await circle_server.create_room(title="Tuesday circle")
    path = f"/api/rooms/{room['id']}"
    for token in (None, "not-the-admin-token"):
        for method, where, body in (
            ("GET", "/api/rooms", None),
            ("PATCH", path, {"title": "Taken over"}),
            ("DELETE", path, None),
            ("POST", f"{path}/host-key", None),
        ):
            answer = await call(circle_server.url, method, where, body, token=token)
            assert answer.status == 401, (method, where, answer)
            assert answer.error["code"] == "unauthorized"
    facts = await public_info(circle_server.url, room["id"])
    assert facts.status == 200 and facts.body["title"] == "Tuesday circle"


async def test_the_list_shows_each_room_when_it_was_made_and_how_many_are_in_its_meeting(
    circle_server: RunningServer, members: Connect
) -> None:
    first = await circle_server.create_room(title="Monday circle")
    second = await circle_server.create_room(title="Friday circle")
    pair = await circle_server.create_room(title="Sponsor check-in", one_to_one=True)
    ann, bob = await members(), await members()
    await ann.join(first["id"], "Ann")
    await bob.join(first["id"], "Bob", media="text")

    answer = await call(circle_server.url, "GET", "/api/rooms")
    assert answer.status == 200
    listed = answer.body["rooms"]
    assert [r["id"] for r in listed] == [first["id"], second["id"], pair["id"]]
    assert [(r["title"], r["participants"], r["one_to_one"]) for r in listed] == [
        ("Monday circle", 2, False),
        ("Friday circle", 0, False),
        ("Sponsor check-in", 0, True),
    ]
    times = [r["created_at"] for r in listed]
    assert times == sorted(times) and times[0] > 1_700_000_000_000
    assert all(set(r) == {"id", "title", "created_at", "participants", "one_to_one"} for r in listed)


async def test_an_edit_answers_the_rooms_admin_view_and_the_meeting_under_way_takes_it(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room(title="Tuesday circle")
    fa, ann = await members(), await members()
    await fa.join(room["id"], "Fay", host_key=room["host_key"])
    await ann.join(room["id"], "Ann")
    agenda = [
        {"kind": "reading", "title": "Welcome", "text": "We open with the serenity prayer."},
        {"kind": "round", "title": "Check-in", "limit_s": 120},
    ]
    answer = await call(
        circle_server.url,
        "PATCH",
        f"/api/rooms/{room['id']}",
        {
            "title": "Thursday circle",
            "passcode": "43214321",
            "waiting_room": True,
            "max_participants": 12,
            "retention_s": 3600,
            "private_chat": "facilitators",
            "agenda": agenda,
        },
    )
    assert answer.status == 200, answer
    view = answer.body
    assert view["title"] == "Thursday circle" and view["passcode_required"] and view["waiting_room"]
    assert (view["max_participants"], view["retention_s"], view["private_chat"]) == (12, 3600, "facilitators")
    assert view["agenda"] == [
        {"kind": "reading", "title": "Welcome", "text": "We open with the serenity prayer.", "limit_s": None},
        {"kind": "round", "title": "Check-in", "text": None, "limit_s": 120},
    ]
    assert (view["participants"], view["waiting"], view["one_to_one"]) == (2, 0, False)
    assert "host_key" not in view and "passcode" not in view

    # Everyone in the meeting sees the new title at once; the meeting keeps its own live settings.
    updated = await ann.wait_for("room:updated", lambda d: d["title"] == "Thursday circle")
    assert updated["waiting_room"] is False
    facts = await public_info(circle_server.url, room["id"])
    assert facts.body["title"] == "Thursday circle" and facts.body["passcode_required"]
    assert facts.body["chat_retention_s"] == 3600

    # Whoever joins next needs the new passcode.
    late = await members()
    refused = await late.call("join", {"room": room["id"], "name": "Lee"})
    assert refused["error"]["code"] == "wrong_passcode"

    # The next meeting starts from the edited definition: its default agenda, its waiting room.
    await ann.call("leave")
    await fa.call("leave")
    again = await members()
    ack = await again.join(room["id"], "Fay", host_key=room["host_key"])
    assert [s["title"] for s in ack["room"]["agenda"]] == ["Welcome", "Check-in"]
    assert ack["room"]["waiting_room"] is True and ack["room"]["private_chat"] == "facilitators"


async def test_a_passcode_can_be_set_and_removed(circle_server: RunningServer, members: Connect) -> None:
    room = await circle_server.create_room(title="Tuesday circle", passcode="11111111")
    path = f"/api/rooms/{room['id']}"
    assert (await call(circle_server.url, "PATCH", path, {"passcode": "22222222"})).status == 200
    ann = await members()
    assert (await ann.call("join", {"room": room["id"], "name": "Ann", "passcode": "11111111"}))["error"][
        "code"
    ] == "wrong_passcode"
    await ann.join(room["id"], "Ann", passcode="22222222")

    cleared = await call(circle_server.url, "PATCH", path, {"passcode": None})
    assert cleared.status == 200 and cleared.body["passcode_required"] is False
    bob = await members()
    await bob.join(room["id"], "Bob")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"max_participants": 1}, "max_participants must be between"),
        ({"max_participants": 100_000}, "max_participants must be between"),
        ({"retention_s": -1}, "retention_s must be between"),
        ({"title": ""}, "title must not be empty"),
        ({"title": None}, "title can be changed but not removed"),
        ({"waiting_room": "yes"}, "waiting_room must be true or false"),
        ({"private_chat": "some"}, "private_chat must be one of"),
        ({"colour": "blue"}, "Unknown field: colour"),
        ({"agenda": [{"kind": "lecture", "title": "Talk"}]}, "agenda[0].kind must be one of"),
        (
            {"agenda": [{"kind": "round", "title": "Check-in", "limit_s": 0}]},
            "agenda[0].limit_s must be from 1",
        ),
        (
            {"agenda": [{"kind": "reading", "title": "x" * 81}]},
            "Part 1 of the agenda needs a title of 1 to 80",
        ),
        ({"agenda": {"kind": "reading"}}, "agenda must be a list"),
        ({"guidelines": "x" * 4001}, "guidelines is too long"),
        (["title"], "must be a JSON object"),
    ],
)
async def test_an_edit_is_checked_as_a_new_room_is_and_a_refused_one_changes_nothing(
    circle_server: RunningServer, body: object, says: str
) -> None:
    room = await circle_server.create_room(title="Tuesday circle")
    before = await public_info(circle_server.url, room["id"])
    answer = await call(circle_server.url, "PATCH", f"/api/rooms/{room['id']}", body)
    assert answer.status == 400 and answer.error["code"] == "bad_request", answer
    assert says in answer.error["message"]
    assert (await public_info(circle_server.url, room["id"])).body == before.body


async def test_changed_guidelines_get_a_new_version_that_members_must_accept_on_their_next_join(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room(title="Tuesday circle", guidelines=GUIDELINES)
    path = f"/api/rooms/{room['id']}"
    first = await public_info(circle_server.url, room["id"])
    assert first.body["guidelines_version"] == 1
    ann = await members()
    await ann.join(room["id"], "Ann", accept_guidelines=True, guidelines_version=1)
    token = ann.joined["resume_token"]

    # The same text again is no change; a new text is a new version.
    same = await call(circle_server.url, "PATCH", path, {"guidelines": f"  {GUIDELINES}\n"})
    assert same.body["guidelines_version"] == 1
    new_text = GUIDELINES + "\nYou can always pass."
    edited = await call(circle_server.url, "PATCH", path, {"guidelines": new_text})
    assert edited.body["guidelines_version"] == 2
    facts = await public_info(circle_server.url, room["id"])
    assert (facts.body["guidelines"], facts.body["guidelines_version"]) == (new_text, 2)

    # Ann drops; coming back on the version she accepted is refused, and says which version is current.
    await ann.close()
    back = await members()
    refused = await back.call(
        "join",
        {
            "room": room["id"],
            "name": "Ann",
            "accept_guidelines": True,
            "guidelines_version": 1,
            "resume_token": token,
        },
    )
    assert refused["error"]["code"] == "bad_request"
    assert refused["error"]["guidelines_version"] == 2 and "changed" in refused["error"]["message"]
    ack = await back.join(room["id"], "Ann", accept_guidelines=True, guidelines_version=2, resume_token=token)
    assert ack["self"]["id"] == ann.joined["self"]["id"], "she takes back her own seat"

    # Someone new who read the old text is refused the same way.
    bob = await members()
    stale = {"room": room["id"], "name": "Bob", "accept_guidelines": True, "guidelines_version": 1}
    assert (await bob.call("join", stale))["error"]["guidelines_version"] == 2
    await bob.join(room["id"], "Bob", accept_guidelines=True, guidelines_version=2)


async def test_a_deleted_rooms_meeting_ends_for_everyone_and_the_room_and_its_chat_are_gone(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room(title="Tuesday circle", waiting_room=True, retention_s=3600)
    room_id = room["id"]
    fa, ann, wes = await members(), await members(), await members()
    await fa.join(room_id, "Fay", host_key=room["host_key"])
    ann_waiting = await ann.join(room_id, "Ann")
    await fa.call("mod:admit", {"id": ann_waiting["self"]["id"]})
    await ann.wait_for("lobby:admitted")
    assert (await ann.call("chat:send", {"text": "Glad to be here."}))["ok"]
    wes_ack = await wes.join(room_id, "Wes")
    assert wes_ack["waiting"]

    answer = await call(circle_server.url, "DELETE", f"/api/rooms/{room_id}")
    assert answer.status == 204 and answer.body is None

    for person in (fa, ann):
        assert await person.wait_for("room:ended") == {"by": None, "reason": "deleted"}
        await person.wait_disconnected()
    assert await wes.wait_for("lobby:denied") == {"reason": "ended"}
    await wes.wait_disconnected()

    assert (await public_info(circle_server.url, room_id)).status == 404
    for method, path in (("PATCH", f"/api/rooms/{room_id}"), ("DELETE", f"/api/rooms/{room_id}")):
        gone = await call(circle_server.url, method, path, {"title": "Back"} if method == "PATCH" else None)
        assert gone.status == 404 and gone.error["code"] == "not_found"
    assert (await call(circle_server.url, "POST", f"/api/rooms/{room_id}/host-key")).status == 404
    listed = (await call(circle_server.url, "GET", "/api/rooms")).body["rooms"]
    assert room_id not in {r["id"] for r in listed}
    store = circle_server.circle.store
    assert await store.chat_after(room_id, None) == [] and await store.load(room_id) is None

    newcomer = await members()
    refused = await newcomer.call("join", {"room": room_id, "name": "Lee", "host_key": room["host_key"]})
    assert refused["error"]["code"] == "not_found"


async def test_deleting_a_room_nobody_is_in_answers_204(circle_server: RunningServer) -> None:
    room = await circle_server.create_room(title="Unused circle")
    assert (await call(circle_server.url, "DELETE", f"/api/rooms/{room['id']}")).status == 204
    assert (await public_info(circle_server.url, room["id"])).status == 404


async def test_a_new_facilitator_link_works_and_the_old_one_stops_working(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room(title="Tuesday circle")
    fa = await members()
    await fa.join(room["id"], "Fay", host_key=room["host_key"])

    answer = await call(circle_server.url, "POST", f"/api/rooms/{room['id']}/host-key")
    assert answer.status == 200
    assert answer.headers["Cache-Control"] == "no-store"
    new_key = answer.body["host_key"]
    assert new_key != room["host_key"]
    assert answer.body["facilitator_url"] == f"{circle_server.url}/r/{room['id']}#host={new_key}"

    old = await members()
    refused = await old.call("join", {"room": room["id"], "name": "Old", "host_key": room["host_key"]})
    assert refused["error"]["code"] == "forbidden"
    new = await members()
    ack = await new.join(room["id"], "Nia", host_key=new_key)
    assert ack["self"]["role"] == "facilitator"
    # The facilitator already in the meeting keeps their rights.
    assert (await fa.call("mod:lock", {"locked": True}))["ok"]


async def test_answers_that_carry_a_key_are_not_cached(circle_server: RunningServer) -> None:
    made = await call(circle_server.url, "POST", "/api/rooms", {"title": "Tuesday circle"})
    assert made.status == 201 and made.headers["Cache-Control"] == "no-store"
    pair = await call(circle_server.url, "POST", "/api/rooms", {"title": "Check-in", "one_to_one": True})
    assert pair.status == 201 and pair.headers["Cache-Control"] == "no-store"
    rotate = await call(circle_server.url, "POST", f"/api/rooms/{pair.body['id']}/host-key")
    assert rotate.status == 400 and "no facilitator link" in rotate.error["message"]


async def test_a_meeting_takes_an_edit_at_its_next_command_and_never_goes_back_to_an_older_one(
    circle_server: RunningServer, members: Connect
) -> None:
    """An edit written by an instance that could not tell the meeting (or read by one just before
    another edit) still reaches it: every command carries the definition read with it."""
    room = await circle_server.create_room(title="Tuesday circle")
    ann = await members()
    await ann.join(room["id"], "Ann")
    store = circle_server.circle.store
    current = await store.get_room(room["id"])
    assert current is not None
    assert await store.update_room(replace(current, title="Thursday circle", revision=current.revision + 1))

    assert (await ann.call("hand:raise"))["ok"]
    raised = await ann.wait_for("room:updated", lambda d: d["hands"] == [ann.id])
    assert raised["title"] == "Thursday circle"

    assert await store.update_room(replace(current, title="Older title"))
    assert (await ann.call("hand:lower"))["ok"]
    lowered = await ann.wait_for(
        "room:updated", lambda d: d["hands"] == [] and d["version"] > raised["version"]
    )
    assert lowered["title"] == "Thursday circle"
    assert not [d for d in ann.of("room:updated") if d["title"] == "Older title"]
