"""The rules for a room whose definition changes under a meeting: edits by revision, and deletion."""

from __future__ import annotations

from dataclasses import replace

from rooms import ToParticipant
from rooms import commands as c
from rooms.rules import apply
from tests.support.meetings import T0, events_named, join, meeting, names, refusal, room


def test_deleting_a_room_ends_its_meeting_for_everyone_and_turns_the_waiting_away() -> None:
    s = meeting()
    s, _ = apply(s, c.SetWaitingRoom("fa", True), T0)
    s, _ = join(s, "wes")
    assert "wes" in s.waiting
    s, out = apply(s, c.Close(), T0 + 5)
    assert s.is_empty and out.emptied
    assert names(out) == ["room:ended", "lobby:denied"]
    assert events_named(out, "room:ended")[0].payload == {"by": None, "reason": "deleted"}
    assert events_named(out, "lobby:denied")[0].audience == ToParticipant("wes")
    assert {k.conn for k in out.kicks} == {"sid-fa", "sid-ann", "sid-bob", "sid-wes"}


def test_deleting_a_room_nobody_is_in_changes_nothing() -> None:
    s = room()
    same, out = apply(s, c.Close(), T0)
    assert same is s and out.events == () and out.kicks == ()


def test_an_older_revision_of_the_definition_never_replaces_a_newer_one() -> None:
    s = meeting()
    newer = replace(s.room, title="Thursday circle", revision=2)
    s, _ = apply(s, c.Redefine(newer), T0)
    assert s.room == newer
    same, out = apply(s, c.Redefine(replace(newer, title="Tuesday circle", revision=1)), T0)
    assert same is s and out.events == ()
    s, _ = apply(s, c.Redefine(replace(newer, title="Friday circle", revision=3)), T0)
    assert s.room.title == "Friday circle"


def test_a_new_guidelines_version_holds_the_next_joiner_to_it() -> None:
    s, _ = join(room(guidelines="Be kind."), "fa", host=True, accepted_guidelines=True)
    edited = replace(s.room, guidelines="Be kind. Pass if you like.", guidelines_version=2, revision=1)
    s, _ = apply(s, c.Redefine(edited), T0)
    error = refusal(join, s, "ann", accepted_guidelines=True, guidelines_version=1)
    assert error.code == "bad_request" and error.details == {"guidelines_version": 2}
    s, _ = join(s, "ann", accepted_guidelines=True, guidelines_version=2)
    assert s.participants["ann"].guidelines_version == 2
