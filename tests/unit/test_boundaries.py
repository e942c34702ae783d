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


TERMINAL = ROOMS.parent / "terminal"
CIRCLE_PACKAGES = {"server", "rooms", "signaling", "terminal", "bench", "tests"}


def circle_imports(path: Path) -> set[str]:
    """Every module of Circle's own that `path` imports, as a dotted name, wherever the import sits
    (inside functions too); `from package import module` names the module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            # The terminal's own modules may import each other relatively; anything further up is
            # outside it.
            if node.level == 1:
                base = ".".join(["terminal", *([node.module] if node.module else [])])
            elif node.level > 1:
                base = "<outside terminal>"
            else:
                base = node.module or ""
            found |= {f"{base}.{alias.name}" for alias in node.names} | {base}
    return {name for name in found if name.split(".")[0] in CIRCLE_PACKAGES | {"<outside terminal>"}}


def test_terminal_client_imports_only_the_protocol_of_circles_own_code() -> None:
    files = sorted(TERMINAL.rglob("*.py"))
    assert len(files) >= 4
    for path in files:
        outside = {
            name
            for name in circle_imports(path)
            if name.split(".")[0] != "terminal"
            and name not in ("signaling", "signaling.protocol")
            and not name.startswith("signaling.protocol.")
        }
        assert not outside, f"{path.relative_to(TERMINAL.parent)} imports {sorted(outside)}"
