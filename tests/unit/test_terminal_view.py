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


def test_a_milestone_is_shown_as_a_celebration_with_its_label_safely() -> None:
    view = view_with("Ana")
    milestone = {
        "id": "7",
        "from": {"id": "p2", "name": "Ana"},
        "text": "30 days",
        "at": 0,
        "kind": "milestone",
    }
    [line] = view.chat(milestone)
    assert line.endswith("* Ana shared a milestone: 30 days")
    [hostile] = view_with("Bo").chat({**milestone, "id": "8", "text": "1 year\x1b[2J"})
    assert "\x1b" not in hostile and hostile.startswith("[")
