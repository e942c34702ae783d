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


def wrong(guard: PasscodeGuard, address: str, room: str, now: float) -> Shut | None:
    """A wrong passcode from `address`, which the guard must let be checked."""
    assert guard.admit(address, room, now) is None
    return guard.failed(address, room, now)


def test_each_wrong_passcode_after_the_first_doubles_the_wait_up_to_the_maximum() -> None:
    guard, now, waits = PasscodeGuard(CONFIG), 0.0, []
    for _ in range(5):
        assert wrong(guard, "a", "r", now) is None
        wait = guard.admit("a", "r", now)
        waits.append(wait[0] if wait else 0)
        if wait is None:
            guard.abandoned("a", "r")
        now += waits[-1] / 1000
    assert waits == [0, 1000, 2000, 4000, 4000]


def test_one_address_has_one_passcode_checked_at_a_time() -> None:
    guard = PasscodeGuard(CONFIG)
    assert guard.admit("a", "r", 0.0) is None
    assert guard.admit("a", "r", 0.0) == (1000, "address")
    assert guard.admit("b", "r", 0.0) is None
    guard.failed("a", "r", 0.0)
    assert guard.admit("a", "r", 0.0) is None


def test_repeated_failures_lock_the_address_out_and_a_quiet_spell_forgives() -> None:
    guard, now = PasscodeGuard(CONFIG), 0.0
    shut = None
    for _ in range(6):
        now += 10
        shut = wrong(guard, "a", "r", now)
    assert shut == Shut("address", 100.0)
    assert guard.admit("a", "r", now + 99) == (1000, "address")
    # Another address, and the same address for another room, are not held up.
    assert wrong(guard, "b", "r", now) is None and wrong(guard, "a", "r2", now) is None
    assert wrong(guard, "a", "r", now + 100) is None


def test_a_right_passcode_forgives_the_failures_before_it() -> None:
    guard = PasscodeGuard(CONFIG)
    wrong(guard, "a", "r", 0.0)
    wrong(guard, "a", "r", 0.0)
    assert guard.admit("a", "r", 0.0) is not None
    assert guard.admit("a", "r", 1.0) is None
    guard.succeeded("a", "r")
    assert wrong(guard, "a", "r", 1.0) is None and guard.admit("a", "r", 1.0) is None


def test_failures_from_many_addresses_shut_the_room_and_say_so_once() -> None:
    guard = PasscodeGuard(replace(CONFIG, passcode_room_burst=3, passcode_room_rate_per_s=0.5))
    # Right passcodes give their token back.
    for n in range(5):
        assert guard.admit(f"ok{n}", "r", 0.0) is None
        guard.succeeded(f"ok{n}", "r")
    told = [wrong(guard, f"a{n}", "r", 0.0) for n in range(3)]
    assert told == [None, None, Shut("room", 2.0)]
    assert guard.admit("new", "r", 0.0) == (2000, "room")
    assert guard.admit("new", "r", 1.0) == (1000, "room")
    assert wrong(guard, "new", "r", 2.0) == Shut("room", 2.0)
    assert guard.admit("new", "other room", 0.0) is None


def test_the_guard_remembers_a_bounded_number_of_addresses() -> None:
    guard = PasscodeGuard(CONFIG, max_keys=100)
    for n in range(1000):
        wrong(guard, f"a{n}", f"r{n}", 0.0)
        wrong(guard, f"a{n}", f"r{n}", 0.0)
    assert guard.admit("a999", "r999", 0.0) == (1000, "address")
    # The oldest were forgotten to make room: a script cannot make the server's memory grow.
    assert guard.admit("a0", "r0", 0.0) is None
