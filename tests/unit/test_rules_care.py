"""Concerns raised privately to the facilitators, and milestones shared with everyone, without any
network."""

from __future__ import annotations

import pytest

from rooms import Event, ToFacilitators, ToParticipant
from rooms import commands as c
from rooms.model import ChatKind, Role
from rooms.rules import apply
from tests.support.meetings import T0, join, meeting, refusal, refused, room

# -- concerns --------------------------------------------------------------------------------------


def test_a_concern_reaches_facilitators_only_with_who_raised_it_and_about_whom() -> None:
    s, _ = join(meeting(), "fb", host=True)
    words = "  He seemed very low tonight.  "
    s, out = apply(s, c.RaiseConcern("ann", "k1", about="bob", text=words), T0 + 9)
    assert out.events == (
        Event(
            "concern:raised",
            {
                "id": "k1",
                "sender_id": "ann",
                "sender_name": "Ann",
                "at": T0 + 9,
                "about_id": "bob",
                "about_name": "Bob",
                "text": "He seemed very low tonight.",
            },
            ToFacilitators(skip="bob"),
        ),
    )
    assert out.result == {"id": "k1", "delivered": True}
    assert list(s.concerns) == ["k1"]


def test_a_concern_may_be_just_a_request_for_support() -> None:
    s, out = apply(meeting(), c.RaiseConcern("ann", "k1", text="   "), T0)
    assert out.events[0].payload["about_id"] is None and out.events[0].payload["text"] is None
    assert out.events[0].audience == ToFacilitators()


def test_a_concern_raised_while_no_facilitator_is_there_waits_for_one() -> None:
    s = meeting()
    s, _ = apply(s, c.Disconnect("fa", "sid-fa"), T0)
    s, out = apply(s, c.RaiseConcern("ann", "k1"), T0)
    assert out.result == {"id": "k1", "delivered": False}
    assert "k1" in s.concerns


def test_a_concern_about_someone_not_in_the_meeting_is_refused() -> None:
    refused("not_found", meeting(), c.RaiseConcern("ann", "k1", about="gone"))


def test_a_concern_over_its_length_is_refused() -> None:
    s = meeting()
    refused("bad_request", s, c.RaiseConcern("ann", "k1", text="x" * 11, max_chars=10))
    refused("bad_request", s, c.RaiseConcern("ann", "k1", text="bell\a"))
    s, _ = apply(s, c.RaiseConcern("ann", "k1", text="x" * 10, max_chars=10), T0)
    assert s.concerns["k1"].text == "x" * 10


def test_a_member_has_at_most_max_open_concerns_waiting_unseen() -> None:
    s = meeting()
    for n in range(2):
        s, _ = apply(s, c.RaiseConcern("ann", f"k{n}", max_open=2), T0)
    error = refusal(apply, s, c.RaiseConcern("ann", "k2", max_open=2), T0)
    assert error.code == "rate_limited"
    # Another member is not held back by ann's notes, and ann may send again once one has been seen.
    s, _ = apply(s, c.RaiseConcern("bob", "k3", max_open=2), T0)
    s, _ = apply(s, c.ConcernSeen("fa", "k0"), T0)
    s, _ = apply(s, c.RaiseConcern("ann", "k2", max_open=2), T0)
    assert list(s.concerns) == ["k1", "k3", "k2"]


def test_a_concern_id_already_waiting_is_not_taken_twice() -> None:
    s, _ = apply(meeting(), c.RaiseConcern("ann", "k1", text="first"), T0)
    refused("bad_request", s, c.RaiseConcern("bob", "k1", text="second"))
    assert s.concerns["k1"].text == "first"


def test_someone_waiting_to_be_let_in_cannot_raise_a_concern() -> None:
    s, _ = join(room(waiting_room=True), "fa", host=True)
    s, _ = join(s, "wes")
    refused("forbidden", s, c.RaiseConcern("wes", "k1"))


def test_marking_a_concern_seen_tells_facilitators_and_the_member_who_raised_it() -> None:
    s, _ = apply(meeting(), c.RaiseConcern("ann", "k1"), T0)
    s, out = apply(s, c.ConcernSeen("fa", "k1"), T0)
    assert not s.concerns
    assert out.events == (
        Event("concern:seen", {"id": "k1", "by": "fa"}, ToFacilitators()),
        Event("concern:seen", {"id": "k1", "by": "fa"}, ToParticipant("ann")),
    )
    assert out.result == {"seen": True}
    same, out = apply(s, c.ConcernSeen("fa", "k1"), T0)
    assert same is s and out.result == {"seen": False} and out.events == ()


def test_a_concern_seen_after_its_sender_left_tells_only_facilitators() -> None:
    s, _ = apply(meeting(), c.RaiseConcern("ann", "k1"), T0)
    s, _ = apply(s, c.Leave("ann"), T0)
    s, out = apply(s, c.ConcernSeen("fa", "k1"), T0)
    assert [e.audience for e in out.events] == [ToFacilitators()]


def test_concerns_end_with_the_meeting() -> None:
    s, _ = apply(meeting(), c.RaiseConcern("ann", "k1"), T0)
    for pid in ("fa", "ann", "bob"):
        s, _ = apply(s, c.Leave(pid), T0)
    assert s.is_empty and not s.concerns


# -- milestones ------------------------------------------------------------------------------------


def test_a_milestone_is_answered_with_the_chat_message_to_append_and_changes_nothing() -> None:
    s = meeting()
    same, out = apply(s, c.ShareMilestone("bob", "  30 days "), T0)
    assert same is s and out.events == ()
    assert out.result == {"kind": ChatKind.MILESTONE.value, "text": "30 days"}
    assert out.result["kind"] == "milestone"


@pytest.mark.parametrize("label", ["", "   ", "x" * 41, "one\nyear", "tab\tbed"])
def test_a_milestone_is_one_line_of_1_to_40_characters(label: str) -> None:
    refused("bad_request", meeting(), c.ShareMilestone("ann", label))


def test_a_milestone_of_exactly_the_limit_is_shared() -> None:
    _, out = apply(meeting(), c.ShareMilestone("ann", "x" * 40), T0)
    assert out.result["text"] == "x" * 40
    refused("bad_request", meeting(), c.ShareMilestone("ann", "x" * 11, max_chars=10))


def test_only_people_in_the_room_share_milestones() -> None:
    s, _ = join(room(waiting_room=True), "fa", host=True)
    s, _ = join(s, "wes")
    refused("forbidden", s, c.ShareMilestone("wes", "1 year"))
    refused("not_joined", s, c.ShareMilestone("stranger", "1 year"))


def test_someone_made_a_facilitator_learns_of_the_concerns_nobody_has_seen_yet() -> None:
    s, _ = apply(meeting(), c.RaiseConcern("ann", "k1", text="Someone said goodbye oddly"), T0)
    s, _ = apply(s, c.RaiseConcern("ann", "k2"), T0 + 1)
    s, _ = apply(s, c.ConcernSeen("fa", "k2"), T0 + 2)
    s, _ = apply(s, c.RaiseConcern("ann", "k3", about="bob"), T0 + 3)
    s, out = apply(s, c.SetRole("fa", "bob", Role.FACILITATOR), T0 + 4)
    told = [e for e in out.events if e.name == "concern:raised"]
    # Not the one seen already, nor the one about themselves.
    assert [e.payload["id"] for e in told] == ["k1"]  # type: ignore[index]
    assert all(e.audience == ToParticipant("bob") for e in told)


def test_a_concern_about_a_facilitator_reaches_the_other_facilitators_only() -> None:
    s, _ = join(meeting(), "fb", host=True)
    s, out = apply(s, c.RaiseConcern("ann", "k1", about="fa", text="I felt dismissed"), T0)
    [event] = out.events
    assert event.audience == ToFacilitators(skip="fa") and out.result["delivered"] is True
    # The one it is about can neither mark it seen nor learn from a seen mark that it existed.
    same, out = apply(s, c.ConcernSeen("fa", "k1"), T0 + 1)
    assert same is s and out.result == {"seen": False} and out.events == ()
    s, out = apply(s, c.ConcernSeen("fb", "k1"), T0 + 2)
    assert out.result == {"seen": True}
    assert {e.audience for e in out.events} == {ToFacilitators(skip="fa"), ToParticipant("ann")}


def test_a_concern_about_the_only_facilitator_waits_for_another_and_is_not_delivered_now() -> None:
    s, out = apply(meeting(), c.RaiseConcern("ann", "k1", about="fa"), T0)
    assert out.result["delivered"] is False and "k1" in s.concerns
    s, out = apply(s, c.SetRole("fa", "bob", Role.FACILITATOR), T0 + 1)
    assert [e.payload["id"] for e in out.events if e.name == "concern:raised"] == ["k1"]  # type: ignore[index]
