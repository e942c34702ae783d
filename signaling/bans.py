"""Bans as the store keeps them: what a joiner brings that a ban can hold against, and the bans a
removal hands over to be kept beyond the meeting.

A joiner is known by marks: the participant id a resume token names ("id:…"), the hash of their
browser key ("key:…") and the keyed hash of their address ("addr:…"). Joining asks the store which of
them the room's bans hold and passes that verdict to the rules (`Join.banned_marks`), which decide
what it means (a seat or a browser: refused; an address: held in the waiting room, flagged).
"""

from __future__ import annotations

from collections.abc import Iterable

from signaling.ports import Store


def marks(participant_id: str | None, browser_key_hash: str | None, address_hash: str | None) -> list[str]:
    """The marks of a joiner (each part only when known)."""
    found = []
    if participant_id:
        found.append(f"id:{participant_id}")
    if browser_key_hash:
        found.append(f"key:{browser_key_hash}")
    if address_hash:
        found.append(f"addr:{address_hash}")
    return found


class Bans:
    """The rooms' bans in `store`, each kept for `ttl_s` seconds."""

    def __init__(self, store: Store, ttl_s: float) -> None:
        self._store = store
        self._ttl_s = ttl_s

    async def holding(self, room_id: str, joiner: Iterable[str]) -> frozenset[str]:
        """Of the `joiner`'s marks, those the room's bans hold now."""
        joiner = list(joiner)
        return await self._store.banned(room_id, joiner) if joiner else frozenset()

    async def keep(self, room_id: str, banned: Iterable[str]) -> None:
        """Keep `banned` out of the room for the ban's lifetime, on every instance, across restarts."""
        banned = list(banned)
        if banned:
            await self._store.add_bans(room_id, banned, self._ttl_s)
