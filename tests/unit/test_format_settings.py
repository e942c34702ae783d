"""The settings of the meeting's format and care: each within what the protocol carries, each also an
environment variable, and the crisis resources file given by its path; and each of its events
becoming its room command with those limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from rooms import commands as cmd
from rooms.model import Segment, SegmentKind
from server.settings import Settings, SettingsError, load
from signaling import protocol as p
from signaling.to_command import Limits, to_command


@pytest.mark.parametrize(
    "bad",
    [
        {"max_agenda_segments": 51},
        {"max_agenda_segments": 0},
        {"max_agenda_title_chars": 121},
        {"max_agenda_text_chars": 10001},
        {"max_agenda_limit_s": 0},
        {"max_milestone_chars": 41},
        {"max_concern_chars": 2001},
        {"max_open_concerns": 0},
    ],
)
def test_format_and_care_limits_past_the_protocol_or_below_one_are_refused(bad: dict[str, int]) -> None:
    with pytest.raises(SettingsError):
        Settings(**bad)  # type: ignore[arg-type]


def test_format_and_care_settings_come_from_the_environment_and_reach_the_commands() -> None:
    s = load(
        {
            "CIRCLE_MAX_AGENDA_SEGMENTS": "5",
            "CIRCLE_MAX_MILESTONE_CHARS": "12",
            "CIRCLE_MAX_OPEN_CONCERNS": "1",
            "CIRCLE_CRISIS_RESOURCES": "/etc/circle/crisis.json",
        }
    )
    assert s.crisis_resources == Path("/etc/circle/crisis.json")
    limits = Limits.of(s.signaling_config())
    assert (limits.agenda.max_segments, limits.milestone_chars, limits.open_concerns) == (5, 12, 1)
    assert load({}).crisis_resources is None


def test_each_format_and_care_event_becomes_its_command_with_the_server_s_limits() -> None:
    limits = Limits(
        agenda=cmd.AgendaLimits(max_segments=3), milestone_chars=12, concern_chars=99, open_concerns=4
    )

    def command(event: str, data: dict[str, object]) -> cmd.Command:
        return to_command("p1", p.decode(event, data), limits, new_concern_id=lambda: "c1")

    agenda = command("mod:agenda", {"segments": [{"kind": "round", "title": " Check-in ", "limit_s": 60}]})
    assert agenda == cmd.SetAgenda(
        "p1", (Segment(SegmentKind.ROUND, "Check-in", None, 60),), cmd.AgendaLimits(max_segments=3)
    )
    assert command("mod:agenda-step", {"index": None}) == cmd.StepAgenda("p1", None)
    assert command("speaker:done", {}) == cmd.DoneSpeaking("p1")
    assert command("hand:pass", {}) == cmd.PassTurn("p1")
    assert command("milestone:share", {"label": "1 year"}) == cmd.ShareMilestone("p1", "1 year", 12)
    assert command("concern:raise", {"about": "p2", "text": "hi"}) == cmd.RaiseConcern(
        "p1", "c1", "p2", "hi", 99, 4
    )
    assert command("mod:concern-seen", {"id": "c1"}) == cmd.ConcernSeen("p1", "c1")
