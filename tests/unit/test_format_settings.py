"""The settings of the meeting's format and care: each within what the protocol carries, each also an
environment variable, and the crisis resources file given by its path."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import Settings, SettingsError, load
from signaling.to_command import Limits


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
