"""The safety and moderation events become the rooms' commands, with the sender as the one acting."""

from __future__ import annotations

import pytest

from rooms import commands as c
from rooms.model import PrivateChat
from signaling import protocol as p
from signaling.to_command import to_command


@pytest.mark.parametrize(
    ("event", "data", "command"),
    [
        ("mod:safety", {"on": True}, c.Safety("fa", True)),
        ("mod:safety", {"on": False}, c.Safety("fa", False)),
        ("mod:admit-all", {}, c.AdmitAll("fa")),
        ("mod:mute-all", {}, c.MuteAll("fa", False)),
        ("mod:mute-all", {"lock": True}, c.MuteAll("fa", True)),
        ("media:request-unmute", {}, c.RequestUnmute("fa")),
        ("mod:reorder-hands", {"order": ["b", "a"]}, c.ReorderHands("fa", ("b", "a"))),
        ("mod:delete-chat", {"id": "0000000000000007"}, c.DeleteChat("fa", "0000000000000007")),
        ("mod:private-chat", {"policy": "facilitators"}, c.SetPrivateChat("fa", PrivateChat.FACILITATORS)),
    ],
)
def test_each_safety_event_is_the_command_of_the_one_who_sent_it(
    event: str, data: dict[str, object], command: c.Command
) -> None:
    assert to_command("fa", p.decode(event, data)) == command
    assert event in {cls.event for cls in p.SAFETY_EVENTS}
