"""Room values for store tests."""

from __future__ import annotations

from typing import Any

from rooms import RoomDefinition
from rooms import commands as cmd
from rooms.model import Media


def a_room(room_id: str = "r1", **extra: Any) -> RoomDefinition:
    return RoomDefinition(id=room_id, title="Tuesday circle", host_key_hash="h" * 64, **extra)


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
