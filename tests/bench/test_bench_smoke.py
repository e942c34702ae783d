"""The benchmark keeps working: a quick run measures every target and writes its results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_quick_benchmark_measures_circle_beside_the_floor(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "circle / floor" in run.stdout
    results = json.loads(out.read_text())["results"]
    targets = {r["target"] for r in results}
    assert {"floor", "circle", "floor+redis", "circle+redis"} <= targets
    for r in results:
        if r.get("phase") == "burst":
            assert r["delivered"] == r["expected"], r
