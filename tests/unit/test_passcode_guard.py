"""Passcode guessing made slow, on a clock the test drives: no sleeping."""

from __future__ import annotations

from dataclasses import replace

from server.settings import Settings
from signaling.passcodes import PasscodeGuard, Shut

CONFIG = replace(
    Settings().signaling_config(),
    passcode_delay_s=1.0,
    passcode_max_delay_s=4.0,
    passcode_lockout_failures=6,
    passcode_lockout_s=100.0,
    passcode_room_burst=50,
    passcode_room_rate_per_s=1.0,
)


def test_each_wrong_passcode_after_the_first_doubles_the_wait_up_to_the_maximum() -> None:
    guard, now, waits = PasscodeGuard(CONFIG), 0.0, []
    for _ in range(5):
        assert guard.wait("a", "r", now) is None
        assert guard.failed("a", "r", now) is None
        wait = guard.wait("a", "r", now)
        waits.append(wait[0] if wait else 0)
        now += waits[-1] / 1000
    assert waits == [0, 1000, 2000, 4000, 4000]


def test_repeated_failures_lock_the_address_out_and_a_quiet_spell_forgives() -> None:
    guard, now = PasscodeGuard(CONFIG), 0.0
    shut = None
    for _ in range(6):
        now += 10
        shut = guard.failed("a", "r", now)
    assert shut == Shut("address", 100.0)
    assert guard.wait("a", "r", now + 99) == (1000, "address")
    # Another address, and the same address for another room, are not held up.
    assert guard.wait("b", "r", now) is None and guard.wait("a", "r2", now) is None
    assert guard.wait("a", "r", now + 100) is None
    assert guard.failed("a", "r", now + 100) is None


def test_a_right_passcode_forgives_the_failures_before_it() -> None:
    guard = PasscodeGuard(CONFIG)
    guard.failed("a", "r", 0.0)
    guard.failed("a", "r", 0.0)
    guard.succeeded("a", "r")
    assert guard.wait("a", "r", 0.0) is None
    assert guard.failed("a", "r", 0.0) is None and guard.wait("a", "r", 0.0) is None


def test_failures_from_many_addresses_shut_the_room_and_say_so_once() -> None:
    guard = PasscodeGuard(replace(CONFIG, passcode_room_burst=3, passcode_room_rate_per_s=0.5))
    told = [guard.failed(f"a{n}", "r", 0.0) for n in range(4)]
    assert told[:2] == [None, None] and told[2] == Shut("room", 2.0) and told[3] is None
    assert guard.wait("new", "r", 0.0) == (2000, "room")
    assert guard.wait("new", "r", 2.0) is None
    assert guard.wait("new", "other room", 0.0) is None


def test_the_guard_remembers_a_bounded_number_of_addresses() -> None:
    guard = PasscodeGuard(CONFIG, max_keys=100)
    for n in range(1000):
        guard.failed(f"a{n}", f"r{n}", 0.0)
        guard.failed(f"a{n}", f"r{n}", 0.0)
    assert guard.wait("a999", "r999", 0.0) == (1000, "address")
    # The oldest were forgotten to make room: a script cannot make the server's memory grow.
    assert guard.wait("a0", "r0", 0.0) is None
