"""A meeting built from the room rules alone, for the rule tests: no store, no network, no clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rooms import Event, Outcome, Refusal, RoomDefinition, RoomState
from rooms import commands as c
from rooms.model import Media
from rooms.rules import apply
from tests.support.rooms import ROOM_DEFAULTS

T0 = 1_700_000_000_000


def room(**kw: object) -> RoomState:
    values = {**ROOM_DEFAULTS, **kw}
    definition = RoomDefinition(id="r1", title="Tuesday circle", host_key_hash="h", **values)
    return RoomState.fresh(definition, T0)


def join(
    state: RoomState, pid: str, *, host: bool = False, media: Media = Media.AV, now: int = T0, **kw: object
) -> tuple[RoomState, Outcome]:
    command = c.Join(
        new_id=pid,
        name=pid.title(),
        media=media,
        instance="i1",
        conn=f"sid-{pid}",
        is_host=host,
        **kw,  # type: ignore[arg-type]
    )
    return apply(state, command, now)


def meeting(**kw: object) -> RoomState:
    """A facilitator `fa` and two members in the room: `ann` (camera and microphone) and `bob` (text
    only)."""
    s, _ = join(room(**kw), "fa", host=True)
    s, _ = join(s, "ann", now=T0 + 1)
    s, _ = join(s, "bob", media=Media.TEXT, now=T0 + 2)
    s, _ = apply(s, c.AdmitAll("fa"), T0 + 2)
    return s


def names(outcome: Outcome) -> list[str]:
    return [e.name for e in outcome.events]


def events_named(outcome: Outcome, name: str) -> list[Event]:
    return [e for e in outcome.events if e.name == name]


def refusal(action: Callable[..., object], *args: Any, **kw: Any) -> Refusal:
    """The Refusal that `action(*args, **kw)` raises (it must raise one)."""
    with pytest.raises(Refusal) as info:
        action(*args, **kw)
    return info.value


def refusal_of(action: Callable[..., object], *args: Any, **kw: Any) -> str:
    """The code of the Refusal that `action(*args, **kw)` raises (it must raise one)."""
    return refusal(action, *args, **kw).code


def refused(code: str, state: RoomState, command: c.Command) -> None:
    assert refusal_of(apply, state, command, T0) == code
