"""Room definitions on disk (SQLite in the data directory), so links keep working across restarts.

Only definitions are written: who is present and what they said is never put on disk.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from rooms import RoomDefinition
from rooms.codec import room_from_dict, room_to_dict


class RoomDB:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(data_dir / "rooms.sqlite3", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS rooms (id TEXT PRIMARY KEY, definition TEXT NOT NULL)")
        self._cache: dict[str, RoomDefinition] = {}

    def put(self, room: RoomDefinition) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO rooms (id, definition) VALUES (?, ?)",
            (room.id, json.dumps(room_to_dict(room))),
        )
        self._cache[room.id] = room

    def get(self, room_id: str) -> RoomDefinition | None:
        if room_id in self._cache:
            return self._cache[room_id]
        row = self._db.execute("SELECT definition FROM rooms WHERE id = ?", (room_id,)).fetchone()
        if row is None:
            return None
        room = room_from_dict(json.loads(row[0]))
        self._cache[room_id] = room
        return room

    def all(self) -> list[RoomDefinition]:
        rows = self._db.execute("SELECT id, definition FROM rooms").fetchall()
        return [self._cache.get(room_id) or room_from_dict(json.loads(text)) for room_id, text in rows]

    def delete(self, room_id: str) -> bool:
        self._cache.pop(room_id, None)
        return self._db.execute("DELETE FROM rooms WHERE id = ?", (room_id,)).rowcount > 0

    def close(self) -> None:
        self._db.close()
