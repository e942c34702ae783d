"""What the terminal tells of the meeting's practice: the concerns a facilitator still has to see,
numbered as first shown; what one can do when a turn comes; a passcode being guessed."""

from __future__ import annotations

from typing import Any

from terminal.view import RoomView, passcode_failures


def person(pid: str, name: str, **facts: Any) -> dict[str, Any]:
    base = {"id": pid, "name": name, "role": "member", "media": "text", "audio": False, "video": False}
    return {**base, "hand": None, "away": False, "joined_at": int(pid[1:]), **facts}


def concern(cid: str, text: str | None = None) -> dict[str, Any]:
    return {"id": cid, "from": {"id": "p2", "name": "Sam"}, "about": None, "text": text, "at": 0}


def facilitator_view() -> RoomView:
    view = RoomView()
    view.self_id = "p1"
    view.load({"participants": [person("p1", "Maya", role="facilitator"), person("p2", "Sam")]})
    return view


def test_a_concern_keeps_its_number_until_seen_and_one_seen_meanwhile_is_forgotten() -> None:
    view = facilitator_view()
    assert view.open_concern_lines() == ["No concerns are waiting to be seen."]
    assert view.concern_told(concern("c1", "I need support\n\nafter the meeting")) == [
        "Private to facilitators: Sam has a concern: I need support after the meeting",
        "(Concern 1: type /seen 1 once you have taken it in.)",
    ]
    # A snapshot on coming back: c1 was seen meanwhile, c2 is new; both numbered as first shown.
    assert view.concerns_waiting([concern("c2")]) == [
        "Private to facilitators: Sam has a concern.",
        "(Concern 2: type /seen 2 once you have taken it in.)",
    ]
    assert view.open_concern(1) is None and view.open_concern(2) == "c2"
    assert view.concerns_waiting([concern("c2")]) == []
    assert view.open_concern_lines() == ["Concerns not yet marked seen (1):", "  2. Sam has a concern."]
    assert view.concern_seen("c2", "p1") == ["Maya has seen concern 2."]
    assert view.open_concern(2) is None


def test_ones_own_turn_and_a_round_say_how_to_end_or_pass_it() -> None:
    view = RoomView()
    view.self_id = "p2"
    view.load({"participants": [person("p1", "Maya", role="facilitator"), person("p2", "Jo")]})
    agenda = [{"kind": "reading", "title": "Opening"}, {"kind": "round", "title": "Check-in"}]
    view.room_updated({"agenda": agenda, "segment": 0})
    assert view.turn_hints(None, None) == []
    view.room_updated({"segment": 1})
    assert view.turn_hints(None, 0) == ["Everyone gets a turn, in the order they joined. You can /pass."]
    view.room_updated({"speaker": {"id": "p2", "since": 0, "limit_s": None}})
    assert view.turn_hints(None, 1) == ["Type /done when you have finished, or /pass to let your turn go."]
    assert view.turn_hints("p2", 1) == []


def test_a_facilitator_hears_whether_one_address_or_the_whole_room_is_shut_to_passcodes() -> None:
    assert "/lock" in passcode_failures({"scope": "room", "until": 0})[0]
    assert passcode_failures({"scope": "address", "until": 0}) == [
        "Someone has tried too many wrong passcodes. Their network has to wait before trying again."
    ]
