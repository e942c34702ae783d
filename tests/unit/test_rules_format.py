"""The meeting's format: the speaking queue, one's own turn, and the agenda, without any network."""

from __future__ import annotations

import pytest

from rooms import Event, ToRoom
from rooms import commands as c
from rooms.model import Media, Role, RoomState, Segment, SegmentKind
from rooms.roster import room_updated
from rooms.rules import apply
from tests.support.meetings import T0, events_named, join, meeting, names, refusal, refused, room

READING = Segment(SegmentKind.READING, "Opening statement", "We meet to share our experience.")
ROUND = Segment(SegmentKind.ROUND, "Check-in", limit_s=60)
OPEN = Segment(SegmentKind.OPEN, "Open sharing")
CLOSING = Segment(SegmentKind.CLOSING, "Closing")


def queued() -> RoomState:
    """`meeting()` with `cat` too, and the hands of bob, ann and cat up in that order."""
    s = meeting()
    s, _ = join(s, "cat", media=Media.AUDIO, now=T0 + 3)
    for n, pid in enumerate(("bob", "ann", "cat")):
        s, _ = apply(s, c.RaiseHand(pid), T0 + 10 + n)
    return s


# -- the queue -------------------------------------------------------------------------------------


def test_reorder_hands_puts_the_queue_in_the_given_order() -> None:
    s = queued()
    s, out = apply(s, c.ReorderHands("fa", ("cat", "bob", "ann")), T0)
    assert s.hands == ("cat", "bob", "ann")
    assert out.events == (room_updated(s),)
    assert out.result == {"hands": ["cat", "bob", "ann"]}
    s, out = apply(s, c.NextSpeaker("fa"), T0)
    assert out.result == {"speaker": "cat"} and s.hands == ("bob", "ann")


@pytest.mark.parametrize(
    "order",
    [
        ("cat", "bob"),  # one missing
        ("cat", "bob", "ann", "fa"),  # one more
        ("cat", "bob", "bob"),  # one twice, one missing
        ("cat", "bob", "dan"),  # one unknown
    ],
)
def test_reorder_hands_must_be_a_reordering_of_the_queue_as_it_is(order: tuple[str, ...]) -> None:
    refused("bad_request", queued(), c.ReorderHands("fa", order))


def test_reorder_hands_into_the_same_order_changes_nothing() -> None:
    s = queued()
    same, out = apply(s, c.ReorderHands("fa", s.hands), T0)
    assert same is s and out.events == () and out.result == {"hands": ["bob", "ann", "cat"]}


def test_next_speaker_with_nobody_waiting_ends_the_turn_and_says_nobody_is_waiting() -> None:
    s = meeting()
    same, out = apply(s, c.NextSpeaker("fa"), T0)
    assert same is s and out.result == {"speaker": None, "nobody_waiting": True}
    s, _ = apply(s, c.RaiseHand("ann"), T0)
    s, _ = apply(s, c.NextSpeaker("fa"), T0)
    s, out = apply(s, c.NextSpeaker("fa"), T0)
    assert s.speaker is None and out.result == {"speaker": None, "nobody_waiting": True}
    assert names(out) == ["room:updated"]


def test_the_speaker_ends_their_own_turn() -> None:
    s = queued()
    s, _ = apply(s, c.NextSpeaker("fa", 120), T0)
    s, out = apply(s, c.DoneSpeaking("bob"), T0 + 5)
    assert s.speaker is None and s.hands == ("ann", "cat")
    assert out.events == (room_updated(s),) and out.result == {"ended": True}


def test_done_from_someone_not_speaking_changes_nothing() -> None:
    s = queued()
    s, _ = apply(s, c.NextSpeaker("fa"), T0)
    same, out = apply(s, c.DoneSpeaking("ann"), T0)
    assert same is s and out.result == {"ended": False} and out.events == ()
    refused("not_joined", s, c.DoneSpeaking("stranger"))


def test_pass_lowers_ones_hand_and_the_speakers_pass_ends_the_turn() -> None:
    s = queued()
    s, out = apply(s, c.PassTurn("ann"), T0)
    assert s.hands == ("bob", "cat") and s.participants["ann"].hand is None
    assert out.result == {"passed": True} and names(out) == ["participant:updated", "room:updated"]
    s, _ = apply(s, c.NextSpeaker("fa"), T0)
    s, out = apply(s, c.PassTurn("bob"), T0)
    assert s.speaker is None and out.result == {"passed": True}
    same, out = apply(s, c.PassTurn("ann"), T0)
    assert same is s and out.result == {"passed": False}


def test_someone_waiting_to_be_let_in_cannot_pass_or_end_a_turn() -> None:
    s, _ = join(room(waiting_room=True), "fa", host=True)
    s, _ = join(s, "wes")
    refused("forbidden", s, c.PassTurn("wes"))
    refused("forbidden", s, c.DoneSpeaking("wes"))


# -- the agenda ------------------------------------------------------------------------------------


def with_agenda(s: RoomState, *segments: Segment) -> RoomState:
    s, _ = apply(s, c.SetAgenda("fa", segments), T0)
    return s


def test_set_agenda_tells_the_room_the_agenda_before_its_first_segment() -> None:
    s = meeting()
    s, out = apply(s, c.SetAgenda("fa", (READING, ROUND, OPEN, CLOSING)), T0)
    assert s.agenda == (READING, ROUND, OPEN, CLOSING) and s.segment is None
    assert out.result == {"segments": 4, "segment": None}
    (event,) = out.events
    assert event == room_updated(s) and event.audience == ToRoom()


def test_set_agenda_trims_titles_and_texts() -> None:
    s = with_agenda(meeting(), Segment(SegmentKind.READING, "  Traditions \n", "  \n "))
    assert s.agenda == (Segment(SegmentKind.READING, "Traditions"),)


def test_stepping_to_a_reading_shows_it_and_leaves_the_queue_alone() -> None:
    s = with_agenda(queued(), READING, ROUND)
    s, out = apply(s, c.StepAgenda("fa", 0), T0)
    assert s.segment == 0 and s.hands == ("bob", "ann", "cat")
    assert out.events == (room_updated(s),) and out.result == {"segment": 0}


def test_entering_a_round_queues_every_member_present_in_join_order() -> None:
    s = queued()
    s, _ = join(s, "fb", host=True, now=T0 + 4)
    s, _ = join(s, "dan", now=T0 + 5)
    s, _ = apply(s, c.Disconnect("dan", "sid-dan"), T0 + 6)
    s, _ = apply(s, c.SetWaitingRoom("fa", True), T0)
    s, _ = join(s, "wes", now=T0 + 7)
    s, _ = apply(s, c.RaiseHand("fa"), T0 + 8)
    s, _ = apply(s, c.NextSpeaker("fa"), T0 + 9)
    s = with_agenda(s, OPEN, ROUND)
    s, out = apply(s, c.StepAgenda("fa", 1), T0 + 20)
    # Not facilitators, not wes who waits to be let in, not dan who has dropped.
    assert s.hands == ("ann", "bob", "cat")
    assert s.speaker is None
    assert all(s.participants[pid].hand == T0 + 20 for pid in s.hands)
    assert s.participants["fa"].hand is None and s.participants["dan"].hand is None
    assert out.events[-1] == room_updated(s)
    updated = {e.payload.id for e in events_named(out, "participant:updated")}
    assert updated == {"ann", "bob", "cat", "fa"}


def test_a_resumed_member_keeps_their_place_in_a_round() -> None:
    s = queued()
    s, _ = apply(s, c.Disconnect("ann", "sid-ann"), T0 + 4)
    s, _ = join(s, "x", resume_of=("ann", 0), now=T0 + 5)
    s = with_agenda(s, ROUND)
    s, _ = apply(s, c.StepAgenda("fa", 0), T0 + 6)
    assert s.hands == ("ann", "bob", "cat")


def test_round_shares_are_timed_as_the_segment_says_unless_the_facilitator_says_otherwise() -> None:
    s = with_agenda(queued(), ROUND, OPEN)
    s, _ = apply(s, c.StepAgenda("fa", 0), T0)
    s, _ = apply(s, c.NextSpeaker("fa"), T0 + 1)
    assert s.speaker is not None and (s.speaker.id, s.speaker.limit_s) == ("ann", 60)
    s, _ = apply(s, c.NextSpeaker("fa", 90), T0 + 2)
    assert s.speaker is not None and (s.speaker.id, s.speaker.limit_s) == ("bob", 90)
    s, _ = apply(s, c.StepAgenda("fa", 1), T0 + 3)
    s, _ = apply(s, c.RaiseHand("ann"), T0 + 4)
    s, _ = apply(s, c.NextSpeaker("fa"), T0 + 5)
    assert s.speaker is not None and s.speaker.limit_s is None


def test_stepping_to_the_current_segment_again_does_not_fill_the_round_again() -> None:
    s = with_agenda(queued(), ROUND)
    s, _ = apply(s, c.StepAgenda("fa", 0), T0)
    s, _ = apply(s, c.NextSpeaker("fa"), T0)
    same, out = apply(s, c.StepAgenda("fa", 0), T0)
    assert same is s and out.events == () and out.result == {"segment": 0}


def test_stepping_out_of_the_agenda_leaves_no_current_segment() -> None:
    s = with_agenda(meeting(), READING)
    s, _ = apply(s, c.StepAgenda("fa", 0), T0)
    s, out = apply(s, c.StepAgenda("fa", None), T0)
    assert s.segment is None and out.events == (room_updated(s),)


@pytest.mark.parametrize("index", [2, -1, True])
def test_stepping_to_a_segment_that_is_not_there_is_refused(index: int) -> None:
    refused("bad_request", with_agenda(meeting(), READING, ROUND), c.StepAgenda("fa", index))


def test_mending_the_agenda_keeps_the_current_segment_while_it_exists() -> None:
    s = with_agenda(queued(), READING, ROUND, OPEN)
    s, _ = apply(s, c.StepAgenda("fa", 2), T0)
    s, out = apply(s, c.SetAgenda("fa", (READING, ROUND, Segment(SegmentKind.OPEN, "Sharing"))), T0)
    assert s.segment == 2 and out.result == {"segments": 3, "segment": 2}
    s, out = apply(s, c.SetAgenda("fa", (READING,)), T0)
    assert s.segment is None and out.result == {"segments": 1, "segment": None}
    same, out = apply(s, c.SetAgenda("fa", (READING,)), T0)
    assert same is s and out.events == ()


def test_a_room_with_a_default_agenda_starts_every_meeting_with_it() -> None:
    s = room(agenda=(READING, ROUND))
    assert s.agenda == (READING, ROUND) and s.segment is None
    s, _ = join(s, "fa", host=True)
    s = with_agenda(s, CLOSING)
    s, _ = apply(s, c.Leave("fa"), T0 + 1)
    assert s.agenda == (READING, ROUND)


LIMITS = c.AgendaLimits(max_segments=3, max_title_chars=10, max_text_chars=20, max_limit_s=300)


@pytest.mark.parametrize(
    ("segments", "complaint"),
    [
        ((OPEN,) * 4, "at most 3 parts"),
        ((Segment(SegmentKind.OPEN, "   "),), "title of 1 to 10"),
        ((Segment(SegmentKind.OPEN, "x" * 11),), "title of 1 to 10"),
        ((Segment(SegmentKind.OPEN, "Tab\there"),), "can't be shown"),
        ((CLOSING, Segment(SegmentKind.READING, "Reading", "y" * 21)), "part 2 of the agenda is over 20"),
        ((Segment(SegmentKind.READING, "Reading", "bell\a"),), "can't be shown"),
        ((Segment(SegmentKind.ROUND, "Round", limit_s=0),), "1 to 300 seconds"),
        ((Segment(SegmentKind.ROUND, "Round", limit_s=301),), "1 to 300 seconds"),
        ((Segment(SegmentKind.ROUND, "Round", limit_s=True),), "1 to 300 seconds"),
        ((Segment("speech", "Round"),), "reading, a round"),  # type: ignore[arg-type]
    ],
)
def test_an_agenda_over_its_limits_is_refused_with_what_is_wrong(
    segments: tuple[Segment, ...], complaint: str
) -> None:
    s = meeting()
    error = refusal(apply, s, c.SetAgenda("fa", segments, LIMITS), T0)
    assert error.code == "bad_request" and complaint in error.message


def test_an_agenda_exactly_at_its_limits_is_accepted() -> None:
    at_limits = (
        Segment(SegmentKind.READING, "x" * 10, "y" * 20),
        Segment(SegmentKind.ROUND, "Round", limit_s=300),
        Segment(SegmentKind.CLOSING, "Closing", "Line one\nline two"),
    )
    s, out = apply(meeting(), c.SetAgenda("fa", at_limits, LIMITS), T0)
    assert s.agenda == at_limits and out.result["segments"] == 3


def test_stepping_into_a_round_with_only_facilitators_leaves_an_empty_queue() -> None:
    s, _ = join(room(), "fa", host=True)
    s, _ = apply(s, c.RaiseHand("fa"), T0)
    s = with_agenda(s, ROUND)
    s, out = apply(s, c.StepAgenda("fa", 0), T0)
    assert s.hands == () and s.participants["fa"].hand is None
    assert Event("room:updated", room_updated(s).payload) in out.events
    assert s.participants["fa"].role is Role.FACILITATOR
