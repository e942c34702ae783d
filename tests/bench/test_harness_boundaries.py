"""The process harness is shared, not owned: `harness/` imports neither the tests, nor the benchmarks,
nor Circle's own code (it starts Circle as a process); the benchmarks never import the tests; and
only signaling/fastpath.py reaches into python-engineio."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_harness_imports_neither_tests_nor_bench_nor_circle() -> None:
    files = sorted((ROOT / "harness").glob("*.py"))
    assert files
    for path in files:
        bad = imported_modules(path) & {"tests", "bench", "server", "signaling", "rooms"}
        assert not bad, f"{path.name} imports {bad}"


def test_the_benchmarks_never_import_the_tests() -> None:
    files = sorted((ROOT / "bench").glob("*.py"))
    assert files
    for path in files:
        assert "tests" not in imported_modules(path), path.name


def test_only_the_fast_path_reaches_into_engineio() -> None:
    users = [
        path.relative_to(ROOT).as_posix()
        for package in ("server", "signaling")
        for path in sorted((ROOT / package).glob("*.py"))
        if "engineio" in imported_modules(path)
    ]
    # The fast path (broadcasts, send queues, and the Engine.IO gate on aiohttp, so that frames
    # python-engineio cannot decode never reach it), checked at import; no other module may join it.
    assert users == ["signaling/fastpath.py"]
