"""What the server sends is built on the wire side from the rules' values: a client sees only what it
may see, in the documented shape, and room-state events carry the version that was committed."""

from __future__ import annotations

from dataclasses import replace

from rooms import ChatMessage, Event, RoomDefinition, RoomState, ToRoom, apply
from rooms import commands as c
from rooms.model import Media
from signaling import events as ev
from signaling import protocol as p
from signaling import views
from signaling.views import encode
from tests.support.rooms import ROOM_DEFAULTS

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
