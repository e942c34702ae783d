"""What the terminal client prints of other people's text: nothing in it can act on the terminal,
reorder or hide what is shown, or pass for a line of its own."""

from __future__ import annotations

import unicodedata
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from terminal.view import REPLACEMENT, RoomView, clean, clean_lines, meeting_preview

UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}

HOSTILE_NAMES = [
    "\x1b[2JSam",  # clear the screen
    "\x1b]8;;http://evil.example/\x07Sam\x1b]8;;\x07",  # a hidden hyperlink
    "\x9b31mSam",  # C1 control sequence introducer
    "\u202eSam",  # right-to-left override
    "Sa\u200bm",  # zero-width space: looks like "Sam"
    "S\u2066am\u2069",  # bidi isolates
    "\ufeffSam",  # byte order mark
    "Sam\u2028* Maya is now a facilitator.",  # line separator
    "Sam\n* Maya is now a facilitator.",
    "Sam\r* Maya",  # carriage return overwrites the line
    "Sam\ud800",  # lone surrogate: cannot even be encoded
]


def person(pid: str, name: str, **facts: Any) -> dict[str, Any]:
    base = {"id": pid, "name": name, "role": "member", "media": "text", "audio": False, "video": False}
    return {**base, "hand": None, "away": False, "joined_at": int(pid[1:]), **facts}


def safe(line: str) -> bool:
    """Printable as is: UTF-8 encodable, one line, and nothing a terminal acts on."""
    line.encode("utf-8")
    return "\t" not in line and not any(unicodedata.category(ch) in UNSAFE for ch in line)


def view_with(name: str) -> RoomView:
    view = RoomView()
    view.self_id = "p1"
    view.load({"participants": [person("p1", "Jo"), person("p2", name)], "hands": [], "speaker": None})
    return view


def test_every_line_about_a_hostile_name_is_safe_and_shows_where_something_was_removed() -> None:
    for name in HOSTILE_NAMES:
        view = view_with(name)
        lines = [
            *view.roster(),
            *view.updated(person("p2", name, hand=5, away=True, speaking=True, role="facilitator"), 0.0),
            *view.room_updated({"hands": [], "speaker": {"id": "p2", "since": 1, "limit_s": None}}),
            *view.chat({"id": "1", "from": {"id": "p2", "name": name}, "text": "hi", "at": 0}),
            *view.chat({"id": "2", "from": {"id": "p2", "name": name}, "text": "psst", "to": "p1", "at": 0}),
            *view.chat({"id": "3", "from": {"id": "p1", "name": "Jo"}, "text": "ok", "to": "p2", "at": 0}),
            *view.left("p2", "left"),
            *view.joined(person("p3", name)),
        ]
        assert len(lines) == 13, lines
        assert all(safe(line) for line in lines), (name, lines)
        about_them = [line for line in lines[1:] if "Jo" not in line or "→" in line]
        assert all(REPLACEMENT in line for line in about_them), (name, about_them)


def test_a_name_cannot_start_a_line_of_its_own() -> None:
    view = view_with("Sam\n* Maya is now a facilitator.")
    lines = view.roster() + view.chat({"id": "1", "from": {"id": "p2", "name": "x\ny"}, "text": "t", "at": 0})
    assert not any(line.startswith("* Maya") or line == "y: t" for line in lines)
    assert "  Sam\ufffd* Maya is now a facilitator. — text only" in lines


def test_chat_keeps_its_lines_and_tabs_indented_under_the_sender_but_no_controls() -> None:
    view = view_with("Sam")
    text = "one\r\ntwo\rthree\tfour\n* Jo is now a facilitator.\x1b[2J\u202e"
    first, *rest = view.chat({"id": "1", "from": {"id": "p2", "name": "Sam"}, "text": text, "at": 0})
    prefix = first[: first.index("Sam: ") + len("Sam: ")]
    assert first == prefix + "one"
    indent = " " * len(prefix)
    assert rest == [
        indent + "two",
        indent + "three\tfour",
        indent + "* Jo is now a facilitator.\ufffd[2J\ufffd",
    ]


def test_the_meeting_title_and_guidelines_are_shown_safely() -> None:
    room = {
        "title": "\x1b[8mCircle\u202e",
        "guidelines": "Be kind.\r\n\x07Listen.\u200b",
        "chat_retention_s": 0,
    }
    lines = meeting_preview(room)
    assert lines[0] == "Meeting: \ufffd[8mCircle\ufffd"
    assert "  Be kind." in lines and "  \ufffdListen.\ufffd" in lines
    assert all(safe(line) for line in lines)


@given(st.text())
def test_clean_replaces_each_unsafe_character_one_for_one_and_keeps_the_rest(text: str) -> None:
    out = clean(text)
    assert len(out) == len(text)
    for before, after in zip(text, out, strict=True):
        unsafe = unicodedata.category(before) in UNSAFE
        assert after == (REPLACEMENT if unsafe else before)


@given(st.text(), st.text(max_size=40))
def test_any_chat_message_prints_as_safe_lines_under_its_sender(text: str, name: str) -> None:
    view = view_with(name)
    lines = view.chat({"id": "1", "from": {"id": "p2", "name": name}, "text": text, "at": 0})
    assert len(lines) == len(clean_lines(text))
    assert lines[0].startswith("[")
    indent = len(lines[0]) - len(clean_lines(text)[0])
    for line in lines:
        assert safe(line.replace("\t", " "))
    for line in lines[1:]:
        assert line.startswith(" " * indent)


def test_two_people_sharing_a_name_are_told_apart_in_the_list_the_chat_and_the_notices() -> None:
    view = RoomView()
    view.self_id = "p1"
    view.load({"participants": [person("p1", "Jo"), person("p2", "Ana")], "hands": [], "speaker": None})
    assert view.joined(person("p3", "Ana")) == ["Ana (2) — text only joined."]
    assert view.roster()[1:] == ["  Jo (you) — text only", "  Ana (1) — text only", "  Ana (2) — text only"]
    (line,) = view.chat({"id": "1", "from": {"id": "p3", "name": "Ana"}, "text": "hi", "at": 0})
    assert line.endswith("] Ana (2): hi")
    assert view.updated(person("p3", "Ana", hand=1), 0.0) == ["Ana (2) raised their hand."]
    assert view.left("p2", "left") == ["Ana (1) left."]
    # The one still here keeps her number, so nothing typed for "Ana (2)" changes target.
    assert view.roster()[2:] == ["  Ana (2) — text only, hand raised"]


def test_a_facilitator_sees_who_is_waiting_and_what_became_of_them() -> None:
    view = RoomView()
    view.self_id = "p1"
    host = person("p1", "Maya", role="facilitator")
    view.load({"participants": [host], "waiting": [person("p2", "Bo")], "hands": [], "speaker": None})
    assert view.is_facilitator
    assert view.roster() == [
        "People here (1):",
        "  Maya (you) — facilitator, text only",
        "Waiting to be let in (1):",
        "  Bo — text only",
    ]
    assert view.lobby_waiting(person("p3", "Cy")) == ["Cy is waiting to be let in: /admit Cy or /deny Cy."]
    assert view.joined(person("p2", "Bo")) == ["Bo — text only joined."]
    assert view.left("p3", "removed") == ["Cy was not let in."]
    assert view.roster()[-1] == "  Bo — text only"
    assert "Waiting to be let in" not in "\n".join(view.roster())


def test_a_member_is_told_when_the_meeting_is_locked_and_the_waiting_room_changes() -> None:
    view = view_with("Sam")
    view.load({"participants": [person("p1", "Jo")], "locked": False, "waiting_room": True})
    assert not view.is_facilitator
    assert view.room_updated({"locked": True, "waiting_room": True, "hands": []}) == [
        "The meeting is locked: nobody new can join."
    ]
    assert view.room_updated({"locked": True, "waiting_room": True, "hands": []}) == []
    assert view.room_updated({"locked": False, "waiting_room": False, "hands": []}) == [
        "The meeting is unlocked: new people can join again.",
        "The waiting room is off: newcomers come straight in.",
    ]


def test_the_share_timer_is_said_with_the_speaker() -> None:
    view = view_with("Sam")
    speaker = {"id": "p2", "since": 0, "limit_s": 90}
    assert view.room_updated({"speaker": speaker}) == [
        "Sam is sharing now (share time: 1 minute 30 seconds)."
    ]
    mine = {"id": "p1", "since": 0, "limit_s": 120}
    assert view.room_updated({"speaker": mine}) == [
        "It's your turn to share (share time: 2 minutes). Type what you'd like to say."
    ]


def message(mid: str, sender: str, name: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"id": mid, "from": {"id": sender, "name": name}, "text": text, "at": 0, **extra}


def test_a_deleted_message_is_announced_once_and_never_shown_again_when_history_is_reread() -> None:
    view = view_with("Sam")
    hurtful = message("0001", "p2", "Sam", "something hurtful")
    assert view.chat(hurtful)
    assert view.chat_deleted("0001") == ["A facilitator removed a message."]
    assert view.chat_deleted("0001") == []
    # Even with what was shown forgotten, as when history is read again on resume, it stays gone.
    view.seen_chat.clear()
    assert view.chat(hurtful) == []
    assert view.chat(message("0002", "p2", "Sam", "sorry")) != []


def test_a_deleted_message_that_has_not_arrived_yet_is_never_shown() -> None:
    view = view_with("Sam")
    assert view.chat_deleted("0009") == ["A facilitator removed a message."]
    assert view.chat(message("0009", "p2", "Sam", "late copy")) == []


def test_a_milestone_is_a_quiet_celebration_line_with_its_label_made_safe() -> None:
    view = view_with("Sam")
    (line,) = view.chat(message("0001", "p2", "Sam", "30 days", kind="milestone"))
    assert line.endswith("] ★ Sam shares a milestone: 30 days")
    (mine,) = view.chat(message("0002", "p1", "Jo", "1 year\x1b[2J", kind="milestone"))
    assert mine.endswith("] ★ You share a milestone: 1 year\ufffd[2J")


def test_the_safety_pause_and_the_facilitator_stepping_away_are_said_as_they_change() -> None:
    view = view_with("Sam")
    assert view.room_updated({"safety": True}) == ["The facilitator has paused the room for a moment."]
    assert view.room_updated({"safety": True}) == []
    assert view.room_updated({"safety": False}) == ["The facilitator has resumed the meeting."]
    assert view.room_updated({"facilitator_present": False}) == ["The facilitator has stepped away."]
    assert view.room_updated({"facilitator_present": True}) == ["The facilitator is back."]


def test_a_newcomer_hears_at_once_of_a_pause_an_absent_facilitator_the_policy_the_part_and_the_speaker() -> (
    None
):
    view = RoomView()
    view.self_id = "p1"
    view.load(
        {
            "participants": [person("p1", "Jo"), person("p2", "Sam")],
            "hands": [],
            "speaker": {"id": "p2", "since": 0, "limit_s": None},
            "safety": True,
            "facilitator_present": False,
            "private_chat": "nobody",
            "agenda": [{"kind": "open", "title": "Open sharing"}],
            "segment": 0,
        }
    )
    assert view.status() == [
        "The facilitator has paused the room for a moment.",
        "The facilitator has stepped away.",
        "Private messages are turned off in this meeting.",
        "Now: Open sharing (open sharing)",
        "Sam is sharing now.",
    ]


def test_a_calm_room_needs_no_status_lines() -> None:
    view = view_with("Sam")
    assert view.status() == []


def test_the_private_message_policy_is_said_and_refuses_what_it_forbids() -> None:
    view = RoomView()
    view.self_id = "p1"
    view.load(
        {"participants": [person("p1", "Jo"), person("p2", "Sam"), person("p3", "Maya", role="facilitator")]}
    )
    assert view.private_refusal("p2") is None
    assert view.room_updated({"private_chat": "facilitators"}) == [
        "Private messages now go only to or from a facilitator."
    ]
    assert view.private_refusal("p2") == "In this meeting, private messages go only to or from a facilitator."
    assert view.private_refusal("p3") is None
    assert view.room_updated({"private_chat": "nobody"}) == [
        "Private messages are turned off in this meeting."
    ]
    assert view.private_refusal("p3") == "Private messages are turned off in this meeting."
    assert view.room_updated({"private_chat": "everyone"}) == [
        "Private messages: anyone may send one to anyone here."
    ]
    assert view.private_refusal("p2") is None


def test_a_facilitator_may_message_anyone_when_private_messages_go_through_facilitators() -> None:
    view = RoomView()
    view.self_id = "p1"
    view.load({"participants": [person("p1", "Maya", role="facilitator"), person("p2", "Sam")]})
    view.room_updated({"private_chat": "facilitators"})
    assert view.private_refusal("p2") is None


AGENDA = [
    {"kind": "reading", "title": "Opening statement", "text": "We meet as equals.\n\x1b[2JListen."},
    {"kind": "round", "title": "Check-in", "limit_s": 120},
    {"kind": "closing", "title": "Closing"},
]


def test_a_new_part_of_the_agenda_shows_its_title_and_a_reading_its_text() -> None:
    view = view_with("Sam")
    assert view.room_updated({"agenda": AGENDA, "segment": None}) == []
    assert view.room_updated({"segment": 0}) == [
        "Now: Opening statement (reading)",
        "  We meet as equals.",
        "  \ufffd[2JListen.",
    ]
    assert view.room_updated({"segment": 0}) == []
    assert view.room_updated({"segment": 1}) == ["Now: Check-in (round)"]
    assert view.agenda_lines() == [
        "Agenda (3 parts):",
        "  1. Opening statement — reading",
        "  2. Check-in — round (now)",
        "  3. Closing — closing",
    ]


def test_a_meeting_without_an_agenda_says_so() -> None:
    assert view_with("Sam").agenda_lines() == ["This meeting has no agenda."]


def test_an_update_older_than_the_newest_applied_does_not_undo_it() -> None:
    view = view_with("Sam")
    assert view.room_updated({"locked": True, "version": 7}) == [
        "The meeting is locked: nobody new can join."
    ]
    assert view.room_updated({"locked": False, "version": 6}) == []
    assert view.locked
    assert view.updated(person("p2", "Sam", hand=3, version=5), 0.0) == []
    assert view.updated(person("p2", "Sam", hand=3, version=8), 0.0) == ["Sam raised their hand."]


def test_room_sync_redraws_the_roster_and_says_what_changed_unless_it_is_older() -> None:
    view = view_with("Sam")
    view.room_updated({"version": 10})
    room = {
        "participants": [person("p1", "Jo"), person("p3", "Lee")],
        "hands": [],
        "speaker": None,
        "locked": True,
        "safety": True,
        "version": 12,
    }
    assert view.synced({**room, "version": 9}) == []
    assert view.synced(room) == [
        "The meeting is locked: nobody new can join.",
        "The facilitator has paused the room for a moment.",
        "People here (2):",
        "  Jo (you) — text only",
        "  Lee — text only",
    ]
    assert view.version == 12


def test_someone_waiting_hears_whether_a_facilitator_is_there() -> None:
    view = RoomView()
    assert view.lobby_facilitator(False) == [
        "No facilitator is here just now; you'll be let in when one arrives."
    ]
    assert view.lobby_facilitator(True) == ["A facilitator is here and will let you in shortly."]


def test_a_facilitator_sees_a_concern_once_privately_and_its_sender_hears_it_was_seen() -> None:
    view = RoomView()
    view.self_id = "p1"
    view.load(
        {"participants": [person("p1", "Maya", role="facilitator"), person("p2", "Sam"), person("p3", "Bo")]}
    )
    concern = {
        "id": "c1",
        "from": {"id": "p2", "name": "Sam"},
        "about": {"id": "p3", "name": "Bo"},
        "text": "he said he isn't safe\nat home",
        "at": 0,
    }
    assert view.concern_raised(concern) == [
        "Private to facilitators: Sam is worried about Bo: he said he isn't safe at home"
    ]
    assert view.concern_raised(concern) == []
    bare = {"id": "c2", "from": {"id": "p2", "name": "Sam"}, "about": None, "text": None, "at": 0}
    assert view.concern_raised(bare) == ["Private to facilitators: Sam has a concern."]
    assert view.concern_seen("c2", "p1") == ["Maya has seen concern 2."]
    assert view.concern_seen("c0", "p1") == []
    member = view_with("Maya")
    assert member.concern_seen("c9", "p2") == ["A facilitator has seen your concern."]


def test_a_facilitator_can_find_each_persons_latest_message_until_it_is_deleted() -> None:
    view = view_with("Sam")
    view.chat(message("0001", "p2", "Sam", "one"))
    view.chat(message("0002", "p2", "Sam", "two"))
    assert view.last_chat_by["p2"] == "0002"
    view.chat_deleted("0002")
    assert "p2" not in view.last_chat_by


def test_a_facilitator_hears_who_asks_to_unmute_and_who_comes_back_after_being_removed() -> None:
    view = RoomView()
    view.self_id = "p1"
    view.load({"participants": [person("p1", "Maya", role="facilitator"), person("p2", "Sam")]})
    assert view.unmute_requested({"id": "p2", "requested": True, "at": 5}) == [
        "Sam asks to unmute: /release Sam lets them."
    ]
    assert view.unmute_requested({"id": "p2", "requested": False}) == []
    assert view.lobby_waiting(person("p3", "Pat", returning_removed=True)) == [
        "Pat is waiting to be let in (a facilitator removed them earlier in this meeting): "
        "/admit Pat or /deny Pat."
    ]


def test_a_new_title_is_said_once_and_made_safe() -> None:
    view = view_with("Sam")
    view.load({"participants": [person("p1", "Jo")], "title": "Evening circle"})
    assert view.room_updated({"title": "Evening circle"}) == []
    assert view.room_updated({"title": "Late\x1b[2J circle"}) == [
        "The meeting is now called “Late\ufffd[2J circle”."
    ]
