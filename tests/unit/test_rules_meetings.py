"""Who gets in, and a meeting's state belonging to that meeting: removals, one-to-one rooms, join tokens,
guidelines versions, the room returning to its definition, and the facilitator's presence."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rooms import Event, RoomDefinition, ToFacilitators, ToParticipant
from rooms import commands as c
from rooms.model import Media, PrivateChat, Role, RoomState, Segment, SegmentKind
from rooms.roster import room_updated
from rooms.rules import apply
from tests.support.meetings import T0, events_named, join, meeting, names, refusal, refusal_of, refused, room
from tests.support.rooms import ROOM_DEFAULTS

# -- removal ---------------------------------------------------------------------------------------


def removed_ann(**kw: object) -> RoomState:
    """`fa` has removed `ann` (browser key k1) from the meeting; `bob` is still there."""
    s, _ = join(room(**kw), "fa", host=True)
    s, _ = join(s, "ann", browser_key_hash="k1")
    s, _ = join(s, "bob")
    s, _ = apply(s, c.AdmitAll("fa"), T0)
    s, _ = apply(s, c.Remove("fa", "ann"), T0)
    return s


def test_a_removed_browser_is_kept_out_for_the_rest_of_the_meeting() -> None:
    s = removed_ann()
    error = refusal(join, s, "ann2", browser_key_hash="k1")
    assert error.code == "banned" and error.details == {"scope": "meeting"}
    assert "organiser" in error.message
    assert refusal(join, s, "ann3", resume_of=("ann", 0)).details == {"scope": "meeting"}


def test_a_removed_facilitator_link_holder_is_kept_out_too() -> None:
    s, _ = join(room(), "fa", host=True)
    s, _ = join(s, "fb", host=True, browser_key_hash="k2")
    s, _ = apply(s, c.Remove("fa", "fb"), T0)
    assert refusal_of(join, s, "fb2", host=True, browser_key_hash="k2") == "banned"


def test_a_removed_browser_coming_back_to_a_waiting_room_is_held_there_and_flagged() -> None:
    s = removed_ann(waiting_room=True)
    s, out = join(s, "ann2", browser_key_hash="k1", now=T0 + 5)
    assert "ann2" in s.waiting and s.waiting["ann2"].returning_removed
    assert out.result == {"id": "ann2", "waiting": True, "facilitator_present": True}
    (event,) = out.events
    assert event.name == "lobby:waiting" and event.audience == ToFacilitators()
    assert event.payload == s.waiting["ann2"]
    # Someone else arriving is not flagged.
    s, out = join(s, "cat", browser_key_hash="k9")
    assert out.events[0].payload == s.waiting["cat"] and not s.waiting["cat"].returning_removed


def test_a_removed_host_coming_back_to_a_waiting_room_waits_like_anyone_flagged() -> None:
    s, _ = join(room(waiting_room=True), "fa", host=True)
    s, _ = join(s, "fb", host=True, browser_key_hash="k2")
    s, _ = apply(s, c.Remove("fa", "fb"), T0)
    s, out = join(s, "fb2", host=True, browser_key_hash="k2")
    assert "fb2" in s.waiting and out.result["waiting"] is True


def test_letting_a_returning_removed_person_in_takes_a_decision_about_them() -> None:
    s = removed_ann(waiting_room=True)
    s, _ = join(s, "ann2", browser_key_hash="k1")
    s, _ = join(s, "cat")
    s, out = apply(s, c.AdmitAll("fa"), T0)
    assert out.result == {"admitted": 1} and list(s.waiting) == ["ann2"]
    s, _ = apply(s, c.SetWaitingRoom("fa", False), T0)
    assert list(s.waiting) == ["ann2"]
    s, _ = apply(s, c.Admit("fa", "ann2"), T0)
    assert "ann2" in s.participants and not s.participants["ann2"].returning_removed
    # Let back in, forgiven: the same browser is no longer flagged this meeting.
    s, _ = apply(s, c.Leave("ann2"), T0)
    s, _ = apply(s, c.SetWaitingRoom("fa", True), T0)
    s, _ = join(s, "ann3", browser_key_hash="k1")
    assert not s.waiting["ann3"].returning_removed


def test_removal_ends_with_the_meeting_and_a_ban_does_not() -> None:
    s, _ = join(room(), "fa", host=True)
    s, _ = join(s, "ann", browser_key_hash="k1")
    s, _ = join(s, "bob", browser_key_hash="k2")
    s, removal = apply(s, c.Remove("fa", "ann"), T0)
    s, ban = apply(s, c.Remove("fa", "bob", ban=True), T0)
    assert {"key:k1", "key:k2", "id:ann", "id:bob"} <= s.removed
    # Only the ban is handed to the store, which keeps it for the meetings to come.
    assert not removal.banned and ban.banned == {"id:bob", "key:k2"}
    s, _ = apply(s, c.Leave("fa"), T0)
    assert not s.removed and not s.bans
    s, _ = join(s, "ann2", browser_key_hash="k1")
    assert "ann2" in s.participants
    error = refusal(join, s, "bob2", browser_key_hash="k2", banned_marks=ban.banned)
    assert error.code == "banned" and error.details == {"scope": "room"}


# -- one-to-one rooms ------------------------------------------------------------------------------


def one_to_one(**kw: object) -> RoomState:
    return room(one_to_one=True, invite_key_hashes=("i0", "i1"), **kw)


def test_a_one_to_one_room_needs_two_different_invitations() -> None:
    for hashes in ((), ("i0",), ("i0", "i0"), ("i0", "i1", "i2")):
        with pytest.raises(ValueError):
            RoomDefinition(
                id="r",
                title="t",
                host_key_hash="h",
                one_to_one=True,
                invite_key_hashes=hashes,
                **ROOM_DEFAULTS,
            )


def test_a_one_to_one_room_lets_in_each_invitation_holder_once() -> None:
    s, out = join(one_to_one(), "sam", invite=0)
    assert out.result["waiting"] is False and s.participants["sam"].invite == 0
    s, _ = join(s, "kim", invite=1)
    assert {p.role for p in s.participants.values()} == {Role.MEMBER}
    assert refusal_of(join, s, "again", invite=0) == "room_full"
    assert refusal_of(join, s, "third") == "forbidden"
    assert refusal_of(join, s, "host", host=True) == "forbidden"
    assert refusal_of(join, s, "odd", invite=2) == "forbidden"


def test_an_invitation_whose_holder_has_dropped_stays_theirs_until_they_resume_or_time_out() -> None:
    s, _ = join(one_to_one(), "sam", invite=0)
    s, _ = apply(s, c.Disconnect("sam", "sid-sam"), T0)
    assert refusal_of(join, s, "other", invite=0) == "room_full"
    s, out = join(s, "x", resume_of=("sam", 0), now=T0 + 1)
    assert out.result["id"] == "sam" and out.result["resumed"]
    s, _ = apply(s, c.Leave("sam"), T0 + 2)
    s, _ = join(s, "sam2", invite=0, now=T0 + 3)
    assert "sam2" in s.participants


def test_a_one_to_one_room_has_no_waiting_room_lock_or_passcode_door_but_its_invitations() -> None:
    s, _ = join(one_to_one(waiting_room=True, passcode_hash="p", max_participants=1), "sam", invite=0)
    s, _ = join(s, "kim", invite=1)
    assert list(s.participants) == ["sam", "kim"] and not s.waiting


# -- join tokens -----------------------------------------------------------------------------------


def test_a_join_token_needs_no_new_rule_its_role_is_is_host_and_it_stands_for_the_passcode() -> None:
    # The caller checks the token's signature, room and expiry, takes its name as fixed, and passes
    # the verdicts: a facilitator token joins as a host, a member token as a member whose passcode is
    # vouched for (the waiting room and the lock still apply to them).
    s = room(passcode_hash="p", waiting_room=True)
    s, out = apply(s, c.Join("t1", "Token Host", Media.AV, "i1", "sid-t1", is_host=True), T0)
    assert s.participants["t1"].role is Role.FACILITATOR and s.participants["t1"].name == "Token Host"
    s, out = apply(s, c.Join("t2", "Token Member", Media.TEXT, "i1", "sid-t2", passcode_ok=True), T0)
    assert s.waiting["t2"].role is Role.MEMBER and out.result["waiting"] is True
    s, _ = apply(s, c.Lock("t1", True), T0)
    member_token = c.Join("t3", "Token Member", Media.TEXT, "i1", "sid-t3", passcode_ok=True)
    assert refusal_of(apply, s, member_token, T0) == "room_locked"


# -- guidelines versions ---------------------------------------------------------------------------


def guided(version: int = 1) -> RoomState:
    return room(guidelines="What is said here stays here.", guidelines_version=version)


def test_joining_records_the_guidelines_version_accepted() -> None:
    s, _ = join(guided(3), "ann", accepted_guidelines=True)
    assert s.participants["ann"].guidelines_version == 3
    s, _ = join(s, "bob", accepted_guidelines=True, guidelines_version=3)
    assert s.participants["bob"].guidelines_version == 3
    s, _ = join(room(), "cat")
    assert s.participants["cat"].guidelines_version is None


def test_accepting_an_older_version_of_the_guidelines_is_not_enough() -> None:
    s = guided(2)
    error = refusal(join, s, "ann", accepted_guidelines=True, guidelines_version=1)
    assert error.code == "bad_request" and error.details == {"guidelines_version": 2}
    assert refusal(join, s, "ann").details == {"guidelines_version": 2}


def test_a_resume_after_the_guidelines_changed_must_accept_them_again() -> None:
    s, _ = join(guided(1), "fa", host=True, accepted_guidelines=True)
    s, _ = join(s, "ann", accepted_guidelines=True)
    s, _ = apply(s, c.Disconnect("ann", "sid-ann"), T0)
    # Unchanged guidelines: a resume needs no new acceptance.
    s, out = join(s, "x", resume_of=("ann", 0))
    assert out.result["resumed"]
    s, _ = apply(s, c.Redefine(replace(s.room, guidelines="New words.", guidelines_version=2)), T0)
    s, _ = apply(s, c.Disconnect("ann", "sid-x"), T0)
    error = refusal(join, s, "y", resume_of=("ann", 1))
    assert error.code == "bad_request" and "changed" in error.message
    assert s.participants["ann"].away
    s, out = join(s, "y", resume_of=("ann", 1), accepted_guidelines=True, guidelines_version=2)
    assert out.result["resumed"] and s.participants["ann"].guidelines_version == 2


# -- the room returns to its definition ------------------------------------------------------------

DEFINED = {"waiting_room": True, "private_chat": PrivateChat.FACILITATORS}
AGENDA = (Segment(SegmentKind.READING, "Welcome"), Segment(SegmentKind.ROUND, "Check-in"))


def a_changed_meeting() -> RoomState:
    """A meeting in which everything a meeting can change has changed."""
    s, _ = join(room(agenda=AGENDA, **DEFINED), "fa", host=True)
    s, _ = join(s, "ann", browser_key_hash="k1")
    s, _ = join(s, "bob", browser_key_hash="k2")
    s, _ = apply(s, c.AdmitAll("fa"), T0)
    for command in (
        c.StepAgenda("fa", 1),
        c.NextSpeaker("fa", 60),
        c.Remove("fa", "bob", ban=True),
        c.RaiseConcern("ann", "k"),
        c.SetPrivateChat("fa", PrivateChat.EVERYONE),
        c.SetWaitingRoom("fa", False),
        c.Safety("fa", True),
        c.Lock("fa", True),
        c.RaiseHand("fa"),
    ):
        s, _ = apply(s, command, T0 + 1)
    assert s.safety and s.locked and s.segment == 1 and s.hands and s.speaker and s.removed and s.concerns
    return s


def assert_as_defined(s: RoomState, now: int) -> None:
    assert s.is_empty and s.emptied_at == now
    assert not s.locked and s.waiting_room and not s.safety and s.safety_pause is None
    assert s.hands == () and s.speaker is None
    assert s.agenda == AGENDA and s.segment is None
    assert s.private_chat is PrivateChat.FACILITATORS
    assert not s.removed and not s.concerns and not s.bans


def test_a_room_emptied_by_leaving_returns_to_its_definition() -> None:
    s = a_changed_meeting()
    s, _ = apply(s, c.Leave("ann"), T0 + 2)
    assert s.locked  # someone is still there: the meeting goes on
    s, out = apply(s, c.Leave("fa"), T0 + 3)
    assert out.emptied
    assert_as_defined(s, T0 + 3)


def test_a_room_emptied_by_drops_returns_to_its_definition_after_the_grace() -> None:
    s = a_changed_meeting()
    s, _ = apply(s, c.Disconnect("fa", "sid-fa"), T0 + 2)
    s, _ = apply(s, c.Disconnect("ann", "sid-ann"), T0 + 2)
    s, _ = apply(s, c.Sweep(grace_s=30), T0 + 29_000)
    assert s.locked and s.safety and not s.is_empty
    s, out = apply(s, c.Sweep(grace_s=30), T0 + 32_002)
    assert out.emptied
    assert_as_defined(s, T0 + 32_002)


def test_a_room_whose_meeting_was_ended_returns_to_its_definition() -> None:
    s, _ = apply(a_changed_meeting(), c.End("fa"), T0 + 5)
    assert_as_defined(s, T0 + 5)


def test_the_next_meeting_in_an_emptied_room_starts_unlocked_with_its_own_waiting_room() -> None:
    s = a_changed_meeting()
    for pid in ("ann", "fa"):
        s, _ = apply(s, c.Leave(pid), T0 + 2)
    s, _ = join(s, "fa", host=True, now=T0 + 3)
    s, out = join(s, "cat", now=T0 + 4)
    assert "cat" in s.waiting and out.result["waiting"] is True


# -- the facilitator's presence --------------------------------------------------------------------


def test_the_last_facilitator_leaving_tells_the_room_and_each_person_waiting() -> None:
    s, _ = join(room(waiting_room=True), "fa", host=True)
    s, _ = join(s, "ann")
    s, _ = apply(s, c.Admit("fa", "ann"), T0)
    s, _ = join(s, "wes")
    assert s.facilitator_present
    s, out = apply(s, c.Leave("fa"), T0)
    assert not s.facilitator_present
    assert events_named(out, "room:updated") == [room_updated(s)]
    assert Event("lobby:facilitator", {"present": False}, ToParticipant("wes")) in out.events
    assert names(out).count("room:updated") == 1


def test_a_facilitator_dropping_counts_as_gone_and_resuming_as_back() -> None:
    s = meeting()
    s, out = apply(s, c.Disconnect("fa", "sid-fa"), T0)
    assert not s.facilitator_present and room_updated(s) in out.events
    s, out = join(s, "x", resume_of=("fa", 0))
    assert s.facilitator_present
    assert out.events[-1] == room_updated(s)


def test_a_co_facilitator_still_there_means_nobody_is_told() -> None:
    s, _ = join(meeting(), "fb", host=True)
    s, out = apply(s, c.Leave("fa"), T0)
    assert s.facilitator_present and "room:updated" not in names(out)


def test_handing_over_the_last_facilitator_role_is_refused_so_presence_holds() -> None:
    s = meeting()
    refused("bad_request", s, c.SetRole("fa", "fa", Role.MEMBER))
    s, out = apply(s, c.SetRole("fa", "ann", Role.FACILITATOR), T0)
    assert "room:updated" not in names(out)


def test_someone_joining_a_waiting_room_with_no_facilitator_is_told_so() -> None:
    s, out = join(room(waiting_room=True), "wes")
    assert out.result == {"id": "wes", "waiting": True, "facilitator_present": False}
    s, out = join(s, "fa", host=True)
    assert Event("lobby:facilitator", {"present": True}, ToParticipant("wes")) in out.events


# -- the room's definition is edited ---------------------------------------------------------------


def test_an_edited_definition_applies_to_the_meeting_at_once_only_where_it_is_not_live() -> None:
    s = meeting()
    s, out = apply(s, c.Redefine(replace(s.room, title="Thursday circle", waiting_room=True)), T0)
    assert s.room.title == "Thursday circle" and not s.waiting_room
    assert out.events == (room_updated(s),)
    same, out = apply(s, c.Redefine(s.room), T0)
    assert same is s and out.events == ()
    s, _ = apply(s, c.Redefine(replace(s.room, guidelines="Be kind.")), T0)
    assert s.room.guidelines == "Be kind."


def test_an_edited_definition_of_an_empty_room_sets_up_the_next_meeting() -> None:
    s = room()
    s, _ = join(s, "fa", host=True)
    s, _ = apply(s, c.Leave("fa"), T0 + 7)
    s, out = apply(s, c.Redefine(replace(s.room, waiting_room=True, agenda=AGENDA)), T0 + 9)
    assert s.waiting_room and s.agenda == AGENDA and s.emptied_at == T0 + 7 and out.events == ()


def test_a_definition_of_another_room_is_refused() -> None:
    s = meeting()
    refused("bad_request", s, c.Redefine(replace(s.room, id="r2")))
