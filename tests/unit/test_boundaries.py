"""The floors run one way: server → signaling → rooms.

- rooms/ holds the rules and nothing else: no I/O library, clock or randomness, and neither of the
  layers above it;
- signaling/ never imports server/: the server wires its adapters into signalling's ports; nor the
  web framework, Redis or the metrics library, save that signaling/fastpath.py reaches into aiohttp's
  websocket;
- the terminal client (terminal/) is a client: of Circle's own code it imports only the protocol.

Every module of each package is read (subpackages included), and every import in it counts: those at
the top, those inside functions, relative ones, and `importlib.import_module("...")` with a literal.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROOMS_FORBIDDEN = {
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
SIGNALING_FORBIDDEN = {"server", "aiohttp", "redis", "prometheus_client"}
# The one exception: signaling/fastpath.py writes ready frames to the websockets engineio's aiohttp
# driver opens, so it reaches into aiohttp's websocket as it does into engineio's (and checks both at
# import). It never imports the server either.
FASTPATH = ROOT / "signaling" / "fastpath.py"


def imported_modules(path: Path, source: str | None = None) -> set[str]:
    """The top-level name of every module `path` imports, wherever in the file the import is."""
    found: set[str] = set()
    package = list(path.relative_to(ROOT).parts[:-1])
    text = path.read_text() if source is None else source
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level > 0:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                found.add((base or [node.module or ""])[0])
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("import_module", "__import__") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value.split(".")[0])
    return found


def modules_of(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules found in {package}/"
    return files


def test_rooms_imports_no_io_clock_randomness_or_layer_above() -> None:
    for path in modules_of("rooms"):
        bad = imported_modules(path) & ROOMS_FORBIDDEN
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_signaling_never_imports_the_server() -> None:
    for path in modules_of("signaling"):
        forbidden = SIGNALING_FORBIDDEN - {"aiohttp"} if path == FASTPATH else SIGNALING_FORBIDDEN
        bad = imported_modules(path) & forbidden
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize(
    "source",
    [
        "import server.app\n",
        "from server.settings import Settings\n",
        "def later():\n    from server import auth\n",
        "class A:\n    def m(self):\n        import server\n",
        "import importlib\nimportlib.import_module('server.cli')\n",
        "from ...server import app\n",
    ],
)
def test_the_check_sees_every_way_of_importing(source: str) -> None:
    assert "server" in imported_modules(ROOT / "signaling" / "sub" / "probe.py", source)


TERMINAL = ROOT / "terminal"
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
