"""Who may send private messages, and deleting a message, without any network."""

from __future__ import annotations

import pytest

from rooms import Event, ToRoom
from rooms import commands as c
from rooms.model import PrivateChat, RoomState
from rooms.roster import room_updated
from rooms.rules import apply, check_chat
from tests.support.meetings import T0, join, meeting, refusal, refusal_of, refused


def meeting_with(policy: PrivateChat) -> RoomState:
    s, _ = join(meeting(), "fb", host=True)
    s, _ = apply(s, c.SetPrivateChat("fa", policy), T0)
    return s


def test_everyone_may_message_anyone_privately_by_default() -> None:
    s = meeting()
    assert s.private_chat is PrivateChat.EVERYONE
    assert check_chat(s, "ann", "bob").id == "ann"


def test_facilitators_only_means_a_private_message_is_to_or_from_a_facilitator() -> None:
    s = meeting_with(PrivateChat.FACILITATORS)
    error = refusal(check_chat, s, "ann", "bob")
    assert error.code == "forbidden" and "facilitator" in error.message
    assert check_chat(s, "ann", "fa").id == "ann"
    assert check_chat(s, "fa", "bob").id == "fa"
    assert check_chat(s, "fa", "fb").id == "fa"
    assert check_chat(s, "bob", None).id == "bob"


def test_nobody_means_no_private_message_at_all_but_the_room_chat_goes_on() -> None:
    s = meeting_with(PrivateChat.NOBODY)
    for sender, to in (("ann", "bob"), ("ann", "fa"), ("fa", "ann"), ("fb", "fa")):
        assert refusal_of(check_chat, s, sender, to) == "forbidden"
    assert check_chat(s, "ann", None).id == "ann"


def test_who_is_not_there_is_not_found_before_the_policy_is_looked_at() -> None:
    s = meeting_with(PrivateChat.NOBODY)
    assert refusal_of(check_chat, s, "ann", "gone") == "not_found"
    assert refusal_of(check_chat, s, "ann", "ann") == "bad_request"


def test_the_policy_is_changed_live_and_the_room_is_told() -> None:
    s = meeting()
    s, out = apply(s, c.SetPrivateChat("fa", PrivateChat.FACILITATORS), T0)
    assert s.private_chat is PrivateChat.FACILITATORS
    assert out.events == (room_updated(s),)
    same, out = apply(s, c.SetPrivateChat("fa", PrivateChat.FACILITATORS), T0)
    assert same is s and out.events == ()
    refused("bad_request", s, c.SetPrivateChat("fa", "some"))  # type: ignore[arg-type]


def test_a_room_defined_with_a_policy_starts_each_meeting_with_it() -> None:
    s = meeting(private_chat=PrivateChat.NOBODY)
    assert refusal_of(check_chat, s, "ann", "bob") == "forbidden"
    s, _ = apply(s, c.SetPrivateChat("fa", PrivateChat.EVERYONE), T0)
    for pid in ("fa", "ann", "bob"):
        s, _ = apply(s, c.Leave(pid), T0)
    assert s.private_chat is PrivateChat.NOBODY


def test_a_facilitator_deletes_a_message_for_everyone() -> None:
    s = meeting()
    same, out = apply(s, c.DeleteChat("fa", "0000000000000042"), T0)
    assert same is s
    assert out.events == (Event("chat:deleted", {"id": "0000000000000042"}, ToRoom()),)
    assert out.result == {"id": "0000000000000042"}


@pytest.mark.parametrize("message_id", ["", "42", "00000000000000x2", "0000000000000000042", "٠" * 16])
def test_deleting_something_that_is_not_a_message_id_is_refused(message_id: str) -> None:
    refused("bad_request", meeting(), c.DeleteChat("fa", message_id))
