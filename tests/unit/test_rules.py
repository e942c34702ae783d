"""The room rules, without any network: every command and every refusal."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from rooms import Event, Outcome, Refusal, RoomState, ToFacilitators, ToParticipant, ToRoom
from rooms import commands as c
from rooms.codec import state_from_dict, state_to_dict
from rooms.model import Media, PrivateChat, Role, Segment, SegmentKind
from rooms.rules import apply, check_chat
from tests.support.meetings import T0, join, meeting, names, refusal_of, refused, room

# -- joining ---------------------------------------------------------------------------------------


def test_join_adds_participant_and_tells_the_others_not_the_joiner() -> None:
    s, out = join(room(), "ann")
    assert list(s.participants) == ["ann"]
    assert out.result == {"id": "ann", "waiting": False}
    assert out.events == (Event("participant:joined", s.participants["ann"], ToRoom(skip="ann")),)
    assert s.version == 1


def test_host_becomes_facilitator_and_member_does_not() -> None:
    s = meeting()
    assert s.participants["fa"].role is Role.FACILITATOR
    assert s.participants["ann"].role is Role.MEMBER


def test_media_mode_sets_initial_tracks() -> None:
    s, _ = join(room(), "a", media=Media.AV)
    s, _ = join(s, "b", media=Media.AUDIO)
    s, _ = join(s, "c", media=Media.TEXT)
    assert (s.participants["a"].audio, s.participants["a"].video) == (True, True)
    assert (s.participants["b"].audio, s.participants["b"].video) == (True, False)
    assert (s.participants["c"].audio, s.participants["c"].video) == (False, False)


def test_guidelines_must_be_accepted() -> None:
    s = room(guidelines="What is said here stays here.")
    assert refusal_of(join, s, "ann") == "bad_request"
    s, _ = join(s, "ann", accepted_guidelines=True)
    assert "ann" in s.participants


def test_passcode_is_required_of_members_but_not_hosts() -> None:
    s = room(passcode_hash="x")
    assert refusal_of(join, s, "ann") == "wrong_passcode"
    s, _ = join(s, "ann", passcode_ok=True)
    s, _ = join(s, "fa", host=True)
    assert set(s.participants) == {"ann", "fa"}


def test_locked_room_refuses_members_but_admits_facilitators() -> None:
    s = meeting()
    s, out = apply(s, c.Lock("fa", True), T0)
    assert names(out) == ["room:updated"] and s.locked
    assert refusal_of(join, s, "cat") == "room_locked"
    s, _ = join(s, "fb", host=True)
    assert "fb" in s.participants


def test_full_room_refuses_members() -> None:
    s = room(max_participants=2)
    s, _ = join(s, "a")
    s, _ = join(s, "b")
    assert refusal_of(join, s, "c") == "room_full"
    s, _ = join(s, "fa", host=True)
    assert len(s.participants) == 3


def test_waiting_room_holds_members_and_tells_facilitators_only() -> None:
    s, _ = join(room(waiting_room=True), "fa", host=True)
    s, out = join(s, "ann")
    assert "ann" in s.waiting and "ann" not in s.participants
    assert out.result["waiting"] is True
    assert out.events[0].name == "lobby:waiting"
    assert out.events[0].audience == ToFacilitators()


def test_admit_moves_from_waiting_to_room_and_tells_everyone() -> None:
    s, _ = join(room(waiting_room=True), "fa", host=True)
    s, _ = join(s, "ann")
    s, out = apply(s, c.Admit("fa", "ann"), T0)
    assert "ann" in s.participants and not s.waiting
    assert names(out) == ["participant:joined", "lobby:admitted"]
    admitted = out.events[1]
    assert admitted.audience == ToParticipant("ann")
    assert isinstance(admitted.payload, RoomState)
    assert list(admitted.payload.participants) == ["fa", "ann"]


def test_deny_removes_from_waiting_and_closes_the_connection() -> None:
    s, _ = join(room(waiting_room=True), "fa", host=True)
    s, _ = join(s, "ann")
    s, out = apply(s, c.Deny("fa", "ann"), T0)
    assert not s.waiting
    assert out.events[0] == Event("lobby:denied", {"reason": "denied"}, ToParticipant("ann"))
    assert [k.conn for k in out.kicks] == ["sid-ann"]


def test_turning_waiting_room_off_admits_everyone_waiting() -> None:
    s, _ = join(room(waiting_room=True), "fa", host=True)
    s, _ = join(s, "ann")
    s, _ = join(s, "bob")
    s, out = apply(s, c.SetWaitingRoom("fa", False), T0)
    assert list(s.participants) == ["fa", "ann", "bob"] and not s.waiting
    assert names(out).count("lobby:admitted") == 2
    assert names(out)[-1] == "room:updated"


def test_waiting_member_cannot_act_in_the_room() -> None:
    s, _ = join(room(waiting_room=True), "fa", host=True)
    s, _ = join(s, "ann")
    refused("forbidden", s, c.RaiseHand("ann"))
    refused("forbidden", s, c.SetMedia("ann", False, False))
    with pytest.raises(Refusal):
        check_chat(s, "ann", None)


# -- resume and disconnect -------------------------------------------------------------------------


def test_disconnect_is_not_a_leave() -> None:
    s = meeting()
    s, out = apply(s, c.Disconnect("ann", "sid-ann"), T0 + 5)
    assert s.participants["ann"].away and s.participants["ann"].away_since == T0 + 5
    assert names(out) == ["participant:updated"]


def test_disconnect_of_a_replaced_connection_is_ignored() -> None:
    s = meeting()
    same, out = apply(s, c.Disconnect("ann", "some-old-sid"), T0)
    assert same is s and out == Outcome()


def test_resume_restores_id_role_and_hand_and_rotates_the_token() -> None:
    s = meeting()
    s, _ = apply(s, c.RaiseHand("ann"), T0 + 1)
    s, _ = apply(s, c.Disconnect("ann", "sid-ann"), T0 + 2)
    gen = s.participants["ann"].resume_gen
    s, out = join(s, "new-id", resume_of=("ann", gen), now=T0 + 3)
    ann = s.participants["ann"]
    assert out.result["id"] == "ann" and out.result["resumed"]
    assert "new-id" not in s.participants
    assert not ann.away and ann.hand == T0 + 1 and s.hands == ("ann",)
    assert ann.resume_gen == gen + 1 and ann.conn == "sid-new-id"
    # The old token no longer resumes: a stale generation joins as someone new.
    s, out = join(s, "other", resume_of=("ann", gen), now=T0 + 4)
    assert out.result["id"] == "other"


def test_resume_takes_over_a_still_attached_connection() -> None:
    s = meeting()
    gen = s.participants["ann"].resume_gen
    s, out = join(s, "x", resume_of=("ann", gen))
    assert [(k.id, k.conn) for k in out.kicks] == [("ann", "sid-ann")]


def test_facilitator_resumes_as_facilitator() -> None:
    s = meeting()
    s, out = join(s, "x", resume_of=("fa", 0))
    assert out.result["id"] == "fa" and s.participants["fa"].role is Role.FACILITATOR


def test_sweep_removes_those_away_past_the_grace() -> None:
    s = meeting()
    s, _ = apply(s, c.Disconnect("ann", "sid-ann"), T0)
    s, out = apply(s, c.Sweep(grace_s=30), T0 + 29_999)
    assert "ann" in s.participants and out.events == ()
    s, out = apply(s, c.Sweep(grace_s=30), T0 + 30_000)
    assert "ann" not in s.participants
    assert out.events[0] == Event("participant:left", {"id": "ann", "reason": "disconnected"}, ToRoom())


def test_sweep_marks_away_everyone_on_a_dead_instance() -> None:
    s = meeting()
    s = s.with_participant(replace(s.participants["bob"], instance="i2"))
    s, out = apply(s, c.Sweep(grace_s=30, dead_instances=frozenset({"i2"})), T0)
    assert s.participants["bob"].away and not s.participants["ann"].away
    assert names(out) == ["participant:updated"]
    # Sweeping again changes nothing: two instances sweeping the same room tell the room once.
    again, out = apply(s, c.Sweep(grace_s=30, dead_instances=frozenset({"i2"})), T0 + 1)
    assert again is s and out.events == ()


def test_room_empties_when_the_last_person_leaves() -> None:
    s, _ = join(room(), "ann")
    s, out = apply(s, c.Leave("ann"), T0 + 10)
    assert s.is_empty and out.emptied and s.emptied_at == T0 + 10


# -- media and speaking ----------------------------------------------------------------------------


def test_media_state_changes_are_told_to_the_room() -> None:
    s = meeting()
    s, out = apply(s, c.SetMedia("ann", False, True), T0)
    assert (s.participants["ann"].audio, s.participants["ann"].video) == (False, True)
    assert names(out) == ["participant:updated"]
    same, out = apply(s, c.SetMedia("ann", False, True), T0)
    assert same is s and out.events == ()


def test_text_only_and_audio_only_cannot_turn_on_what_they_do_not_send() -> None:
    s = meeting()
    refused("bad_request", s, c.SetMedia("bob", True, False))
    s, _ = join(s, "cat", media=Media.AUDIO)
    refused("bad_request", s, c.SetMedia("cat", True, True))


def test_speaking_needs_an_open_microphone() -> None:
    s = meeting()
    s, out = apply(s, c.SetSpeaking("ann", True), T0)
    assert s.participants["ann"].speaking and names(out) == ["participant:updated"]
    s, _ = apply(s, c.SetMedia("ann", False, True), T0)
    assert not s.participants["ann"].speaking
    same, _ = apply(s, c.SetSpeaking("ann", True), T0)
    assert not same.participants["ann"].speaking


def test_mute_tells_the_target_and_unmute_is_theirs_unless_locked() -> None:
    s = meeting()
    s, out = apply(s, c.Mute("fa", "ann", audio=True, video=False), T0)
    assert not s.participants["ann"].audio and s.participants["ann"].video
    assert out.events[-1] == Event(
        "you:muted", {"by": "fa", "audio": True, "video": False}, ToParticipant("ann")
    )
    s, _ = apply(s, c.SetMedia("ann", True, True), T0)
    assert s.participants["ann"].audio
    s, _ = apply(s, c.LockMedia("fa", "ann", True), T0)
    s, _ = apply(s, c.Mute("fa", "ann", audio=True, video=True), T0)
    refused("forbidden", s, c.SetMedia("ann", True, False))
    s, _ = apply(s, c.SetMedia("ann", False, False), T0)  # staying muted is always allowed
    s, _ = apply(s, c.LockMedia("fa", "ann", False), T0)
    s, _ = apply(s, c.SetMedia("ann", True, False), T0)
    assert s.participants["ann"].audio


# -- hands and speakers ----------------------------------------------------------------------------


def test_hands_queue_in_raise_order_and_raising_twice_keeps_the_place() -> None:
    s = meeting()
    s, out = apply(s, c.RaiseHand("bob"), T0 + 1)
    assert out.result == {"position": 1}
    s, _ = apply(s, c.RaiseHand("ann"), T0 + 2)
    s, out = apply(s, c.RaiseHand("bob"), T0 + 3)
    assert out.result == {"position": 1} and s.hands == ("bob", "ann")
    assert s.participants["bob"].hand == T0 + 1
    s, out = apply(s, c.LowerHand("bob"), T0 + 4)
    assert s.hands == ("ann",) and s.participants["bob"].hand is None
    assert names(out) == ["participant:updated", "room:updated"]


def test_next_speaker_takes_the_first_hand_with_a_timer() -> None:
    s = meeting()
    s, _ = apply(s, c.RaiseHand("bob"), T0 + 1)
    s, _ = apply(s, c.RaiseHand("ann"), T0 + 2)
    s, out = apply(s, c.NextSpeaker("fa", limit_s=180), T0 + 3)
    assert s.speaker is not None and (s.speaker.id, s.speaker.limit_s) == ("bob", 180)
    assert s.hands == ("ann",) and s.participants["bob"].hand is None
    assert out.result == {"speaker": "bob"}
    s, _ = apply(s, c.NextSpeaker("fa"), T0 + 4)
    s, out = apply(s, c.NextSpeaker("fa"), T0 + 5)
    assert s.speaker is None and out.result == {"speaker": None, "nobody_waiting": True}


def test_speaker_leaving_clears_the_floor() -> None:
    s = meeting()
    s, _ = apply(s, c.RaiseHand("ann"), T0)
    s, _ = apply(s, c.NextSpeaker("fa"), T0)
    s, out = apply(s, c.Leave("ann"), T0)
    assert s.speaker is None and "room:updated" in names(out)


def test_facilitator_lowers_a_hand() -> None:
    s = meeting()
    s, _ = apply(s, c.RaiseHand("ann"), T0)
    s, _ = apply(s, c.LowerHandOf("fa", "ann"), T0)
    assert s.hands == ()


# -- facilitation rights ---------------------------------------------------------------------------


def asked_by(who: str, command: Any) -> c.Command:
    return replace(command, by=who)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "command",
    [
        c.Admit("ann", "x"),
        c.Deny("ann", "x"),
        c.Mute("ann", "bob", True, True),
        c.LockMedia("ann", "bob", True),
        c.Remove("ann", "bob"),
        c.Lock("ann", True),
        c.SetWaitingRoom("ann", True),
        c.NextSpeaker("ann"),
        c.LowerHandOf("ann", "bob"),
        c.SetRole("ann", "bob", Role.FACILITATOR),
        c.End("ann"),
        c.Safety("ann", True),
        c.AdmitAll("ann"),
        c.MuteAll("ann"),
        c.MuteAll("ann", lock=True),
        c.ReorderHands("ann", ()),
        c.SetAgenda("ann", (Segment(SegmentKind.OPEN, "Sharing"),)),
        c.StepAgenda("ann", None),
        c.ConcernSeen("ann", "x"),
        c.DeleteChat("ann", "0000000000000001"),
        c.SetPrivateChat("ann", PrivateChat.NOBODY),
    ],
)
def test_members_cannot_facilitate(command: c.Command) -> None:
    s = meeting()
    refused("forbidden", s, command)
    s, _ = apply(s, c.SetWaitingRoom("fa", True), T0)
    s, _ = join(s, "wes")
    refused("forbidden", s, asked_by("wes", command))
    refused("not_joined", s, asked_by("stranger", command))


def test_remove_with_ban_keeps_out_the_id_and_the_browser_key() -> None:
    s, _ = join(room(), "fa", host=True)
    s, _ = join(s, "ann", browser_key_hash="k1")
    s, out = apply(s, c.Remove("fa", "ann", ban=True), T0)
    assert "ann" not in s.participants
    assert out.events[0] == Event("you:removed", {"ban": True}, ToParticipant("ann"))
    assert out.events[1].payload == {"id": "ann", "reason": "removed"}
    assert [k.conn for k in out.kicks] == ["sid-ann"]
    for attempt in ({"browser_key_hash": "k1"}, {"resume_of": ("ann", 0)}):
        assert refusal_of(join, s, "again", **attempt) == "banned"


def test_remove_without_ban_keeps_them_out_only_until_the_meeting_ends() -> None:
    s, _ = join(room(), "fa", host=True)
    s, _ = join(s, "ann", browser_key_hash="k1")
    s, out = apply(s, c.Remove("fa", "ann"), T0)
    assert out.events[0] == Event("you:removed", {"ban": False}, ToParticipant("ann"))
    assert refusal_of(join, s, "ann2", browser_key_hash="k1") == "banned"
    s, _ = apply(s, c.Leave("fa"), T0 + 1)
    s, _ = join(s, "ann3", browser_key_hash="k1", now=T0 + 2)
    assert "ann3" in s.participants


def test_remove_unknown_participant_is_not_found() -> None:
    refused("not_found", meeting(), c.Remove("fa", "nobody"))
    refused("not_found", meeting(), c.Mute("fa", "nobody", True, True))


def test_roles_can_change_but_the_last_facilitator_stays() -> None:
    s = meeting()
    s, out = apply(s, c.SetRole("fa", "ann", Role.FACILITATOR), T0)
    assert s.participants["ann"].role is Role.FACILITATOR and names(out) == ["participant:updated"]
    s, _ = apply(s, c.SetRole("ann", "fa", Role.MEMBER), T0)
    refused("bad_request", s, c.SetRole("ann", "ann", Role.MEMBER))


def test_end_closes_every_connection_and_leaves_the_bans_to_the_store() -> None:
    s, _ = join(room(waiting_room=True), "fa", host=True)
    s, _ = join(s, "w")
    s, _ = apply(s, c.SetWaitingRoom("fa", False), T0)
    s, _ = apply(s, c.SetWaitingRoom("fa", True), T0)
    s, _ = join(s, "late")
    s, removed = apply(s, c.Remove("fa", "w", ban=True), T0)
    assert removed.banned == {"id:w"}
    s, out = apply(s, c.End("fa"), T0)
    assert s.is_empty and not s.bans and out.emptied
    assert names(out) == ["room:ended", "lobby:denied"]
    assert {k.conn for k in out.kicks} == {"sid-fa", "sid-late"}


# -- chat ------------------------------------------------------------------------------------------


def test_private_chat_needs_a_present_recipient_other_than_yourself() -> None:
    s = meeting()
    assert check_chat(s, "ann", "bob").id == "ann"
    assert refusal_of(check_chat, s, "ann", "nobody") == "not_found"
    with pytest.raises(Refusal):
        check_chat(s, "ann", "ann")
    assert refusal_of(check_chat, s, "stranger", None) == "not_joined"


def test_refused_command_leaves_state_unchanged() -> None:
    s = meeting()
    before = state_to_dict(s)
    with pytest.raises(Refusal):
        apply(s, c.Remove("ann", "bob"), T0)
    assert state_to_dict(s) == before


def test_state_round_trips_through_the_codec() -> None:
    s = meeting()
    s, _ = apply(s, c.RaiseHand("ann"), T0)
    s, _ = apply(s, c.NextSpeaker("fa", 60), T0)
    s, _ = apply(s, c.Remove("fa", "bob", ban=True), T0)
    assert state_from_dict(state_to_dict(s)) == s
