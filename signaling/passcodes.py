"""Passcode guessing, made slow: per address and room, and per room from every address together.

From one address, a first wrong passcode for a room costs nothing (people mistype), the second makes
the next try wait `passcode_delay_s`, and each further one doubles the wait up to
`passcode_max_delay_s`; after `passcode_lockout_failures` in a row the address is locked out of that
room for `passcode_lockout_s`. A right passcode forgets the address's failures, and so does a quiet
`passcode_lockout_s`, so a household or a treatment centre that mistypes now and then is never locked
out. A try while the address must wait is refused before the passcode is checked at all: checking
costs a deliberately slow hash, and guessing must not buy CPU.

For a room, wrong passcodes from every address together draw on one bucket (`passcode_room_burst`,
`passcode_room_rate_per_s`): guessing from many addresses at once shuts the door to passcodes for
everyone until it refills. Right passcodes take nothing from it (each check takes a token while it
runs, and a right one gives it back). Facilitators are told whenever an
address is locked out or the room's door shuts, so that they can lock the room or change the passcode.

Each instance counts on its own (see `signaling.quotas`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from signaling.config import SignalingConfig
from signaling.quotas import MAX_KEYS, KeyedBuckets

Scope = Literal["address", "room"]


@dataclass
class _Tries:
    failures: int = 0
    last_failure: float = 0.0
    next_try: float = 0.0
    locked_until: float = 0.0


@dataclass(frozen=True, slots=True)
class Shut:
    """The door shut to passcodes: for one address (`scope` "address") or for everyone ("room"), for
    `seconds`."""

    scope: Scope
    seconds: float


class PasscodeGuard:
    """Asked before each passcode check (`admit`), told how it went after (`failed`, `succeeded` or
    `abandoned`). One address checks one passcode at a time per room, so that fifty sockets sending
    fifty guesses at once are not all checked before the first failure counts."""

    def __init__(self, config: SignalingConfig, max_keys: int = MAX_KEYS) -> None:
        self._config = config
        self._max_keys = max_keys
        self._tries: OrderedDict[str, _Tries] = OrderedDict()
        self._checking: set[str] = set()
        self._room = KeyedBuckets(config.passcode_room_burst, config.passcode_room_rate_per_s, max_keys)
        # When each room's facilitators were last told that its door shut, so they are told once a time.
        self._room_told_until: OrderedDict[str, float] = OrderedDict()

    def admit(self, address: str, room_id: str, now: float) -> tuple[int, Scope] | None:
        """None when a passcode from `address` for the room may be checked now (`now`: monotonic
        seconds); else how many ms to wait, and whether for this address or for everyone."""
        key = f"{address} {room_id}"
        if key in self._checking:
            return max(100, _ms(self._config.passcode_delay_s)), "address"
        tries = self._current(key, now)
        if tries is not None:
            until = max(tries.locked_until, tries.next_try)
            if until > now:
                return _ms(until - now), "address"
        # Every check takes from the room's bucket; a right passcode gives it back.
        room_ms = self._room.take(room_id, now)
        if room_ms:
            return room_ms, "room"
        self._checking.add(key)
        return None

    def failed(self, address: str, room_id: str, now: float) -> Shut | None:
        """The passcode `admit` let through was wrong; what that shut, when it shut something
        facilitators should hear of."""
        key = f"{address} {room_id}"
        self._checking.discard(key)
        tries = self._current(key, now) or _Tries()
        self._tries[key] = tries
        self._tries.move_to_end(key)
        if len(self._tries) > self._max_keys:
            self._tries.popitem(last=False)
        c = self._config
        tries.failures += 1
        tries.last_failure = now
        shut: Shut | None = None
        if tries.failures >= c.passcode_lockout_failures:
            tries.failures = 0
            tries.locked_until = now + c.passcode_lockout_s
            shut = Shut("address", c.passcode_lockout_s)
        elif tries.failures >= 2:
            delay = c.passcode_delay_s * 2 ** (tries.failures - 2)
            tries.next_try = now + min(delay, c.passcode_max_delay_s)
        room_ms = self._room.wait_ms(room_id, now)
        if room_ms and self._room_told_until.get(room_id, 0.0) <= now:
            self._room_told_until[room_id] = now + room_ms / 1000
            if len(self._room_told_until) > self._max_keys:
                self._room_told_until.popitem(last=False)
            shut = shut or Shut("room", room_ms / 1000)
        return shut

    def succeeded(self, address: str, room_id: str) -> None:
        """The passcode `admit` let through was right: the address's failures for the room are
        forgiven, and the room's bucket gets its token back."""
        key = f"{address} {room_id}"
        self._checking.discard(key)
        self._tries.pop(key, None)
        self._room.give_back(room_id)

    def abandoned(self, address: str, room_id: str) -> None:
        """The check `admit` let through never finished (the server failed): it counts for nothing."""
        self._checking.discard(f"{address} {room_id}")
        self._room.give_back(room_id)

    def _current(self, key: str, now: float) -> _Tries | None:
        tries = self._tries.get(key)
        if tries is None:
            return None
        quiet = now - tries.last_failure >= self._config.passcode_lockout_s
        if quiet and tries.locked_until <= now:
            del self._tries[key]
            return None
        return tries


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000 + 0.999))
