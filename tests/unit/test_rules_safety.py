"""The safety pause, muting everyone, admitting everyone and asking to be unmuted, without any network."""

from __future__ import annotations

from rooms import Event, ToFacilitators, ToParticipant, ToRoom
from rooms import commands as c
from rooms.model import Media, Role, RoomState
from rooms.roster import room_updated
from rooms.rules import apply
from tests.support.meetings import T0, events_named, join, meeting, names, refused, room


def busy_meeting(**kw: object) -> RoomState:
    """`fa` and co-facilitator `fb`, `ann` (camera and microphone, hand up), `bob` (text only), `cat`
    (audio only, hand up), and `fa` with a hand up too."""
    s = meeting(**kw)
    s, _ = join(s, "fb", host=True, now=T0 + 3)
    s, _ = join(s, "cat", media=Media.AUDIO, now=T0 + 4)
    s, _ = apply(s, c.AdmitAll("fa"), T0 + 4)
    for pid in ("ann", "cat", "fa"):
        s, _ = apply(s, c.RaiseHand(pid), T0 + 5)
    return s


def test_safety_pause_locks_opens_the_waiting_room_lowers_hands_and_holds_members_muted() -> None:
    s = busy_meeting()
    s, out = apply(s, c.Safety("fa", True), T0 + 10)
    assert s.safety and s.locked and s.waiting_room
    assert s.hands == () and all(p.hand is None for p in s.participants.values())
    for pid in ("ann", "bob", "cat"):
        p = s.participants[pid]
        assert p.media_locked and not p.audio and not p.video and not p.speaking
    for pid in ("fa", "fb"):
        p = s.participants[pid]
        assert not p.media_locked and p.audio and p.video
    muted = events_named(out, "you:muted")
    assert muted == [
        Event("you:muted", {"by": "fa", "audio": True, "video": True}, ToParticipant("ann")),
        Event("you:muted", {"by": "fa", "audio": True, "video": False}, ToParticipant("cat")),
    ]
    assert out.events[-1].name == "room:updated" and out.events[-1].audience == ToRoom()
    assert out.events[-1] == room_updated(s) and s.safety and s.hands == ()
    refused("forbidden", s, c.SetMedia("ann", True, False))
    refused("room_locked", s, c.Join("dan", "Dan", Media.AV, "i1", "sid-dan"))


def test_lifting_the_pause_restores_an_open_room_as_it_was() -> None:
    s = busy_meeting()
    s, _ = apply(s, c.Safety("fa", True), T0)
    s, out = apply(s, c.Safety("fa", False), T0)
    assert not s.safety and not s.locked and not s.waiting_room
    assert out.events[-1] == room_updated(s)
    # Released, not unmuted: each member turns their own microphone back on.
    ann = s.participants["ann"]
    assert not ann.media_locked and not ann.audio
    s, _ = apply(s, c.SetMedia("ann", True, True), T0)
    assert s.participants["ann"].audio


def test_lifting_the_pause_keeps_a_lock_and_waiting_room_that_were_on_before() -> None:
    s = busy_meeting(waiting_room=True)
    s, _ = apply(s, c.Lock("fa", True), T0)
    s, _ = apply(s, c.Safety("fa", True), T0)
    s, _ = apply(s, c.Safety("fa", False), T0)
    assert s.locked and s.waiting_room


def test_lifting_the_pause_releases_only_the_media_locks_it_set() -> None:
    s = busy_meeting()
    s, _ = apply(s, c.LockMedia("fa", "ann", True), T0)
    s, _ = apply(s, c.Safety("fa", True), T0)
    s, out = apply(s, c.Safety("fa", False), T0)
    assert s.participants["ann"].media_locked
    assert not s.participants["bob"].media_locked and not s.participants["cat"].media_locked
    updated = [e.payload.id for e in events_named(out, "participant:updated")]
    assert sorted(updated) == ["bob", "cat"]


def test_what_a_facilitator_sets_during_the_pause_outlives_it() -> None:
    s = busy_meeting()
    s, _ = apply(s, c.Safety("fa", True), T0)
    # The facilitator unlocks and locks the room again, and keeps ann held muted on purpose.
    s, _ = apply(s, c.Lock("fa", False), T0)
    s, _ = apply(s, c.Lock("fa", True), T0)
    s, _ = apply(s, c.LockMedia("fa", "ann", True), T0)
    s, _ = apply(s, c.LockMedia("fa", "bob", False), T0)
    s, _ = apply(s, c.Safety("fa", False), T0)
    assert s.locked and s.participants["ann"].media_locked
    assert not s.participants["bob"].media_locked and not s.participants["cat"].media_locked
    # The waiting room, which no one touched, is off again as before.
    assert not s.waiting_room


def test_those_arriving_during_the_pause_wait_and_stay_waiting_after_it() -> None:
    s = busy_meeting()
    s, _ = apply(s, c.Safety("fa", True), T0)
    s, _ = apply(s, c.Lock("fa", False), T0)
    s, out = join(s, "dan")
    assert "dan" in s.waiting and out.result["waiting"] is True
    s, _ = apply(s, c.Safety("fa", False), T0)
    assert not s.waiting_room and "dan" in s.waiting
    s, _ = apply(s, c.Admit("fa", "dan"), T0)
    assert "dan" in s.participants


def test_members_let_in_during_the_pause_are_held_muted_and_released_with_it() -> None:
    s = busy_meeting(waiting_room=True)
    s, _ = apply(s, c.Safety("fa", True), T0)
    s, _ = apply(s, c.Lock("fa", False), T0)
    s, _ = join(s, "dan")
    s, _ = join(s, "fc", host=True)
    s, out = apply(s, c.Admit("fa", "dan"), T0)
    dan = s.participants["dan"]
    assert dan.media_locked and not dan.audio and not dan.video
    assert out.events[0] == Event("participant:joined", dan, ToRoom(skip="dan"))
    assert not s.participants["fc"].media_locked
    s, _ = apply(s, c.Safety("fa", False), T0)
    assert not s.participants["dan"].media_locked


def test_safety_pause_twice_changes_nothing_the_second_time() -> None:
    s = busy_meeting()
    s, _ = apply(s, c.Safety("fa", True), T0)
    same, out = apply(s, c.Safety("fb", True), T0)
    assert same is s and out.events == ()
    s, _ = apply(s, c.Safety("fb", False), T0)
    same, out = apply(s, c.Safety("fa", False), T0)
    assert same is s and out.events == ()


def test_mute_all_mutes_everyone_but_facilitators_and_tells_each_what_it_muted() -> None:
    s = busy_meeting()
    s, out = apply(s, c.MuteAll("fb"), T0)
    assert out.result == {"muted": 2}  # bob, text only, has nothing to mute
    assert not s.participants["ann"].audio and not s.participants["cat"].audio
    assert s.participants["fa"].audio and s.participants["fb"].audio
    told = [e.audience for e in events_named(out, "you:muted")]
    assert told == [ToParticipant("ann"), ToParticipant("cat")]
    assert not s.participants["ann"].media_locked
    s, _ = apply(s, c.SetMedia("ann", True, False), T0)
    assert s.participants["ann"].audio


def test_mute_all_with_lock_holds_every_member_muted() -> None:
    s = busy_meeting()
    s, out = apply(s, c.MuteAll("fa", lock=True), T0)
    assert out.result == {"muted": 3}
    assert all(s.participants[pid].media_locked for pid in ("ann", "bob", "cat"))
    assert not s.participants["fb"].media_locked
    refused("forbidden", s, c.SetMedia("cat", True, False))
    again, out = apply(s, c.MuteAll("fa", lock=True), T0)
    assert again is s and out.result == {"muted": 0}


def test_mute_all_with_lock_during_the_pause_outlives_it() -> None:
    s = busy_meeting()
    s, _ = apply(s, c.Safety("fa", True), T0)
    s, _ = apply(s, c.MuteAll("fa", lock=True), T0)
    s, _ = apply(s, c.Safety("fa", False), T0)
    # Everyone was already held by the pause: mute-all then changed nobody, so the pause still lifts.
    assert not s.participants["ann"].media_locked
    s, _ = apply(s, c.Safety("fa", True), T0)
    s, _ = apply(s, c.LockMedia("fa", "ann", False), T0)
    s, _ = apply(s, c.MuteAll("fa", lock=True), T0)
    s, _ = apply(s, c.Safety("fa", False), T0)
    assert s.participants["ann"].media_locked and not s.participants["cat"].media_locked


def test_request_unmute_reaches_facilitators_only_and_lifting_the_lock_answers_it() -> None:
    s = busy_meeting()
    s, _ = apply(s, c.LockMedia("fa", "ann", True), T0)
    s, out = apply(s, c.RequestUnmute("ann"), T0 + 7)
    assert s.participants["ann"].unmute_requested
    assert out.events == (
        Event("media:unmute-requested", {"id": "ann", "requested": True, "at": T0 + 7}, ToFacilitators()),
    )
    assert out.result == {"requested": True}
    again, out = apply(s, c.RequestUnmute("ann"), T0 + 8)
    assert again is s and out.events == () and out.result == {"requested": True}
    s, out = apply(s, c.LockMedia("fb", "ann", False), T0)
    assert not s.participants["ann"].unmute_requested and not s.participants["ann"].media_locked
    assert names(out) == ["participant:updated", "media:unmute-requested"]
    answered = Event("media:unmute-requested", {"id": "ann", "requested": False}, ToFacilitators())
    assert out.events[1] == answered


def test_keeping_the_lock_also_answers_a_request_to_unmute() -> None:
    s = busy_meeting()
    s, _ = apply(s, c.Safety("fa", True), T0)
    s, _ = apply(s, c.RequestUnmute("cat"), T0)
    s, out = apply(s, c.LockMedia("fa", "cat", True), T0)
    assert s.participants["cat"].media_locked and not s.participants["cat"].unmute_requested
    assert "media:unmute-requested" in names(out)


def test_lifting_the_pause_answers_open_requests_to_unmute() -> None:
    s = busy_meeting()
    s, _ = apply(s, c.Safety("fa", True), T0)
    s, _ = apply(s, c.RequestUnmute("ann"), T0)
    s, out = apply(s, c.Safety("fa", False), T0)
    assert not s.participants["ann"].unmute_requested
    assert Event("media:unmute-requested", {"id": "ann", "requested": False}, ToFacilitators()) in out.events


def test_request_unmute_needs_media_that_is_held_muted() -> None:
    s = busy_meeting()
    refused("bad_request", s, c.RequestUnmute("ann"))
    s, _ = apply(s, c.MuteAll("fa", lock=True), T0)
    refused("bad_request", s, c.RequestUnmute("bob"))  # text only: nothing to unmute
    refused("not_joined", s, c.RequestUnmute("stranger"))
    s, _ = apply(s, c.SetWaitingRoom("fa", True), T0)
    s, _ = join(s, "wes")
    refused("forbidden", s, c.RequestUnmute("wes"))


def test_admit_all_lets_everyone_waiting_in() -> None:
    s, _ = join(room(waiting_room=True), "fa", host=True)
    s, _ = join(s, "ann")
    s, _ = join(s, "bob")
    s, out = apply(s, c.AdmitAll("fa"), T0)
    assert list(s.participants) == ["fa", "ann", "bob"] and not s.waiting
    assert out.result == {"admitted": 2}
    assert names(out) == ["participant:joined", "lobby:admitted"] * 2
    same, out = apply(s, c.AdmitAll("fa"), T0)
    assert same is s and out.result == {"admitted": 0}


def test_a_new_co_facilitator_is_told_who_is_already_waiting_and_a_new_member_is_not() -> None:
    s, _ = join(room(waiting_room=True), "fa", host=True)
    s, _ = join(s, "ann")
    s, _ = apply(s, c.Admit("fa", "ann"), T0)
    s, _ = join(s, "bob")
    s, _ = join(s, "cat")
    s, out = apply(s, c.SetRole("fa", "ann", Role.FACILITATOR), T0)
    assert names(out) == ["participant:updated", "lobby:waiting", "lobby:waiting"]
    waiting = events_named(out, "lobby:waiting")
    assert [e.payload for e in waiting] == [s.waiting["bob"], s.waiting["cat"]]
    assert {e.audience for e in waiting} == {ToParticipant("ann")}
    s, out = apply(s, c.SetRole("fa", "ann", Role.MEMBER), T0)
    assert names(out) == ["participant:updated"]
