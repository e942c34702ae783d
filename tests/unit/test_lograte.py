"""The log's rate bound: a few lines of each kind per window, the rest counted and told later."""

from __future__ import annotations

import logging

import pytest

from signaling.lograte import LogRate


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_each_kind_writes_at_most_its_lines_per_window_and_tells_what_it_held_back() -> None:
    clock = Clock()
    rate = LogRate(max_lines=2, window_s=10.0, clock=clock)
    assert [rate.admit("bad packet") for _ in range(5)] == [0, 0, None, None, None]
    # Another kind has its own count.
    assert rate.admit("bad input bad_request") == 0
    clock.now = 10.0
    assert rate.admit("bad packet") == 3
    assert rate.admit("bad packet") == 0
    assert rate.admit("bad packet") is None


def test_a_line_after_a_quiet_window_still_tells_every_line_held_back() -> None:
    clock = Clock()
    rate = LogRate(max_lines=1, window_s=1.0, clock=clock)
    assert [rate.admit("k") for _ in range(3)] == [0, None, None]
    clock.now = 5.0
    assert rate.admit("k") == 2


def test_the_count_held_back_is_written_with_the_next_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    rate = LogRate(max_lines=1, window_s=1.0, clock=clock)
    log = logging.getLogger("circle.test")
    for n in range(4):
        rate.log(log, logging.INFO, "bad packet", "bad packet from %s", f"c{n}")
    clock.now = 1.0
    rate.log(log, logging.INFO, "bad packet", "bad packet from %s", "c9")
    assert [r.getMessage() for r in caplog.records] == [
        "bad packet from c0",
        "bad packet from c9 (3 more like it held back)",
    ]


def test_lines_below_the_loggers_level_do_not_use_up_the_bound(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    rate = LogRate(max_lines=1, window_s=60.0, clock=Clock())
    log = logging.getLogger("circle.test")
    rate.log(log, logging.INFO, "k", "not written")
    rate.log(log, logging.WARNING, "k", "written")
    assert [r.getMessage() for r in caplog.records] == ["written"]
