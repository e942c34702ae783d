"""Display names show as they were written and cannot pass for a role; ordinary names of every
script go through untouched."""

from __future__ import annotations

import pytest

from signaling import protocol as p
from signaling.text import name_problem, normalise_name

ORDINARY = [
    "Sam",
    "Mary Host",
    "Hosteen",
    "Moderato",
    "Hostess",
    "Admiral",
    "Anne-Marie",
    "Jean-Luc",
    "O'Brien",
    "Dr. Who",
    "Sam (she/her)",
    "Sam [Leeds]",
    "José",
    "Zoë",
    "Nguyễn Văn An",
    "Łukasz",
    "Σοφία",
    "Ольга",
    "محمد",
    "می\u200cخواهم",
    "דוד",
    "李小龙",
    "さくら",
    "김민준",
    "प्रिया",
    "க்ஷேத்ரா",
    "Ayşe",
    "👨\u200d👩\u200d👧 family",
    "🌻",
    "42",
    "Sam the host",
]


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_names_are_accepted(name: str) -> None:
    assert name_problem(normalise_name(name)) is None


@pytest.mark.parametrize(
    "name",
    [
        "Host",
        "facilitator",
        "MODERATOR",
        "Co-Host",
        "Admin",
        "(host)",
        "Host (facilitator)",
        "Sam (Facilitator)",
        "Sam [mod]",
        "Sam {admin}",
        "Sam <host>",
        "Sam 【host】",
        "Sam (our host)",
        "Sam (host",
        "Sam - host",
        "Sam – Facilitator",
        "Host | Sam",
        "Sam, moderator",
        "Sam: admin",
        "sam_admin",
        "*Host*",
        "⭐ Host ⭐",
        "Hоst",  # Cyrillic о
        "Ηοst",  # Greek Η and ο
        "Ｈｏｓｔ",  # full width
    ],
)
def test_a_name_may_not_pose_as_a_role(name: str) -> None:
    assert name_problem(normalise_name(name)) == "may not name a role: the page shows who facilitates"


@pytest.mark.parametrize(
    "name",
    [
        "\u202eHost",
        "Sam\u202e",
        "Ho\u200bst",
        "Ho\u200dst",
        "Ho\u200cst",
        "\u200dSam",
        "Sa\u00adm",
        "Sam\u2066",
        "Sam\u061c",
        "Sam\ufeff",
        "Sam\U000e0041",
    ],
)
def test_invisible_and_direction_changing_characters_are_refused(name: str) -> None:
    assert name_problem(normalise_name(name)) == "holds an invisible or direction-changing character"


@pytest.mark.parametrize("name", ["\u3164", "Sam\u3164", "\u2800", "\u115f"])
def test_characters_that_show_as_nothing_are_refused(name: str) -> None:
    assert name_problem(normalise_name(name)) == "holds a character that shows as nothing"


def test_a_name_needs_something_to_show() -> None:
    assert name_problem("...") == "needs at least one letter, digit or symbol"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("  Sam   Lee ", "Sam Lee"),
        ("Sam\u00a0Lee", "Sam Lee"),
        ("Sam\u3000Lee", "Sam Lee"),
        ("ﬁona", "fiona"),
        ("Ｓａｍ", "Sam"),
        ("Zoe\u0308", "Zoë"),
    ],
)
def test_names_are_nfkc_normalised_with_white_space_collapsed(given: str, kept: str) -> None:
    assert normalise_name(given) == kept
    assert p.decode("join", {"room": "r", "name": given}).name == kept


def test_a_refused_name_is_a_bad_request_that_says_why() -> None:
    with pytest.raises(p.ProtocolError) as info:
        p.decode("join", {"room": "r", "name": "Sam (host)"})
    assert info.value.code == "bad_request"
    assert info.value.message == "The name may not name a role: the page shows who facilitates."


def test_the_length_limit_holds_after_normalising() -> None:
    # One character that NFKC spells out in eighteen.
    with pytest.raises(p.ProtocolError, match="too long"):
        p.decode("join", {"room": "r", "name": "\ufdfa" * 3})
