"""Room values for store tests."""

from __future__ import annotations

from typing import Any

from rooms import RoomDefinition
from rooms import commands as cmd
from rooms.model import Media

# What a room gets from the server's default settings unless its creator says otherwise.
ROOM_DEFAULTS: dict[str, Any] = {"max_participants": 50, "retention_s": 0, "max_messages": 500}


def a_room(room_id: str = "r1", **extra: Any) -> RoomDefinition:
    values = {**ROOM_DEFAULTS, **extra}
    return RoomDefinition(id=room_id, title="Tuesday circle", host_key_hash="h" * 64, **values)


def joining(n: int) -> cmd.Join:
    """The n-th member joining by text, attached to instance `i-one`."""
    return cmd.Join(
        new_id=f"p{n:03d}",
        name=f"Member {n}",
        media=Media.TEXT,
        instance="i-one",
        conn=f"c{n}",
        accepted_guidelines=True,
    )
