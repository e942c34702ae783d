"""Room definitions, bans and the server's own secret on disk (SQLite in the data directory), so that
links keep working and bans keep holding across restarts.

Who is present and what they said is never put on disk. A ban is written as the marks it holds
against (a participant id, a browser key's hash, an address's keyed hash: never an address) with the
time it ends; an expired ban is deleted at the next write.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from rooms import RoomDefinition
from rooms.codec import room_from_dict, room_to_dict


class RoomDB:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(data_dir / "rooms.sqlite3", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS rooms (id TEXT PRIMARY KEY, definition TEXT NOT NULL)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS bans (room_id TEXT NOT NULL, mark TEXT NOT NULL,"
            " until_ms INTEGER NOT NULL, PRIMARY KEY (room_id, mark))"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
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

    def add_bans(self, room_id: str, marks: Iterable[str], until_ms: int, now_ms: int) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM bans WHERE until_ms <= ?", (now_ms,))
            self._db.executemany(
                "INSERT INTO bans (room_id, mark, until_ms) VALUES (?, ?, ?)"
                " ON CONFLICT (room_id, mark) DO UPDATE SET until_ms = max(until_ms, excluded.until_ms)",
                [(room_id, mark, until_ms) for mark in marks],
            )

    def banned(self, room_id: str, marks: Iterable[str], now_ms: int) -> frozenset[str]:
        wanted = list(marks)
        if not wanted:
            return frozenset()
        places = ",".join("?" * len(wanted))
        rows = self._db.execute(
            f"SELECT mark FROM bans WHERE room_id = ? AND until_ms > ? AND mark IN ({places})",
            (room_id, now_ms, *wanted),
        )
        return frozenset(row[0] for row in rows)

    def secret(self, name: str, candidate: str) -> str:
        """The secret kept under `name`, `candidate` kept there the first time."""
        self._db.execute("INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)", (name, candidate))
        row = self._db.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
        return str(row[0])

    def all(self) -> list[RoomDefinition]:
        rows = self._db.execute("SELECT id, definition FROM rooms").fetchall()
        return [self._cache.get(room_id) or room_from_dict(json.loads(text)) for room_id, text in rows]

    def delete(self, room_id: str) -> bool:
        self._cache.pop(room_id, None)
        # A deleted room's bans go with it: they name no one, but are kept for no purpose.
        self._db.execute("DELETE FROM bans WHERE room_id = ?", (room_id,))
        return self._db.execute("DELETE FROM rooms WHERE id = ?", (room_id,)).rowcount > 0

    def close(self) -> None:
        self._db.close()
