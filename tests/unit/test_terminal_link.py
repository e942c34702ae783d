"""The terminal takes the links `circle rooms create` prints: the member's and the facilitator's."""

from __future__ import annotations

import pytest

from terminal.link import MeetingLink


def test_a_member_link_names_the_server_and_the_room() -> None:
    link = MeetingLink.parse(" https://circle.example.org/r/abc123 ")
    assert link == MeetingLink("https://circle.example.org", "abc123", None)


def test_a_facilitator_link_carries_the_host_key_in_its_fragment() -> None:
    link = MeetingLink.parse("http://127.0.0.1:8080/r/abc123#host=Zx-9_Qk")
    assert link == MeetingLink("http://127.0.0.1:8080", "abc123", "Zx-9_Qk")


@pytest.mark.parametrize(
    "url",
    [
        "127.0.0.1:8080/r/abc",
        "ftp://host/r/abc",
        "http://host/abc",
        "http://host/r/abc/more",
        "http://host/r/",
    ],
)
def test_anything_else_is_refused_with_an_example_of_a_link(url: str) -> None:
    with pytest.raises(ValueError, match="http://host:8080/r/ROOM"):
        MeetingLink.parse(url)
