"""rooms/ holds the rules and nothing else: no I/O library may be imported there."""

from __future__ import annotations

import ast
from pathlib import Path

ROOMS = Path(__file__).resolve().parents[2] / "rooms"
FORBIDDEN = {
    "asyncio",
    "aiohttp",
    "socketio",
    "engineio",
    "redis",
    "msgpack",
    "sqlite3",
    "socket",
    "time",
    "random",
    "secrets",
    "server",
    "signaling",
}


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_rooms_imports_no_io_clock_or_randomness() -> None:
    files = sorted(ROOMS.glob("*.py"))
    assert files
    for path in files:
        bad = imported_modules(path) & FORBIDDEN
        assert not bad, f"{path.name} imports {sorted(bad)}"
