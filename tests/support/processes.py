"""Circle as real `circle serve` processes, for what an in-process server cannot show: kill -9, and
several instances sharing one Redis. The processes themselves come from `harness`, which the
benchmarks in `bench/` use as well.

    with running_cluster(2, tmp_dir, redis_url, **FAST_SETTINGS) as (one, two):
        ...
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.processes import CircleProcess, start_cluster, stop_all
from tests.support.servers import ADMIN_TOKEN

# Short presence timings so that failure tests finish in seconds, not minutes.
FAST_SETTINGS: dict[str, Any] = {
    "shutdown_grace_s": 1.0,
    "heartbeat_s": 0.25,
    "instance_ttl_s": 1.0,
    "resume_grace_s": 3.0,
    "sweep_interval_s": 0.2,
    "redis_timeout_s": 0.5,
}


class ServerProcess(CircleProcess):
    """A `circle serve` process that takes the tests' admin token (`ADMIN_TOKEN`)."""

    def __init__(self, data_dir: Path, **kwargs: Any) -> None:
        super().__init__(data_dir, admin_token=ADMIN_TOKEN, **kwargs)


@contextlib.contextmanager
def running_cluster(n: int, base_dir: Path, redis_url: str, **settings: Any) -> Iterator[list[CircleProcess]]:
    """`n` instances on one Redis for a `with` block: stopped on the way out, their logs printed if
    the block failed."""
    cluster = start_cluster(n, base_dir, redis_url, admin_token=ADMIN_TOKEN, **settings)
    try:
        yield cluster
    except BaseException:
        for server in cluster:
            print(f"--- {server.instance_id} ({server.url}) ---\n{server.output()[-6000:]}")
        raise
    finally:
        stop_all(cluster)


__all__ = ["FAST_SETTINGS", "ServerProcess", "running_cluster", "start_cluster", "stop_all"]
