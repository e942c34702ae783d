"""The benchmark keeps working: a quick run measures every target, the join storm included, and
writes its results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_quick_benchmark_measures_circle_beside_node_and_the_floor(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "circle / node" in run.stdout
    assert "circle+redis / node+redis" in run.stdout
    report = json.loads(out.read_text())
    results = report["results"]
    targets = {r["target"] for r in results}
    assert set(targets) == {"floor", "circle", "node", "floor+redis", "circle+redis", "node+redis"}
    for r in results:
        assert r["delivered"] == r["expected"], r
        assert r["cpu_us_per_delivery"] > 0, r
        assert r["rss_bytes_per_member"] is not None, r
    storms = {s["target"]: s for s in report["storm"]}
    assert set(storms) == {"circle", "node"}
    for storm in storms.values():
        assert storm["joined"] == storm["members"] and not storm["refused"], storm
        assert storm["latency"]["p99_ms"] > 0, storm
