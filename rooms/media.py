"""Where the meeting's media goes: in mesh between members' browsers, or through the server's SFU,
hosted by one instance at a time.

Which instance hosts it is part of the room's state, so that every instance agrees on it; that
instance's heartbeat is its lease. When the host is lost (its instance died, stopped, or restarted
and no longer has it) the epoch grows and the room is told: every member with media starts their
connections with the server over, with whichever instance hosts it next.
"""

from __future__ import annotations

from dataclasses import replace

from rooms import commands as c
from rooms.events import Event, Outcome
from rooms.model import RoomState
from rooms.roster import room_updated
from rooms.rulebook import Rulebook

RULES = Rulebook()
"""The media rules, for `rooms.rules` to gather."""


def lose_host(state: RoomState) -> RoomState:
    """The meeting's media host is gone: nobody hosts it, and everyone starts over."""
    return replace(state, media_host=None, media_epoch=state.media_epoch + 1)


@RULES.rule(c.HostMedia)
def _host_media(state: RoomState, cmd: c.HostMedia, now: int) -> tuple[RoomState, Outcome]:
    if state.is_empty:
        # Nothing to host: the meeting is over (its last member left as this was asked).
        return state, Outcome(result={"host": None})
    host = state.media_host
    if host is not None and host != cmd.instance and host not in cmd.dead_instances:
        return state, Outcome(result={"host": host})
    if host == cmd.instance and not cmd.restart:
        return state, Outcome(result={"host": host})
    new = state if host is None else lose_host(state)
    new = replace(new, sfu=True, media_host=cmd.instance)
    # The room hears of it when its media moves to the SFU, or when everyone must start over; an
    # instance taking up a vacant host changes nothing anyone sees.
    told = not state.sfu or new.media_epoch != state.media_epoch
    events: tuple[Event, ...] = (room_updated(new),) if told else ()
    return new, Outcome(events=events, result={"host": cmd.instance})


@RULES.rule(c.ReleaseMedia)
def _release_media(state: RoomState, cmd: c.ReleaseMedia, now: int) -> tuple[RoomState, Outcome]:
    if state.media_host != cmd.instance:
        return state, Outcome()
    new = lose_host(state)
    return new, Outcome(events=(room_updated(new),))
