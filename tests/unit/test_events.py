"""What the server sends is built on the wire side from the rules' values: a client sees only what it
may see, in the documented shape, and room-state events carry the version that was committed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rooms import ChatMessage, Event, Outcome, Refusal, RoomDefinition, RoomState, ToRoom, apply
from rooms import commands as c
from rooms.model import ChatKind, Media, PrivateChat, Segment, SegmentKind
from signaling import events as ev
from signaling import protocol as p
from signaling import views
from signaling.views import encode
from tests.support.rooms import ROOM_DEFAULTS
from tests.unit.test_rules_properties import commands, who

T0 = 1_700_000_000_000


def meeting() -> RoomState:
    room = RoomDefinition(id="r1", title="Tuesday circle", host_key_hash="h", **ROOM_DEFAULTS)
    state = RoomState.fresh(room, T0)
    for pid, host in (("fa", True), ("ann", False)):
        join = c.Join(pid, pid.title(), Media.AV, "i-one", f"sid-{pid}", is_host=host, browser_key_hash="k")
        state, _ = apply(state, join, T0)
    return state


def test_a_participant_is_sent_without_keys_tokens_instances_or_connections() -> None:
    ann = meeting().participants["ann"]
    sent = encode(views.participant_view(ann))
    assert set(sent) == {
        "id",
        "name",
        "role",
        "media",
        "audio",
        "video",
        "hand",
        "away",
        "joined_at",
        "speaking",
        "media_locked",
        "unmute_requested",
    }
    assert sent["role"] == "member" and sent["media"] == "av"
    assert "sid-ann" not in repr(sent) and "i-one" not in repr(sent)


def test_only_a_private_chat_message_names_its_recipient() -> None:
    said = ChatMessage("0000000000000001", "ann", "Ann", "hello", T0)
    assert encode(ev.chat_message(said)) == {
        "id": "0000000000000001",
        "from": {"id": "ann", "name": "Ann"},
        "text": "hello",
        "at": T0,
    }
    private = encode(ev.chat_message(replace(said, to="fa")))
    assert private["to"] == "fa"


def test_the_waiting_room_is_shown_to_facilitators_only() -> None:
    state, _ = apply(meeting(), c.SetWaitingRoom("fa", True), T0)
    state, _ = apply(state, c.Join("wes", "Wes", Media.TEXT, "i-one", "sid-wes"), T0)
    fa, ann = state.participants["fa"], state.participants["ann"]
    assert [w.id for w in views.room_snapshot(state, fa, []).waiting] == ["wes"]
    assert views.room_snapshot(state, ann, []).waiting == ()
    sync = encode(ev.room_sync(state))
    assert "waiting" not in sync and "chat" not in sync and sync["version"] == state.version


def test_room_state_events_carry_the_committed_version() -> None:
    state = meeting()
    ann = state.participants["ann"]
    committed = replace(state, version=41)
    joined = encode(ev.from_rules(Event("participant:joined", ann, ToRoom()), committed))
    assert joined["version"] == 41 and joined["id"] == "ann"
    updated = encode(ev.from_rules(Event("room:updated", state), committed))
    assert updated == {
        "locked": False,
        "waiting_room": False,
        "hands": [],
        "speaker": None,
        "title": "Tuesday circle",
        "version": 41,
        "safety": False,
        "agenda": [],
        "segment": None,
        "facilitator_present": True,
        "private_chat": "everyone",
        "media_mode": "mesh",
        "media_epoch": 0,
    }
    left = encode(ev.from_rules(Event("participant:left", {"id": "ann", "reason": "left"}), committed))
    assert left == {"id": "ann", "reason": "left", "version": 41}


def test_a_relayed_signal_carries_only_what_was_sent() -> None:
    offer = p.SessionDescription("offer", "v=0")
    assert encode(ev.SignalRelayed("ann", description=offer)) == {
        "from": "ann",
        "description": {"type": "offer", "sdp": "v=0"},
    }
    candidate = p.IceCandidate("candidate:1", "0", 0, None)
    assert encode(ev.SignalRelayed("ann", candidate=candidate))["candidate"] == {
        "candidate": "candidate:1",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": None,
    }


# -- the peer-support meeting's events -------------------------------------------------------------

AGENDA = (
    Segment(SegmentKind.READING, "Opening statement", "We meet to share our experience."),
    Segment(SegmentKind.ROUND, "Check-in", limit_s=60),
    Segment(SegmentKind.OPEN, "Open sharing"),
)


def sent(outcome: Outcome, state: RoomState, name: str) -> list[dict[str, Any]]:
    """The wire messages of the events called `name` in `outcome`, as committed in `state`."""
    return [encode(ev.from_rules(e, state)) for e in outcome.events if e.name == name]


def test_the_room_and_its_snapshot_carry_the_agenda_in_its_wire_shape_and_the_meeting_state() -> None:
    state, out = apply(meeting(), c.SetAgenda("fa", AGENDA), T0)
    state, out = apply(state, c.StepAgenda("fa", 1), T0)
    (updated,) = sent(out, state, "room:updated")
    agenda = [
        {"kind": "reading", "title": "Opening statement", "text": "We meet to share our experience."},
        {"kind": "round", "title": "Check-in", "limit_s": 60},
        {"kind": "open", "title": "Open sharing"},
    ]
    assert updated["agenda"] == agenda and updated["segment"] == 1 and updated["hands"] == ["ann"]
    state, out = apply(state, c.Safety("fa", True), T0)
    state, out = apply(state, c.SetPrivateChat("fa", PrivateChat.FACILITATORS), T0)
    (updated,) = sent(out, state, "room:updated")
    assert updated["safety"] is True and updated["private_chat"] == "facilitators"
    snapshot = encode(views.room_snapshot(state, state.participants["ann"], []))
    assert snapshot["agenda"] == agenda and snapshot["segment"] == 1
    assert snapshot["safety"] is True and snapshot["private_chat"] == "facilitators"
    assert snapshot["facilitator_present"] is True
    assert encode(ev.room_sync(state))["agenda"] == agenda


def test_the_room_is_told_when_its_last_facilitator_leaves_and_those_waiting_too() -> None:
    state, _ = apply(meeting(), c.SetWaitingRoom("fa", True), T0)
    state, _ = apply(state, c.Join("wes", "Wes", Media.TEXT, "i-one", "sid-wes"), T0)
    state, out = apply(state, c.Leave("fa"), T0)
    (updated,) = sent(out, state, "room:updated")
    assert updated["facilitator_present"] is False
    assert sent(out, state, "lobby:facilitator") == [{"present": False}]


def test_a_returning_removed_person_is_flagged_to_facilitators_in_the_waiting_room() -> None:
    state, _ = apply(meeting(), c.SetWaitingRoom("fa", True), T0)
    state, _ = apply(state, c.Remove("fa", "ann"), T0)
    state, out = apply(state, c.Join("ann2", "Ann", Media.AV, "i-one", "sid-a2", browser_key_hash="k"), T0)
    (waiting,) = sent(out, state, "lobby:waiting")
    assert waiting["returning_removed"] is True and waiting["id"] == "ann2"
    fa = state.participants["fa"]
    (listed,) = encode(views.room_snapshot(state, fa, []))["waiting"]
    assert listed["returning_removed"] is True


def test_a_request_to_unmute_reaches_facilitators_and_shows_on_the_participant() -> None:
    state, _ = apply(meeting(), c.LockMedia("fa", "ann", True), T0)
    state, out = apply(state, c.RequestUnmute("ann"), T0 + 5)
    assert sent(out, state, "media:unmute-requested") == [{"id": "ann", "requested": True, "at": T0 + 5}]
    assert encode(views.participant_view(state.participants["ann"]))["unmute_requested"] is True
    state, out = apply(state, c.LockMedia("fa", "ann", False), T0)
    assert sent(out, state, "media:unmute-requested") == [{"id": "ann", "requested": False}]
    (updated,) = sent(out, state, "participant:updated")
    assert updated["unmute_requested"] is False and updated["media_locked"] is False


def test_a_concern_is_sent_to_facilitators_as_id_from_about_text_at() -> None:
    state, _ = apply(meeting(), c.Join("bob", "Bob", Media.AV, "i-one", "sid-bob"), T0)
    state, out = apply(state, c.RaiseConcern("ann", "k1", about="bob", text=" Low tonight "), T0 + 9)
    assert sent(out, state, "concern:raised") == [
        {
            "id": "k1",
            "from": {"id": "ann", "name": "Ann"},
            "about": {"id": "bob", "name": "Bob"},
            "text": "Low tonight",
            "at": T0 + 9,
        }
    ]
    state, out = apply(state, c.RaiseConcern("ann", "k2"), T0 + 10)
    (bare,) = sent(out, state, "concern:raised")
    assert bare["about"] is None and bare["text"] is None
    state, out = apply(state, c.ConcernSeen("fa", "k1"), T0)
    assert sent(out, state, "concern:seen") == [{"id": "k1", "by": "fa"}] * 2


def test_a_deleted_message_is_sent_as_its_id() -> None:
    state, out = apply(meeting(), c.DeleteChat("fa", "0000000000000007"), T0)
    assert sent(out, state, "chat:deleted") == [{"id": "0000000000000007"}]


def test_a_milestone_says_its_kind_and_a_plain_message_says_none() -> None:
    plain = ChatMessage("0000000000000001", "ann", "Ann", "hello", T0)
    milestone = replace(plain, text="30 days", kind=ChatKind.MILESTONE)
    assert "kind" not in encode(ev.chat_message(plain))
    assert encode(ev.chat_message(milestone))["kind"] == "milestone"


def test_every_event_the_server_sends_is_a_named_protocol_event() -> None:
    assert sorted(e.value for e in p.ServerEvent) == sorted(ev.SERVER_EVENTS)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(commands, st.builds(c.DeleteChat, who, st.just("0000000000000001"))), max_size=40))
def test_every_event_the_rules_decide_has_its_wire_event(cmds: list[c.Command]) -> None:
    state = RoomState.fresh(RoomDefinition(id="r", title="t", host_key_hash="h", **ROOM_DEFAULTS), 0)
    for now, command in enumerate(cmds, start=1):
        if isinstance(command, c.Join) and state.find(command.new_id) is not None:
            continue
        try:
            state, out = apply(state, command, now)
        except Refusal:
            continue
        for event in out.events:
            # Completed by joining, which adds the chat and a resume token only it has.
            if event.name != ev.LobbyAdmitted.event:
                wire = ev.from_rules(event, state)
                assert wire.event == event.name and isinstance(encode(wire), dict)
