"""Room values survive the store and the bus exactly, and states and messages stored by the previous
release still read."""

from __future__ import annotations

import json
from dataclasses import fields

import msgpack

from rooms import ChatMessage, RoomDefinition
from rooms import commands as c
from rooms.codec import (
    chat_from_dict,
    chat_to_dict,
    room_from_dict,
    room_to_dict,
    state_from_dict,
    state_to_dict,
)
from rooms.model import ChatKind, PrivateChat, RoomState, SafetyPause, Segment, SegmentKind
from rooms.rules import apply
from tests.support.meetings import T0, join, meeting, room
from tests.support.rooms import ROOM_DEFAULTS

AGENDA = (
    Segment(SegmentKind.READING, "Welcome", "We are glad you are here."),
    Segment(SegmentKind.ROUND, "Check-in", limit_s=90),
)


def through_msgpack(d: dict[str, object]) -> dict[str, object]:
    value = msgpack.unpackb(msgpack.packb(d, use_bin_type=True), raw=False)
    assert isinstance(value, dict)
    return value


def test_a_state_with_every_field_set_round_trips_through_msgpack() -> None:
    s, _ = join(meeting(waiting_room=True), "dan", browser_key_hash="k4")
    s, _ = apply(s, c.Remove("fa", "dan"), T0)
    s, _ = join(s, "dan2", browser_key_hash="k4")
    s, _ = apply(s, c.RaiseConcern("ann", "k1", about="bob", text="Worried"), T0)
    s, _ = apply(s, c.SetAgenda("fa", AGENDA), T0)
    s, _ = apply(s, c.StepAgenda("fa", 1), T0)
    s, _ = apply(s, c.Safety("fa", True), T0)
    s, _ = apply(s, c.RequestUnmute("ann"), T0)
    s, _ = apply(s, c.SetPrivateChat("fa", PrivateChat.NOBODY), T0)
    assert s.waiting["dan2"].returning_removed and s.participants["ann"].unmute_requested
    assert isinstance(s.safety_pause, SafetyPause) and s.safety_pause.media_locked
    assert s.removed and s.concerns and s.segment == 1
    assert state_from_dict(through_msgpack(state_to_dict(s))) == s


def test_a_one_to_one_room_with_its_agenda_round_trips_through_json_and_msgpack() -> None:
    definition = RoomDefinition(
        id="r1",
        title="Sponsor and sponsee",
        host_key_hash="h",
        guidelines="Be kind.",
        guidelines_version=3,
        private_chat=PrivateChat.NOBODY,
        agenda=AGENDA,
        one_to_one=True,
        invite_key_hashes=("i0", "i1"),
        **ROOM_DEFAULTS,
    )
    assert room_from_dict(json.loads(json.dumps(room_to_dict(definition)))) == definition
    assert room_from_dict(through_msgpack(room_to_dict(definition))) == definition
    s, _ = join(RoomState.fresh(definition, T0), "sam", invite=1, accepted_guidelines=True)
    assert state_from_dict(through_msgpack(state_to_dict(s))) == s


# As the previous release wrote them.
OLD_ROOM = {
    "id": "r1",
    "title": "Tuesday circle",
    "host_key_hash": "h",
    "guidelines": "",
    "passcode_hash": None,
    "waiting_room": True,
    "max_participants": 50,
    "retention_s": 0,
    "max_messages": 500,
    "relay_only": False,
    "created_at": 0,
}
OLD_PARTICIPANT = {
    "id": "ann",
    "name": "Ann",
    "role": "member",
    "media": "av",
    "joined_at": T0,
    "instance": "i1",
    "conn": "sid-ann",
    "resume_gen": 0,
    "audio": True,
    "video": True,
    "hand": T0,
    "away": False,
    "away_since": None,
    "speaking": False,
    "media_locked": False,
    "browser_key_hash": "k1",
}
OLD_STATE = {
    "room": OLD_ROOM,
    "participants": [OLD_PARTICIPANT],
    "waiting": [],
    "hands": ["ann"],
    "speaker": {"id": "ann", "since": T0, "limit_s": 60},
    "locked": True,
    "waiting_room": False,
    "bans": ["key:k9"],
    "emptied_at": None,
    "version": 7,
}


def test_a_state_stored_by_the_previous_release_reads_with_every_new_field_at_its_default() -> None:
    s = state_from_dict(through_msgpack(OLD_STATE))
    assert s.version == 7 and s.locked and s.hands == ("ann",) and s.bans == frozenset({"key:k9"})
    assert s.room == RoomDefinition(
        id="r1", title="Tuesday circle", host_key_hash="h", waiting_room=True, **ROOM_DEFAULTS
    )
    assert s.room.guidelines_version == 1 and not s.room.one_to_one and s.room.agenda == ()
    assert s.safety_pause is None and not s.removed and s.agenda == () and s.segment is None
    assert s.private_chat is PrivateChat.EVERYONE and s.concerns == {}
    ann = s.participants["ann"]
    assert not ann.unmute_requested and not ann.returning_removed
    assert ann.guidelines_version is None and ann.invite is None
    # And the meeting goes on: the rules apply to it, and it is written back whole.
    s, _ = apply(s, c.LowerHand("ann"), T0)
    assert s.hands == () and s.version == 8
    assert state_from_dict(through_msgpack(state_to_dict(s))) == s


def test_a_state_stored_before_agendas_starts_with_its_rooms_default_agenda() -> None:
    d = {**OLD_STATE, "room": room_to_dict(room(agenda=AGENDA).room)}
    assert state_from_dict(d).agenda == AGENDA


def test_a_plain_chat_message_is_written_as_before_and_a_milestone_says_its_kind() -> None:
    plain = ChatMessage("0000000000000001", "ann", "Ann", "Hello", T0)
    assert "kind" not in chat_to_dict(plain)
    assert chat_from_dict(through_msgpack(chat_to_dict(plain))) == plain
    milestone = ChatMessage("0000000000000002", "ann", "Ann", "30 days", T0, kind=ChatKind.MILESTONE)
    assert chat_to_dict(milestone)["kind"] == "milestone"
    assert chat_from_dict(through_msgpack(chat_to_dict(milestone))) == milestone
    # Every field is written: one added to ChatMessage must be added to the codec too.
    private = ChatMessage("0000000000000003", "ann", "Ann", "Just you", T0, to="bob", kind=ChatKind.MILESTONE)
    assert set(chat_to_dict(private)) == {f.name for f in fields(ChatMessage)}
    assert chat_from_dict(through_msgpack(chat_to_dict(private))) == private


def test_a_chat_message_stored_by_the_previous_release_is_plain() -> None:
    old = {"id": "0000000000000001", "sender_id": "ann", "sender_name": "Ann", "text": "Hi", "at": T0}
    old["to"] = None
    assert chat_from_dict(old).kind is ChatKind.PLAIN
