"""The server side of a benchmark run: Circle instances, the python-socketio floor, the Node peer and
Redis, each a separate process on a free loopback port (from `harness`), and the machine's load."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench import node_peer
from harness.processes import (
    HOST,
    ROOT,
    CircleProcess,
    HttpProcess,
    Process,
    RedisProcess,
    free_port,
    redis_server_path,
)

REPO = ROOT
_CLK_TCK = os.sysconf("SC_CLK_TCK")

__all__ = [
    "REPO",
    "BenchError",
    "CircleProcess",
    "HttpProcess",
    "Process",
    "RedisProcess",
    "machine_busy_ns",
    "redis_server_path",
    "start_circle",
    "start_floor",
    "start_node",
    "start_redis",
]


class BenchError(RuntimeError):
    """A benchmark could not be set up or did not complete."""


def machine_busy_ns() -> int:
    """CPU time the whole machine has spent busy (every core, every process), in ns."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    # guest time is already counted in user time
    return (sum(ticks[:8]) - idle) * 1_000_000_000 // _CLK_TCK


def _started(process: HttpProcess) -> HttpProcess:
    try:
        return process.start()
    except RuntimeError as exc:
        process.stop()
        raise BenchError(str(exc)) from exc


def start_circle(
    name: str,
    workdir: Path,
    token: str,
    env: dict[str, str],
    redis_url: str | None = None,
    checkout: Path = REPO,
) -> CircleProcess:
    server = CircleProcess(
        workdir / f"{name}-data",
        admin_token=token,
        redis_url=redis_url,
        instance_id=name,
        env=env,
        cwd=checkout,
    )
    _started(server)
    return server


def start_floor(name: str, workdir: Path, redis_url: str | None = None) -> HttpProcess:
    port = free_port()
    argv = [sys.executable, "-m", "bench.floor", "--host", HOST, "--port", str(port)]
    if redis_url:
        argv += ["--redis-url", redis_url]
    return _started(HttpProcess(name, argv, workdir / f"{name}.log", port))


def start_node(name: str, workdir: Path, redis_url: str | None = None) -> HttpProcess:
    port = free_port()
    argv = [node_peer.node_path() or "node", str(node_peer.SERVER), "--host", HOST, "--port", str(port)]
    if redis_url:
        argv += ["--redis-url", redis_url]
    return _started(HttpProcess(name, argv, workdir / f"{name}.log", port))


def start_redis(workdir: Path) -> RedisProcess:
    """A private, memory-only redis-server on a free port."""
    try:
        return RedisProcess(workdir).start()
    except RuntimeError as exc:
        raise BenchError(str(exc)) from exc
